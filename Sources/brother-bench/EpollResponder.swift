import CEpoll
import Glibc

/// The simulated agents' server: one thread, one epoll set, non-blocking sockets, and a canned
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
    private let epoll: Int32
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
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw BenchFailure("epoll_create1: \(String(cString: strerror(errno)))") }
        for (index, agent) in agents.enumerated() {
            let address = AgentLayout.address(cluster: agent.cluster, node: agent.node)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw BenchFailure("socket for \(address): \(String(cString: strerror(errno)))") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            inet_pton(AF_INET, address, &socketAddress.sin_addr)
            let bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 64) == 0 else {
                throw BenchFailure("listening on \(address):\(port): \(String(cString: strerror(errno)))")
            }
            listenerAgent[fd] = index
            watch(fd)
        }
    }

    var listenerCount: Int { listenerAgent.count }

    private func watch(_ fd: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = fd
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
    }

    /// Serves until the process ends.
    func run() -> Never {
        var events = [epoll_event](repeating: epoll_event(), count: 1024)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), -1)
            guard count > 0 else { continue }
            for event in events[0..<Int(count)] {
                let fd = event.data.fd
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
            let fd = Glibc.accept(listener, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
            connectionAgent[fd] = agent
            watch(fd)
        }
    }

    private func read(_ fd: Int32, agent: Int, into buffer: inout [UInt8]) {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count < 0, errno == EAGAIN || errno == EINTR { return }
        guard count > 0 else { return close(fd) }
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
        let written = response.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        served.increment()
        // An answer is a few hundred bytes into an empty socket buffer: a short write means trouble.
        return written == response.count
    }

    private func close(_ fd: Int32) {
        connectionAgent[fd] = nil
        pending[fd] = nil
        Glibc.close(fd)
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
