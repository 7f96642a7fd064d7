import Eventually
import Foundation
import IPVS
import Netlink
import NetworkAddress
import Testing

/// Real kernel IPVS, cross-checked with ipvsadm in both directions. Each test starts from an empty
/// table in the scratch network namespace the runner made.
@Suite(.serialized, .enabled(if: KernelTests.requested, KernelTests.reason))
struct IPVSKernelTests {
    enum Forwarding: String, CaseIterable, Sendable {
        case masquerade, directRouting, tunnel
        var method: ForwardingMethod {
            switch self {
            case .masquerade: .masquerade
            case .directRouting: .directRouting
            case .tunnel: .ipip
            }
        }
    }

    /// TCP, UDP and SCTP on IPv4 and IPv6, and firewall marks of both families.
    static let serviceKinds: [VirtualService.ID] = [
        .address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp),
        .address(IPAddress("2001:db8::10")!, port: 443, protocol: .tcp),
        .address(IPAddress("198.51.100.11")!, port: 53, protocol: .udp),
        .address(IPAddress("2001:db8::11")!, port: 53, protocol: .udp),
        .address(IPAddress("198.51.100.12")!, port: 9, protocol: .sctp),
        .address(IPAddress("2001:db8::12")!, port: 9, protocol: .sctp),
        .firewallMark(7, family: .ipv4),
        .firewallMark(8, family: .ipv6),
    ]

    /// Direct routing and tunnels cannot change the port, so ipvsadm keeps the service's there; NAT maps to 8080.
    static func destinations(for id: VirtualService.ID, forwarding: ForwardingMethod) -> [Destination] {
        let port: UInt16
        switch id {
        case .firewallMark: port = 0
        case .address(_, let servicePort, _): port = forwarding == .masquerade ? 8080 : servicePort
        }
        let addresses = id.family == .ipv4 ? ["192.0.2.2", "192.0.2.6"] : ["2001:db8:1::2", "2001:db8:1::6"]
        return addresses.enumerated().map { index, text in
            Destination(id: .init(address: IPAddress(text)!, port: port), forwarding: forwarding, weight: index * 7 + 1)
        }
    }

    /// The kernel keeps any forwarding method that fits IP_VS_CONN_F_FWD_MASK (0-7, ip_vs_genl_parse_dest)
    /// and dumps it back: 7 is none Linux defines, so the codec cannot read it. The dump still reads
    /// the other destination, reports this one, and an apply never writes to nor deletes it.
    @Test func aDestinationOfAForwardingMethodWeDoNotModelIsReportedAndLeftAlone() async throws {
        let client = try await KernelTests.freshClient()
        let id = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)
        let service = VirtualService(id: id)
        let good = Destination(id: .init(address: IPAddress("192.0.2.2")!, port: 8080), forwarding: .masquerade, weight: 5)
        let odd = Destination(id: .init(address: IPAddress("192.0.2.6")!, port: 8080), forwarding: .masquerade, weight: 3)
        #expect(try await client.apply([.addService(service), .addDestination(good, service: id)]).failures.isEmpty)

        var request = IPVSCodec.request(for: .addDestination(odd, service: id))
        request.attributes = request.attributes.map { attribute in
            guard attribute.type == IPVSWire.CommandAttribute.destination, case .nested(let children) = attribute.payload else { return attribute }
            return .nested(
                attribute.type,
                children.map { $0.type == IPVSWire.DestinationAttribute.forwardingMethod ? .u32($0.type, 7) : $0 })
        }
        let raw = try GenericNetlinkConnection(familyName: IPVSWire.familyName)
        _ = try raw.query(request)

        let listing = try await client.destinationListing(of: id)
        #expect(listing.items.map(\.destination) == [good])
        #expect(listing.undecodable.map(\.destination) == [odd.id])
        #expect(listing.undecodable.first?.reason == "192.0.2.6:8080: unknown forwarding method 7")

        // brother's wish names both (and a new weight for the good one); the owned service is then dropped.
        var heavier = good
        heavier.weight = 9
        let report = try await client.apply(desired: IPVSDesiredState([.init(service: service, destinations: [heavier, odd])]))
        #expect(report.plan.changes == [.updateDestination(heavier, service: id)])
        #expect(report.batch.failures.isEmpty)
        let emptied = try await client.apply(desired: IPVSDesiredState(), alsoOwned: [id])
        #expect(emptied.plan.changes == [.removeDestination(good.id, service: id)], "the service is not removed: it would take the other with it")
        let after = try await client.destinationListing(of: id)
        #expect(after.items.isEmpty)
        #expect(after.undecodable.map(\.destination) == [odd.id], "still there, as it was")
        try await client.flush()
    }

    @Test("library writes, ipvsadm -S reads the same table", arguments: Scheduler.linuxSchedulers, Forwarding.allCases)
    func libraryWritesIpvsadmReads(scheduler: Scheduler, forwarding: Forwarding) async throws {
        let client = try await KernelTests.freshClient()
        var expected: [String] = []
        var changes: [IPVSChange] = []
        for id in Self.serviceKinds {
            let service = VirtualService(id: id, scheduler: scheduler)
            let destinations = Self.destinations(for: id, forwarding: forwarding.method)
            changes.append(.addService(service))
            changes += destinations.map { .addDestination($0, service: id) }
            expected += IpvsadmFormat.lines(for: service, destinations: destinations)
        }
        let report = try await client.apply(changes)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(try IpvsadmFormat.savedTable() == expected.sorted())
    }

    @Test("ipvsadm writes, the library reads the same table", arguments: Scheduler.linuxSchedulers, Forwarding.allCases)
    func ipvsadmWritesLibraryReads(scheduler: Scheduler, forwarding: Forwarding) async throws {
        let client = try await KernelTests.freshClient()
        var restore: [String] = []
        var expected = IPVSTable()
        for id in Self.serviceKinds {
            let service = VirtualService(id: id, scheduler: scheduler)
            let destinations = Self.destinations(for: id, forwarding: forwarding.method)
            restore += IpvsadmFormat.lines(for: service, destinations: destinations)
            expected.entries[id] = .init(
                status: VirtualServiceStatus(service: service), destinations: destinations.map { DestinationStatus(destination: $0) })
        }
        try Command.check(["ipvsadm", "-R"], input: restore.joined(separator: "\n") + "\n")
        let actual = try await client.table()
        #expect(Set(actual.entries.keys) == Set(expected.entries.keys))
        for (id, entry) in expected.entries {
            #expect(actual.entries[id]?.status.service == entry.status.service)
            let read = Set(actual.entries[id]?.destinations.map(\.destination) ?? [])
            #expect(read == Set(entry.destinations.map(\.destination)), "\(id)")
        }
    }

    /// Persistence, netmasks, persistence engines, one-packet scheduling, scheduler flags,
    /// thresholds and GUE/GRE tunnels, each both ways.
    static let specialServices: [(VirtualService, [Destination])] = [
        (
            VirtualService(
                id: .address(IPAddress("198.51.100.20")!, port: 80, protocol: .tcp), scheduler: .weightedRoundRobin,
                persistence: .init(timeout: 300, netmaskPrefixLength: 24)),
            [Destination(id: .init(address: IPAddress("192.0.2.2")!, port: 8080), forwarding: .masquerade, weight: 3)]
        ),
        (
            VirtualService(
                id: .address(IPAddress("2001:db8::20")!, port: 5060, protocol: .udp), scheduler: .roundRobin,
                persistence: .init(timeout: 60, netmaskPrefixLength: 64), persistenceEngine: "sip"),
            [Destination(id: .init(address: IPAddress("2001:db8:1::2")!, port: 5060), forwarding: .directRouting, weight: 0)]
        ),
        (
            VirtualService(id: .firewallMark(21, family: .ipv4), scheduler: .sourceHashing, flags: [.schedulerFlag1, .schedulerFlag2]),
            [Destination(id: .init(address: IPAddress("192.0.2.10")!, port: 0), forwarding: .tunnel(.init(kind: .gue, port: 6080)), weight: 5)]
        ),
        (
            VirtualService(id: .address(IPAddress("198.51.100.22")!, port: 53, protocol: .udp), scheduler: .maglevHashing, flags: [.onePacket]),
            [
                Destination(
                    id: .init(address: IPAddress("192.0.2.14")!, port: 53), forwarding: .tunnel(.init(kind: .gre, flags: [.checksum])), weight: 2)
            ]
        ),
        (
            VirtualService(id: .firewallMark(23, family: .ipv6), scheduler: .maglevHashing, flags: [.schedulerFlag2]),
            [
                Destination(
                    id: .init(address: IPAddress("2001:db8:1::9")!, port: 0),
                    forwarding: .tunnel(.init(kind: .gue, port: 7000, flags: [.remoteChecksum])), weight: 9)
            ]
        ),
        (
            // A destination of the other family: the kernel allows it for tunnels only.
            VirtualService(id: .firewallMark(24, family: .ipv6), scheduler: .weightedRoundRobin),
            [Destination(id: .init(address: IPAddress("192.0.2.20")!, port: 0), forwarding: .ipip, weight: 4)]
        ),
    ]

    @Test func persistenceFlagsAndTunnelsBothWays() async throws {
        let client = try await KernelTests.freshClient()
        var expected: [String] = []
        for (service, destinations) in Self.specialServices {
            try await client.add(service)
            for destination in destinations { try await client.add(destination, to: service.id) }
            expected += IpvsadmFormat.lines(for: service, destinations: destinations)
        }
        #expect(try IpvsadmFormat.savedTable() == expected.sorted())

        // And back: flush, restore with ipvsadm, read with the library.
        try await client.flush()
        try Command.check(["ipvsadm", "-R"], input: expected.joined(separator: "\n") + "\n")
        for (service, destinations) in Self.specialServices {
            #expect(try await client.service(service.id).service == service)
            #expect(try await client.destinations(of: service.id).map(\.destination) == destinations)
        }
    }

    @Test func thresholdsAndWeightEdits() async throws {
        let client = try await KernelTests.freshClient()
        let id = VirtualService.ID.address(IPAddress("198.51.100.30")!, port: 80, protocol: .tcp)
        try await client.add(VirtualService(id: id, scheduler: .weightedLeastConnection))
        var destination = Destination(
            id: .init(address: IPAddress("192.0.2.2")!, port: 80), forwarding: .directRouting, weight: 10, upperThreshold: 100, lowerThreshold: 20)
        try await client.add(destination, to: id)
        let listing = try Command.check(["ipvsadm", "-L", "-n", "--thresholds"])
        let row = try #require(listing.split(separator: "\n").first { $0.contains("192.0.2.2:80") })
        // Columns: "->", address, upper threshold, lower threshold, active, inactive.
        #expect(Array(row.split(separator: " ").map(String.init)[2...3]) == ["100", "20"], "\(row)")

        destination.weight = 42
        try await client.update(destination, in: id)
        #expect(try IpvsadmFormat.savedTable().contains("-a -t 198.51.100.30:80 -r 192.0.2.2:80 -g -w 42"))
        try await client.remove(destination.id, from: id)
        #expect(try await client.destinations(of: id).isEmpty)
        try await client.remove(id)
        #expect(try await client.services().isEmpty)
    }

    @Test func infoAndTimeouts() async throws {
        let client = try await KernelTests.freshClient()
        let info = try await client.info()
        let header = try Command.check(["ipvsadm", "-L", "-n"]).split(separator: "\n").first.map(String.init)
        #expect(header == info.description)

        try await client.setTimeouts(IPVSTimeouts(tcp: 901, tcpFin: 121, udp: 301))
        #expect(try await client.timeouts() == IPVSTimeouts(tcp: 901, tcpFin: 121, udp: 301))
        #expect(try Command.check(["ipvsadm", "-L", "--timeout"]).contains("901 121 301"))
        // Zero leaves a timeout as it is.
        try await client.setTimeouts(IPVSTimeouts(tcp: 0, tcpFin: 0, udp: 302))
        #expect(try await client.timeouts() == IPVSTimeouts(tcp: 901, tcpFin: 121, udp: 302))
        try await client.setTimeouts(IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300))
    }

    @Test func kernelErrorsAreTyped() async throws {
        let client = try await KernelTests.freshClient()
        let id = VirtualService.ID.address(IPAddress("198.51.100.40")!, port: 80, protocol: .tcp)
        let missing = VirtualService.ID.firewallMark(4040, family: .ipv4)
        let destination = Destination(id: .init(address: IPAddress("192.0.2.2")!, port: 80), forwarding: .masquerade, weight: 1)
        try await client.add(VirtualService(id: id))

        await #expect(throws: IPVSError.serviceExists(id)) { try await client.add(VirtualService(id: id)) }
        await #expect(throws: IPVSError.serviceNotFound(missing)) { try await client.update(VirtualService(id: missing)) }
        await #expect(throws: IPVSError.serviceNotFound(missing)) { try await client.remove(missing) }
        await #expect(throws: IPVSError.serviceNotFound(missing)) { try await client.service(missing) }
        await #expect(throws: IPVSError.serviceNotFound(missing)) { try await client.add(destination, to: missing) }
        await #expect(throws: IPVSError.destinationNotFound(destination.id, service: id)) { try await client.update(destination, in: id) }
        await #expect(throws: IPVSError.destinationNotFound(destination.id, service: id)) { try await client.remove(destination.id, from: id) }
        try await client.add(destination, to: id)
        await #expect(throws: IPVSError.destinationExists(destination.id, service: id)) { try await client.add(destination, to: id) }
        let bogus = VirtualService(id: .firewallMark(41, family: .ipv4), scheduler: "nosuchsched")
        await #expect(throws: IPVSError.unknownScheduler("nosuchsched", service: bogus.id)) { try await client.add(bogus) }
        // Refused before anything is sent.
        await #expect(throws: IPVSError.self) { try await client.add(Destination(id: destination.id, weight: -1), to: id) }
        #expect(try await client.destinations(of: id).map(\.destination) == [destination])
    }

    @Test func withoutCapNetAdminTheErrorSaysSo() throws {
        let brother = try BuiltProducts.path("brother")
        let output = try Command.run([
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", brother, "ipvs",
        ])
        #expect(output.status == 1)
        #expect(output.stderr.contains("CAP_NET_ADMIN"), "\(output.stderr)")
    }

    @Test func batchOfTenThousandEditsLosesNothing() async throws {
        let client = try await KernelTests.freshClient()
        var setup: [IPVSChange] = []
        var destinations: [(Destination, VirtualService.ID)] = []
        for serviceIndex in 0..<1000 {
            let id = VirtualService.ID.firewallMark(UInt32(serviceIndex + 1), family: .ipv4)
            setup.append(.addService(VirtualService(id: id)))
            for destinationIndex in 0..<10 {
                let address = IPAddress(bytes: [192, 0, 2, UInt8(destinationIndex + 1)])!
                let destination = Destination(id: .init(address: address, port: UInt16(1000 + serviceIndex)), forwarding: .directRouting, weight: 1)
                setup.append(.addDestination(destination, service: id))
                destinations.append((destination, id))
            }
        }
        let created = try await client.apply(setup)
        #expect(created.attempted == 11_000 && created.failures.isEmpty)

        // 10,000 weight edits, plus three that must fail, at known places.
        var edits: [IPVSChange] = []
        var expectedWeights: [VirtualService.ID: [Destination.ID: Int]] = [:]
        for (index, pair) in destinations.enumerated() {
            var destination = pair.0
            destination.weight = (index * 37) % 1000
            edits.append(.updateDestination(destination, service: pair.1))
            expectedWeights[pair.1, default: [:]][destination.id] = destination.weight
        }
        let ghost = Destination(id: .init(address: IPAddress("192.0.2.250")!, port: 1), weight: 5)
        edits.insert(.updateDestination(ghost, service: .firewallMark(1, family: .ipv4)), at: 17)
        edits.insert(.updateDestination(ghost, service: .firewallMark(5000, family: .ipv4)), at: 5000)
        edits.append(.removeService(.firewallMark(6000, family: .ipv4)))
        let report = try await client.apply(edits)
        #expect(report.attempted == 10_003)
        #expect(report.failures.map(\.index) == [17, 5000, 10_002])
        #expect(
            report.failures.map(\.error) == [
                .destinationNotFound(ghost.id, service: .firewallMark(1, family: .ipv4)),
                .serviceNotFound(.firewallMark(5000, family: .ipv4)),
                .serviceNotFound(.firewallMark(6000, family: .ipv4)),
            ])

        let table = try await client.table()
        var mismatches = 0
        for (id, weights) in expectedWeights {
            for status in table.entries[id]?.destinations ?? [] where weights[status.destination.id] != status.destination.weight { mismatches += 1 }
            if table.entries[id]?.destinations.count != 10 { mismatches += 1 }
        }
        #expect(mismatches == 0)
        // ipvsadm agrees on every weight.
        let saved = try IpvsadmFormat.savedTable().filter { $0.hasPrefix("-a ") }
        #expect(saved.count == 10_000)
        let expectedLines = destinations.enumerated().map { index, pair in
            "-a -f \(pair.1.firewallMarkValue) -r \(pair.0.id.address.description(port: pair.0.id.port)) -g -w \((index * 37) % 1000)"
        }
        #expect(saved == expectedLines.sorted())
        try await client.flush()
    }

    @Test func desiredStateApplyIsMinimalAndLeavesOthersAlone() async throws {
        let client = try await KernelTests.freshClient()
        // Someone else's service, made with ipvsadm.
        try Command.check(["ipvsadm", "-A", "-t", "198.51.100.99:80", "-s", "rr"])
        try Command.check(["ipvsadm", "-a", "-t", "198.51.100.99:80", "-r", "192.0.2.99:80", "-m", "-w", "7"])
        let foreign = try IpvsadmFormat.savedTable()

        let id = VirtualService.ID.firewallMark(50, family: .ipv4)
        let nodes = (1...3).map { Destination(id: .init(address: IPAddress("192.0.2.\($0)")!, port: 0), forwarding: .directRouting, weight: $0 * 10) }
        let desired = IPVSDesiredState([.init(service: VirtualService(id: id), destinations: nodes)])
        let first = try await client.apply(desired: desired)
        #expect(first.plan.changes.count == 4 && first.batch.isSuccess)
        let second = try await client.apply(desired: desired)
        #expect(second.plan.changes.isEmpty, "a matching kernel needs no writes")

        // Drift by hand is repaired with exactly one write.
        try Command.check(["ipvsadm", "-e", "-f", "50", "-r", "192.0.2.2:0", "-g", "-w", "99"])
        let repair = try await client.apply(desired: desired)
        #expect(repair.plan.changes == [.updateDestination(nodes[1], service: id)])
        #expect(try await client.destinations(of: id).map(\.destination).sorted { $0.id < $1.id } == nodes)
        let afterwards = try IpvsadmFormat.savedTable().filter { $0.contains("198.51.100.99") }
        #expect(afterwards == foreign, "the service brother does not own is untouched")
    }

    @Test func statsAndConnectionCountsFromRealTraffic() async throws {
        let client = try await KernelTests.freshClient()
        // VIP and real server both on this namespace's loopback: IPVS schedules local clients too.
        try? Command.run(["ip", "addr", "add", "198.51.100.60/32", "dev", "lo"])
        try? Command.run(["ip", "addr", "add", "192.0.2.60/32", "dev", "lo"])
        let id = VirtualService.ID.address(IPAddress("198.51.100.60")!, port: 80, protocol: .tcp)
        let destination = Destination(id: .init(address: IPAddress("192.0.2.60")!, port: 8080), forwarding: .masquerade, weight: 1)
        try await client.add(VirtualService(id: id, scheduler: .roundRobin))
        try await client.add(destination, to: id)

        let server = try TCPSocket.listen(address: "192.0.2.60", port: 8080)
        defer { server.close() }
        var clients: [TCPSocket] = []
        var accepted: [TCPSocket] = []
        for _ in 0..<3 {
            let connection = try TCPSocket.connect(address: "198.51.100.60", port: 80)
            accepted.append(try server.accept())
            try connection.send("ping\n")
            clients.append(connection)
        }
        defer { (clients + accepted).forEach { $0.close() } }

        // Active connections come from the connection table itself: exact at once.
        let status = try #require(try await client.destinations(of: id).first)
        #expect(status.activeConnections == 3)
        // The totals are not: the kernel counts per CPU and folds the counts into the stats it reports
        // only on the estimator's tick (every 2 s), so the first fold may hold fewer than all three
        // connections. Wait until every count is in (the bound only guards against a hang).
        var serviceStats = try await client.service(id).stats
        var destinationStats = status.stats
        try await eventually("the stats count all 3 connections: service \(serviceStats), destination \(destinationStats)") {
            serviceStats = try await client.service(id).stats
            destinationStats = try #require(try await client.destinations(of: id).first).stats
            return serviceStats.connections >= 3 && serviceStats.incomingPackets >= 6 && destinationStats.connections >= 3
        }
        #expect(serviceStats.connections == 3)
        #expect(serviceStats.incomingPackets >= 6)
        #expect(serviceStats.incomingBytes > 0)
        #expect(destinationStats.connections == 3)
        // ipvsadm sees the same counters.
        let stats = try Command.check(["ipvsadm", "-L", "-n", "--stats"])
        let row = try #require(stats.split(separator: "\n").first { $0.contains("192.0.2.60:8080") })
        #expect(row.split(separator: " ").dropFirst(2).first == "3", "\(row)")
        let listing = try Command.check(["ipvsadm", "-L", "-n"])
        let destinationRow = try #require(listing.split(separator: "\n").first { $0.contains("192.0.2.60:8080") })
        #expect(destinationRow.split(separator: " ").map(String.init)[4] == "3", "\(destinationRow)")
    }
}

extension VirtualService.ID {
    var firewallMarkValue: UInt32 {
        if case .firewallMark(let mark, _) = self { return mark }
        return 0
    }
}
