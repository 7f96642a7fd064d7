import IPVS
import Netlink
import NetworkAddress
import PropertyBased
import Testing

/// Encode with libnl → bytes → parse → decode gives back the same value, for random services and
/// destinations of every kind.
@Suite struct IPVSCodecRoundTripTests {
    /// Builds a value from random numbers, so every field varies independently.
    static func service(_ r: [Int]) -> VirtualService {
        let family: AddressFamily = r[0] % 2 == 0 ? .ipv4 : .ipv6
        let id: VirtualService.ID
        if r[1] % 3 == 0 {
            id = .firewallMark(UInt32(r[2] % Int(UInt32.max - 1)) + 1, family: family)
        } else {
            id = .address(address(family, r[3]), port: UInt16(r[4] % 65536), protocol: TransportProtocol.allCases[r[5] % 3])
        }
        let scheduler = Scheduler.linuxSchedulers[r[6] % Scheduler.linuxSchedulers.count]
        let flags = ServiceFlags(rawValue: UInt32(r[7] % 16) << 2)
        let persistence: VirtualService.Persistence? =
            r[8] % 2 == 0 ? nil : .init(timeout: UInt32(r[9] % 100_000) + 1, netmaskPrefixLength: r[10] % (family.maximumPrefixLength + 1))
        return VirtualService(id: id, scheduler: scheduler, flags: flags, persistence: persistence, persistenceEngine: r[11] % 4 == 0 ? "sip" : nil)
    }

    static func destination(_ r: [Int]) -> Destination {
        let family: AddressFamily = r[0] % 2 == 0 ? .ipv4 : .ipv6
        let forwarding: ForwardingMethod
        switch r[1] % 7 {
        case 0: forwarding = .masquerade
        case 1: forwarding = .directRouting
        case 2: forwarding = .local
        case 3: forwarding = .bypass
        case 4: forwarding = .ipip
        case 5: forwarding = .tunnel(.init(kind: .gue, port: UInt16(r[2] % 65535) + 1, flags: .init(rawValue: UInt16(r[3] % 4))))
        default: forwarding = .tunnel(.init(kind: .gre, flags: r[3] % 2 == 0 ? [] : [.checksum]))
        }
        return Destination(
            id: .init(address: address(family, r[4]), port: UInt16(r[5] % 65536)), forwarding: forwarding,
            weight: r[6] % (Destination.maximumWeight + 1), upperThreshold: UInt32(r[7] % Int(UInt32.max)), lowerThreshold: UInt32(r[8] % 1000))
    }

    static func address(_ family: AddressFamily, _ seed: Int) -> IPAddress {
        let count = family == .ipv4 ? 4 : 16
        var bytes = (0..<count).map { UInt8((seed >> (($0 * 5) % 56)) & 0xFF) }
        bytes[0] = family == .ipv4 ? 192 : 0x20
        return IPAddress(bytes: bytes)!
    }

    static let numbers = Gen.int(in: 0...Int(Int32.max)).array(of: 12)

    @Test func servicesRoundTrip() async {
        await propertyCheck(count: 500, input: Self.numbers) { numbers in
            let service = Self.service(numbers)
            let request = IPVSCodec.request(for: .addService(service))
            let parsed = try NetlinkDatagram.parse(try NetlinkMessage(request, family: 28).bytes)
            guard case .data(let reply)? = parsed.first else { Issue.record("not a data message"); return }
            #expect(reply.command == IPVSWire.Command.newService.rawValue)
            #expect(try IPVSCodec.decodeService(reply).service == service)
        }
    }

    @Test func destinationsRoundTrip() async {
        await propertyCheck(count: 500, input: Self.numbers, Self.numbers) { serviceNumbers, numbers in
            let service = Self.service(serviceNumbers)
            let destination = Self.destination(numbers)
            let request = IPVSCodec.request(for: .updateDestination(destination, service: service.id))
            let parsed = try NetlinkDatagram.parse(try NetlinkMessage(request, family: 28).bytes)
            guard case .data(let reply)? = parsed.first else { Issue.record("not a data message"); return }
            #expect(try IPVSCodec.decodeDestination(reply, serviceFamily: service.id.family).destination == destination)
            #expect(try IPVSCodec.decodeService(reply).service.id == service.id)
        }
    }

    @Test func garbageNeverTraps() async {
        await propertyCheck(count: 1000, input: Gen.int(in: 0...255).array(of: 0...200)) { values in
            let bytes = values.map { UInt8($0) }
            let attributes = NetlinkAttributeSet(bytes: bytes)
            _ = try? IPVSCodec.decodeService(attributes)
            if let messages = try? NetlinkDatagram.parse(bytes) {
                for case .data(let reply) in messages {
                    _ = try? IPVSCodec.decodeDestination(reply, serviceFamily: .ipv4)
                    // The dump decoders never throw: whatever they cannot read, they report.
                    let destinations = IPVSCodec.decodeDestinations([reply], service: Fixtures.web)
                    #expect(destinations.items.count + destinations.undecodable.count == 1)
                    let services = IPVSCodec.decodeServices([reply])
                    #expect(services.items.count + services.undecodable.count == 1)
                }
            }
        }
    }
}
