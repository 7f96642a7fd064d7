import BrotherCore
import BrotherDiscovery
import Foundation
import IPVS
import NetworkAddress
import Testing

/// The rules that turn DNS answers into a cluster's discovered nodes, as pure values: agreement
/// before removal, the removal share, the last weighted node, the panic threshold, refused addresses
/// and the node cap.
struct DiscoveryMembershipTests {
    static func node(_ address: String) -> NodeConfiguration {
        NodeConfiguration(address: IPAddress(address)!, port: 9292, path: "/web/status", realPort: 80)
    }

    static func nodes(_ count: Int) -> [NodeConfiguration] { (1...count).map { node("192.0.2.\($0)") } }

    /// A cluster whose nodes are `discovered` plus `fileNodes`, all with weight unless listed in `unweighted`.
    static func cluster(
        _ discovered: [NodeConfiguration], fileNodes: [NodeConfiguration] = [], unweighted: Set<Destination.ID> = [], panic: Double? = nil,
        allowsLoopback: Bool = false
    ) -> DiscoveryMembership.Cluster {
        let all = Set((discovered + fileNodes).map(\.destinationID))
        return DiscoveryMembership.Cluster(
            discovered: discovered, realServers: all, weighted: all.subtracting(unweighted), panicThreshold: panic,
            ownAddresses: [IPAddress("198.51.100.10")!], allowsLoopback: allowsLoopback)
    }

    @Test func oneEmptyAnswerChangesNothingAndThreeInARowRemoveWithinTheShare() {
        var membership = DiscoveryMembership()
        let eight = Self.nodes(8)
        var current = eight
        for answer in 1...2 {
            let outcome = membership.admit([], into: Self.cluster(current))
            #expect(outcome.nodes == eight && outcome.removed.isEmpty, "answer \(answer) of 3 removes nothing")
            #expect(outcome.pending.count == 8)
            #expect(outcome.events == [.unlisted(Dictionary(uniqueKeysWithValues: eight.map { ($0.destinationID, answer) }), needed: 3)])
        }
        // The third agreeing answer: 0.25 of 8 nodes go, in sorted order; 6 wait, and the log says why.
        var outcome = membership.admit([], into: Self.cluster(current))
        #expect(outcome.removed == eight.prefix(2).map(\.destinationID))
        #expect(outcome.nodes == Array(eight.dropFirst(2)))
        #expect(outcome.pending.count == 6)
        #expect(outcome.events.contains(.removed(eight.prefix(2).map(\.destinationID), needed: 3)))
        let held = outcome.events.first { if case .held = $0 { true } else { false } }
        #expect(held?.description.contains("6 removal(s) wait for the next interval") == true)
        #expect(held?.description.contains("max_removal_share 0.25 (at most 2 of the source's 8 nodes per interval)") == true)
        #expect(held?.isWarning == true)

        // Each further interval takes its share of what is left: 0.25 of 6 is 1.
        current = outcome.nodes
        outcome = membership.admit([], into: Self.cluster(current))
        #expect(outcome.removed == [eight[2].destinationID])
        #expect(outcome.pending.count == 5)
    }

    @Test func aListedNodeStartsItsCountAgain() {
        var membership = DiscoveryMembership()
        let two = Self.nodes(2)
        _ = membership.admit([], into: Self.cluster(two))
        _ = membership.admit([], into: Self.cluster(two))
        #expect(membership.unlistedAnswers[two[0].destinationID] == 2)
        // Listed again: the count of left-out answers starts over, so two more empty ones remove nothing.
        let back = membership.admit(two, into: Self.cluster(two))
        #expect(back.nodes == two && back.events.isEmpty && back.pending.isEmpty)
        #expect(membership.unlistedAnswers.isEmpty)
        for _ in 1...2 { #expect(membership.admit([], into: Self.cluster(two)).removed.isEmpty) }
        #expect(membership.admit([], into: Self.cluster(two)).removed.count == 1)
    }

    @Test func theClustersLastNodeWithWeightNeverGoesUntilItHasNone() {
        var membership = DiscoveryMembership(removeAfter: 1)
        let two = Self.nodes(2)
        // 0.25 of 2 rounds to 0: one node may still go.
        let first = membership.admit([], into: Self.cluster(two))
        #expect(first.removed == [two[0].destinationID])
        let last = [two[1]]
        let second = membership.admit([], into: Self.cluster(last))
        #expect(second.removed.isEmpty && second.nodes == last)
        #expect(second.events.contains(.held(count: 1, reasons: ["1 the cluster's last node with weight, which never goes"])))
        // The same wait is not logged again every interval.
        let third = membership.admit([], into: Self.cluster(last))
        #expect(third.removed.isEmpty && !third.events.contains { $0.isWarning })
        // A file node with weight is the cluster's last one instead; and a node without weight carries no traffic.
        #expect(membership.admit([], into: Self.cluster(last, fileNodes: [Self.node("192.0.2.200")])).removed == [two[1].destinationID])
        var other = DiscoveryMembership(removeAfter: 1)
        #expect(other.admit([], into: Self.cluster(last, unweighted: [two[1].destinationID])).removed == [two[1].destinationID])
    }

    @Test func removalsStayWithinThePanicThresholdAndNodesWithoutWeightGoFirst() {
        var membership = DiscoveryMembership(removeAfter: 1, maxRemovalShare: 1)
        let four = Self.nodes(4)
        // All four have weight: removing more than half of them at once is what the panic guard refuses.
        let outcome = membership.admit([], into: Self.cluster(four, panic: 0.5))
        #expect(outcome.removed == four.prefix(2).map(\.destinationID))
        #expect(
            outcome.events.contains(
                .held(count: 2, reasons: ["2 with weight would drop more than panic_threshold 0.5 of the cluster's 4 nodes at once"])))

        // Two without weight go first and do not count: of the two with weight, one may go (1 of 4 ≤ 0.25).
        var second = DiscoveryMembership(removeAfter: 1, maxRemovalShare: 1)
        let unweighted: Set = [four[2].destinationID, four[3].destinationID]
        let mixed = second.admit([], into: Self.cluster(four, unweighted: unweighted, panic: 0.25))
        #expect(mixed.removed == [four[2].destinationID, four[3].destinationID, four[0].destinationID])
        #expect(mixed.pending == [four[1].destinationID])
    }

