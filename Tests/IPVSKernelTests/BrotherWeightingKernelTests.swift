import Foundation
import Testing

/// The cluster rules and operator weights of brother against the real kernel, each its own step on
/// a fresh end-to-end stack (``E2EStack``: real `litmus` agents in network namespaces, `brother run`,
/// ipvsadm reading the kernel, real TCP connections through the VIP to listeners on the nodes):
/// active_passive failover, a group shift over time, per-node capacity and per-node force files.
/// Every step waits for its event (a weight in the kernel, a value in brother's API) with
/// ``BrotherEndToEndKernelTests/bound`` as a hang guard, never for a time.
@Suite(.serialized, .enabled(if: KernelTests.requested, KernelTests.reason))
struct BrotherWeightingKernelTests {
    static let bound = BrotherEndToEndKernelTests.bound
    static let a = E2EStack.nodes[0].realServer
    static let b = E2EStack.nodes[1].realServer
    static let c = E2EStack.nodes[2].realServer

    /// The active node's agent fails: the passive node with the next priority takes the weight and
    /// the new connections (the established one stays where it was); the agent comes back: it is
    /// active again.
    @Test func activePassiveFailsOverToTheNextNodeAndBack() async throws {
        try await E2EStack.withStack { stack in
            try stack.writeClusterConfiguration(
                ["backend_mode: active_passive", "ramp_up_time: 1"], nodeKeys: ["priority: 0", "priority: 1", "priority: 2"])
            try stack.routeTrafficThroughBalancer()
            let servers = try stack.nodeServers()
            defer { servers.close() }
            try stack.startAgents()
            try stack.startBrother()

            let settled = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 100, Self.b: 0, Self.c: 0] }
            try #require(settled != nil, "only the best priority has weight: \((try? stack.weights()) ?? [:])")
            #expect(try stack.nodeView(1).reason == "passive: \(Self.a) is active")
            let established = try servers.connect()
            defer { established.close() }
            #expect(established.node == 0, "new connections go to the active node")

