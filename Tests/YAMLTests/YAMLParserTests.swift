import PropertyBased
import Testing
import YAML

/// The YAML reader on its own: what each construct parses to, the lines nodes report, what is refused
/// and where, and a round trip of random documents written in every style.
@Suite struct YAMLParserTests {
    /// A compact, order-keeping rendering of a node: `{k: v}`, `[a, b]`, scalars as `text`, non-plain
    /// scalars marked with their quote (`'text'`, `"text"`, `|text|`, `>text>`), line breaks as `\n`.
    static func render(_ node: YAMLNode?) -> String {
        guard let node else { return "nil" }
        switch node.content {
        case .scalar(let scalar):
            let text = scalar.text.replacing("\n", with: "\\n")
            switch scalar.style {
            case .plain: return text
            case .singleQuoted: return "'\(text)'"
            case .doubleQuoted: return "\"\(text)\""
            case .literal: return "|\(text)|"
            case .folded: return ">\(text)>"
            }
        case .sequence(let items): return "[" + items.map { render($0) }.joined(separator: ", ") + "]"
        case .mapping(let pairs): return "{" + pairs.map { "\(render($0.key)): \(render($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    struct Golden: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var expected: String
        var testDescription: String { name }
    }

    static let goldens: [Golden] = [
        Golden(name: "empty file", yaml: "", expected: "nil"),
        Golden(name: "only comments", yaml: "# nothing\n\n   # here\n", expected: "nil"),
        Golden(name: "block mapping", yaml: "a: 1\nb: two\n", expected: "{a: 1, b: two}"),
        Golden(name: "nested mapping", yaml: "a:\n  b:\n    c: d\n  e: f\ng: h\n", expected: "{a: {b: {c: d}, e: f}, g: h}"),
        Golden(name: "empty values", yaml: "a:\nb: ~\nc:\n", expected: "{a: , b: ~, c: }"),
        Golden(name: "block sequence", yaml: "- a\n- b\n-   c\n", expected: "[a, b, c]"),
        Golden(name: "sequence indented under key", yaml: "k:\n  - a\n  - b\n", expected: "{k: [a, b]}"),
        Golden(name: "sequence at key's indentation", yaml: "k:\n- a\n- b\nl: c\n", expected: "{k: [a, b], l: c}"),
        Golden(
            name: "mappings in a sequence", yaml: "- type: tcp\n  port: 1\n- type: script\n  command: [a, b]\n",
            expected: "[{type: tcp, port: 1}, {type: script, command: [a, b]}]"),
        Golden(name: "sequence in sequence", yaml: "- - a\n  - b\n- c\n", expected: "[[a, b], c]"),
        Golden(name: "entry on the next line", yaml: "-\n  a: b\n-\n", expected: "[{a: b}, ]"),
        Golden(name: "flow sequence", yaml: "k: [a, 'b c', \"d\", 1.5, [e], {f: g}]\n", expected: "{k: [a, 'b c', \"d\", 1.5, [e], {f: g}]}"),
        Golden(name: "flow mapping", yaml: "{a: 1, \"b\":2, c, d: }", expected: "{a: 1, \"b\": 2, c: , d: }"),
        Golden(name: "flow over lines with comments", yaml: "k: [a,  # first\n    b,\n    c,   # trailing comma\n]\n", expected: "{k: [a, b, c]}"),
        Golden(name: "pair in a flow sequence", yaml: "[a: b, c]", expected: "[{a: b}, c]"),
        Golden(name: "empty flow collections", yaml: "a: []\nb: {}\n", expected: "{a: [], b: {}}"),
        Golden(
            name: "colons and hashes inside plain scalars", yaml: "url: http://h:80/x#frag\nt: 12:30\n",
            expected: "{url: http://h:80/x#frag, t: 12:30}"),
        Golden(name: "comment after a value", yaml: "a: b # note\nc: 'd' # note\n", expected: "{a: b, c: 'd'}"),
        Golden(name: "plain scalars starting with indicators", yaml: "a: -c\nb: :x\nc: ?y\nd: +PONG\n", expected: "{a: -c, b: :x, c: ?y, d: +PONG}"),
        Golden(name: "single quotes", yaml: "a: 'it''s # not a comment'\n", expected: "{a: 'it's # not a comment'}"),
        Golden(
            name: "double-quote escapes", yaml: #"a: "tab\there \"q\" \\ \x41\u00e9\U0001F600 \/ \e""#,
            expected: "{a: \"tab\there \"q\" \\ A\u{e9}\u{1F600} / \u{1B}\"}"),
        Golden(name: "quoted multi-line folding", yaml: "a: \"one\n  two\n\n  three\"\n", expected: "{a: \"one two\\nthree\"}"),
        Golden(name: "escaped line break", yaml: "a: \"one\\\n    two\"\n", expected: "{a: \"onetwo\"}"),
        Golden(name: "plain multi-line", yaml: "a: one\n  two\n\n  three\nb: c\n", expected: "{a: one two\\nthree, b: c}"),
        Golden(
            name: "literal block", yaml: "a: |\n  line 1\n    indented\n\n  line 3\nb: c\n",
            expected: "{a: |line 1\\n  indented\\n\\nline 3\\n|, b: c}"),
        Golden(name: "literal strip", yaml: "a: |-\n  x\n\n", expected: "{a: |x|}"),
        Golden(name: "literal keep", yaml: "a: |+\n  x\n\n", expected: "{a: |x\\n\\n|}"),
        // Found by the differential test: a file's last line has no line break to keep.
        Golden(name: "literal at the end without a final line break", yaml: "a: |\n  x\n  y", expected: "{a: |x\\ny|}"),
        Golden(name: "kept folded at the end without a final line break", yaml: "- >+\n  x", expected: "[>x>]"),
        Golden(name: "literal explicit indentation", yaml: "a: |2\n   x\n  y\n", expected: "{a: | x\\ny\\n|}"),
        Golden(
            name: "folded block", yaml: "a: >\n  one\n  two\n\n  three\n    more\n  four\n", expected: "{a: >one two\\nthree\\n  more\\nfour\\n>}"),
        Golden(name: "block scalar in a sequence", yaml: "- |\n  x\n- y\n", expected: "[|x\\n|, y]"),
        Golden(
            name: "anchors and aliases", yaml: "base: &b {x: 1}\nuse: *b\nlist: &l\n  - a\nagain: *l\n",
            expected: "{base: {x: 1}, use: {x: 1}, list: [a], again: [a]}"),
        Golden(name: "document markers and directive", yaml: "%YAML 1.2\n---\na: b\n...\n", expected: "{a: b}"),
        Golden(name: "scalar document", yaml: "--- hello\n", expected: "hello"),
        Golden(name: "CRLF line breaks", yaml: "a: 1\r\nb:\r\n  - c\r\n", expected: "{a: 1, b: [c]}"),
        Golden(name: "byte order mark", yaml: "\u{FEFF}a: b\n", expected: "{a: b}"),
        Golden(name: "quoted keys", yaml: "\"a b\": 1\n'c': 2\n", expected: "{\"a b\": 1, 'c': 2}"),
        Golden(name: "duplicate keys are kept for the reader to report", yaml: "a: 1\na: 2\n", expected: "{a: 1, a: 2}"),
        Golden(name: "tabs after content", yaml: "a:\tb\t# c\n", expected: "{a: b}"),
        Golden(name: "unicode", yaml: "name: café ☕\n", expected: "{name: café ☕}"),
    ]

    @Test(arguments: goldens)
    func parses(_ golden: Golden) throws {
        #expect(Self.render(try YAMLParser.parse(golden.yaml)) == golden.expected)
    }

    @Test func nodesKnowTheirLines() throws {
        let yaml = """
            # comment
            port: 9292
            services:
              web:
                checks:
                  - type: cpu_load

                    weight: 50
            listen: ["a:1",
              "b:2"]
            """
        let root = try #require(try YAMLParser.parse(yaml))
        let top = try #require(root.mapping)
        #expect(root.line == 2)
        #expect(top.map(\.key.line) == [2, 3, 9])
        #expect(top[0].value.line == 2)
        let web = try #require(top[1].value.mapping?.first?.value)
        #expect(web.line == 5)
        let checks = try #require(web.mapping?.first?.value)
        #expect(checks.line == 6)
        let check = try #require(checks.sequence?.first?.mapping)
        #expect(check.map(\.value.line) == [6, 8])
        #expect(top[2].value.sequence?.map(\.line) == [9, 10])
    }

    @Test func nodesKnowTheirColumnsInCharacters() throws {
        let root = try #require(try YAMLParser.parse("name: café\nnext: [é, x]\nlist:\n  - v\nempty:\n"))
        let top = try #require(root.mapping)
        #expect(
            top.map(\.key.mark) == [
                YAMLMark(line: 1, column: 1), YAMLMark(line: 2, column: 1), YAMLMark(line: 3, column: 1), YAMLMark(line: 5, column: 1),
            ])
        #expect(top[0].value.mark == YAMLMark(line: 1, column: 7))
        // Counted in characters: "é" is two bytes but one column.
        #expect(top[1].value.sequence?.map(\.column) == [8, 11])
        #expect(top[2].value.mark == YAMLMark(line: 4, column: 3))
        // A key with no value: the null is placed at the key.
        #expect(top[3].value.isNull && top[3].value.mark == YAMLMark(line: 5, column: 1))
    }

    @Test func problemsPrintAsFileLineColumnPathMessage() {
        #expect(YAMLProblem(file: "a.yml", path: "x.y[2]", line: 3, column: 5, message: "bad").description == "a.yml:3:5: x.y[2]: bad")
        #expect(YAMLProblem(file: "a.yml", path: "", line: 3, column: 5, message: "bad").description == "a.yml:3:5: bad")
        #expect(YAMLProblem(file: "a.yml", path: "x", message: "cannot read").description == "a.yml: x: cannot read")
        #expect(YAMLProblem(path: "x", line: 1, column: 2, message: "bad").description == "1:2: x: bad")
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var yaml: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { message }
    }

    static let bad: [Bad] = [
        Bad(yaml: "services: [\n", line: 1, column: 11, message: "never closed"),
        Bad(yaml: "a: {b: c\n", line: 1, column: 4, message: "never closed"),
        Bad(yaml: "a: [b, c d}\n", line: 1, column: 11, message: "expected ',' or ']'"),
        Bad(yaml: "a: 'open\nb: c\n", line: 1, column: 4, message: "never closed"),
        Bad(yaml: "a: \"x\\qy\"\n", line: 1, column: 6, message: "unknown escape"),
        Bad(yaml: "a: \"\\u12\"\n", line: 1, column: 5, message: "hexadecimal"),
        Bad(yaml: "a: b: c\n", line: 1, column: 5, message: "mapping cannot start on its key's line"),
        Bad(yaml: "a: - b\n", line: 1, column: 4, message: "block sequence cannot start on its key's line"),
        Bad(yaml: "a:\n    b: 1\n  c: 2\n", line: 3, column: 3, message: "bad indentation: expected a key at column 1"),
        Bad(yaml: "k:\n  - a\n - b\n", line: 3, column: 2, message: "bad indentation"),
        Bad(yaml: "a:\n  b: 1\n   c: 2\n", line: 3, column: 5, message: "a mapping cannot start inside a multi-line value"),
        Bad(yaml: "a: 1\n b: 2\n", line: 2, column: 3, message: "a mapping cannot start inside a multi-line value"),
        Bad(yaml: "a:\n\tb: 1\n", line: 2, column: 2, message: "tab in the indentation"),
        Bad(yaml: "a: 1\nb\n", line: 2, column: 1, message: "expected \"key: value\""),
        Bad(yaml: "a: 1\n- b\n", line: 2, column: 1, message: "a \"- \" entry belongs under a key"),
        Bad(yaml: "a: *nope\n", line: 1, column: 4, message: "unknown alias *nope"),
        Bad(yaml: "a: !!str 5\n", line: 1, column: 4, message: "tags"),
        Bad(yaml: "? a\n: b\n", line: 1, column: 1, message: "complex mapping keys"),
        Bad(yaml: "[a]: b\n", line: 1, column: 1, message: "flow collection cannot be a mapping key"),
        Bad(yaml: "a: [b] c\n", line: 1, column: 8, message: "after the closing bracket"),
        Bad(yaml: "a: 'b' c\n", line: 1, column: 8, message: "after the closing quote"),
        Bad(yaml: "a: @b\n", line: 1, column: 4, message: "cannot start with '@'"),
        Bad(yaml: "a: |x\n  b\n", line: 1, column: 5, message: "after the block scalar indicator"),
        Bad(yaml: "a: 1\n---\nb: 2\n", line: 2, column: 1, message: "more than one YAML document"),
        Bad(yaml: "a: [1, , 2]\n", line: 1, column: 8, message: "empty entry"),
    ]

    @Test(arguments: bad)
    func refusesWithLineAndColumn(_ bad: Bad) {
        #expect {
            _ = try YAMLParser.parse(bad.yaml, file: "bad.yml")
        } throws: { error in
            guard let error = error as? YAMLProblem else { return false }
            #expect(error.file == "bad.yml" && error.path.isEmpty)
            #expect(error.message.contains(bad.message), "\(error)")
            #expect(error.line == bad.line && error.column == bad.column, "\(error)")
            return true
        }
    }

}

