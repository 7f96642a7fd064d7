import Foundation
import Testing
import YAML
import Yams

/// The YAML module against an independent implementation: libyaml's parser (through Yams, a test-only
/// dependency) with Yams's YAML 1.1 tag resolution. Both must read the same tree with the same scalar
/// values from random documents of the supported subset and from every YAML file in the repository;
/// what the subset refuses, they must not silently read differently.
@Suite struct YAMLDifferentialTests {
    static func ours(_ text: String) throws -> Tree? { try YAMLParser.parse(text).map(Tree.init) }

    static func oracle(_ text: String) throws -> Tree? { try Yams.compose(yaml: text).map { Tree(yams: $0) } }

    /// 2,000 generated documents, seeds 0..<2000: a failure names its seed and its text.
    @Test func generatedDocumentsReadTheSameAsLibyaml() throws {
        var compared = 0
        for seed in UInt64(0)..<2000 {
            var generator = DocumentGenerator(seed: seed)
            let text = generator.document()
            let expected: Tree?
            do {
                expected = try Self.oracle(text)
            } catch {
                Issue.record("seed \(seed): the generator wrote a document libyaml refuses (\(error)):\n\(text)")
                continue
            }
            do {
                let actual = try Self.ours(text)
                #expect(
                    actual == expected, "seed \(seed):\n\(text)\nours:   \(actual?.description ?? "nil")\nlibyaml: \(expected?.description ?? "nil")")
                compared += 1
            } catch {
                Issue.record("seed \(seed): refused (\(error)) a document libyaml reads:\n\(text)")
            }
        }
        #expect(compared == 2000)
    }

    /// Every YAML file in the repository: examples/, packaging/, the demo's and CI's.
    @Test(arguments: RepositoryFiles.yaml())
    func repositoryFileReadsTheSameAsLibyaml(_ file: String) throws {
        let text = try String(contentsOfFile: "\(RepositoryFiles.root)/\(file)", encoding: .utf8)
        let expected = try Self.oracle(text)
        #expect(expected != nil)
        #expect(try Self.ours(text) == expected)
    }

    @Test func theRepositoryHasYAMLFilesToCompare() {
        let files = RepositoryFiles.yaml()
        #expect(files.contains("examples/brother.yml") && files.contains("examples/litmus.yml") && files.contains("examples/ipvs-table.yml"))
        #expect(files.contains("packaging/etc/brother/brother.yml") && files.contains("packaging/etc/litmus/litmus.yml"))
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var yaml: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { message }
    }

    /// YAML that libyaml reads but the subset does not support: each is refused with its place and a
    /// message that says what to do, never read as something else.
    static let refusals: [Refusal] = [
        Refusal(yaml: "port: !!int 80\n", line: 1, column: 7, message: "YAML tags (!...) are not supported; write the value without a tag"),
        Refusal(yaml: "a: 1\nb: !custom x\n", line: 2, column: 4, message: "tags"),
        Refusal(yaml: "a: [!!str 1]\n", line: 1, column: 5, message: "tags"),
        Refusal(yaml: "? a\n: b\n", line: 1, column: 1, message: "complex mapping keys (?) are not supported"),
        Refusal(yaml: "{? a: b}\n", line: 1, column: 2, message: "complex mapping keys"),
        Refusal(yaml: "a: 1\n---\nb: 2\n", line: 2, column: 1, message: "more than one YAML document (---) in one file; keep one document per file"),
        Refusal(yaml: "--- a\n--- b\n", line: 2, column: 1, message: "more than one YAML document"),
        Refusal(
            yaml: "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n", line: 3, column: 3,
            message: "merge keys (<<) are not supported; write the keys out in full"),
        Refusal(yaml: "use: {<<: {x: 1}}\n", line: 1, column: 7, message: "merge keys"),
        Refusal(yaml: "a:\n  x: 1\n  &k key: 1\n", line: 3, column: 3, message: "anchors, aliases and tags are not supported on mapping keys"),
        Refusal(yaml: "a: &x 1\n*x : 2\n", line: 2, column: 1, message: "anchors, aliases and tags are not supported on mapping keys"),
        Refusal(yaml: "[a, b]: c\n", line: 1, column: 1, message: "a flow collection cannot be a mapping key"),
        Refusal(yaml: "x:\n  {a: b}: c\n", line: 2, column: 3, message: "a flow collection cannot be a mapping key"),
    ]

    @Test(arguments: refusals)
    func refusesWhatTheSubsetDoesNotSupport(_ refusal: Refusal) throws {
        // libyaml reads it (so the refusal is the subset's, not a syntax error)...
        #expect(try Array(Yams.compose_all(yaml: refusal.yaml)).count >= 1)
        // ...and the module refuses it, saying where and what to do.
        #expect {
            _ = try YAMLParser.parse(refusal.yaml, file: "t.yml")
        } throws: { error in
            guard let problem = error as? YAMLProblem else { return false }
            #expect(problem.message.contains(refusal.message), "\(problem)")
            #expect(problem.line == refusal.line && problem.column == refusal.column, "\(problem)")
            #expect(problem.description.hasPrefix("t.yml:\(refusal.line):\(refusal.column): "), "\(problem)")
            return true
        }
    }
}
