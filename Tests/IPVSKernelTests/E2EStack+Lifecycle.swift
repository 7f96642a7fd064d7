import Foundation
import Testing

/// What the lifecycle and operator steps of the end-to-end test need besides the stack itself: a
/// brother.yml of their own, real traffic through the VIP to listeners on the nodes, brother's JSON
/// views (its events carry the times the steps are judged by), and the kernel's connection counts.
extension E2EStack {
    /// The VIP as a bare address and port (``BrotherEndToEndKernelTests/service``).
    static let vipAddress = "198.51.100.10"
    static let vipPort: UInt16 = 80

    /// Replaces brother.yml (before ``startBrother()`` or a reload) with cluster `web` on the three
    /// nodes: quick rounds, no panic guard unless `settings` sets one; `settings` are further cluster
    /// keys (`"ramp_up_time: 1"`), `nodeKeys` per node further keys in flow style (`"priority: 1"`);
    /// `leaving` nodes (indices) are left out, as an operator removes a node.
    func writeClusterConfiguration(_ settings: [String], nodeKeys: [String] = ["", "", ""], leaving: Set<Int> = []) throws {
        var defaults = ["check_interval: 0.5", "poll_timeout: 0.4", "panic_threshold: off"]
        for setting in settings {
            let key = setting.prefix { $0 != ":" }
            defaults.removeAll { $0.hasPrefix(key + ":") }
        }
        let nodes = zip(Self.nodes, nodeKeys).enumerated().filter { !leaving.contains($0.offset) }.map(\.element).map { node, keys in
            "      - {address: \(node.address), port: 9292, path: /web/status, real_port: 8080\(keys.isEmpty ? "" : ", " + keys)}"
        }
        let text = """
            clusters:
              - cluster_name: web
                service: "TCP \(BrotherEndToEndKernelTests.service)"
                forwarding: masq
                scheduler: wrr
            \((defaults + settings).map { "    " + $0 }.joined(separator: "\n"))
                nodes:
            \(nodes.joined(separator: "\n"))

            """
        try text.write(toFile: brotherConfig, atomically: true, encoding: .utf8)
    }

    /// Makes traffic to the VIP work from this (the balancer's) namespace: the VIP is a local
    /// address, so local clients reach IPVS, and each node routes back through the balancer, as
    /// masquerading needs. Listeners on the nodes come from ``nodeServers()``.
    func routeTrafficThroughBalancer() throws {
        try Command.check(["ip", "addr", "replace", "\(Self.vipAddress)/32", "dev", "lo"])
        for node in Self.nodes {
            try Command.check(["ip", "-n", node.namespace, "route", "replace", "default", "via", node.balancerSide])
        }
    }

    /// Takes the VIP off this namespace again (the nodes' routes go with their namespaces).
    func removeVIPAddress() {
        _ = try? Command.run(["ip", "addr", "del", "\(Self.vipAddress)/32", "dev", "lo"])
    }

    /// A listener on each node's real server (`ADDRESS:8080`), in its namespace.
    func nodeServers() throws -> NodeTCPServers {
        try NodeTCPServers(namespaces: Self.nodes.map { ($0.namespace, $0.address) }, vip: Self.vipAddress, port: Self.vipPort)
    }

    /// A change through brother's API, as an operator's curl sends it; the body of the answer.
    @discardableResult
    func change(_ method: String, _ path: String, form: [String] = []) throws -> String {
        try Command.check(
            ["curl", "-s", "-f", "-X", method, "-H", "X-Requested-By: e2e"] + form.flatMap { ["--data-urlencode", $0] } + ["\(api)\(path)"])
    }

    /// brother's JSON view of cluster `web` (its recent events included).
    func clusterView() throws -> E2EClusterView {
        try decodeJSON(E2EClusterView.self, "/cluster/web/status")
    }

    /// brother's JSON view of one node.
    func nodeView(_ index: Int) throws -> E2ENodeView {
        try decodeJSON(E2ENodeView.self, "/cluster/web/nodes/\(Self.nodes[index].realServer)")
    }

    private func decodeJSON<Value: Decodable>(_ type: Value.Type, _ path: String) throws -> Value {
        let body = try Command.check(["curl", "-s", "-f", "-H", "Accept: application/json", "\(api)\(path)"])
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(body.utf8))
    }

    /// Real server → active connections, as ipvsadm reads the kernel.
    func activeConnections() throws -> [String: Int] {
        var result: [String: Int] = [:]
        let output = try Command.run(["ipvsadm", "-Ln", "-t", BrotherEndToEndKernelTests.service])
        guard output.status == 0 else { return [:] }
        for line in output.stdout.split(separator: "\n") where line.contains("->") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5, let active = Int(fields[4]) else { continue }
            result[String(fields[1])] = active
        }
        return result
    }

    /// Whether the kernel has the cluster's service at all.
    func serviceExists() throws -> Bool {
        try Command.run(["ipvsadm", "-Ln", "-t", BrotherEndToEndKernelTests.service]).status == 0
    }

    /// A node's force file in brother's data directory (`nodes/web/ADDRESS:PORT.down` or `.up`).
    func nodeForceFile(_ index: Int, _ force: String) -> String {
        "\(work)/data/nodes/web/\(Self.nodes[index].realServer).\(force)"
    }

    /// Runs `body` with the stack up and torn down after, printing the logs when it fails.
    static func withStack(_ body: (E2EStack) async throws -> Void) async throws {
        let stack = try E2EStack()
        defer {
            stack.removeVIPAddress()
            stack.tearDown()
        }
        do {
            try await body(stack)
        } catch {
            stack.dumpLogs()
            throw error
        }
    }
}

/// The part of brother's JSON cluster view (`ClusterView`) the steps read.
struct E2EClusterView: Decodable {
    struct Event: Decodable {
        var time: Date
        var kind: String
        var node: String?
        var message: String
    }

    var phase: String
    var running: Bool
    var lastRound: Date?
    var events: [Event]
}

/// The part of brother's JSON node view (`ClusterView.NodeView`) the steps read.
struct E2ENodeView: Decodable {
    var weight: Int
    var kernelWeight: Int
    var capacity: Int
    var reason: String
    var rampPercent: Int?
    var force: String?
    var forceReason: String?
    var fileForce: String?
    var fileForcePath: String?
    var activeConnections: Int
}
