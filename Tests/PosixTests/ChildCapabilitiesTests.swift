import Glibc
import Posix
import Testing

/// issue 15: brother's notify commands inherited its CAP_NET_ADMIN (and, when brother ran as root,
/// every capability). A run with `capabilities: .none` starts the child with none, and only the
/// run's own thread gives them up. The child reports its own sets: it copies /proc/self/status
/// (dd: a plain read loop, which /proc files need) to a file the test reads.
@Suite(.enabled(if: CapabilitySets.ofThisThread()?.effective ?? 0 != 0, "needs a test process with capabilities (root)"))
struct ChildCapabilitiesTests {
    @Test func aChildStartedWithNoCapabilitiesHasNoneEvenAsRoot() async throws {
        let before = try #require(CapabilitySets.ofThisThread())
        let sets = try await Self.childSets(.none)
        #expect(sets.effective == 0)
        #expect(sets.permitted == 0)
        #expect(sets.inheritable == 0)
        #expect(sets.ambient == 0)
        if before.effective & CapabilitySets.setpcap != 0 {
            #expect(sets.bounding == 0, "with CAP_SETPCAP the bounding set is emptied too: a set-user-ID root program gains nothing")
        }
        #expect(CapabilitySets.ofThisThread() == before, "the caller's thread keeps its capabilities")
    }

    @Test func aChildThatInheritsGetsRootsCapabilities() async throws {
        // The default, and how notify commands ran before: the check above can fail.
        let sets = try await Self.childSets(.inherited)
        #expect(sets.effective != 0)
    }

    /// The capability sets of a child started with `capabilities`.
    static func childSets(_ capabilities: ChildCapabilities) async throws -> CapabilitySets {
        let path = "/tmp/posix-capabilities-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let result = try await ProcessRunner.runOnOwnThread(
            ["/bin/dd", "if=/proc/self/status", "of=\(path)", "status=none"], deadline: .after(.seconds(60)), capabilities: capabilities)
        #expect(result.termination == .exited(0), "dd: \(result.standardError)")
        return try #require(ProcessRunnerTests.read(path).flatMap(CapabilitySets.init(status:)))
    }
}

/// The Cap* lines of a /proc/…/status file.
struct CapabilitySets: Equatable {
    var inheritable: UInt64
    var permitted: UInt64
    var effective: UInt64
    var bounding: UInt64
    var ambient: UInt64

    /// CAP_SETPCAP's bit.
    static let setpcap: UInt64 = 1 << 8

    init?(status: String) {
        var values: [String: UInt64] = [:]
        for line in status.split(separator: "\n") where line.hasPrefix("Cap") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = UInt64(String(parts[1].filter { !$0.isWhitespace }), radix: 16) else { return nil }
            values[String(parts[0])] = value
        }
        guard let inheritable = values["CapInh"], let permitted = values["CapPrm"], let effective = values["CapEff"],
            let bounding = values["CapBnd"], let ambient = values["CapAmb"]
        else { return nil }
        (self.inheritable, self.permitted, self.effective, self.bounding, self.ambient) = (inheritable, permitted, effective, bounding, ambient)
    }

    /// The calling thread's sets (capabilities are per thread).
    static func ofThisThread() -> CapabilitySets? {
        ProcessRunnerTests.read("/proc/thread-self/status").flatMap(CapabilitySets.init(status:))
    }
}
