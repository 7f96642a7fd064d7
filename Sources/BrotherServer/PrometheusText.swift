import BrotherCore
import Foundation
import IPVS

/// brother's `/metrics` in the Prometheus text format, rendered from the monitor's state and
/// counters at scrape time (gauges per node come and go with the configuration, so they are not
/// registered up front).
public enum PrometheusText {
    /// - Parameter now: the wall clock's time, for the ages of rounds.
    ///
    /// At fleet scale this is megabytes per scrape (11.5 MB at 30,000 nodes), so the per-node
    /// families are written straight into one reserved string: each node's labels rendered once,
    /// escaping only when a value needs it, weights looked up in a dictionary per cluster.
    public static func render(statuses: [ClusterStatus], counters: MonitorCounters, now: Date = Date()) -> String {
        var out = ""
        let nodeCount = statuses.reduce(0) { $0 + $1.effective.realServers.count }
        out.reserveCapacity(nodeCount * 420 + statuses.count * 2_000 + 8_192)
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP "
            out += name
            out += " "
            out += help
            out += "\n# TYPE "
            out += name
            out += " "
            out += type
            out += "\n"
        }
        func sample(_ name: String, _ labels: String, _ value: String) {
            out += name
            if !labels.isEmpty {
                out += "{"
                out += labels
                out += "}"
            }
            out += " "
            out += value
            out += "\n"
        }
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            header(name, type, help)
            for each in samples { sample(name, labelText(each.labels), each.value) }
        }

        // One row per node, in the clusters' order: its labels and what the families show.
        struct NodeRow {
            var labels: String
            var weight: Int
            var kernelWeight: Int
            var health: Int?
            var connections: (active: Int, inactive: Int)?
        }
        var clusterLabels: [String] = []
        var rows: [NodeRow] = []
        rows.reserveCapacity(nodeCount)
        for status in statuses {
            let cluster = "cluster=\"" + escape(status.name) + "\""
            clusterLabels.append(cluster)
            var decided: [Destination.ID: Int] = [:]
            for node in status.lastDecision?.nodes ?? [] where decided[node.id] == nil { decided[node.id] = node.weight }
            let kernel = status.kernel
            for node in status.effective.realServers {
                let id = node.destinationID
                let weight = decided[id] ?? status.states[id]?.weight ?? 0  // ClusterStatus.weight(of:)
                let connections = kernel[id].map { (active: Int($0.activeConnections), inactive: Int($0.inactiveConnections)) }
                rows.append(
                    NodeRow(
                        labels: cluster + ",node=\"" + escape("\(id)") + "\"", weight: weight, kernelWeight: node.kernelWeight(weight),
                        health: status.states[id]?.health, connections: connections))
            }
        }
        func perNode(_ name: String, _ help: String, _ value: (NodeRow) -> Int?) {
            header(name, "gauge", help)
            for row in rows {
                if let value = value(row) { sample(name, row.labels, String(value)) }
            }
        }
        func perStatus(_ name: String, _ help: String, _ value: (ClusterStatus) -> String?) {
            header(name, "gauge", help)
            for (index, status) in statuses.enumerated() {
                if let value = value(status) { sample(name, clusterLabels[index], value) }
            }
        }

        perStatus("brother_cluster_running", "1 when brother manages the cluster (big_brother's Running).") { $0.phase.isRunning ? "1" : "0" }
        // An alert rule on this gauge pages while the guard holds weights it would otherwise have zeroed.
        perStatus(
            "brother_cluster_panic_guard",
            "1 while the panic guard holds the weights of nodes that dropped to 0 at once (the last round's decision)."
        ) { $0.lastDecision?.isPanicking == true ? "1" : "0" }
        perStatus("brother_cluster_combined_weight", "Sum of the cluster's node weights (big_brother's CombinedWeight).") {
            String($0.combinedWeight)
        }
        perNode("brother_node_weight", "The 0-100 weight brother decided for the node (before its capacity).") { $0.weight }
        perNode("brother_node_kernel_weight", "The node's IPVS weight: brother_node_weight times the node's capacity.") { $0.kernelWeight }
        perNode("brother_node_health", "The last health the node's agent reported (0-100).") { $0.health }
        perNode("brother_node_active_connections", "Active connections to the node, from IPVS.") { $0.connections?.active }
        perNode("brother_node_inactive_connections", "Inactive connections to the node, from IPVS.") { $0.connections?.inactive }
        // Liveness (RoundLiveness): alert on the age approaching its limit, before GET /health fails.
        perStatus("brother_round_age_seconds", "Seconds since the cluster's last completed round.") { status in
            RoundLiveness.age(of: status, now: now).map { String(format: "%.3f", $0) }
        }
        perStatus(
            "brother_round_age_limit_seconds", "The round age past which GET /health fails (3 check intervals + poll timeout, at least 10 s)."
        ) { String(format: "%g", RoundLiveness.limit(for: $0.effective).inSeconds) }
        header(
            "brother_undecodable_ipvs_entries", "gauge",
            "Destinations and services of the cluster's IPVS services that brother cannot read, and so leaves alone (logged once each).")
        for (index, status) in statuses.enumerated() {
            for kind in [IPVSUndecodable.Kind.destination, .service] {
                let count = status.kernelTable.undecodable.filter { $0.kind == kind }.count
                sample("brother_undecodable_ipvs_entries", clusterLabels[index] + ",kind=\"" + kind.rawValue + "\"", String(count))
            }
        }

        let names = counters.clusters.keys.sorted()
        func perCluster(_ name: String, _ help: String, _ value: (MonitorCounters.PerCluster) -> Int) {
            family(name, "counter", help, names.map { ([("cluster", $0)], "\(value(counters.clusters[$0]!))") })
        }
        perCluster("brother_rounds_total", "Poll rounds completed.", \.rounds)
        perCluster("brother_polls_total", "Agent polls made.", \.polls)
        var failures: [(labels: [(String, String)], value: String)] = []
        for name in names {
            for cause in ["unreachable", "refused", "garbage"] {
                failures.append(([("cluster", name), ("cause", cause)], "\(counters.clusters[name]!.pollFailures[cause] ?? 0)"))
            }
        }
        family("brother_poll_failures_total", "counter", "Polls that found no health, by cause.", failures)
        var faults: [(labels: [(String, String)], value: String)] = []
        for name in names {
            for kind in BalancerFault.allCases.map(\.rawValue) + [ClusterAlert.Kind.kernelWrite.rawValue] {
                faults.append(([("cluster", name), ("kind", kind)], "\(counters.clusters[name]!.balancerFaults[kind] ?? 0)"))
            }
        }
        family(
            "brother_balancer_faults_total", "counter",
            "Rounds that met a fault of brother's own (no poll thread, out of descriptors or memory, a late poll thread, a failed kernel write); node weights were kept.",
            faults)
        perCluster("brother_weight_transitions_total", "Nodes whose weight went to 0 or up from 0.", \.transitions)
        perCluster("brother_kernel_writes_total", "IPVS changes written over netlink.", \.kernelWrites)
        perCluster("brother_kernel_write_failures_total", "IPVS changes the kernel refused, and failed applies.", \.kernelWriteFailures)
        perCluster("brother_reconcile_drift_total", "IPVS changes written to undo edits made outside brother.", \.driftRepairs)

        out += "# HELP brother_poll_latency_seconds Agent poll latency.\n# TYPE brother_poll_latency_seconds histogram\n"
        for name in names {
            let counts = counters.clusters[name]!
            let label = "cluster=\"\(escape(name))\""
            for (index, bound) in MonitorCounters.latencyBounds.enumerated() {
                out += "brother_poll_latency_seconds_bucket{\(label),le=\"\(bound)\"} \(counts.latencyBuckets[index])\n"
            }
            out += "brother_poll_latency_seconds_bucket{\(label),le=\"+Inf\"} \(counts.polls)\n"
            out += "brother_poll_latency_seconds_sum{\(label)} \(counts.pollLatencySum)\n"
            out += "brother_poll_latency_seconds_count{\(label)} \(counts.polls)\n"
        }
        family("brother_reloads_total", "counter", "Configuration reloads applied.", [([], "\(counters.reloads)")])
        family(
            "brother_reload_failures_total", "counter", "Reloads refused because the new configuration was invalid.",
            [([], "\(counters.failedReloads)")])
        return out
    }

    /// `key="value"` pairs joined by commas.
    static func labelText(_ labels: [(String, String)]) -> String {
        labels.map { $0.0 + "=\"" + escape($0.1) + "\"" }.joined(separator: ",")
    }

    /// The text format's label escapes: backslash, double quote and line feed. Most values have
    /// none, and are returned as they are without a pass over their characters.
    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else { return value }
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count + 8)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
