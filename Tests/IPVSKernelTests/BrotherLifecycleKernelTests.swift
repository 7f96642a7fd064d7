import Foundation
import Testing

/// brother's lifecycle against the real kernel, each step on a fresh end-to-end stack
/// (``E2EStack``): what a `kill -9` and a restart keep (a node's force, a ramp part way), and drains
/// that wait for a live TCP connection through the VIP before deleting (a node removed from
/// brother.yml, a cluster stopped through the API). Every step waits for its event (a weight in the
/// kernel, a value in brother's API) with ``BrotherEndToEndKernelTests/bound`` as a hang guard.
@Suite(.serialized, .enabled(if: KernelTests.requested, KernelTests.reason))
struct BrotherLifecycleKernelTests {
    static let bound = BrotherEndToEndKernelTests.bound
    static let a = E2EStack.nodes[0].realServer
    static let b = E2EStack.nodes[1].realServer
    static let c = E2EStack.nodes[2].realServer

    /// A node forced down through the API and nodes part way through their ramp, brother killed
    /// with SIGKILL and started again: the forced node stays at 0 and the ramps go on from where
    /// they were (by the time since they began), neither starting again from 0 nor jumping to full.
    @Test func aForcedNodeAndRampingNodesSurviveKillAndRestart() async throws {
        try await E2EStack.withStack { stack in
            // A long ramp, so that the restart lands well inside it.
            try stack.writeClusterConfiguration(["ramp_up_time: 30"])
            try stack.startAgents()
            try stack.startBrother()
            let forced = try stack.change("PUT", "/cluster/web/nodes/\(Self.c)/down", form: ["reason=e2e maintenance"])
            #expect(forced.contains("Forced: down (e2e maintenance)"), "\(forced)")

            // Ramping: at least 10 of 100 (3 s into the 30 s ramp), the forced node at 0.
            let ramping = try await stack.waitUntil(timeout: Self.bound) {
                let weights = try stack.weights()
                return weights[Self.c] == 0 && (weights[Self.a] ?? 0) >= 10 && (weights[Self.b] ?? 0) >= 10
            }
            try #require(ramping != nil, "the nodes ramp: \((try? stack.weights()) ?? [:])")
            let percentBefore = try #require(try stack.nodeView(1).rampPercent, "node 2 is ramping")

            stack.killBrother()
            let atKill = try stack.weights()
            let (rampA, rampB) = (atKill[Self.a] ?? 0, atKill[Self.b] ?? 0)
            try #require(rampA < 100 && rampB < 100 && atKill[Self.c] == 0, "killed part way: \(atKill)")
            print("e2e: brother killed with the ramps at \(rampA) and \(rampB) (\(percentBefore)%)")

            try stack.startBrother()
            var seen: [[String: Int]] = []
            let continued = try await stack.waitUntil(timeout: Self.bound) {
                let weights = try stack.weights()
                seen.append(weights)
                return try stack.metric("brother_rounds_total") >= 2 && (weights[Self.b] ?? 0) > rampB
            }
            try #require(continued != nil, "the ramp goes on after the restart: \(seen.suffix(3))")
            #expect(seen.allSatisfy { ($0[Self.a] ?? 0) >= rampA && ($0[Self.b] ?? 0) >= rampB }, "never back towards 0: \(seen)")
            #expect(seen.allSatisfy { ($0[Self.a] ?? 100) < 100 && ($0[Self.b] ?? 100) < 100 }, "not at full at once: \(seen)")
            #expect(seen.allSatisfy { $0[Self.c] == 0 }, "the forced node stays at 0: \(seen)")

            let node = try stack.nodeView(1)
            let percentAfter = try #require(node.rampPercent, "node 2 still ramping after the restart: \(node.reason)")
            #expect(percentAfter >= percentBefore && percentAfter < 100, "the ramp went on from \(percentBefore)%: \(node.reason)")
            let forcedNode = try stack.nodeView(2)
            #expect(forcedNode.force == "down" && forcedNode.forceReason == "e2e maintenance", "\(forcedNode)")
            #expect(forcedNode.weight == 0)
        }
    }

