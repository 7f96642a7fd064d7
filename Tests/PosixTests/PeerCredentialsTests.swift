import Glibc
import Posix
import Testing

/// SO_PEERCRED and the group database, for real: the Unix socket's group check stands on them.
@Suite struct PeerCredentialsTests {
    @Test func theKernelNamesTheProcessAtTheOtherEnd() throws {
        let (one, other) = try SystemCall.socketPair()
        defer {
            close(one)
            close(other)
        }
        // Also proves that Posix's `struct ucred` has the kernel's layout, which swift-nio's getsockopt fills on the servers.
        let credentials = try SystemCall.peerCredentials(other)
        #expect(credentials == PeerCredentials(processID: getpid(), userID: getuid(), groupID: getgid()))
        #expect(MemoryLayout<PeerCredentials.Raw>.size == 12)
    }

    @Test func aDescriptorThatIsNoSocketIsAnErrorNamingTheCall() throws {
        let (one, other) = try SystemCall.socketPair()
        close(one)
        close(other)
        do {
            _ = try SystemCall.peerCredentials(other)
            Issue.record("a closed descriptor has no peer")
        } catch {
            #expect(error.call == "getsockopt")
            #expect(error.errno == EBADF)
        }
    }

    @Test func groupsAreFoundByNameOrNumber() throws {
        #expect(try UserDatabase.groupID(named: "root") == 0)
        #expect(try UserDatabase.groupID(named: "4242") == 4242, "a number is an id, as chown takes it")
        #expect(try UserDatabase.groupID(named: "no-such-group-plimsoll") == nil)
        #expect(try UserDatabase.groups(ofUser: 0).contains(0), "root's primary group")
        #expect(try UserDatabase.groups(ofUser: 4_000_000_000) == [], "a user without an entry belongs to nothing")
    }
}
