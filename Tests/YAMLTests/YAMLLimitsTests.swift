import Testing

@testable import YAML

/// What one YAML text may ask of the parser: nesting depth, alias expansion, and work linear in its
/// size. Each case here is a file that crashed, stalled or blew up the reader before these bounds.
@Suite struct YAMLLimitsTests {
    struct Deep: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        /// Where the first collection beyond the limit starts.
        var line: Int
        var column: Int
        var testDescription: String { name }
    }

    /// Each kind of nesting, far past the limit of 64: the problem points at the 65th collection.
    static let tooDeep: [Deep] = [
        // The reproduction: 6 KB of `[` overflowed the stack of `litmus check` and of a running agent.
        Deep(name: "6,000 nested [", yaml: String(repeating: "[", count: 6000), line: 1, column: 65),
        Deep(
            name: "nested flow mappings", yaml: String(repeating: "{a: ", count: 100) + "x" + String(repeating: "}", count: 100), line: 1, column: 257
        ),
        Deep(
            name: "nested block mappings", yaml: (0..<100).map { String(repeating: "  ", count: $0) + "k:" }.joined(separator: "\n") + " x\n",
            line: 65, column: 129),
        Deep(name: "nested block sequences on one line", yaml: String(repeating: "- ", count: 100) + "x\n", line: 1, column: 129),
        Deep(
            name: "block sequences on their own lines",
            yaml: (0..<100).map { String(repeating: "  ", count: $0) + "-" }.joined(separator: "\n") + " x\n", line: 65, column: 129),
        Deep(name: "anchored sequences", yaml: String(repeating: "- &a ", count: 100) + "x\n", line: 1, column: 321),
        // `[a: [a: …]]`: each entry is a one-pair mapping in a sequence, two levels per `[`; the 33rd `[` is level 65.
        Deep(
            name: "one-pair mappings in flow sequences", yaml: String(repeating: "[a: ", count: 40) + "x" + String(repeating: "]", count: 40),
            line: 1, column: 129),
    ]

    @Test(arguments: tooDeep)
    func nestingBeyondTheLimitIsRefusedWithItsPlace(_ deep: Deep) {
        #expect {
            _ = try YAMLParser.parse(deep.yaml, file: "deep.yml")
        } throws: { error in
            guard let problem = error as? YAMLProblem else { return false }
            #expect(problem.message.contains("nested more than 64 levels deep"), "\(problem)")
            #expect(problem.file == "deep.yml" && problem.line == deep.line && problem.column == deep.column, "\(problem)")
            return true
        }
    }

    /// The deepest documents allowed parse, on a task's thread (whose stack is smaller than the main
    /// thread's: a running daemon reloads its file on one), in this unoptimised build.
    @Test func theDeepestAllowedDocumentsParseOnATaskThread() async throws {
        let documents = [
            String(repeating: "[", count: 64) + String(repeating: "]", count: 64),
            String(repeating: "{a: ", count: 64) + "x" + String(repeating: "}", count: 64),
            (0..<64).map { String(repeating: "  ", count: $0) + "k:" }.joined(separator: "\n") + " x\n",
            String(repeating: "- &a ", count: 64) + "x\n",
            (0..<32).map { String(repeating: "  ", count: $0) + "k:" }.joined(separator: "\n") + " " + String(repeating: "[", count: 32)
                + String(repeating: "]", count: 32) + "\n",
        ]
        for yaml in documents {
            var node = try #require(try YAMLParser.parse(yaml), "\(yaml.prefix(40))")
            var depth = 1
            while let child = node.sequence?.first ?? node.mapping?.first?.value, child.scalar == nil {
                node = child
                depth += 1
            }
            #expect(depth == 64, "\(yaml.prefix(40))")
        }
    }

    @Test func theLimitsAreTheCallersToSet() throws {
        let limits = YAMLLimits(maximumDepth: 3, maximumAliasedNodes: 10)
        #expect(try YAMLParser.parse("a: [[x]]\n", limits: limits) != nil)
        #expect(
            throws: YAMLProblem(
                path: "", line: 1, column: 6, message: "collections nested more than 3 levels deep; a configuration needs only a few levels")
        ) {
            try YAMLParser.parse("a: [[[x]]]\n", limits: limits)
        }
        #expect(try YAMLParser.parse("a: &l [1, 2, 3]\nb: *l\nc: *l\n", limits: limits) != nil)
        #expect {
            try YAMLParser.parse("a: &l [1, 2, 3]\nb: *l\nc: *l\nd: *l\n", limits: limits)
        } throws: { error in
            let problem = error as? YAMLProblem
            return problem?.line == 4 && problem?.column == 4 && problem?.message.contains("more than 10 nodes") == true
        }
    }

    @Test func aNodeHasOneAnchor() {
        for yaml in ["a: &x &y 1\n", "a: [&x &y 1]\n", "a: &x\n  &y b: 1\n"] {
            #expect {
                try YAMLParser.parse(yaml)
            } throws: { error in
                (error as? YAMLProblem)?.message.contains("only one anchor") == true
            }
        }
    }

    /// The "billion laughs": under 1 KB whose aliases stand for 12^9 × 13, about 7e10 nodes. The parser
    /// shares the nodes, but every reader walks each alias's copy; the text is refused at the alias that
    /// passes the budget.
    @Test func anAliasBombIsRefusedAtTheAliasThatPassesTheBudget() throws {
        var lines = ["l0: &l0 [" + Array(repeating: "\"lol\"", count: 12).joined(separator: ", ") + "]"]
        for level in 1...8 {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 12).joined(separator: ", ") + "]")
        }
        let bomb = lines.joined(separator: "\n") + "\n"
        #expect(bomb.utf8.count < 2048)
        #expect {
            try YAMLParser.parse(bomb, file: "bomb.yml")
        } throws: { error in
            guard let problem = error as? YAMLProblem else { return false }
            #expect(problem.message.contains("stand for more than 100000 nodes"), "\(problem)")
            // l1's aliases stand for 12 × 13 nodes, l2's for 12 × 169, l3's for 12 × 2,041: 26,676 in all;
            // each of l4's stands for 24,505, and its third passes 100,000.
            #expect(problem.line == 5, "\(problem)")
            return true
        }
    }

    @Test func aliasesWithinTheBudgetStillWork() throws {
        // A list of 20 checks anchored once and used by 100 services: 2,100 aliased nodes.
        let checks = "checks: &checks [" + (0..<20).map { "c\($0)" }.joined(separator: ", ") + "]\n"
        let services = (0..<100).map { "  s\($0): *checks\n" }.joined()
        let root = try #require(try YAMLParser.parse(checks + "services:\n" + services))
        #expect(root["services"]?.mapping?.count == 100)
        #expect(root["services"]?["s99"]?.sequence?.count == 20)
    }

    /// Texts whose re-scans were quadratic: the bytes examined besides the one pass stay within the
    /// text's size (before, 80,000 tabs were 3.2e9 bytes re-examined, 2.2 s).
    @Test(arguments: [
        ("80,000 tabs on a blank line", "a: 1\n" + String(repeating: "\t", count: 80_000) + "\nb: 2\n"),
        ("80,000 tabs on many lines", String(repeating: "\t\t\t\t\t\t\t\t\n", count: 10_000) + "a: 1\n"),
        ("80,000 blanks inside a quoted string", "a: \"x" + String(repeating: " \t", count: 40_000) + "y\"\n"),
        ("a flow sequence of 50,000 entries on one line", "a: [" + String(repeating: "item, ", count: 50_000) + "end]\n"),
        ("a flow mapping of 20,000 entries on one line", "a: {" + (0..<20_000).map { "k\($0): v" }.joined(separator: ", ") + "}\n"),
    ])
    func workIsLinearInTheTextsSize(_ name: String, _ yaml: String) throws {
        let (result, rescanned) = YAMLParser.parseCountingRescans(yaml)
        _ = try result.get()
        #expect(rescanned <= 3 * yaml.utf8.count, "\(name): \(rescanned) bytes re-examined for \(yaml.utf8.count)")
    }

    @Test func aTabInTheIndentationIsStillFoundOnALongLine() throws {
        let yaml = "a:\n" + String(repeating: " ", count: 5000) + String(repeating: "\t", count: 5000) + "b: 1\n"
        #expect {
            try YAMLParser.parse(yaml)
        } throws: { error in
            (error as? YAMLProblem)?.message.contains("tab in the indentation") == true
        }
        #expect(try YAMLParser.parse("a: 1\n" + String(repeating: "\t", count: 5000) + "\nb: 2\n")?["b"]?.scalar?.text == "2")
    }

    @Test func bytesParseAsTheirText() throws {
        let text = "name: café\nlist: [a, b]\n"
        let fromBytes = try YAMLParser.parse(utf8: Array(text.utf8))
        let fromText = try YAMLParser.parse(text)
        #expect(fromBytes == fromText && fromBytes != nil)
        #expect(throws: YAMLProblem.self) { try YAMLParser.parse(utf8: Array(String(repeating: "[", count: 100).utf8)) }
    }
}
