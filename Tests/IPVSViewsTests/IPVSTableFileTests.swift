import Foundation
import IPVS
import IPVSViews
import NetworkAddress
import Testing
import YAML

@Suite struct IPVSTableFileTests {
    @Test func theExampleFileLoads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/ipvs-table.yml").standardized
        let file = try IPVSTableFile(yaml: try String(contentsOf: url, encoding: .utf8), source: url.path)
        #expect(file.desired.services.count == 3)
        let web = try #require(file.desired.services[.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)])
        #expect(web.destinations.map(\.weight) == [3, 1])
        let mark = try #require(file.desired.services[.firewallMark(7, family: .ipv4)])
        #expect(mark.service.persistence == .init(timeout: 300, netmaskPrefixLength: 24))
        #expect(mark.destinations.map(\.forwarding) == [.directRouting, .ipip])
        #expect(mark.destinations.first?.upperThreshold == 500)
    }

    /// The table may be JSON, which is YAML's flow style.
    @Test func aJSONTableLoads() throws {
        let json = """
            {"services": [
              {"service": "FWM 7", "scheduler": "wlc",
               "destinations": [{"address": "192.0.2.1", "weight": 2}, {"address": "192.0.2.2:80", "weight": "3"}]}
            ]}
            """
        let file = try IPVSTableFile(yaml: json, source: "table.json")
        let mark = try #require(file.desired.services[.firewallMark(7, family: .ipv4)])
        #expect(mark.destinations.map(\.weight) == [2, 3])
    }

    @Test(arguments: [
        ("services: 3", "services: must be a list"),
        ("services:\n  - service: TCP 1.2.3.4", "services[0].service: \"TCP 1.2.3.4\" is not a service"),
        ("services:\n  - service: FWM 7\n    weight: 3", "services[0].weight: unknown key"),
        (
            "services:\n  - service: FWM 7\n    destinations:\n      - {address: 192.0.2.1, weight: -1}",
            "services[0].destinations[0].weight: -1 is outside"
        ),
        (
            "services:\n  - service: FWM 7\n    destinations:\n      - {address: 192.0.2.1, forwarding: warp}",
            "services[0].destinations[0].forwarding: use masq"
        ),
        ("services:\n  - service: FWM 7\n  - service: FWM 7", "services[1].service: FWM 7 is listed twice"),
        ("services:\n  - service: FWM 7\n    persistence: {netmask: 40}", "services[0].persistence.netmask: 40 is outside 0...32"),
        ("services: [", "not valid YAML"),
    ])
    func errorsNameTheFileAndThePath(_ yaml: String, _ expected: String) {
        do {
            _ = try IPVSTableFile(yaml: yaml, source: "table.yml")
            Issue.record("accepted bad input: \(yaml)")
        } catch {
            // `table.yml:LINE:COLUMN: PATH: MESSAGE`
            #expect("\(error)".hasPrefix("table.yml:"), "\(error)")
            #expect((error as? IPVSTableFileError)?.line != nil && (error as? IPVSTableFileError)?.column != nil, "\(error)")
            #expect("\(error)".contains(expected), "\(error)")
        }
    }
}
