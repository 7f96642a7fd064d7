import NIOCore
import NIOEmbedded
import NetworkAddress
import Testing

@testable import HTTPServing

/// Admission at the caps, as values: who gives way, who is refused, and when the operator hears.
@Suite struct ConnectionTableTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let a = IPAddress("192.0.2.1")!
    static let b = IPAddress("192.0.2.2")!

    static func at(_ seconds: Int64) -> NIODeadline { t0 + .seconds(seconds) }

    static func admitted(_ result: (admission: ConnectionTable.Admission, capNewlyMet: Bool)) -> ConnectionTable.ID? {
        if case .admitted(let id, _, _) = result.admission { return id }
        return nil
    }

    static func evicted(_ result: (admission: ConnectionTable.Admission, capNewlyMet: Bool)) -> (any Channel)? {
        if case .admitted(_, let evicted, _) = result.admission { return evicted }
        return nil
    }

    @Test func atTheCapTheLongestWaitingConnectionGivesWay() throws {
        let table = ConnectionTable(maxConnections: 3, maxConnectionsPerPeer: nil)
        let channels = (0..<4).map { _ in EmbeddedChannel() }
        let first = try #require(Self.admitted(table.admit(channels[0], peer: Self.a, now: Self.at(0))))
        let second = try #require(Self.admitted(table.admit(channels[1], peer: Self.b, now: Self.at(1))))
        _ = try #require(Self.admitted(table.admit(channels[2], peer: Self.a, now: Self.at(2))))
        // The first is being answered; of the others, the second has waited longest (since 1 s).
        table.answering(first)
        table.waiting(second, since: Self.at(1))
        let result = table.admit(channels[3], peer: Self.b, now: Self.at(3))
        #expect(result.capNewlyMet)
        #expect(Self.evicted(result) === channels[1])
        #expect(table.count == 3)
        table.remove(second)  // its close arrives later: nothing more to do
        #expect(table.count == 3)
    }

    @Test func whenEveryConnectionIsBeingAnsweredTheNewOneIsRefused() throws {
        let table = ConnectionTable(maxConnections: 2, maxConnectionsPerPeer: nil)
        let ids = try (0..<2).map { index in
            try #require(Self.admitted(table.admit(EmbeddedChannel(), peer: Self.a, now: Self.at(Int64(index)))))
        }
        for id in ids { table.answering(id) }
        let refused = table.admit(EmbeddedChannel(), peer: Self.b, now: Self.at(5))
        guard case .refused(.full(2)) = refused.admission else {
            Issue.record("expected a refusal at the cap, got \(refused.admission)")
            return
        }
        #expect(refused.capNewlyMet)
        #expect(!table.admit(EmbeddedChannel(), peer: Self.b, now: Self.at(6)).capNewlyMet, "the operator hears once per episode")
        table.remove(ids[0])
        #expect(Self.admitted(table.admit(EmbeddedChannel(), peer: Self.b, now: Self.at(7))) != nil, "room again")
    }

    @Test func aPeerAtItsCapReplacesItsOwnConnectionsNeverAnothers() throws {
        let table = ConnectionTable(maxConnections: 10, maxConnectionsPerPeer: 2)
        let other = EmbeddedChannel()
        _ = try #require(Self.admitted(table.admit(other, peer: Self.b, now: Self.at(0))))  // the longest waiting of all
        let own = (0..<2).map { _ in EmbeddedChannel() }
        let ownIDs = try (0..<2).map { try #require(Self.admitted(table.admit(own[$0], peer: Self.a, now: Self.at(Int64(1 + $0))))) }
        let third = table.admit(EmbeddedChannel(), peer: Self.a, now: Self.at(5))
        #expect(Self.evicted(third) === own[0], "its own longest-waiting connection, not the other peer's")
        guard case .admitted(_, _, .peerAtCap(Self.a, 2)?) = third.admission else {
            Issue.record("expected the peer cap as the reason, got \(third.admission)")
            return
        }
        // All of its connections being answered: its next one is refused, another peer's is not.
        table.answering(ownIDs[1])
        table.answering(try #require(Self.admitted(third)))
        guard case .refused(.peerAtCap(Self.a, 2)) = table.admit(EmbeddedChannel(), peer: Self.a, now: Self.at(6)).admission else {
            Issue.record("expected the peer's fourth connection refused")
            return
        }
        #expect(Self.admitted(table.admit(EmbeddedChannel(), peer: Self.b, now: Self.at(7))) != nil)
        #expect(table.count == 4)
    }

    @Test func connectionsWithoutAPeerAddressHaveNoPeerCap() throws {
        let table = ConnectionTable(maxConnections: 3, maxConnectionsPerPeer: 1)
        for index in 0..<3 {
            let result = table.admit(EmbeddedChannel(), peer: nil, now: Self.at(Int64(index)))
            #expect(Self.admitted(result) != nil && Self.evicted(result) == nil)
        }
    }
}

/// What the open-file limit leaves for connections.
@Suite struct ConnectionLimitsTests {
    @Test func limitsThatFitAreKept() {
        let limits = ConnectionLimits()
        let (fitted, warning) = limits.fitted(toOpenFileLimit: 65536, reserved: 256)
        #expect(fitted == limits && warning == nil)
        #expect(limits.fitted(toOpenFileLimit: 0, reserved: 256).limits == limits, "an unknown limit changes nothing")
    }

    /// The finding: with the soft limit of 1,024 reached, the script check failed with "Too many open
    /// files". Both tables together now stay below the limit with the reserve left over.
    @Test func aLowOpenFileLimitLowersTheCapsAndSaysWhy() throws {
        let (fitted, warning) = ConnectionLimits().fitted(toOpenFileLimit: 1024, reserved: 256)
        #expect(fitted.maxConnections == 384)
        #expect(fitted.maxConnectionsPerPeer == 256)
        #expect(2 * fitted.maxConnections + 256 <= 1024)
        let text = try #require(warning)
        #expect(text.contains("max_connections 1024 lowered to 384") && text.contains("LimitNOFILE"))
        #expect(ConnectionLimits(maxConnectionsPerPeer: 500).fitted(toOpenFileLimit: 1024, reserved: 256).limits.maxConnectionsPerPeer == 384)
    }
}
