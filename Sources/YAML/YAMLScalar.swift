/// A scalar's text and how it was written. What it means is decided by the one scalar rule below, which
/// every configuration file of litmus and brother is read with.
///
/// ## The scalar rule
///
/// A scalar is read as what its key expects; YAML 1.1 (Ruby's Psych, which read big_brother's and
/// litmus_paper's files) and YAML 1.2 agree on almost every value a config file holds, and where they
/// differ the rule keeps what existing files need:
///
/// - **Nothing**: a plain `~`, `null` (any case) or no value at all (`key:`) is null: the key counts as
///   absent and its default applies. Quoted, `'null'` and `""` are text.
/// - **Text**: any other scalar's text exactly as written, quoted or not (`token: 0123` is the text
///   `0123`, not a number).
/// - **Booleans**: `true`, `yes`, `on` and `false`, `no`, `off`, in any case (YAML 1.1 and Psych; YAML 1.2
///   has only true/false, but big_brother files say `has_downpage: yes`). `y` and `n` are not booleans.
/// - **Integers**: decimal with an optional sign and `_` between digits (`10_000`); `0x1F90` hex (YAML 1.1
///   and 1.2 agree); `0o17` octal and `0b101` binary; `1:30` base 60 (90, YAML 1.1). A leading zero
///   (`010`) is octal 8 in YAML 1.1 but decimal 10 in YAML 1.2: it is refused unless both readings agree
///   (`07`), so no file silently changes value; `089`, octal to neither, is 89.
/// - **Numbers** (seconds, fractions): an integer as above, or a decimal with `.` and/or an exponent
///   (`0.5`, `1e3`, `1:30.5`); `.inf` and `.nan` are numbers that no key accepts.
/// - **Quotes do not change a number or a boolean**: where one is expected, `"8080"` is read like `8080`
///   and `'yes'` like `yes`. brother (through Yams) always read them so, and refusing them would break its
///   files; litmus now reads them the same way. A quoted value only differs where text is expected.
public struct YAMLScalar: Sendable, Hashable {
    public enum Style: Sendable, Hashable {
        case plain
        case singleQuoted
        case doubleQuoted
        /// `|` block scalar.
        case literal
        /// `>` block scalar.
        case folded
    }

    public var text: String
    public var style: Style

    public init(text: String, style: Style) {
        self.text = text
        self.style = style
    }

    /// What the scalar is as a YAML value before any key asks, by the rule above: a plain scalar may be
    /// null, a boolean or a number; every other is a string. (The typed reads below are more lenient:
    /// they read quoted numbers and booleans too.)
    public enum Resolved: Sendable, Hashable {
        case null
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
    }

    public var resolved: Resolved {
        guard style == .plain else { return .string(text) }
        if isNull { return .null }
        if let bool { return .bool(bool) }
        if let int { return .int(int) }
        if let double { return .float(double) }
        return .string(text)
    }

    /// Null: a plain `~`, `null` in any case, or nothing.
    public var isNull: Bool {
        style == .plain && (text.isEmpty || text == "~" || (text.utf8.count == 4 && text.lowercased() == "null"))
    }

