import Glibc
import HTTPServing
import Hummingbird
import LitmusTesting
import Logging
import ServiceLifecycle
import Testing

/// The Unix socket both daemons serve: a stale file is replaced, a live one is never taken over, and
/// the socket is 0660 once listening.
@Suite struct HTTPListenersTests {
    static let naming = HTTPListeners.Naming(daemon: "brother", socketAdvice: "use --socket with another path")

    static func applications(socket: String, onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) throws
        -> [any ServiceLifecycle.Service]
    {
        try HTTPListeners.applications(
            tcp: [], unixSocket: socket, naming: naming, logger: Logger(label: "test"),
            router: { transport in
                let router = Router(context: PeerRequestContext.self)
                router.get("/") { _, _ in transport == .unixSocket ? "unix" : "tcp" }
                return router
            }, onListening: onListening)
    }

    @Test func aStaleSocketFileIsReplacedAndTheDirectoryMade() throws {
        let dir = TemporaryDirectory()
        let path = "\(dir.path)/run/brother.sock"
        #expect(try Self.applications(socket: path).count == 1, "the missing directory is created")
        do { _ = Listener(unixPath: path) }  // bound, then closed: the file stays, nothing listens
        #expect(access(path, F_OK) == 0)
        _ = try Self.applications(socket: path)
        #expect(access(path, F_OK) != 0, "the stale file is removed so the server can bind")
    }

    @Test func aLiveSocketIsNeverTakenOver() throws {
        let dir = TemporaryDirectory()
        let path = "\(dir.path)/brother.sock"
        let live = Listener(unixPath: path)
        #expect(throws: HTTPListenerError(description: "another brother is already listening on \(path); stop it or use --socket with another path"))
        {
            try Self.applications(socket: path)
        }
        #expect(live.fd >= 0 && access(path, F_OK) == 0, "the other daemon's socket is left alone")
    }

    @Test func aPathTheKernelCannotTakeIsNamed() {
        let path = "/tmp/" + String(repeating: "s", count: 120)
        #expect(throws: HTTPListenerError(description: "socket path \(path) is longer than the kernel allows (107 bytes)")) {
            try Self.applications(socket: path)
        }
    }

    @Test func theSocketIsForRootAndItsGroupOnly() async throws {
        let dir = TemporaryDirectory()
        let path = "\(dir.path)/brother.sock"
        let (listening, announce) = AsyncStream.makeStream(of: String.self)
        let services = try Self.applications(socket: path) { label, _ in announce.yield(label) }
        let group = ServiceGroup(services: services, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var labels = listening.makeAsyncIterator()
            #expect(await labels.next() == "unix:\(path)")
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
