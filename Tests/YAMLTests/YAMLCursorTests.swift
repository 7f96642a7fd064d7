import Testing
import YAML

/// The typed-access layer: every read follows the scalar rule, and every problem names the file, the
/// line and column of the value, and its YAML path.
@Suite struct YAMLCursorTests {
    static let text = """
        port: "8080"
        hex: 0x1F90
        octal: 010
        flag: yes
        clusters:
          web:
            nodes:
              - {address: 10.0.0.1, port: lots}
              - address: 10.0.0.2
                port: 70000
        timeout: 1.5
        empty:
        """

    static func root() throws -> YAMLCursor {
        YAMLCursor(node: try #require(try YAMLParser.parse(text, file: "c.yml")), file: "c.yml")
    }

    @Test func readsValuesByTheScalarRule() throws {
        var object = try YAMLObject(try Self.root())
        #expect(try object.required("port").port() == 8080)
        #expect(try object.required("hex").port() == 8080)
        #expect(try object.required("flag").bool())
        #expect(try object.required("timeout").seconds() == .milliseconds(1500))
        #expect(object.optional("empty") == nil)
    }

    @Test func problemsNameFileLineColumnAndPath() throws {
        let root = try Self.root()
        let nodes = try #require(try root.mapping().first { $0.key == "clusters" }?.value.mapping().first?.value.mapping().first?.value.sequence())
        let first = try nodes[0].mapping().first { $0.key == "port" }!.value
        #expect {
            _ = try first.port()
        } throws: { error in
            (error as? YAMLProblem)?.description == "c.yml:8:35: clusters.web.nodes[0].port: expected an integer, found \"lots\""
        }
        let second = try nodes[1].mapping().first { $0.key == "port" }!.value
        #expect {
            _ = try second.port()
        } throws: { error in
            (error as? YAMLProblem)?.description == "c.yml:10:15: clusters.web.nodes[1].port: must be 1...65535, got 70000"
        }
    }

    @Test func anAmbiguousLeadingZeroSaysWhatToWrite() throws {
        var object = try YAMLObject(try Self.root())
        #expect {
            _ = try object.required("octal").int(in: 0...100)
        } throws: { error in
            guard let problem = error as? YAMLProblem else { return false }
            return problem.line == 3 && problem.column == 8 && problem.path == "octal"
                && problem.message.contains("write 10 without the leading zero")
        }
    }

    @Test func aMissingKeyPointsAtTheMappingThatLacksIt() throws {
        var object = try YAMLObject(try Self.root())
        #expect {
            _ = try object.required("listen")
        } throws: { error in
            (error as? YAMLProblem)?.description == "c.yml:1:1: listen: is required"
        }
    }

    @Test func unknownAndDuplicateKeys() throws {
        let node = try #require(try YAMLParser.parse("a: 1\nb: 2\na: 3\n", file: "d.yml"))
        #expect {
            _ = try YAMLObject(YAMLCursor(node: node, file: "d.yml"))
        } throws: { error in
            (error as? YAMLProblem)?.description == "d.yml:3:4: a: duplicate key"
        }
        var object = try YAMLObject(YAMLCursor(node: try #require(try YAMLParser.parse("a: 1\nbee: 2\n")), file: "e.yml"))
        _ = object.optional("a")
        #expect(object.unknownKeys().map(\.description) == ["e.yml:2:6: bee: unknown key; known keys here: a"])
    }
}