    /// `true`/`yes`/`on` or `false`/`no`/`off`, in any case, quoted or not.
    public var bool: Bool? {
        // Every word is 2 to 5 letters; longer text is not lower-cased at all (config reading is on start-up's path).
        guard (2...5).contains(text.utf8.count) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// The integer the text spells, quoted or not; `nil` for anything else, including a leading zero
    /// whose two readings differ (see ``leadingZeroAmbiguity``).
    public var int: Int? { YAMLNumber.integer(text) }

    /// The number the text spells (an integer or a decimal), quoted or not.
    public var double: Double? {
        if let int = YAMLNumber.integer(text) { return Double(int) }
        guard leadingZeroAmbiguity == nil else { return nil }
        return YAMLNumber.decimal(text)
    }

    /// For an integer written with a leading zero that YAML 1.1 reads as octal and YAML 1.2 as decimal,
    /// and whose values differ (`010`: 8 or 10), what to write instead; `nil` otherwise.
    public var leadingZeroAmbiguity: String? {
        guard let (octal, decimal) = YAMLNumber.leadingZeroReadings(text), octal != decimal else { return nil }
        return "\"\(text)\" is \(octal) in YAML 1.1 (octal, as Ruby read it) but \(decimal) in YAML 1.2; "
            + "write \(decimal) without the leading zero, or 0o\(String(octal, radix: 8)) for octal \(octal)"
    }
}

/// The number syntax of the scalar rule, on the text alone.
enum YAMLNumber {
    /// Sign, then the digits of one of the integer forms; `nil` when the text is no integer.
    static func integer(_ text: String) -> Int? {
        let (negative, body) = split(text)
        guard let first = body.first else { return nil }
        let magnitude: Int?
        if body == "0" {
            magnitude = 0
        } else if body.hasPrefix("0x") {
            magnitude = digits(body.dropFirst(2), radix: 16)
        } else if body.hasPrefix("0o") {
            magnitude = digits(body.dropFirst(2), radix: 8)
        } else if body.hasPrefix("0b") {
            magnitude = digits(body.dropFirst(2), radix: 2)
        } else if first == "0" {
            // Octal to YAML 1.1, decimal to 1.2: taken only when both agree (`07`), so no file changes value
            // silently. Not octal at all (`089`): only the decimal reading is a number, and it is taken.
            if let (octal, decimal) = leadingZeroReadings(text) { return octal == decimal ? octal : nil }
            magnitude = digits(body, radix: 10)
        } else if body.contains(":") {
            magnitude = sexagesimal(body)
        } else {
            magnitude = digits(body, radix: 10)
        }
        guard let magnitude else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// `010` as YAML 1.1 (octal) and as YAML 1.2 (decimal), signed; `nil` unless the text is a leading
    /// zero followed by digits.
    static func leadingZeroReadings(_ text: String) -> (octal: Int, decimal: Int)? {
        let (negative, body) = split(text)
        guard body.count > 1, body.first == "0", body.dropFirst().first != "x", body.dropFirst().first != "o",
            body.dropFirst().first != "b", let decimal = digits(body, radix: 10), let octal = digits(body, radix: 8)
        else { return nil }
        return negative ? (-octal, -decimal) : (octal, decimal)
    }

    /// A decimal with a point and/or an exponent (`0.5`, `.5`, `1e3`, `2.5E-1`), base 60 with a fraction
    /// (`1:30.5`), or `.inf`/`.nan`; `_` may stand between digits.
    static func decimal(_ text: String) -> Double? {
        let (negative, body) = split(text)
        switch body {
        case ".inf", ".Inf", ".INF": return negative ? -.infinity : .infinity
        case ".nan", ".NaN", ".NAN": return text.first == "-" || text.first == "+" ? nil : .nan
        default: break
        }
        if body.contains(":") {
            let parts = body.split(separator: ":", omittingEmptySubsequences: false)
            let head = parts.dropLast().joined(separator: ":")
            guard let whole = head.contains(":") ? sexagesimal(head) : digits(head, radix: 10), let last = parts.last,
                let seconds = plainDecimal(Substring(last)), seconds < 60
            else { return nil }
            let value = Double(whole) * 60 + seconds
            return negative ? -value : value
        }
        guard let value = plainDecimal(Substring(body)) else { return nil }
        return negative ? -value : value
    }

    /// Digits, at most one `.`, an optional exponent; at least one digit before the exponent.
    private static func plainDecimal(_ body: Substring) -> Double? {
        var mantissa = body
        var exponent = ""
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = body[..<e]
            let rest = body[body.index(after: e)...]
            let unsigned = rest.first == "+" || rest.first == "-" ? rest.dropFirst() : rest
            guard !unsigned.isEmpty, unsigned.allSatisfy(\.isASCIIDigit) else { return nil }
            exponent = "e" + rest
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ separated($0) }), parts.contains(where: { $0.contains(where: \.isASCIIDigit) }) else {
            return nil
        }
        let cleaned = parts.map { $0.filter { $0 != "_" } }
        let canonical = (cleaned[0].isEmpty ? "0" : cleaned[0]) + (cleaned.count == 2 ? "." + (cleaned[1].isEmpty ? "0" : cleaned[1]) : "")
        return Double(canonical + exponent)
    }

    /// Digits of `radix`, `_` allowed between (not first, not last); no sign.
    private static func digits(_ body: Substring, radix: Int) -> Int? {
        guard let first = body.first, first != "_", body.last != "_" else { return nil }
        let cleaned = body.filter { $0 != "_" }
        guard cleaned.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return Int(cleaned, radix: radix)
    }

    private static func digits(_ body: String, radix: Int) -> Int? { digits(Substring(body), radix: radix) }

    /// `1:30:00`: a first part without a leading zero, then parts 0...59, each two digits at most.
    private static func sexagesimal(_ body: String) -> Int? {
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let first = parts.first, first.first != "0", var value = digits(first, radix: 10) else { return nil }
        for part in parts.dropFirst() {
            guard (1...2).contains(part.count), part.allSatisfy(\.isASCIIDigit), let digit = Int(part), digit < 60 else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 60)
            guard !overflow else { return nil }
            value = shifted + digit
        }
        return value
    }

    /// Whether `_` stands only between other characters of a digit run (or the run is empty).
    private static func separated(_ run: Substring) -> Bool {
        run.allSatisfy { $0.isASCIIDigit || $0 == "_" } && run.first != "_" && run.last != "_"
    }

    private static func split(_ text: String) -> (negative: Bool, body: String) {
        if text.hasPrefix("-") { return (true, String(text.dropFirst())) }
        if text.hasPrefix("+") { return (false, String(text.dropFirst())) }
        return (false, text)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
