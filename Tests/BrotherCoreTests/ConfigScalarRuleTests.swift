import BrotherCore
import Foundation
import LitmusCore
import Testing
import YAML

/// brother.yml and litmus.yml are read with one scalar rule (the YAML module's): the same text in a port
/// gives the same value, or the same refusal, in both daemons. And brother's problems now have a place.
@Suite struct ConfigScalarRuleTests {
    enum Read: Equatable {
        case value(Int)
        case refused(String)
    }

    /// A node's port in brother.yml.
    static func brotherPort(_ text: String) -> Read {
        let yaml = "clusters:\n  - cluster_name: a\n    fwmark: 1\n    nodes:\n      - address: 192.0.2.1\n        port: \(text)\n"
        do {
            let configuration = try BrotherConfiguration(yaml: yaml, source: "brother.yml")
            return .value(Int(configuration.clusters[0].nodes[0].port))
        } catch {
            return .refused("\(error)")
        }
    }

    /// A TCP dependency's port in litmus.yml.
    static func litmusPort(_ text: String) throws -> Read {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scalar-rule-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("litmus.yml").path
        let yaml = "services:\n  web:\n    dependencies:\n      - type: tcp\n        host: 127.0.0.1\n        port: \(text)\n"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            let settings = try ConfigLoader.load(path: file)
            guard case .tcp(let tcp) = settings.services["web"]?.dependencies.first else { return .refused("no tcp dependency") }
            return .value(tcp.port)
        } catch {
            return .refused("\(error)")
        }
    }

    @Test(arguments: [
        ("8080", 8080), ("\"8080\"", 8080), ("'8080'", 8080), ("0x1F90", 8080), ("0o17620", 8080), ("8_080", 8080), ("+8080", 8080),
        ("2:14:40", 8080), ("07", 7),
    ])
    func bothDaemonsReadTheSamePort(_ text: String, _ port: Int) throws {
        #expect(Self.brotherPort(text) == .value(port), "brother.yml port: \(text)")
        #expect(try Self.litmusPort(text) == .value(port), "litmus.yml port: \(text)")
    }

    @Test(arguments: ["010", "lots", "80.5", "0x", "[80]", "70000", "0"])
    func bothDaemonsRefuseTheSamePort(_ text: String) throws {
        guard case .refused(let brother) = Self.brotherPort(text), case .refused(let litmus) = try Self.litmusPort(text) else {
            Issue.record("port: \(text) was accepted")
            return
        }
        // Both name the line and column of the value (line 6, after "        port: ").
        #expect(brother.hasPrefix("brother.yml:6:15: clusters[0].nodes[0].port: "), "\(brother)")
        #expect(litmus.contains("litmus.yml:6:15: services.web.dependencies[0].port: "), "\(litmus)")
        if text == "010" {
            #expect(brother.contains("write 10 without the leading zero") && litmus.contains("write 10 without the leading zero"))
        }
    }

    @Test func booleansReadTheSameInBothDaemons() throws {
        for (text, expected) in [("yes", true), ("'true'", true), ("Off", false), ("NO", false)] {
            let yaml = "clusters:\n  - {cluster_name: a, fwmark: 1, has_downpage: \(text), nodes: []}\n"
            let brother = try BrotherConfiguration(yaml: yaml, source: "b.yml").clusters[0].sorryServer != nil
            #expect(brother == expected, "has_downpage: \(text)")
        }
    }

    @Test func brothersProblemsHaveLineAndColumn() {
        let yaml = """
            clusters:
              - cluster_name: a
                fwmark: 1
                nodes:
                  - {address: 192.0.2.1, port: 0}
              - {cluster_name: b, fwmark: 2}
            """
        #expect(
            BrotherConfiguration.validate(yaml: yaml).map(\.description) == [
                "5:36: clusters[0].nodes[0].port: must be 1...65535, not 0",
                // A missing key: the place of the mapping that lacks it.
                "6:5: clusters[1].nodes: required: a list of nodes (it may be empty when discovery is set)",
            ])
    }
}
