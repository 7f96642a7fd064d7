#if canImport(Glibc)
    import Glibc
#endif

/// A socket bound to one generic netlink family: requests, dumps and acknowledged batches.
///
/// Not `Sendable`; owned by exactly one actor (for IPVS, `IPVSClient`).
public final class GenericNetlinkConnection {
    public let socket: any NetlinkTransport
    public let familyName: String
    public let family: Int32

    /// Connects and resolves `familyName`.
    /// - Throws: ``NetlinkError``; `.libnl(NLE_OBJ_NOTFOUND)` means the kernel has no such family
    ///   (for IPVS: the ip_vs module is not loaded).
    public init(familyName: String, socket: (any NetlinkTransport)? = nil) throws(NetlinkError) {
        let connected: any NetlinkTransport
        if let socket { connected = socket } else { connected = try NetlinkSocket.open() }
        self.socket = connected
        self.familyName = familyName
        self.family = try connected.resolveFamily(familyName)
    }

    /// Sends one request and collects its data replies: until `NLMSG_DONE` for a dump, until the
    /// acknowledgement otherwise.
    /// - Throws: ``NetlinkError`` with the kernel's errno (and message), `.dumpInterrupted` when the
    ///   kernel flagged the dump as inconsistent, or the receive error (e.g. a timeout).
    public func query(_ request: GenericNetlinkRequest) throws(NetlinkError) -> [GenericNetlinkReply] {
        var request = request
        let isDump = request.flags.contains(.dump)
        request.flags.insert(.request)
        if !isDump { request.flags.insert(.ack) }
        let operation = "genl \(familyName) command \(request.command)"
        let message = try NetlinkMessage(request, family: family)
        let sequence = socket.reserveSequences(1)
        message.stamp(sequence: sequence, port: socket.localPort)
        var buffer: [UInt8] = []
        message.append(to: &buffer)
        try socket.send(&buffer)

        var replies: [GenericNetlinkReply] = []
        var interrupted = false
        while true {
            for received in try socket.receive() where received.sequence == sequence {
                switch received {
                case .data(let reply):
                    if reply.flags.contains(.dumpInterrupted) { interrupted = true }
                    replies.append(reply)
                    if !isDump && !reply.flags.contains(.multi) && !request.flags.contains(.ack) { return replies }
                case .acknowledgement:
                    if interrupted { throw NetlinkError(operation: operation, code: .dumpInterrupted) }
                    return replies
                case .done(_, let flags):
                    if interrupted || flags.contains(.dumpInterrupted) { throw NetlinkError(operation: operation, code: .dumpInterrupted) }
                    return replies
                case .error(_, let errno, let text):
                    throw NetlinkError(operation: operation, code: .kernel(errno: errno), kernelMessage: text)
                case .other:
                    continue
                }
            }
        }
    }

    /// Sends many requests, `window` of them per datagram, each with `NLM_F_ACK`, without waiting a
    /// round trip per request; collects every acknowledgement.
    /// - Returns: one result per request, in order. A request the kernel refused carries its errno
    ///   and message; when sending or receiving fails, every unanswered request of that window
    ///   carries that failure.
    public func execute(_ requests: [GenericNetlinkRequest], window: Int = 256) -> [Result<Void, NetlinkError>] {
        precondition(window > 0, "window must be positive")
        var results = [Result<Void, NetlinkError>?](repeating: nil, count: requests.count)
        var start = 0
        while start < requests.count {
            let end = min(start + window, requests.count)
            executeWindow(requests, start..<end, into: &results)
            start = end
        }
        return results.map { $0 ?? .failure(NetlinkError(operation: "genl \(familyName) batch", code: .system(errno: EIO))) }
    }

    private func executeWindow(_ requests: [GenericNetlinkRequest], _ range: Range<Int>, into results: inout [Result<Void, NetlinkError>?]) {
        let base = socket.reserveSequences(range.count)
        let port = socket.localPort
        var buffer: [UInt8] = []
        buffer.reserveCapacity(range.count * 160)
        var pending: [UInt32: Int] = [:]
        for index in range {
            var request = requests[index]
            request.flags.formUnion([.request, .ack])
            let sequence = base &+ UInt32(index - range.lowerBound)
            do {
                let message = try NetlinkMessage(request, family: family)
                message.stamp(sequence: sequence, port: port)
                message.append(to: &buffer)
                pending[sequence] = index
            } catch {
                results[index] = .failure(error)
            }
        }
        guard !pending.isEmpty else { return }
        do {
            try socket.send(&buffer)
            while !pending.isEmpty {
                for received in try socket.receive() {
                    guard let index = pending[received.sequence] else { continue }
                    switch received {
                    case .acknowledgement:
                        results[index] = .success(())
                    case .error(_, let errno, let text):
                        let operation = "genl \(familyName) command \(requests[index].command)"
                        results[index] = .failure(NetlinkError(operation: operation, code: .kernel(errno: errno), kernelMessage: text))
                    default:
                        continue
                    }
                    pending[received.sequence] = nil
                }
            }
        } catch {
            for index in pending.values { results[index] = .failure(error) }
        }
    }
}
