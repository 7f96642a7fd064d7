import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The real servers behind the end-to-end stack's VIP: one TCP listener on each node's address and
/// IPVS port (8080), made inside that node's network namespace, and the client side through the VIP
/// from the balancer's namespace. Which listener accepts a connection says where IPVS sent it.
final class NodeTCPServers: Sendable {
    /// One connection through the VIP: the node that got it, and both ends. Closing twice closes
    /// once (a test closes it to end it, and again on the way out should a step fail first).
    final class Connection {
        let node: Int
        let client: TCPSocket
        let server: TCPSocket
        private var isClosed = false

        init(node: Int, client: TCPSocket, server: TCPSocket) {
            self.node = node
            self.client = client
            self.server = server
        }

        /// Data goes through both ways: the connection is alive end to end.
        func exchange(_ text: String) throws -> Bool {
            try client.send(text + "\n")
            guard try server.receiveLine() == text else { return false }
            try server.send(text + "\n")
            return try client.receiveLine() == text
        }

        func close() {
            guard !isClosed else { return }
            isClosed = true
            client.close()
            server.close()
        }
    }

    let listeners: [TCPSocket]
    let vip: String
    let port: UInt16

    /// Listens on `address:realPort` of each namespace, in order.
    init(namespaces: [(name: String, address: String)], realPort: UInt16 = 8080, vip: String, port: UInt16) throws {
        listeners = try namespaces.map { try Self.listen(inNamespace: $0.name, address: $0.address, port: realPort) }
        self.vip = vip
        self.port = port
    }

    /// A new connection to the VIP; the node (index of its namespace) whose listener accepted it.
    func connect() throws -> Connection {
        let client = try TCPSocket.connect(address: vip, port: port)
        do {
            let (node, server) = try acceptAny()
            return Connection(node: node, client: client, server: server)
        } catch {
            client.close()
            throw error
        }
    }

    /// Opens and closes `count` connections; how many each node got.
    func tally(_ count: Int) throws -> [Int] {
        var counts = Array(repeating: 0, count: listeners.count)
        for _ in 0..<count {
            let connection = try connect()
            counts[connection.node] += 1
            connection.close()
        }
        return counts
    }

    func close() { listeners.forEach { $0.close() } }

    /// The next pending connection on any listener (5 s at most: a connect that returned has been
    /// accepted by some kernel already).
    private func acceptAny() throws -> (Int, TCPSocket) {
        var fds = listeners.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&fds, nfds_t(fds.count), 5000)
        guard ready > 0, let index = fds.firstIndex(where: { $0.revents & Int16(POLLIN) != 0 }) else {
            throw TCPSocket.Failure(operation: "accept on the nodes (none had a connection after 5 s)", code: ready < 0 ? errno : ETIMEDOUT)
        }
        return (index, try listeners[index].accept())
    }

    /// A listening socket made in another network namespace: a socket belongs to the namespace it
    /// was made in, so a short-lived thread joins the namespace (setns changes only the calling
    /// thread) and makes it there; the thread then ends, and the socket serves from any thread.
    static func listen(inNamespace name: String, address: String, port: UInt16) throws -> TCPSocket {
        let outcome = Outcome()
        let thread = Thread {
            outcome.result.withLock { result in
                result = Result { try NetworkNamespace.run(in: name) { try TCPSocket.listen(address: address, port: port) } }
            }
            outcome.done.signal()
        }
        thread.start()
        outcome.done.wait()
        return try outcome.result.withLock { $0 ?? .failure(TCPSocket.Failure(operation: "listen in \(name)", code: EINVAL)) }.get()
    }

    /// What the namespace thread made, handed back to the caller.
    private final class Outcome: Sendable {
        let result = Mutex<Result<TCPSocket, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
    }
}
