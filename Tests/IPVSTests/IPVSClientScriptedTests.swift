import Foundation
import IPVS
import Netlink
import NetworkAddress
import Testing

/// The client's retry and batching logic against a scripted kernel.
@Suite struct IPVSClientScriptedTests {
    static let service = VirtualService(id: Fixtures.mark7, scheduler: .sourceHashing)

    @Test func anInterruptedDumpIsReadAgain() async throws {
        var dumps = 0
        let kernel = ScriptedKernel { request in
            dumps += 1
            let flags: NetlinkMessageFlags = dumps == 1 ? [.multi, .dumpInterrupted] : [.multi]
            return [
                try! ScriptedKernel.serviceReply(Self.service, sequence: request.sequence, flags: flags),
                .done(sequence: request.sequence, flags: flags),
            ]
        }
        let client = try IPVSClient(transport: kernel)
        #expect(try await client.services().map(\.service) == [Self.service])
        #expect(dumps == 2)
    }

    @Test func aDumpThatNeverSettlesFailsClearly() async throws {
        let kernel = ScriptedKernel { request in [.done(sequence: request.sequence, flags: [.multi, .dumpInterrupted])] }
        let client = try IPVSClient(transport: kernel, dumpAttempts: 3)
        await #expect(throws: IPVSError.dumpInterrupted(operation: "list virtual services", attempts: 3)) { try await client.services() }
        #expect(kernel.requests.count == 3)
    }

    @Test func batchesGoOutInWindowsAndFailuresKeepTheirIndex() async throws {
        let kernel = ScriptedKernel { request in
            // The kernel refuses the sixth request (ENOENT) and acknowledges the rest.
            request.sequence == 6
                ? [.error(sequence: request.sequence, errno: 2, message: "no such destination")] : [.acknowledgement(sequence: request.sequence)]
        }
        let client = try IPVSClient(transport: kernel, batchWindow: 4)
        let changes = (1...10).map { index in
            IPVSChange.updateDestination(
                Destination(id: .init(address: Fixtures.real4a, port: UInt16(index)), weight: index), service: Fixtures.mark7)
        }
        let report = try await client.apply(changes)
        #expect(kernel.datagramsSent == 3, "10 requests in windows of 4")
        #expect(kernel.requests.allSatisfy { $0.flags.contains(.ack) && $0.flags.contains(.request) })
        #expect(report.attempted == 10)
        #expect(report.failures.map(\.index) == [5])
        #expect(report.failures.first?.error == .destinationNotFound(changes[5].destinationID!, service: Fixtures.mark7))
    }

    @Test func aLostAcknowledgementFailsOnlyWhatWasUnanswered() async throws {
        let kernel = ScriptedKernel { request in request.sequence == 2 ? [] : [.acknowledgement(sequence: request.sequence)] }
        kernel.receivesBeforeTimeout = 1
        let client = try IPVSClient(transport: kernel, batchWindow: 8)
        let changes = (1...3).map { IPVSChange.removeService(.firewallMark(UInt32($0), family: .ipv4)) }
        let report = try await client.apply(changes)
        #expect(report.failures.map(\.index) == [1], "the request whose ack never came")
        guard case .netlink(_, _, let error)? = report.failures.first?.error else {
            Issue.record("expected the receive timeout to be reported")
            return
        }
        #expect(error.operation == "nl_recv")
    }

    /// A service whose dump holds a destination of a forwarding method the codec does not model:
    /// the client reads the rest, reports it, and the apply never writes to it.
    @Test func anUndecodableDestinationIsReportedAndLeftAlone() async throws {
        let service = VirtualService(id: Fixtures.web)
        let dump = try NetlinkDatagram.parse(Fixtures.bytes(hex: GoldenCases.dumpGoodAndUnknownForwarding))
        let kernel = ScriptedKernel { request in
            switch IPVSWire.Command(rawValue: request.command) {
            case .getService:
                return [
                    try! ScriptedKernel.serviceReply(service, sequence: request.sequence, flags: []), .acknowledgement(sequence: request.sequence),
                ]
            case .getDestination:
                let replies: [NetlinkReceivedMessage] = dump.map { message in
                    guard case .data(var reply) = message else { return message }
                    reply.sequence = request.sequence
                    return .data(reply)
                }
                return replies + [.done(sequence: request.sequence, flags: [.multi])]
            default:
                return [.acknowledgement(sequence: request.sequence)]
            }
        }
        let client = try IPVSClient(transport: kernel)
        let listing = try await client.destinationListing(of: Fixtures.web)
        #expect(listing.items.map(\.destination) == [GoldenCases.goodDestination])
        #expect(listing.undecodable == [GoldenCases.unknownForwarding])

        let good = GoldenCases.goodDestination
        var heavier = good
        heavier.weight = 50
        let unreadable = Destination(id: GoldenCases.unknownForwarding.destination!, forwarding: .masquerade, weight: 50)
        let report = try await client.apply(desired: IPVSDesiredState([.init(service: service, destinations: [heavier, unreadable])]))
        #expect(report.plan.changes == [.updateDestination(heavier, service: Fixtures.web)])
        #expect(report.batch.failures.isEmpty)
        #expect(report.actual.undecodable == [GoldenCases.unknownForwarding])
        let writes = kernel.requests.filter { IPVSWire.Command(rawValue: $0.command) == .setDestination }
        #expect(writes.count == 1)
        #expect(writes.allSatisfy { (try? IPVSCodec.decodeDestination($0.reply, serviceFamily: .ipv4).destination.id) == good.id })
    }

    /// Netlink sends and receives block (up to the receive timeout): they run on the client's own
    /// thread, never on one of Swift's cooperative threads (those are unnamed).
    @Test func netlinkIORunsOnTheClientsOwnThread() async throws {
        var threads: Set<String> = []
        let kernel = ScriptedKernel { request in
            threads.insert((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?")
            return [.done(sequence: request.sequence, flags: [.multi])]
        }
        let client = try IPVSClient(transport: kernel)
        #expect(try await client.services().isEmpty)
        #expect(try await client.destinations(of: Fixtures.web).isEmpty)
        #expect(threads == ["ipvs-netlink\n"])
        #expect(!client.isOnItsThread)
    }

    @Test func badValuesAreRefusedBeforeSending() async throws {
        let kernel = ScriptedKernel { request in [.acknowledgement(sequence: request.sequence)] }
        let client = try IPVSClient(transport: kernel)
        let tooHeavy = Destination(id: .init(address: Fixtures.real4a, port: 80), weight: -3)
        await #expect(throws: IPVSError.self) { try await client.apply([.addDestination(tooHeavy, service: Fixtures.web)]) }
        let v6InV4 = Destination(id: .init(address: Fixtures.real6, port: 80), forwarding: .masquerade)
        await #expect(throws: IPVSError.self) { try await client.apply([.addDestination(v6InV4, service: Fixtures.web)]) }
        await #expect(throws: IPVSError.self) { try await client.apply([.addService(VirtualService(id: .firewallMark(0, family: .ipv4)))]) }
        await #expect(throws: IPVSError.self) {
            try await client.apply([.addService(VirtualService(id: Fixtures.web, scheduler: "a-very-long-scheduler"))])
        }
        #expect(kernel.requests.isEmpty)
    }
}

extension IPVSChange {
    var destinationID: Destination.ID? {
        switch self {
        case .addDestination(let destination, _), .updateDestination(let destination, _): destination.id
        case .removeDestination(let id, _): id
        default: nil
        }
    }
}
