/// Fixed-point text for a number (`String(format: "%.1f")` without Foundation).
public enum DecimalText {
    /// `value` rounded to `decimals` places (0...9), e.g. `format(2.25, decimals: 1)` is "2.3".
    public static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1
        for _ in 0..<max(0, min(decimals, 9)) { scale *= 10 }
        let scaled = Int((abs(value) * Double(scale)).rounded())
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard decimals > 0 else { return "\(sign)\(scaled)" }
        let fraction = String(scaled % scale)
        return "\(sign)\(scaled / scale)." + String(repeating: "0", count: String(scale).count - 1 - fraction.count) + fraction
    }
}
