import Glibc
import LitmusWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Problems writing or removing forces on disk.
public struct ForceStoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot update forces in \(path): \(reason); check that the data directory exists and is writable" }
}

/// Forces on disk in the data directory: ours in `litmus-forces.json` (with author, time and expiry), and
/// litmus_paper's force files (`global_down`, `<svc>_health`, …: line 1 reason, last line health) which are honoured.
///
/// Not thread-safe by itself: owned by the `AgentState` actor.
public struct ForceStore: Sendable {
    public let directory: String
    public private(set) var forces: [Force] = []

    public static let fileName = "litmus-forces.json"

    public init(directory: String) {
        self.directory = directory
    }

    var jsonPath: String { "\(directory)/\(ForceStore.fileName)" }

    /// Reloads both sources from disk. Unreadable files are skipped and reported.
    public mutating func reload(knownServices: some Sequence<String>) -> [String] {
        var problems: [String] = []
        var loaded: [Force] = []
        if let data = FileManager.default.contents(atPath: jsonPath) {
            do {
                for (index, force) in try ForceStore.decoder.decode([Force].self, from: data).enumerated() {
                    let (checked, problem) = force.checked()
                    if let problem { problems.append("\(jsonPath): force \(index + 1) (\(force.scope)): \(problem)") }
                    loaded.append(checked)
                }
            } catch {
                problems.append("\(jsonPath): not a valid force list (\(error)); ignoring it")
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

    /// Adds or replaces the force for its scope and direction.
    public mutating func set(_ force: Force) throws(ForceStoreError) {
        var updated = forces.filter { !($0.scope == force.scope && $0.direction == force.direction) }
        updated.append(force)
        try persist(updated)
        forces = updated
    }

    /// Removes the force for a scope and direction, including a litmus_paper file; false if there was none.
    public mutating func remove(scope: Force.Scope, direction: ForceDirection) throws(ForceStoreError) -> Bool {
        let path = ForceStore.litmusPaperPath(directory: directory, scope: scope, direction: direction)
        var removedFile = false
        if FileManager.default.fileExists(atPath: path) {
            guard unlink(path) == 0 else { throw ForceStoreError(path: path, reason: String(cString: strerror(errno))) }
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
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let data = try ForceStore.encoder.encode(ours)
            try data.write(to: URL(fileURLWithPath: jsonPath), options: .atomic)
        } catch {
            throw ForceStoreError(path: jsonPath, reason: FileErrorText.describe(error))
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
