/// A scalar's text and how it was written: only plain scalars are read as numbers, booleans or null,
/// so `port: "80"` stays the string "80" and `token: 'null'` the string "null".
struct YAMLScalar: Sendable, Hashable {
    enum Style: Sendable, Hashable {
        case plain
        case singleQuoted
        case doubleQuoted
        /// `|` block scalar.
        case literal
        /// `>` block scalar.
        case folded
    }

    var text: String
    var style: Style
}

// The resolution rules are YAML 1.1's, as Yams (the reader used before) applied them, so every
// config that loaded before loads the same way now.
extension YAMLScalar {
    var isNull: Bool {
        style == .plain && ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// `true`/`yes`/`on` and `false`/`no`/`off`, each lower-case, capitalised or upper-case.
    var bool: Bool? {
        guard style == .plain else { return nil }
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    /// Decimal, `0x` hex, `0b` binary, `0o`/leading-`0` octal, `_` separators, and base 60 (`1:30` is 90).
    var int: Int? {
        guard style == .plain else { return nil }
        let digits = String(text.filter { $0 != "_" })
        if digits == "0" { return 0 }
        let negative = digits.hasPrefix("-")
        let signed = negative || digits.hasPrefix("+")
        let body = digits.dropFirst(signed ? 1 : 0)
        let sign = negative ? "-" : ""
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where body.hasPrefix(prefix) {
            return Int(sign + body.dropFirst(prefix.count), radix: radix)
        }
        if body.contains(":") {
            var value = 0
            for part in body.split(separator: ":", omittingEmptySubsequences: false) {
                guard let digit = Int(part) else { return nil }
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 60)
                guard !overflow else { return nil }
                value = shifted + digit
            }
            return negative ? -value : value
        }
        return Int(digits)
    }

    /// Decimal or exponent notation, `.inf`, `-.inf`, `.nan`, `_` separators, and base 60 (`1:30.5`).
    var double: Double? {
        guard style == .plain else { return nil }
        switch text.lowercased() {
        case ".inf", "+.inf": return .infinity
        case "-.inf": return -.infinity
        case ".nan": return .nan
        default: break
        }
        let digits = String(text.filter { $0 != "_" })
        guard digits.contains(":") else { return Double(digits) }
        let negative = digits.hasPrefix("-")
        let body = digits.dropFirst(negative || digits.hasPrefix("+") ? 1 : 0)
        var value = 0.0
        for part in body.split(separator: ":", omittingEmptySubsequences: false) {
            guard let digit = Double(part) else { return nil }
            value = value * 60 + digit
        }
        return negative ? -value : value
    }
}
