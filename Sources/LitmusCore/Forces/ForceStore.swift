import Glibc
import LitmusWire
import Posix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Problems writing or removing forces on disk.
public struct ForceStoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var advice = "check that the data directory exists and is writable"
    public var description: String { "cannot update forces in \(path): \(reason); \(advice)" }
}

/// Forces on disk in the data directory: ours in `litmus-forces.json` (with author, time and expiry), and
/// litmus_paper's force files (`global_down`, `<svc>_health`, …: line 1 reason, last line health) which are honoured.
///
/// `litmus-forces.json` is written durably (``DurableFile``). When it cannot be read (truncated by a
/// power loss or a full disk, edited badly), a force it held may be an operator's maintenance: litmus
/// keeps the forces of its last good read, and with no good read yet (unreadable at start) holds every
/// service down, a force it cannot read being taken as still in force. Both are told in
/// ``fileProblem`` until the file reads well again.
///
/// Not thread-safe by itself: owned by the `AgentState` actor.
public struct ForceStore: Sendable {
    public let directory: String
    public private(set) var forces: [Force] = []
    /// Why `litmus-forces.json` could not be read at the last reload, and what litmus does instead;
    /// nil when it read well (or there is none).
    public private(set) var fileProblem: String?
    /// Whether `litmus-forces.json` was read well (or found absent) once: its forces are then in ``forces``.
    private var hasGoodRead = false

    public static let fileName = "litmus-forces.json"

    public init(directory: String) {
        self.directory = directory
    }

    var jsonPath: String { "\(directory)/\(ForceStore.fileName)" }

    /// Reloads both sources from disk. Unreadable litmus_paper files are skipped; an unreadable
    /// `litmus-forces.json` keeps the last good forces, or before any, holds every service down.
    /// - Returns: the problems with single forces, one line each, for the log (the file's own is
    ///   ``fileProblem``).
    public mutating func reload(knownServices: some Sequence<String>, now: Date = Date()) -> [String] {
        var problems: [String] = []
        var loaded: [Force] = []
        do {
            for (index, force) in try readOurs().enumerated() {
                let (checked, problem) = force.checked()
                if let problem { problems.append("\(jsonPath): force \(index + 1) (\(force.scope)): \(problem)") }
                loaded.append(checked)
            }
            hasGoodRead = true
            fileProblem = nil
        } catch {
            if hasGoodRead {
                loaded = forces.filter { $0.origin == .litmus }
                fileProblem = "\(jsonPath) cannot be read (\(error.reason)); keeping the \(loaded.count) forces of its last good read"
            } else {
                let reason = "force file \(jsonPath) is unreadable: every service held down until it reads well"
                // Since the first reload that found it so, not the latest.
                let since = forces.first { $0.origin == .unreadableForceFile }?.createdAt ?? now
                loaded = [Force(scope: .global, state: .down, reason: reason, createdAt: since, origin: .unreadableForceFile)]
                fileProblem = "\(jsonPath) cannot be read (\(error.reason)) and was never read well: every service is forced down"
            }
        }
        let scopes: [Force.Scope] = [.global] + knownServices.map { .service($0) }
        for scope in scopes {
            for direction in ForceDirection.allCases {
                // Ours wins over a litmus_paper file for the same scope and direction.
                guard !loaded.contains(where: { $0.scope == scope && $0.direction == direction }) else { continue }
                let path = ForceStore.litmusPaperPath(directory: directory, scope: scope, direction: direction)
                guard let force = ForceStore.readLitmusPaperFile(path: path, scope: scope, direction: direction) else { continue }
                loaded.append(force)
            }
        }
        forces = loaded
        return problems
    }