            stack.killAgent(0)
            let failedOver = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 0, Self.b: 100, Self.c: 0] }
            try #require(failedOver != nil, "the next priority takes over: \((try? stack.weights()) ?? [:])")
            if let failedOver { print("e2e: active_passive failover in the kernel after \(failedOver)s") }
            #expect(try stack.nodeView(0).reason == "no health: agent not running (connection refused)")
            #expect(try stack.nodeView(2).reason == "passive: \(Self.b) is active")
            let during = try servers.connect()
            during.close()
            #expect(during.node == 1, "new connections go to the node that took over")
            #expect(try established.exchange("failover"), "the connection to the failed node's server carries on")

            try stack.startAgent(0)
            let back = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 100, Self.b: 0, Self.c: 0] }
            try #require(back != nil, "the recovered node is active again: \((try? stack.weights()) ?? [:])")
            #expect(try stack.nodeView(1).reason == "passive: \(Self.a) is active")
            let after = try servers.connect()
            after.close()
            #expect(after.node == 0, "new connections go to the active node again")
        }
    }

    /// A blue/green shift: the weight moves from blue to green over the shift's duration, one
    /// round at a time, and the ungrouped node is untouched. Each weight brother wrote is judged
    /// by the time brother's own event gives it, and every table the kernel showed is one brother
    /// decided.
    @Test func aGroupShiftMovesTheWeightFromGroupToGroupStepByStep() async throws {
        try await E2EStack.withStack { stack in
            let groups = ["group: blue", "group: green", ""]
            // A shift that starts in 2100: blue has everything, green nothing, until the reload below.
            try stack.writeClusterConfiguration(
                ["ramp_up_time: 1", "shift: {from: blue, to: green, start: 4102444800, duration: 5}"], nodeKeys: groups)
            try stack.startAgents()
            try stack.startBrother()
            let settled = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 100, Self.b: 0, Self.c: 100] }
            try #require(settled != nil, "before the shift blue has all: \((try? stack.weights()) ?? [:])")
            #expect(try stack.nodeView(1).reason.hasPrefix("group green at 0% of "))

            // The shift starts 2 s from now, on a whole second, and takes 5 s: ten rounds of 0.5 s.
            let start = Int(Date().timeIntervalSince1970.rounded(.up)) + 2
            let duration = 5
            try stack.writeClusterConfiguration(
                ["ramp_up_time: 1", "shift: {from: blue, to: green, start: \(start), duration: \(duration)}"], nodeKeys: groups)
            try stack.change("POST", "/reload")
            var samples: [[String: Int]] = []
            let done = try await stack.waitUntil(timeout: Self.bound) {
                let weights = try stack.weights()
                samples.append(weights)
                return weights[Self.a] == 0 && weights[Self.b] == 100
            }
            try #require(done != nil, "green ends with everything: \(samples.last ?? [:])")

            // The kernel: blue only loses, green only gains, in steps, and the third node keeps 100.
            let blue = samples.map { $0[Self.a] ?? -1 }
            let green = samples.map { $0[Self.b] ?? -1 }
            #expect(zip(blue, blue.dropFirst()).allSatisfy { $0 >= $1 }, "blue: \(blue)")
            #expect(zip(green, green.dropFirst()).allSatisfy { $0 <= $1 }, "green: \(green)")
            #expect(samples.allSatisfy { $0[Self.c] == 100 }, "the ungrouped node is untouched")
            let greenSteps = Set(green.filter { $0 > 0 && $0 < 100 })
            #expect(greenSteps.count >= 2, "the kernel went through intermediate weights: \(green)")
            print("e2e: shift seen in the kernel as green \(greenSteps.sorted()), blue \(Set(blue).sorted(by: >))")

            // brother's events: each weight of the shift is its group's share at the event's time.
            let events = try stack.clusterView().events.compactMap(ShiftEvent.init)
            let shifted = events.filter { $0.time >= Date(timeIntervalSince1970: Double(start) - 1) }
            #expect(shifted.count >= 4, "brother recorded the steps: \(events)")
            for event in shifted {
                // Event times are whole seconds in the JSON: the round ran within a second of it.
                let progress = { (time: Double) in min(1, max(0, (time - Double(start)) / Double(duration))) }
                let (early, late) = (progress(event.time.timeIntervalSince1970 - 1), progress(event.time.timeIntervalSince1970 + 1))
                let (low, high) = event.group == "green" ? (early, late) : (1 - late, 1 - early)
                #expect(
                    Int((low * 100).rounded(.down)) - 1 <= event.percent && event.percent <= Int((high * 100).rounded(.down)) + 1,
                    "\(event.group) at \(event.percent)% at \(event.time), the shift starting at \(start) over \(duration)s")
                if event.base == "health 100" {
                    // A share under 1% still gives weight 1 (min_weight); only a share of 0 gives 0.
                    #expect(event.percent == 0 ? event.weight <= 1 : event.weight == event.percent, "\(event)")
                } else {
                    // Green had weight 0 before its share grew: its first weights are a rise from 0, which ramps.
                    #expect(event.base.hasPrefix("ramping") && event.weight <= max(1, event.percent), "\(event)")
                }
            }
            for value in greenSteps {
                #expect(shifted.contains { $0.group == "green" && $0.weight == value }, "the kernel's green \(value) is a weight brother decided")
            }
            #expect(shifted.contains { $0.group == "green" && $0.percent == 100 && $0.weight == 100 })
            #expect(shifted.contains { $0.group == "blue" && $0.percent == 0 && $0.weight == 0 })
        }
    }

    /// `capacity: N` multiplies the node's 0-100 weight in the kernel, and wrr splits real
    /// connections in that proportion.
    @Test func capacityMultipliesTheKernelWeightAndSplitsTheTraffic() async throws {
        try await E2EStack.withStack { stack in
            try stack.writeClusterConfiguration(["ramp_up_time: 1"], nodeKeys: ["", "capacity: 3", "capacity: 2"])
            try stack.routeTrafficThroughBalancer()
            let servers = try stack.nodeServers()
            defer { servers.close() }
            try stack.startAgents()
            try stack.startBrother()

            let full = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 100, Self.b: 300, Self.c: 200] }
            try #require(full != nil, "health 100 × capacity 1, 3, 2: \((try? stack.weights()) ?? [:])")
            let view = try stack.nodeView(1)
            #expect(view.weight == 100 && view.capacity == 3 && view.kernelWeight == 300, "\(view)")
            let split = try servers.tally(60)
            print("e2e: 60 connections at kernel weights 100/300/200 went \(split)")
            #expect(zip(split, [10, 30, 20]).allSatisfy { abs($0 - $1) <= 2 }, "wrr splits 1:3:2: \(split)")

            // Health drops to 40 on the capacity-3 node: the kernel has 120.
            try stack.litmusctl(1, ["force", "health", "40", "web", "--reason", "e2e"])
            let lower = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 100, Self.b: 120, Self.c: 200] }
            try #require(lower != nil, "health 40 × capacity 3: \((try? stack.weights()) ?? [:])")
            #expect(try stack.nodeView(1).weight == 40)
            let lowered = try servers.tally(42)
            print("e2e: 42 connections at kernel weights 100/120/200 went \(lowered)")
            #expect(zip(lowered, [10, 12, 20]).allSatisfy { abs($0 - $1) <= 2 }, "wrr splits 5:6:10: \(lowered)")
        }
    }

    /// A node's `.down` file takes it to 0 (its live connection carries on, new ones go elsewhere);
    /// deleting the file ramps it back. A `.up` file gives 100 at once to a node whose agent says
    /// down; deleting it gives the agent the say again.
    @Test func nodeForceFilesTakeANodeOutAndBringItBack() async throws {
        try await E2EStack.withStack { stack in
            try stack.writeClusterConfiguration(["ramp_up_time: 2"])
            try stack.routeTrafficThroughBalancer()
            let servers = try stack.nodeServers()
            defer { servers.close() }
            try stack.startAgents()
            try stack.startBrother()
            try FileManager.default.createDirectory(atPath: "\(stack.work)/data/nodes/web", withIntermediateDirectories: true)

            let full = try await stack.waitUntil(timeout: Self.bound) { try stack.weights() == [Self.a: 100, Self.b: 100, Self.c: 100] }
            try #require(full != nil, "all at 100: \((try? stack.weights()) ?? [:])")
            // wrr over equal weights: one of three connections reaches the first node.
            var live: NodeTCPServers.Connection?
            for _ in 0..<3 where live == nil {
                let connection = try servers.connect()
                if connection.node == 0 { live = connection } else { connection.close() }
            }
            let connection = try #require(live, "a connection reached the first node")
            defer { connection.close() }

            let down = stack.nodeForceFile(0, "down")
            try #require(FileManager.default.createFile(atPath: down, contents: nil))
            let drained = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[Self.a] == 0 }
            try #require(drained != nil, "the .down file takes the node to 0: \((try? stack.weights()) ?? [:])")
            let view = try stack.nodeView(0)
            #expect(view.fileForce == "down" && view.fileForcePath == down, "\(view)")
            #expect(view.reason == "forced down by file \(down)")
            #expect(try stack.activeConnections()[Self.a] == 1, "the live connection keeps its destination")
            #expect(try connection.exchange("maintenance"), "and carries on")
            #expect(try servers.tally(6)[0] == 0, "no new connection reaches the node")
            connection.close()
            let ended = try await stack.waitUntil(timeout: Self.bound) { try stack.activeConnections()[Self.a] == 0 }
            #expect(ended != nil, "the connection ended")

            try FileManager.default.removeItem(atPath: down)
            var ramp: Set<Int> = []
            let back = try await stack.waitUntil(timeout: Self.bound) {
                let weight = try stack.weights()[Self.a] ?? 0
                if weight > 0, weight < 100 { ramp.insert(weight) }
                return weight == 100
            }
            #expect(back != nil, "deleting the file brings the node back: \((try? stack.weights()) ?? [:])")
            #expect(!ramp.isEmpty, "it ramps back from 0")
            #expect(try stack.nodeView(0).fileForce == nil)

            // `.up` beats an agent that says down, with 100 at once (no ramp).
            try stack.litmusctl(1, ["force", "down", "web", "--reason", "e2e"])
            let agentDown = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[Self.b] == 0 }
            try #require(agentDown != nil, "the agent's force down: \((try? stack.weights()) ?? [:])")
            let up = stack.nodeForceFile(1, "up")
            try #require(FileManager.default.createFile(atPath: up, contents: nil))
            var firstWeight: Int?
            let forcedUp = try await stack.waitUntil(timeout: Self.bound) {
                let weight = try stack.weights()[Self.b] ?? 0
                if weight > 0, firstWeight == nil { firstWeight = weight }
                return weight == 100
            }
            #expect(forcedUp != nil && firstWeight == 100, "the .up file: 100 at once, first seen \(firstWeight.map(String.init) ?? "none")")
            #expect(try stack.nodeView(1).reason == "forced up by file \(up)")
            try FileManager.default.removeItem(atPath: up)
            let agentAgain = try await stack.waitUntil(timeout: Self.bound) { try stack.weights()[Self.b] == 0 }
            #expect(agentAgain != nil, "without the file the agent's down counts again: \((try? stack.weights()) ?? [:])")
        }
    }
}

/// A weight event of a group shift, from brother's event history:
/// `weight 100 → 80: group blue at 80% of health 100`.
struct ShiftEvent: CustomStringConvertible {
    var time: Date
    var weight: Int
    var group: String
    var percent: Int
    /// The reason before the shift ("health 100", "ramping 50% of 100").
    var base: String

    init?(_ event: E2EClusterView.Event) {
        guard event.kind == "weight",
            let match = event.message.wholeMatch(of: /weight \d+ → (\d+): group (\w+) at (\d+)% of (.+)/),
            let weight = Int(match.1), let percent = Int(match.3)
        else { return nil }
        (time, self.weight, group, self.percent, base) = (event.time, weight, String(match.2), percent, String(match.4))
    }

    var description: String { "\(time): \(group) \(weight) at \(percent)% of \(base)" }
}
