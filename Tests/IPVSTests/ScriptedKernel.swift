import IPVS
import Netlink

/// A scripted kernel behind the ``NetlinkTransport`` seam: it parses each datagram the client sends
/// and queues whatever `respond` answers for each request.
///
/// `@unchecked Sendable`: a test hands it to one client and reads it only between that client's calls.
final class ScriptedKernel: NetlinkTransport, @unchecked Sendable {
    struct Request {
        var command: UInt8
        var flags: NetlinkMessageFlags
        var sequence: UInt32
        var reply: GenericNetlinkReply
    }

    var respond: (Request) -> [NetlinkReceivedMessage]
    private(set) var requests: [Request] = []
    private(set) var datagramsSent = 0
    /// After this many receives, fail with a timeout (as a wedged kernel would).
    var receivesBeforeTimeout = Int.max
    private var queue: [[NetlinkReceivedMessage]] = []
    private var sequence: UInt32 = 1

    init(respond: @escaping (Request) -> [NetlinkReceivedMessage]) { self.respond = respond }

    func resolveFamily(_ name: String) throws(NetlinkError) -> Int32 { 28 }
    var localPort: UInt32 { 4242 }

    func reserveSequences(_ count: Int) -> UInt32 {
        defer { sequence &+= UInt32(count) }
        return sequence
    }

    func send(_ buffer: inout [UInt8]) throws(NetlinkError) {
        datagramsSent += 1
        var answers: [NetlinkReceivedMessage] = []
        for case .data(let reply) in try NetlinkDatagram.parse(buffer) {
            let request = Request(command: reply.command, flags: reply.flags, sequence: reply.sequence, reply: reply)
            requests.append(request)
            answers += respond(request)
        }
        queue.append(answers)
    }

    func receive() throws(NetlinkError) -> [NetlinkReceivedMessage] {
        guard receivesBeforeTimeout > 0 else { throw NetlinkError(operation: "nl_recv", code: .libnl(4 /* NLE_AGAIN */)) }
        receivesBeforeTimeout -= 1
        guard !queue.isEmpty else { throw NetlinkError(operation: "nl_recv", code: .libnl(4)) }
        return queue.removeFirst()
    }

    /// A kernel-style data reply carrying `service`, as a dump sends it.
    static func serviceReply(_ service: VirtualService, sequence: UInt32, flags: NetlinkMessageFlags) throws -> NetlinkReceivedMessage {
        let bytes = try NetlinkMessage(IPVSCodec.request(for: .addService(service)), family: 28).bytes
        guard case .data(var reply)? = try NetlinkDatagram.parse(bytes).first else { fatalError("codec produced no data message") }
        reply.sequence = sequence
        reply.flags = flags
        return .data(reply)
    }
}
