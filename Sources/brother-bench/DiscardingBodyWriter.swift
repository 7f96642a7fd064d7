import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A dashboard tab that reads its event stream and throws it away: counts what it was sent.
final class DiscardingBodyWriter: ResponseBodyWriter, Sendable {
    private let tally = Mutex((writes: 0, bytes: 0))

    func write(_ buffer: ByteBuffer) async throws {
        tally.withLock {
            $0.writes += 1
            $0.bytes += buffer.readableBytes
        }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}

    var received: (writes: Int, bytes: Int) { tally.withLock { $0 } }
}
