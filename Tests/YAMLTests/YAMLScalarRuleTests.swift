import Testing
import YAML

/// The one scalar rule both daemons' files are read with (YAMLScalar's documentation), case by case.
@Suite struct YAMLScalarRuleTests {
    static func scalar(_ yaml: String) throws -> YAMLScalar {
        try #require(try YAMLParser.parse("v: \(yaml)")?.mapping?.first?.value.scalar, "\(yaml)")
    }

    @Test(arguments: [
        ("42", 42), ("-7", -7), ("+5", 5), ("0", 0), ("10_000", 10000), ("0x1F90", 8080), ("-0x1F", -31), ("0o17", 15), ("0b101", 5),
        ("1:30", 90), ("1:00:00", 3600), ("07", 7), ("00", 0),
        // Quotes do not change a number: brother always read `port: "8080"` so, and litmus now does too.
        ("\"8080\"", 8080), ("'0x1F90'", 8080),
    ])
    func integers(_ yaml: String, _ value: Int) throws {
        #expect(try Self.scalar(yaml).int == value)
    }

    @Test(arguments: ["4.5", "1e3", "0x", "0xG", "0b2", "0o8", "1_", "_1", "1:60", "01:30", "abc", "", "~", "1 000", "٣", "9223372036854775808"])
    func notIntegers(_ yaml: String) throws {
        #expect(try Self.scalar(yaml).int == nil)
    }

    /// `010` is 8 to Ruby's Psych (YAML 1.1) and 10 to YAML 1.2: refused, with both readings and what to write.
    @Test func aLeadingZeroThatReadsTwoWaysIsRefused() throws {
        let scalar = try Self.scalar("010")
        #expect(scalar.int == nil && scalar.double == nil)
        #expect(
            scalar.leadingZeroAmbiguity
                == "\"010\" is 8 in YAML 1.1 (octal, as Ruby read it) but 10 in YAML 1.2; write 10 without the leading zero, or 0o10 for octal 8")
        #expect(try Self.scalar("-0755").leadingZeroAmbiguity?.hasPrefix("\"-0755\" is -493 in YAML 1.1") == true)
        #expect(try Self.scalar("07").leadingZeroAmbiguity == nil)
        // Not octal: only the decimal reading is a number, and it is taken.
        #expect(try Self.scalar("089").leadingZeroAmbiguity == nil)
        #expect(try Self.scalar("089").int == 89)
    }

    @Test(arguments: [
        ("0.5", 0.5), ("1.5", 1.5), ("-0.25", -0.25), (".5", 0.5), ("1.", 1), ("1e3", 1000), ("2.5E-1", 0.25), ("1_000.5", 1000.5),
        ("1:30.5", 90.5), ("3", 3), ("0x10", 16), ("'2.5'", 2.5), (".inf", .infinity), ("-.Inf", -.infinity),
    ])
    func numbers(_ yaml: String, _ value: Double) throws {
        #expect(try Self.scalar(yaml).double == value)
    }

    @Test(arguments: ["1.2.3", "e3", "1e", ".", "1e3.5", "0x1p3", "inf", "nan", "1,5", "", "~"])
    func notNumbers(_ yaml: String) throws {
        #expect(try Self.scalar(yaml).double == nil)
    }

    @Test func booleansAreYAML11sWordsInAnyCase() throws {
        for word in ["true", "True", "TRUE", "tRuE", "yes", "Yes", "on", "ON", "'yes'", "\"true\""] {
            #expect(try Self.scalar(word).bool == true, "\(word)")
        }
        for word in ["false", "NO", "no", "off", "Off", "'off'"] { #expect(try Self.scalar(word).bool == false, "\(word)") }
        for word in ["y", "n", "1", "0", "t", "enabled", ""] { #expect(try Self.scalar(word).bool == nil, "\(word)") }
    }

    @Test func onlyPlainNothingIsNull() throws {
        for null in ["~", "null", "Null", "NULL", "nUlL", ""] { #expect(try Self.scalar(null).isNull, "\(null)") }
        for text in ["'null'", "\"\"", "'~'", "nil", "none"] { #expect(try !Self.scalar(text).isNull, "\(text)") }
    }

    @Test func textIsTakenAsWritten() throws {
        #expect(try Self.scalar("0123").text == "0123")
        #expect(try Self.scalar("0x10").text == "0x10")
        #expect(try Self.scalar("'yes'").text == "yes")
    }

    /// What a plain scalar is before a key asks (quoted ones are always strings).
    @Test func resolution() throws {
        #expect(try Self.scalar("~").resolved == .null)
        #expect(try Self.scalar("Yes").resolved == .bool(true))
        #expect(try Self.scalar("0x1F90").resolved == .int(8080))
        #expect(try Self.scalar("2.5").resolved == .float(2.5))
        #expect(try Self.scalar("010").resolved == .string("010"))
        #expect(try Self.scalar("'8080'").resolved == .string("8080"))
        #expect(try Self.scalar("web").resolved == .string("web"))
    }
}
