import Glibc
import Posix
import Testing

/// The poll thread's name is what `top -H` shows: it must be set on the thread itself.
struct DetachedThreadTests {
    @Test func theThreadRunsItsBodyUnderItsName() async throws {
        let name = await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            do {
                try DetachedThread.start(named: "brother-poll") { continuation.resume(returning: Self.currentThreadName()) }
            } catch {
                continuation.resume(returning: nil)
            }
        }
        #expect(name == "brother-poll")
    }

    /// /proc/thread-self/comm, without its newline.
    static func currentThreadName() -> String? {
        let fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { return nil }
        return String(decoding: bytes[0..<count].filter { $0 != 10 }, as: UTF8.self)
    }
}
