import IPVS
import Netlink
import Testing

/// The client's sync-daemon calls against a scripted kernel: the kernel's errnos become errors that
/// name the role and the interface, and a bad daemon is refused before anything is sent.
@Suite struct IPVSSyncDaemonClientTests {
    static let master = IPVSSyncDaemon(role: .master, interface: "eth9", syncID: 1)

    static func refusing(_ errno: Int32) -> ScriptedKernel {
        ScriptedKernel { request in [.error(sequence: request.sequence, errno: errno, message: "refused")] }
    }

    @Test func kernelErrnosBecomeTypedErrors() async throws {
        await #expect(throws: IPVSError.syncInterfaceNotFound("eth9", role: .master)) {
            try await IPVSClient(transport: Self.refusing(19 /* ENODEV */)).startSyncDaemon(Self.master)
        }
        await #expect(throws: IPVSError.syncDaemonRunning(.master)) {
            try await IPVSClient(transport: Self.refusing(17 /* EEXIST */)).startSyncDaemon(Self.master)
        }
        await #expect(throws: IPVSError.syncDaemonNotRunning(.backup)) {
            try await IPVSClient(transport: Self.refusing(3 /* ESRCH */)).stopSyncDaemon(.backup)
        }
        await #expect(throws: IPVSError.permissionDenied(operation: "start master sync daemon")) {
            try await IPVSClient(transport: Self.refusing(1 /* EPERM */)).startSyncDaemon(Self.master)
        }
    }

    @Test func anotherErrnoNamesTheOperationAndTheInterface() async throws {
        do {
            try await IPVSClient(transport: Self.refusing(22 /* EINVAL */)).startSyncDaemon(Self.master)
            Issue.record("EINVAL must fail the start")
        } catch let error as IPVSError {
            #expect("\(error)".hasPrefix("start master sync daemon on eth9: "), "\(error)")
        }
    }

    @Test func aBadDaemonIsNeverSent() async throws {
        let kernel = ScriptedKernel { request in [.acknowledgement(sequence: request.sequence)] }
        let client = try IPVSClient(transport: kernel)
        await #expect(throws: IPVSError.invalidArgument(object: "master sync daemon on eth9", reason: "TTL must be 1...255, not 0")) {
            try await client.startSyncDaemon(IPVSSyncDaemon(role: .master, interface: "eth9", ttl: 0))
        }
        #expect(kernel.requests.isEmpty)
        try await client.startSyncDaemon(Self.master)
        #expect(kernel.requests.map(\.command) == [IPVSWire.Command.newDaemon.rawValue])
        #expect(kernel.requests.allSatisfy { $0.flags.contains(.ack) })
    }

    /// A stop the kernel never acknowledges (it swallows kthread_stop's -EINTR when the thread had not run
    /// yet) succeeds when the listing no longer has the daemon, and fails when it still does.
    @Test func anUnacknowledgedStopIsJudgedByTheListing() async throws {
        let stopped = ScriptedKernel { request in
            request.command == IPVSWire.Command.deleteDaemon.rawValue ? [] : [.done(sequence: request.sequence, flags: [.multi])]
        }
        try await IPVSClient(transport: stopped).stopSyncDaemon(.master)
        #expect(stopped.requests.map(\.command) == [IPVSWire.Command.deleteDaemon.rawValue, IPVSWire.Command.getDaemon.rawValue])

        let stillRunning = ScriptedKernel { request in
            guard request.command == IPVSWire.Command.getDaemon.rawValue else { return [] }
            return [.data(try! Self.daemonReply(sequence: request.sequence)), .done(sequence: request.sequence, flags: [.multi])]
        }
        do {
            try await IPVSClient(transport: stillRunning).stopSyncDaemon(.master)
            Issue.record("a stop that left the daemon running must fail")
        } catch let error as IPVSError {
            guard case .netlink(let operation, _, let underlying) = error, operation == "stop master sync daemon", underlying.code == .libnl(4) else {
                Issue.record("expected the receive timeout of the stop, got \(error)")
                return
            }
        }
    }

    /// A dump message listing a master on eth9, as the kernel sends it.
    static func daemonReply(sequence: UInt32) throws -> GenericNetlinkReply {
        let bytes = try NetlinkMessage(IPVSCodec.startSyncDaemon(master), family: 28).bytes
        guard case .data(var reply)? = try NetlinkDatagram.parse(bytes).first else {
            throw IPVSError.malformedReply(operation: "test", reason: "none")
        }
        reply.sequence = sequence
        reply.flags = [.multi]
        return reply
    }
}
