import Glibc
import Posix

/// The simulated agents' server: one thread, one reactor (brother's own), non-blocking sockets, and a canned
/// litmus answer per request. It shares the machine's cores with brother during the scale
/// benchmark, so it must cost as little as it can: a general HTTP server pipeline per agent cost
/// about as much CPU as brother itself when 10,000 connections opened at once.
///
/// Unchecked `Sendable`: it is built on the calling thread, then handed to the one thread that
/// runs ``run()``, and nothing else touches it after that.
final class EpollResponder: @unchecked Sendable {
    struct Agent {
        var cluster: Int
        var node: Int
    }

    private let agents: [Agent]
    private let port: UInt16
    private let served: ServedCounter
    private let reactor: EpollReactor
    /// What each descriptor is: a listener or a connection, and for which agent.
    private var listenerAgent: [Int32: Int] = [:]
    private var connectionAgent: [Int32: Int] = [:]
    /// Bytes of a request not yet complete, per connection.
    private var pending: [Int32: [UInt8]] = [:]

    /// Binds every agent's listener; throws naming the address that failed.
    init(agents: [Agent], port: UInt16, served: ServedCounter) throws {
        self.agents = agents
        self.port = port
        self.served = served
        reactor = try EpollReactor(capacity: 1024)
        for (index, agent) in agents.enumerated() {
            let address = AgentLayout.address(cluster: agent.cluster, node: agent.node)
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            inet_pton(AF_INET, address, &socketAddress.sin_addr)
            let fd: Int32
            do {
                fd = try SystemCall.socket(
                    domain: AF_INET, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            } catch {
                throw BenchFailure("socket for \(address): \(error)")
            }
            do {
                try SystemCall.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, 1)
                try SystemCall.bind(fd, to: socketAddress)
                try SystemCall.listen(fd, backlog: 64)
            } catch {
                throw BenchFailure("listening on \(address):\(port): \(error)")
            }
            listenerAgent[fd] = index
            try watch(fd)
        }
    }

    var listenerCount: Int { listenerAgent.count }

    private func watch(_ fd: Int32) throws(SystemCallError) {
        try reactor.register(fd, token: UInt64(UInt32(bitPattern: fd)), interest: .readable)
    }

    /// Serves until the process ends.
    func run() -> Never {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count: Int
            do {
                count = try reactor.wait(timeoutMilliseconds: -1)
            } catch {
                // Only a broken epoll set fails here: the simulated agents are gone, and the run with them.
                Self.report("\(error)")
                exit(1)
            }
            for index in 0..<count {
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: reactor.event(at: index).token))
                if let agent = listenerAgent[fd] {
                    accept(on: fd, agent: agent)
                } else if let agent = connectionAgent[fd] {
                    read(fd, agent: agent, into: &buffer)
                }
            }
        }
    }

    private func accept(on listener: Int32, agent: Int) {
        while true {
            // Until none waits (or accept fails, e.g. out of descriptors: the next readiness retries).
            guard case .processed(let fd)? = try? SystemCall.accept(listener) else { return }
            do {
                try SystemCall.setNonblocking(fd)
                try watch(fd)
            } catch {
                Self.report("a connection to agent \(agent) closed: \(error)")
                Glibc.close(fd)
                continue
            }
            connectionAgent[fd] = agent
        }
    }

    private func read(_ fd: Int32, agent: Int, into buffer: inout [UInt8]) {
        let outcome = buffer.withUnsafeMutableBytes { bytes in Result { () throws(SystemCallError) in try SystemCall.read(fd, into: bytes) } }
        let count: Int
        switch outcome {
        case .success(.wouldBlock): return
        case .success(.processed(let read)) where read > 0: count = read
        case .success(.processed), .failure: return close(fd)
        }
        var request = pending.removeValue(forKey: fd) ?? []
        request.append(contentsOf: buffer[0..<count])
        // Every complete request (up to the blank line) gets an answer; brother sends no body.
        while let end = Self.endOfHeaders(request) {
            let closeAfter = Self.asksToClose(request[0..<end])
            request.removeFirst(end)
            guard answer(fd, agent: agents[agent]), !closeAfter else { return close(fd) }
        }
        if !request.isEmpty { pending[fd] = request }
    }

    private func answer(_ fd: Int32, agent: Agent) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let health = SimulatedHealth.health(cluster: agent.cluster, node: agent.node, at: now.tv_sec)
        let body = "Health: \(health)\n"
        let status = health > 0 ? "200 OK" : "503 Service Unavailable"
        let response = Array(
            "HTTP/1.1 \(status)\r\nX-Health: \(health)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        let written = response.withUnsafeBytes { bytes in try? SystemCall.send(fd, bytes, flags: Int32(MSG_NOSIGNAL)) }
        served.increment()
        // An answer is a few hundred bytes into an empty socket buffer: a short write means trouble.
        return written == .processed(response.count)
    }

    private func close(_ fd: Int32) {
        connectionAgent[fd] = nil
        pending[fd] = nil
        Glibc.close(fd)
    }

    /// A line on standard error; the responder's thread has nothing else to tell it to.
    private static func report(_ text: String) {
        let line = Array("brother-bench respond: \(text)\n".utf8)
        _ = line.withUnsafeBytes { bytes in try? SystemCall.write(2, bytes) }
    }

    /// The index just past the request's `\r\n\r\n`.
    static func endOfHeaders(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    /// Whether the request says `Connection: close` (or is HTTP/1.0 without keep-alive).
    static func asksToClose(_ head: ArraySlice<UInt8>) -> Bool {
        // brother's polls say neither: most requests are settled without making a string.
        guard contains(Array("lose".utf8), in: head) || contains(Array("/1.0".utf8), in: head) else { return false }
        let text = String(decoding: head, as: UTF8.self).lowercased()
        if text.contains("\r\nconnection: close") { return true }
        return text.contains(" http/1.0\r\n") && !text.contains("\r\nconnection: keep-alive")
    }

    private static func contains(_ needle: [UInt8], in bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count >= needle.count else { return false }
        var start = bytes.startIndex
        while start + needle.count <= bytes.endIndex {
            if bytes[start..<start + needle.count].elementsEqual(needle) { return true }
            start += 1
        }
        return false
    }
}
