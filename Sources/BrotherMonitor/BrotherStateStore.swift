import BrotherCore
import Foundation
import IPVS
import Posix

/// What brother must remember across restarts so that a restart changes nothing: every node's
/// policy state (ramp start, hysteresis, hold), per cluster. Written durably (``DurableFile``:
/// temporary file, fsync, rename, fsync of the directory), so `kill -9` or a power loss at any
/// moment leaves either the old or the new file, never half of one; the file it replaces is kept as
/// `PATH.1`. A file that cannot be read at start is moved aside and the backup tried
/// (``recover(now:)``): brother then starts from the kernel's table, never stops for it.
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
        /// cluster name → its event history (the dashboard's and the API's `events`), oldest first,
        /// at most ``ClusterEventLog``'s capacity; absent in files written before events were saved.
        public var events: [String: [ClusterEvent]]? = nil
        public init() {}
    }

    public let path: String

    public init(path: String) { self.path = path }

    /// The file the last save replaced: the state one save earlier.
    public var backupPath: String { path + ".1" }

    /// What ``recover(now:)`` read, and what the operator must be told.
    public struct Recovery: Sendable {
        public var snapshot: Snapshot
        /// One line each: a file that could not be read, where it was moved, which file was used.
        public var warnings: [String]
    }

    /// The saved snapshot for a start, whatever is on disk: a file that cannot be read or parsed is
    /// renamed `PATH.corrupt-YYYYMMDDTHHMMSSZ` (kept for a post-mortem, out of the way of the next
    /// save) and the backup is read instead; without a good one, an empty snapshot, and brother
    /// takes the kernel's table as it finds it. Stopping instead would leave the table frozen with
    /// nobody watching the nodes, in a loop of restarts.
    public func recover(now: Date) -> Recovery {
        var warnings: [String] = []
        do {
            if let snapshot = try read(path) { return Recovery(snapshot: snapshot, warnings: []) }
        } catch {
            let aside = path + ".corrupt-" + Self.stamp(now)
            do {
                try SystemCall.rename(path, to: aside)
                warnings.append("\(error); moved aside to \(aside)")
            } catch {
                warnings.append("\(error); it could not be moved aside (\(FileError(path: path, error: error))), the next save replaces it")
            }
        }
        do {
            if let snapshot = try read(backupPath) {
                warnings.append("state restored from the backup \(backupPath), written one save before the state file")
                return Recovery(snapshot: snapshot, warnings: warnings)
            }
            if !warnings.isEmpty { warnings.append("no backup \(backupPath): starting without saved state, from the kernel's table") }
        } catch {
            warnings.append("the backup \(error); starting without saved state, from the kernel's table")
        }
        return Recovery(snapshot: Snapshot(), warnings: warnings)
    }

    /// `20261207T124500Z`: sorts by time, and has no character a shell or a path would trip on.
    static func stamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return "\(parts.year ?? 0)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
    }

    /// The saved snapshot; an empty one when there is no file yet.
    /// - Throws: ``BrotherStateError`` when the file exists but cannot be read or parsed.
    public func load() throws -> Snapshot {
        try read(path) ?? Snapshot()
    }

    /// The snapshot in a file; nil when there is no file.
    private func read(_ file: String) throws(BrotherStateError) -> Snapshot? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            return try decoder.decode(Snapshot.self, from: data)
        } catch {
            throw BrotherStateError(path: file, reason: "cannot be read (\(error))")
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

    /// Replaces the file with an encoded snapshot, keeping the one it replaces as the backup.
    func write(_ document: Data) throws(BrotherStateError) {
        do {
            try DurableFile.replace(path, with: document, backup: backupPath)
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
