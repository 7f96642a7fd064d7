import CEpoll
import Glibc

/// A named OS thread of the process's own, for a loop that blocks in the kernel (epoll) and must
/// not hold one of Swift's cooperative threads.
public enum DetachedThread {
    /// Starts a detached thread named `name` (at most 15 bytes are kept, as `top -H` and
    /// /proc/PID/task/TID/comm show them) that runs `body`.
    public static func start(named name: String, _ body: @escaping @Sendable () -> Void) throws(SystemCallError) {
        let context = Unmanaged.passRetained(Work(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        do {
            try SystemCall.runReturningError("pthread_create") {
                pthread_create(
                    &thread, nil,
                    { context in
                        let work = Unmanaged<Work>.fromOpaque(context!).takeRetainedValue()
                        cepoll_name_thread(work.name)
                        work.body()
                        return nil
                    }, context)
            }
        } catch {
            Unmanaged<Work>.fromOpaque(context).release()
            throw error
        }
        pthread_detach(thread)
    }

    private final class Work {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