    @Test func addressesThatCannotBeRealServersAreRefusedAndLoggedOnce() {
        var membership = DiscoveryMembership()
        let bogus = [
            "0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "169.254.169.254", "::", "::1", "ff02::1", "fe80::1", "::ffff:127.0.0.1",
            "198.51.100.10",
        ]
        let answer = bogus.map(Self.node) + [Self.node("192.0.2.1")]
        let outcome = membership.admit(answer, into: Self.cluster([]))
        #expect(outcome.nodes == [Self.node("192.0.2.1")])
        #expect(outcome.added == [Self.node("192.0.2.1").destinationID])
        let refused = outcome.events.compactMap { event -> String? in
            if case .refused(let address, _) = event { return "\(address)" }
            return nil
        }
        #expect(refused == bogus.map { "\(IPAddress($0)!)" })
        #expect(outcome.events.contains { $0.description == "refusing address 198.51.100.10: the cluster's own VIP; it cannot be a real server" })
        #expect(outcome.events.filter(\.isWarning).count == bogus.count)
        // The same answer again: refused again, but not logged again.
        let again = membership.admit(answer, into: Self.cluster(outcome.nodes))
        #expect(again.nodes == [Self.node("192.0.2.1")] && again.events.isEmpty)

        // With forwarding local the real servers are on the director: loopback is a real server there.
        var local = DiscoveryMembership()
        #expect(local.admit([Self.node("127.0.0.2")], into: Self.cluster([], allowsLoopback: true)).nodes == [Self.node("127.0.0.2")])
    }

    @Test func theNodeCapIgnoresTheLastAddressesInSortedOrderAndKeepsNodesAlreadyThere() {
        var membership = DiscoveryMembership(maxNodes: 3)
        let five = Self.nodes(5)
        let outcome = membership.admit(five.reversed(), into: Self.cluster([]))
        #expect(outcome.nodes == Array(five.prefix(3)))
        #expect(outcome.events.contains(.capped(listed: 5, maxNodes: 3, ignored: five.suffix(2).map(\.destinationID))))
        #expect(membership.admit(five, into: Self.cluster(outcome.nodes)).events.isEmpty, "warned once while the same ones are ignored")

        // A node the cluster has is kept before new ones, however they sort.
        var kept = DiscoveryMembership(maxNodes: 2)
        let present = Self.node("192.0.2.9")
        #expect(kept.admit(Self.nodes(9), into: Self.cluster([present])).nodes == [five[0], present])

        // Nodes left out but not yet removed still count: new addresses wait for room.
        var waiting = DiscoveryMembership(maxNodes: 2)
        let old = [Self.node("192.0.2.101"), Self.node("192.0.2.102")]
        let replaced = waiting.admit(Self.nodes(2), into: Self.cluster(old))
        #expect(replaced.nodes == old && replaced.added.isEmpty)
        #expect(replaced.events.contains(.capped(listed: 2, maxNodes: 2, ignored: Self.nodes(2).map(\.destinationID))))
    }

    @Test func theClusterIsReadFromTheMonitorsStatus() throws {
        let vip = try #require(ClusterVIP(parsing: "198.51.100.11:443/tcp"))
        let file = Self.node("192.0.2.100")
        let configuration = ClusterConfiguration(
            name: "web", serviceID: .address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp), forwarding: .local, vips: [vip],
            panicThreshold: 0.5, nodes: [file])
        var status = ClusterStatus(configuration: configuration, phase: .running)
        let (mine, other, joined) = (Self.node("192.0.2.1"), Self.node("192.0.2.2"), Self.node("192.0.2.3"))
        status.dynamicNodes = [
            mine.destinationID: DynamicNode(node: mine, source: .discovered("dns:web.test")),
            other.destinationID: DynamicNode(node: other, source: .discovered("dns:other.test")),
            joined.destinationID: DynamicNode(node: joined, source: .joined(expires: .distantFuture)),
        ]
        status.states = [file.destinationID: NodeHealthState(weight: 50), mine.destinationID: NodeHealthState(weight: 0)]
        let cluster = DiscoveryMembership.Cluster(status, source: "dns:web.test")
        #expect(cluster.discovered == [mine], "only this source's nodes")
        #expect(cluster.realServers == Set([file, mine, other, joined].map(\.destinationID)))
        #expect(cluster.weighted == [file.destinationID])
        #expect(cluster.panicThreshold == 0.5 && cluster.allowsLoopback)
        #expect(cluster.ownAddresses == [IPAddress("198.51.100.10")!, IPAddress("198.51.100.11")!])
    }
}