/// Random documents written out as YAML, in block or flow style with every scalar style, parse back
/// to the same tree.
@Suite struct YAMLRoundTripTests {
    indirect enum Value: Equatable, CustomStringConvertible {
        case string(String)
        case list([Value])
        case map([String], [Value])

        var description: String {
            switch self {
            case .string(let text): return "\"\(text)\""
            case .list(let items): return "[\(items.map(\.description).joined(separator: ", "))]"
            case .map(let keys, let values): return "{\(zip(keys, values).map { "\($0): \($1)" }.joined(separator: ", "))}"
            }
        }
    }

    /// Draws from a fixed list of numbers, so a failing case is reproducible from its input.
    struct Draw {
        var numbers: [Int]
        var index = 0
        mutating func next(_ bound: Int) -> Int {
            defer { index += 1 }
            return numbers[index % numbers.count] % bound
        }
    }

    static let pieces = [
        "web", "a b", "x:y", "port", "#no", "it's", "say \"hi\"", "back\\slash", "tab\there", "two\nlines", "café", "-dash", "", " pad ", "1.5",
        "null", "true", "[x]", "{y}", "a, b", "k: v", "&a", "*b", "!t", "%p", "@q", "|", ">",
    ]

    static func value(_ draw: inout Draw, depth: Int) -> Value {
        switch depth > 2 ? 0 : draw.next(3) {
        case 0:
            let count = draw.next(3) + 1
            return .string((0..<count).map { _ in pieces[draw.next(pieces.count)] }.joined())
        case 1:
            return .list((0..<draw.next(4)).map { _ in value(&draw, depth: depth + 1) })
        default:
            let count = draw.next(4)
            var keys: [String] = []
            for index in 0..<count { keys.append("k\(index)\(pieces[draw.next(pieces.count)])") }
            return .map(keys, keys.map { _ in value(&draw, depth: depth + 1) })
        }
    }

