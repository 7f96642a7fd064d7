import BrotherCore
import Foundation
import IPVS

/// What brother must remember across restarts so that a restart changes nothing: every node's
/// policy state (ramp start, hysteresis, hold), per cluster. Written atomically (temporary file +
/// rename), so `kill -9` at any moment leaves either the old or the new file, never half of one.
public struct BrotherStateStore: Sendable {
    public struct Snapshot: Codable, Hashable, Sendable {
        public var version = 1
        /// cluster name → destination ("192.0.2.2:80") → state
        public var clusters: [String: [String: NodeHealthState]] = [:]
        /// cluster name → phase; absent for files written before phases were saved.
        public var phases: [String: ClusterPhase]? = nil
        /// cluster name → removed node ("192.0.2.2:80") → end of its drain.
        public var draining: [String: [String: Date]]? = nil
        /// cluster name → IPVS service it no longer uses ("TCP 198.51.100.10:80") → end of its drain.
        public var retiredServices: [String: [String: Date]]? = nil
        /// cluster name → node ("192.0.2.2:80") → a node that joined or was discovered.
        public var dynamicNodes: [String: [String: DynamicNode]]? = nil
        /// Services of clusters removed from the configuration that were still draining.
        public var removedClusterServices: [String: String]? = nil
        public init() {}
    }

    public let path: String

    public init(path: String) { self.path = path }

    /// The saved snapshot; an empty one when there is no file yet.
    /// - Throws: ``BrotherStateError`` when the file exists but cannot be read or parsed.
    public func load() throws -> Snapshot {
        guard FileManager.default.fileExists(atPath: path) else { return Snapshot() }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            return try decoder.decode(Snapshot.self, from: data)
        } catch {
            throw BrotherStateError(path: path, reason: "cannot be read (\(error)); move it away to start with fresh state")
        }
    }

    public func save(_ snapshot: Snapshot) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        let document: Data
        do {
            document = try encoder.encode(snapshot)
        } catch {
            throw BrotherStateError(path: path, reason: "cannot be written (\(error))")
        }
        try write(document)
    }

    /// Replaces the file with an encoded snapshot.
    func write(_ document: Data) throws {
        let temporary = path + ".tmp"
        do {
            try document.write(to: URL(fileURLWithPath: temporary))
            // rename(2) replaces atomically.
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            throw BrotherStateError(path: path, reason: "cannot be written (\(error))")
        }
    }
}

/// The state file could not be read or written.
public struct BrotherStateError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "state file \(path) \(reason)" }
}
