import Testing

@testable import VIPSets

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Tier 2: the real libipset against the host kernel, read-only (nothing is created on the host).
///
/// Measured on the build machines (Linux 6.18, ip_set built in): as root the kernel answers and a missing set is
/// "The set with the given name does not exist"; as any other user every command is refused with
/// "Kernel error received: Operation not permitted" (EPERM, no CAP_NET_ADMIN). A kernel without ip_set at all
/// (the UML kernel before `modprobe ip_set`) gives "Cannot open session to kernel.", pinned in the kernel tests' docs.
@Suite struct VIPSetClientHostTests {
    static let isRoot = geteuid() == 0
    static let missing = "plimsoll-no-such-set-\(getpid())"
    static let member = try! VIPSetMember(parsing: "192.0.2.1,tcp:80")

    /// Runs `body` and checks that it throws what this host kernel gives for a missing set: noSuchSet as root, permissionDenied otherwise.
    func expectMissingOrRefused(_ call: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("\(call) on a missing set succeeded")
        } catch let error as VIPSetError {
            if Self.isRoot {
                #expect(error == .noSuchSet(Self.missing), "\(call): \(error)")
            } else {
                guard case .permissionDenied(_, let message) = error else {
                    Issue.record("\(call) as uid \(geteuid()): expected permissionDenied, got \(error)")
                    return
                }
                #expect(message == "Kernel error received: Operation not permitted")
                #expect(error.description.contains("CAP_NET_ADMIN"))
            }
        } catch {
            Issue.record("\(call) threw a non-VIPSetError: \(error)")
        }
    }

    @Test func listingAMissingSet() async throws {
        let client = try VIPSetClient()
        await expectMissingOrRefused("members(of:)") { _ = try await client.members(of: Self.missing) }
    }

    @Test func addingToAMissingSet() async throws {
        let client = try VIPSetClient()
        await expectMissingOrRefused("add(_:to:)") { try await client.add(Self.member, to: Self.missing) }
        await expectMissingOrRefused("remove(_:from:)") { try await client.remove(Self.member, from: Self.missing) }
    }

    @Test func destroyingAMissingSet() async throws {
        let client = try VIPSetClient()
        await expectMissingOrRefused("destroy(_:)") { try await client.destroy(Self.missing) }
    }

    /// One client, one failure after another: a failed dump must not poison the next command ("Internal protocol error").
    @Test func failuresInARowStayTyped() async throws {
        let client = try VIPSetClient()
        for _ in 0..<3 {
            await expectMissingOrRefused("members(of:)") { _ = try await client.members(of: Self.missing) }
            await expectMissingOrRefused("destroy(_:)") { try await client.destroy(Self.missing) }
            await expectMissingOrRefused("add(_:to:)") { try await client.add(Self.member, to: Self.missing) }
        }
    }

    @Test func listingSetNames() async throws {
        let client = try VIPSetClient()
        if Self.isRoot {
            let names = try await client.sets()
            #expect(!names.contains(Self.missing))
        } else {
            await #expect(throws: VIPSetError.self) { try await client.sets() }
        }
    }

    @Test func badNamesFailBeforeTheKernel() async throws {
        let client = try VIPSetClient()
        await #expect(throws: VIPSetError.invalidSetName("", reason: "the name is empty")) { try await client.destroy("") }
        await #expect(throws: VIPSetError.self) { try await client.members(of: String(repeating: "n", count: 32)) }
    }
}

/// libipset blocks in the kernel: the client's methods run on its own thread, not a cooperative one.
@Suite struct VIPSetClientThreadTests {
    @Test func theClientRunsOnItsOwnThread() async throws {
        let client = try VIPSetClient()
        #expect(await client.threadName() == "ipset-netlink")
        #expect(await client.runsOnItsThread())
        #expect(!client.isOnItsThread, "the test itself runs elsewhere")
    }
}

extension VIPSetClient {
    /// Isolated to the client, so it runs where every libipset call runs.
    fileprivate func threadName() -> String? {
        let fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { return nil }
        return String(decoding: bytes[0..<count].filter { $0 != 10 }, as: UTF8.self)
    }

    fileprivate func runsOnItsThread() -> Bool { isOnItsThread }
}