    /// Drains wait for a live TCP connection through the VIP, never for a time (the drain timeout
    /// here is far beyond the hang guard, so only the connection's end can finish them):
    /// 1. a node removed from brother.yml stays in the kernel at weight 0 (its connection carries
    ///    on, new ones go elsewhere) until the connection ends, then it is deleted;
    /// 2. big_brother's stop through the API sets every weight to 0 at once and keeps the service
    ///    (new connections are refused) until the last connection ends; then the service is deleted,
    ///    and brother says that was why.
    @Test func drainsWaitForTheLiveConnectionBeforeDeleting() async throws {
        try await E2EStack.withStack { stack in
            let settings = ["ramp_up_time: 1", "drain_timeout: 600"]
            try stack.writeClusterConfiguration(settings)
            try stack.routeTrafficThroughBalancer()
            let servers = try stack.nodeServers()
            defer { servers.close() }
            try stack.startAgents()
            try stack.startBrother()
            let full = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 100, Self.b: 100, Self.c: 100] }
            try #require(full != nil, "all at 100: \((try? stack.weights()) ?? [:])")
            // wrr over equal weights: of three connections one reaches the third node, one another node.
            var connections: [NodeTCPServers.Connection] = []
            for _ in 0..<3 { connections.append(try servers.connect()) }
            defer { connections.forEach { $0.close() } }
            let onRemoved = try #require(connections.first { $0.node == 2 }, "a connection reached the third node")
            let onKept = try #require(connections.first { $0.node != 2 }, "a connection reached another node")
            for connection in connections where connection !== onRemoved && connection !== onKept { connection.close() }

            // 1. The third node leaves brother.yml.
            try stack.writeClusterConfiguration(settings, leaving: [2])
            let reload = try stack.change("POST", "/reload")
            #expect(reload.contains("draining removed nodes web \(Self.c)"), "\(reload)")
            let quiesced = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[Self.c] == 0 }
            try #require(quiesced != nil, "the removed node drains at 0: \((try? stack.weights()) ?? [:])")
            try await stack.waitForRounds(4)
            #expect(try stack.weights() == [Self.a: 100, Self.b: 100, Self.c: 0], "the removed node is still there after 4 rounds")
            #expect(try stack.activeConnections()[Self.c] == 1, "with its connection")
            #expect(try onRemoved.exchange("draining"), "which carries data")
            #expect(try servers.tally(4)[2] == 0, "no new connection reaches the removed node")
            onRemoved.close()
            let deleted = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[Self.c] == nil }
            try #require(deleted != nil, "the node is deleted once its connection ended: \((try? stack.weights()) ?? [:])")
            #expect(try stack.weights() == [Self.a: 100, Self.b: 100])
            #expect(try stack.clusterView().events.contains { $0.node == Self.c && $0.message == "drained; deleted from IPVS" })

            // 2. The cluster stops through the API.
            let node = E2EStack.nodes[onKept.node].realServer
            #expect(try stack.change("DELETE", "/cluster/web") == "OK")
            #expect(try stack.weights() == [Self.a: 0, Self.b: 0], "every weight is 0 when the stop answers")
            // brother's stopping rounds go on (its last round moves 2 s on), and the service stays.
            let stoppedAt = try #require(try stack.clusterView().lastRound)
            let drainedOn = try await stack.waitUntil(timeout: Self.bound) {
                try stack.clusterView().lastRound.map { $0 >= stoppedAt.addingTimeInterval(2) } ?? false
            }
            try #require(drainedOn != nil, "brother keeps draining")
            #expect(try stack.clusterView().phase == "stopping")
            #expect(try stack.serviceExists(), "the service waits for the connection")
            #expect(try stack.activeConnections()[node] == 1, "the connection keeps its destination \(node)")
            #expect(try onKept.exchange("during the stop"), "and carries data")
            #expect(throws: (any Error).self, "no new connection is taken") { try servers.connect().close() }
            onKept.close()
            let gone = try await stack.waitUntil(timeout: Self.bound) { try !stack.serviceExists() }
            try #require(gone != nil, "the service is deleted once the connection ended")
            if let gone { print("e2e: service deleted \(gone)s after the connection ended") }
            let view = try stack.clusterView()
            #expect(view.phase == "stopped")
            #expect(view.events.contains { $0.message == "stopped (no connection left); IPVS service deleted" }, "\(view.events.suffix(3))")
        }
    }
}
