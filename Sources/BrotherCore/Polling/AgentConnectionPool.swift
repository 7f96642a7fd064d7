import IPVS
import NIOCore

/// Which agent a connection goes to.
struct AgentKey: Hashable {
    var address: IPAddress
    var port: UInt16

    init(_ target: AgentTarget) {
        address = target.address
        port = target.port
    }
}

/// The kept-alive connections of one event loop's agents. Touched only on that loop (an agent's
/// connections always live on the loop its key hashes to), so it needs no lock.
final class AgentConnectionPool {
    private struct IdleConnection {
        var connection: AgentConnectionHandler
        var since: NIODeadline
    }

    private let idleTimeout: TimeAmount
    /// Arrays left empty stay until a sweep: a poll takes an agent's connection and gives it back
    /// every interval, and an empty array keeps its storage.
    private var idle: [AgentKey: [IdleConnection]] = [:]
    private var lastSweep = NIODeadline.now()
    private(set) var isShutDown = false

    init(idleTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
    }

    func checkOut(_ key: AgentKey) -> AgentConnectionHandler? {
        while let candidate = idle[key]?.popLast() {
            if candidate.connection.isUsable { return candidate.connection }
            candidate.connection.close()
        }
        return nil
    }

    func checkIn(_ connection: AgentConnectionHandler, _ key: AgentKey) {
        guard !isShutDown, connection.isUsable else {
            connection.close()
            return
        }
        let now = NIODeadline.now()
        idle[key, default: []].append(IdleConnection(connection: connection, since: now))
        // Connections to agents no longer polled (a removed node) close after the idle timeout; a
        // sweep now and then finds them.
        if now - lastSweep >= .seconds(1) { sweep(now) }
    }

    /// Forgets a connection that closed while idle.
    func forget(_ connection: AgentConnectionHandler, _ key: AgentKey) {
        guard let index = idle[key]?.firstIndex(where: { $0.connection === connection }) else { return }
        idle[key]?.remove(at: index)
    }

    /// Closes every idle connection; later connections are closed after their poll.
    func shutDown() {
        isShutDown = true
        let connections = idle.values.flatMap { $0.map(\.connection) }
        idle = [:]
        for connection in connections { connection.close() }
    }

    private func sweep(_ now: NIODeadline) {
        lastSweep = now
        var emptied: [AgentKey] = []
        var stale: [AgentKey] = []
        for (key, connections) in idle {
            if connections.isEmpty {
                emptied.append(key)
            } else if connections.contains(where: { now - $0.since >= idleTimeout }) {
                stale.append(key)
            }
        }
        // Changed after the walk, not during it, which would copy the whole table.
        for key in emptied { idle[key] = nil }
        for key in stale {
            let connections = idle[key] ?? []
            idle[key] = connections.filter { now - $0.since < idleTimeout }
            for old in connections where now - old.since >= idleTimeout { old.connection.close() }
        }
    }
}
