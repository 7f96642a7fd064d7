import Logging
import NIOConcurrencyHelpers

/// Log lines at `minimumLevel` and above, as `LEVEL: MESSAGE`, to check what operators are told.
struct RecordingLogHandler: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var minimumLevel: Logger.Level = .notice
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= minimumLevel else { return }
        lines.withLockedValue { $0.append("\(event.level): \(event.message)") }
    }
}
