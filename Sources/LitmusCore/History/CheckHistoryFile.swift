import Posix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// ``CheckHistory`` on disk: `<data_directory>/litmus-check-history.json`, written durably
/// (``DurableFile``) only when a transition happens, never per evaluation or request. A file that
/// cannot be read is a warning and an empty history: losing the history must not stop the agent.
public struct CheckHistoryFile: Sendable {
    public static let fileName = "litmus-check-history.json"
    public let directory: String
    public var path: String { "\(directory)/\(Self.fileName)" }

    public init(directory: String) { self.directory = directory }

    /// The saved history, and a warning when the file was there but could not be read.
    public func load() -> (history: CheckHistory, warning: String?) {
        guard FileManager.default.fileExists(atPath: path) else { return (CheckHistory(), nil) }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return (try Self.decoder.decode(CheckHistory.self, from: data), nil)
        } catch {
            return (
                CheckHistory(),
                "check history \(path) cannot be read (\(FileErrorText.describe(error))); starting without it, the next transition replaces it"
            )
        }
    }

    /// Replaces the file with `history`.
    /// - Throws: ``CheckHistoryFileError`` naming the file and what failed.
    public func save(_ history: CheckHistory) throws(CheckHistoryFileError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try DurableFile.replace(path, with: try Self.encoder.encode(history))
        } catch {
            throw CheckHistoryFileError(path: path, reason: "\(error)")
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// The check history could not be written; the agent goes on, and the next transition tries again.
public struct CheckHistoryFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "check history \(path) cannot be written: \(reason)" }
}
