import Foundation
import IPVS
import IPVSTesting
import IPVSViews
import NetworkAddress
import Testing

@Suite struct IPVSTableViewTests {
    static func sampleTable() -> IPVSTable {
        let id = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
        var stats = Stats()
        stats.connections = 12_345_678
        stats.connectionRate = 42
        let a = DestinationStatus(
            destination: Destination(id: .init(address: IPAddress("192.0.2.2")!, port: 8080), forwarding: .masquerade, weight: 3),
            activeConnections: 7, inactiveConnections: 2, persistentConnections: 1, stats: stats)
        let b = DestinationStatus(
            destination: Destination(id: .init(address: IPAddress("192.0.2.6")!, port: 8080), forwarding: .masquerade, weight: 1))
        let service = VirtualService(id: id, scheduler: .weightedRoundRobin, persistence: .init(timeout: 300, netmaskPrefixLength: 24))
        return IPVSTable(entries: [id: .init(status: VirtualServiceStatus(service: service, stats: stats), destinations: [b, a])])
    }

    @Test func textShowsServicesDestinationsAndCounts() {
        let text = IPVSTableView(info: IPVSInfo(version: 0x010201, connectionTableSize: 4096), table: Self.sampleTable()).text()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "IP Virtual Server version 1.2.1 (size=4096) — 1 service, 2 destinations")
        #expect(lines[1].hasPrefix("SERVICE / -> DESTINATION"))
        let service = lines[2].split(separator: " ").map(String.init)
        #expect(Array(service.prefix(7)) == ["TCP", "198.51.100.10:80", "wrr", "4", "7", "2", "1"])
        #expect(lines[2].contains("12.3M") && lines[2].hasSuffix("persistent 300s /24"))
        // Destinations sorted by address, whatever order the kernel gave.
        #expect(lines[3].hasPrefix("  -> 192.0.2.2:8080") && lines[4].hasPrefix("  -> 192.0.2.6:8080"))
        #expect(lines[3].split(separator: " ").map(String.init)[2...6] == ["Masq", "3", "7", "2", "1"])
    }

    @Test func whatCannotBeReadIsShownInTextAndJSON() throws {
        var table = Self.sampleTable()
        let id = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
        table.undecodable = [
            IPVSUndecodable(
                kind: .destination, service: id, destination: .init(address: IPAddress("192.0.2.9")!, port: 8080),
                reason: "192.0.2.9:8080: unknown forwarding method 7", attributes: "3=07000000")
        ]
        let lines = IPVSTableView(info: nil, table: table).text().split(separator: "\n").map(String.init)
        #expect(
            lines.last
                == "cannot read (left alone): undecodable destination 192.0.2.9:8080 of TCP 198.51.100.10:80: 192.0.2.9:8080: unknown forwarding method 7; left as it is [3=07000000]"
        )
        let json = try IPVSTableView(info: nil, table: table).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let rows = try #require(object["undecodable"] as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["destination"] as? String == "192.0.2.9:8080")
        #expect(rows.first?["reason"] as? String == "192.0.2.9:8080: unknown forwarding method 7")
        let plain = try JSONSerialization.jsonObject(with: Data(try IPVSTableView(info: nil, table: Self.sampleTable()).json().utf8))
        #expect((plain as? [String: Any])?["undecodable"] == nil, "no key when everything could be read")
    }

    @Test func jsonCarriesEveryField() throws {
        let json = try IPVSTableView(info: nil, table: Self.sampleTable()).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let services = try #require(object["services"] as? [[String: Any]])
        #expect(services.first?["id"] as? String == "TCP 198.51.100.10:80")
        #expect(services.first?["scheduler"] as? String == "wrr")
        let destinations = try #require(services.first?["destinations"] as? [[String: Any]])
        #expect(destinations.map { $0["address"] as? String } == ["192.0.2.2", "192.0.2.6"])
        #expect(destinations.first?["active_connections"] as? Int == 7)
        #expect((destinations.first?["stats"] as? [String: Any])?["connection_rate"] as? Int == 42)
    }

    @Test func emptyTableSaysSo() {
        #expect(IPVSTableView(info: nil, table: IPVSTable()).text() == "(no virtual services)\n")
    }
}