    /// Plain only when nothing in it could mean something else; otherwise quoted, escaping as needed.
    static func scalar(_ text: String, _ draw: inout Draw) -> String {
        let safe =
            text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && text.first?.isLetter == true
            && !["true", "null", "yes", "no", "on", "off"].contains(text.lowercased())
        let style = draw.next(3)
        if safe, style == 0 { return text }
        if style == 1, !text.contains("\n"), !text.contains("\t"), !text.contains("\\") {
            return "'" + text.replacing("'", with: "''") + "'"
        }
        var escaped = ""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }

    static func flow(_ value: Value, _ draw: inout Draw) -> String {
        switch value {
        case .string(let text): return scalar(text, &draw)
        case .list(let items): return "[" + items.map { flow($0, &draw) }.joined(separator: draw.next(2) == 0 ? ", " : ",\n  ") + "]"
        case .map(let keys, let values):
            return "{" + zip(keys, values).map { "\(scalar($0, &draw)): \(flow($1, &draw))" }.joined(separator: ", ") + "}"
        }
    }

    /// Lines of `value` in block style, indented by `indent`.
    static func block(_ value: Value, indent: Int, _ draw: inout Draw) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .string(let text): return [pad + scalar(text, &draw)]
        case .list(let items) where items.isEmpty, .map(_, let items) where items.isEmpty: return [pad + flow(value, &draw)]
        case .list(let items):
            return items.flatMap { item -> [String] in
                switch item {
                case .string, .list([]), .map([], _): return ["\(pad)- \(flow(item, &draw))"]
                default:
                    var lines = block(item, indent: indent + 2, &draw)
                    lines[0] = pad + "- " + lines[0].dropFirst(indent + 2)
                    return lines
                }
            }
        case .map(let keys, let values):
            return zip(keys, values).flatMap { key, item -> [String] in
                let head = "\(pad)\(scalar(key, &draw)):"
                switch item {
                case .string, .list([]), .map([], _): return ["\(head) \(flow(item, &draw))"]
                default:
                    if draw.next(4) == 0 { return ["\(head) \(flow(item, &draw))"] }
                    return [head] + block(item, indent: indent + 2, &draw)
                }
            }
        }
    }

    static func value(of node: YAMLNode) -> Value? {
        switch node.content {
        case .scalar(let scalar): return .string(scalar.text)
        case .sequence(let items):
            let values = items.compactMap(value(of:))
            return values.count == items.count ? .list(values) : nil
        case .mapping(let pairs):
            let values = pairs.compactMap { value(of: $0.value) }
            return values.count == pairs.count ? .map(pairs.map { $0.key.scalar?.text ?? "?" }, values) : nil
        }
    }

    @Test func randomDocumentsRoundTrip() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...1_000_000).array(of: 200)) { numbers in
            var draw = Draw(numbers: numbers)
            var root = Self.value(&draw, depth: 0)
            if case .string = root { root = .map(["k"], [root]) }
            let yaml = draw.next(3) == 0 ? Self.flow(root, &draw) : Self.block(root, indent: 0, &draw).joined(separator: "\n")
            do {
                let node = try #require(try YAMLParser.parse(yaml), "\(yaml)")
                #expect(Self.value(of: node) == root, "\(yaml)")
            } catch {
                Issue.record("\(error)\n\(yaml)")
            }
        }
    }
}
