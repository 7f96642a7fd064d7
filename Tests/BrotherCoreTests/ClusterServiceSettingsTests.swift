import BrotherCore
import Foundation
import IPVS
import NetworkAddress
import Testing
import YAML

/// A cluster's IPVS service settings (persistence, persistence engine, scheduler flags, one-packet
/// scheduling): read with the table files' names and checks, every mistake at its file:line:column.
@Suite struct ClusterServiceSettingsTests {
    static func cluster(_ yaml: String) throws -> ClusterConfiguration {
        try #require(try BrotherConfiguration(yaml: yaml, source: "brother.yml").clusters.first)
    }

    @Test func everySettingReachesTheClustersVirtualService() throws {
        let web = try Self.cluster(
            """
            clusters:
              - cluster_name: web
                service: "TCP 198.51.100.10:80"
                scheduler: sh
                persistence: {timeout: 300, netmask: 24}
                flags: [sh-fallback, sh-port]
                nodes: []
            """)
        #expect(
            web.virtualService
                == VirtualService(
                    id: .address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp), scheduler: .sourceHashing,
                    flags: [.schedulerFlag1, .schedulerFlag2], persistence: .init(timeout: 300, netmaskPrefixLength: 24)))

        let sip = try Self.cluster(
            """
            clusters:
              - cluster_name: sip
                service: "UDP [2001:db8::5]:5060"
                scheduler: mh
                persistence: {timeout: 60, netmask: 64}
                persistence_engine: sip
                flags: [ops, mh-port]
                nodes: []
            """)
        #expect(sip.persistence == .init(timeout: 60, netmaskPrefixLength: 64))
        #expect(sip.persistenceEngine == "sip")
        #expect(sip.serviceFlags == [.onePacket, .schedulerFlag2])
        #expect(sip.virtualService.persistenceEngine == "sip")

        // Defaults: the library's 360 s, each client alone (/32, /128); no settings, none in the kernel.
        let plain = try Self.cluster("clusters:\n  - {cluster_name: a, fwmark: 7, address_family: ipv6, persistence: {}, flags: [ops], nodes: []}")
        #expect(plain.persistence == .init(timeout: 360, netmaskPrefixLength: 128))
        #expect(plain.serviceFlags == [.onePacket], "a firewall mark may carry UDP: ipvsadm takes ops there")
        let none = try Self.cluster("clusters:\n  - {cluster_name: a, fwmark: 7, nodes: []}")
        #expect(none.virtualService == VirtualService(id: .firewallMark(7, family: .ipv4)))
    }

    /// Each mistake and its message, at the line and column of the value (all on line 2).
    static let errorCases: [(String, String)] = [
        ("persistence: 300", "clusters[0].persistence: must be a mapping of timeout and netmask"),
        ("persistence: {timeout: soon}", "clusters[0].persistence.timeout: must be a whole number"),
        ("persistence: {timeout: 0}", "clusters[0].persistence.timeout: must be 1...2678400, not 0"),
        ("persistence: {timeout: 2678401}", "clusters[0].persistence.timeout: must be 1...2678400, not 2678401"),
        ("persistence: {netmask: 33}", "clusters[0].persistence.netmask: must be 0...32, not 33"),
        ("persistence: {netmask: 255.255.255.0}", "clusters[0].persistence.netmask: write the prefix length 0...32 (24 for 255.255.255.0)"),
        ("persistence: {timeout: 300, granularity: 24}", "clusters[0].persistence.granularity: unknown key"),
        ("persistence_engine: sip", "clusters[0].persistence_engine: needs persistence"),
        ("persistence: {}, persistence_engine: h323", "clusters[0].persistence_engine: unknown persistence engine \"h323\"; Linux has sip"),
        (
            "persistence: {}, persistence_engine: sip",
            "clusters[0].persistence_engine: sip reads UDP datagrams only: the kernel would drop every tcp packet"
        ),
        ("flags: ops", "clusters[0].flags: must be a list"),
        ("flags: [ops]", "clusters[0].flags[0]: ops (one-packet scheduling) is only for UDP and firewall-mark services"),
        ("flags: [sh-port]", "clusters[0].flags[0]: sh-port is a flag of scheduler sh, not of wrr"),
        ("scheduler: sh, flags: [mh-port]", "clusters[0].flags[0]: mh-port is a flag of scheduler mh, not of sh"),
        ("scheduler: sh, flags: [sh-port, flag-2]", "clusters[0].flags[1]: flag-2 sets a flag already set by an earlier entry"),
        ("flags: [fast]", "clusters[0].flags[0]: unknown flag \"fast\""),
        ("flags: [[ops]]", "clusters[0].flags[0]: must be a string"),
    ]

    @Test(arguments: errorCases)
    func eachMistakeIsReportedAtItsPlace(_ settings: String, _ expected: String) {
        let yaml = "clusters:\n  - {cluster_name: a, service: 'TCP 192.0.2.9:80', \(settings), nodes: []}"
        do {
            _ = try BrotherConfiguration(yaml: yaml, source: "brother.yml")
            Issue.record("accepted: \(settings)")
        } catch let error as BrotherConfigurationError {
            #expect(error.problems.contains { $0.description.contains(": \(expected)") }, "\(error)")
            #expect(error.problems.allSatisfy { $0.line == 2 && $0.column != nil }, "\(error)")
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test func theProblemPointsAtTheValue() throws {
        let yaml = """
            clusters:
              - cluster_name: a
                service: "TCP 192.0.2.9:80"
                persistence:
                  timeout: 300
                  netmask: 40
                nodes: []
            """
        let error = #expect(throws: BrotherConfigurationError.self) { try BrotherConfiguration(yaml: yaml, source: "brother.yml") }
        #expect(error?.description == "brother.yml:6:16: clusters[0].persistence.netmask: must be 0...32, not 40", "\(String(describing: error))")
    }

    @Test func theExampleTheManualAndTheGuideHaveEveryKey() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let example = try String(contentsOf: root.appendingPathComponent("examples/brother.yml"), encoding: .utf8)
        let manual = try String(contentsOf: root.appendingPathComponent("man/brother.yml.5"), encoding: .utf8)
        for key in ["persistence", "persistence_engine", "flags", "timeout", "netmask"] {
            #expect(example.contains("\(key):"), "examples/brother.yml lacks \(key)")
        }
        for key in ["persistence", "persistence_engine", "flags"] {
            #expect(manual.contains(".It Ic \(key)"), "man/brother.yml.5 does not document \(key)")
        }
        let configuration = try BrotherConfiguration.load(path: root.appendingPathComponent("examples/brother.yml").path)
        #expect(configuration.clusters.contains { $0.persistence != nil && $0.persistenceEngine == "sip" })
        #expect(configuration.clusters.contains { $0.serviceFlags.contains(.schedulerFlag1) })
    }
}