    /// Our forces in `litmus-forces.json`; none when there is no file.
    private func readOurs() throws(ForceStoreError) -> [Force] {
        guard FileManager.default.fileExists(atPath: jsonPath) else { return [] }
        guard let data = FileManager.default.contents(atPath: jsonPath) else {
            throw ForceStoreError(path: jsonPath, reason: "it exists but cannot be read")
        }
        do {
            return try ForceStore.decoder.decode([Force].self, from: data)
        } catch {
            throw ForceStoreError(path: jsonPath, reason: "not a valid force list: \(error)")
        }
    }

    /// A change would write the file over forces litmus never read: refused until it reads well.
    private func checkWritable() throws(ForceStoreError) {
        guard hasGoodRead || fileProblem == nil else {
            throw ForceStoreError(
                path: jsonPath, reason: "the file cannot be read, so every service is held down",
                advice: "repair or remove it, then reload litmus (SIGHUP)")
        }
    }

    /// Adds or replaces the force for its scope and direction.
    public mutating func set(_ force: Force) throws(ForceStoreError) {
        try checkWritable()
        var updated = forces.filter { !($0.scope == force.scope && $0.direction == force.direction) }
        updated.append(force)
        try persist(updated)
        forces = updated
    }

    /// Removes the force for a scope and direction, including a litmus_paper file; false if there was none.
    public mutating func remove(scope: Force.Scope, direction: ForceDirection) throws(ForceStoreError) -> Bool {
        try checkWritable()
        let path = ForceStore.litmusPaperPath(directory: directory, scope: scope, direction: direction)
        var removedFile = false
        if FileManager.default.fileExists(atPath: path) {
            do {
                try SystemCall.unlink(path)
            } catch {
                throw ForceStoreError(path: path, reason: error.reason)
            }
            removedFile = true
        }
        let updated = forces.filter { !($0.scope == scope && $0.direction == direction) }
        let removed = updated.count != forces.count
        if forces.contains(where: { $0.scope == scope && $0.direction == direction && $0.origin == .litmus }) {
            try persist(updated)
        }
        forces = updated
        return removed || removedFile
    }

    /// Drops expired forces; returns them so the caller can log each.
    public mutating func removeExpired(now: Date) throws(ForceStoreError) -> [Force] {
        let expired = forces.filter { $0.isExpired(at: now) }
        guard !expired.isEmpty else { return [] }
        let updated = forces.filter { !$0.isExpired(at: now) }
        try persist(updated)
        forces = updated
        return expired
    }

    /// The live forces that apply to `service`.
    public func forces(for service: String, now: Date) -> [Force] {
        forces.filter { $0.applies(to: service) && !$0.isExpired(at: now) }
    }

    private func persist(_ forces: [Force]) throws(ForceStoreError) {
        let ours = forces.filter { $0.origin == .litmus }
        let data: Data
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            data = try ForceStore.encoder.encode(ours)
        } catch {
            throw ForceStoreError(path: jsonPath, reason: FileErrorText.describe(error))
        }
        do {
            // A force lost to a power loss would end an operator's maintenance.
            try DurableFile.replace(jsonPath, with: data)
        } catch {
            throw ForceStoreError(path: jsonPath, reason: "\(error)")
        }
    }

    public static func litmusPaperPath(directory: String, scope: Force.Scope, direction: ForceDirection) -> String {
        "\(directory)/\(scope)_\(direction.rawValue)"
    }

    /// litmus_paper's format: first line the reason; for health forces the value is the integer on the last line.
    static func readLitmusPaperFile(path: String, scope: Force.Scope, direction: ForceDirection) -> Force? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let reason = lines.first ?? ""
        let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
        let state: ForcedState
        switch direction {
        case .down: state = .down
        case .up: state = .up
        case .health:
            let last = lines.last(where: { !$0.isEmpty }) ?? ""
            // Ruby's String#to_i: the leading integer, or 0.
            let digits = last.trimmingBlanks().prefix(while: \.isNumber)
            state = .health(min(100, Int(digits.prefix(9)) ?? 0))
        }
        return Force(scope: scope, state: state, reason: reason, author: nil, createdAt: modified, origin: .litmusPaperFile)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
