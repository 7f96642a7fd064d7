import Testing

@testable import VIPSets

@Suite struct VIPSetChangesTests {
    func members(_ texts: String...) throws -> [VIPSetMember] { try texts.map { try VIPSetMember(parsing: $0) } }

    @Test func onlyDifferencesChange() throws {
        let current = try members("198.51.100.10,tcp:80", "198.51.100.10,tcp:443", "198.51.100.11,udp:53")
        let wanted = Set(try members("198.51.100.10,tcp:80", "198.51.100.12,sctp:9", "198.51.100.10,tcp:8443"))
        let changes = VIPSetChanges(from: current, to: wanted)
        #expect(changes.added.map(\.description) == ["198.51.100.10,tcp:8443", "198.51.100.12,sctp:9"])
        #expect(changes.removed.map(\.description) == ["198.51.100.10,tcp:443", "198.51.100.11,udp:53"])
        #expect(!changes.isEmpty)
    }

    @Test func sameMembersNoChanges() throws {
        let current = try members("198.51.100.10,tcp:80", "2001:db8::1,udp:53")
        #expect(VIPSetChanges(from: current, to: Set(current)).isEmpty)
        #expect(VIPSetChanges(from: [], to: []).isEmpty)
    }

    @Test func emptyWantedRemovesAll() throws {
        let current = try members("198.51.100.10,tcp:80")
        #expect(VIPSetChanges(from: current, to: []) == VIPSetChanges(added: [], removed: current))
    }
}
