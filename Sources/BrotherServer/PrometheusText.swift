import BrotherCore
import Foundation
import IPVS

/// brother's `/metrics` in the Prometheus text format, rendered from the monitor's state and
/// counters at scrape time (gauges per node come and go with the configuration, so they are not
/// registered up front).
public enum PrometheusText {
    /// - Parameter now: the wall clock's time, for the ages of rounds.
    public static func render(statuses: [ClusterStatus], counters: MonitorCounters, now: Date = Date()) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples {
                let labels = sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += labels.isEmpty ? "\(name) \(sample.value)\n" : "\(name){\(labels)} \(sample.value)\n"
            }
        }
        var running: [([(String, String)], String)] = []
        var panicking: [([(String, String)], String)] = []
        var combined: [([(String, String)], String)] = []
        var weights: [([(String, String)], String)] = []
        var kernelWeights: [([(String, String)], String)] = []
        var healths: [([(String, String)], String)] = []
        var active: [([(String, String)], String)] = []
        var inactive: [([(String, String)], String)] = []
        var undecodable: [([(String, String)], String)] = []
        for status in statuses {
            let cluster = [("cluster", status.name)]
            for kind in [IPVSUndecodable.Kind.destination, .service] {
                let count = status.kernelTable.undecodable.filter { $0.kind == kind }.count
                undecodable.append((cluster + [("kind", kind.rawValue)], "\(count)"))
            }
            running.append((cluster, status.phase.isRunning ? "1" : "0"))
            panicking.append((cluster, status.lastDecision?.isPanicking == true ? "1" : "0"))
            combined.append((cluster, "\(status.combinedWeight)"))
            let kernel = status.kernel
            for node in status.effective.realServers {
                let labels = cluster + [("node", "\(node.destinationID)")]
                weights.append((labels, "\(status.weight(of: node.destinationID))"))
                kernelWeights.append((labels, "\(node.kernelWeight(status.weight(of: node.destinationID)))"))
                if let health = status.states[node.destinationID]?.health { healths.append((labels, "\(health)")) }
                if let connections = kernel[node.destinationID] {
                    active.append((labels, "\(connections.activeConnections)"))
                    inactive.append((labels, "\(connections.inactiveConnections)"))
                }
            }
        }
        family("brother_cluster_running", "gauge", "1 when brother manages the cluster (big_brother's Running).", running.map { ($0.0, $0.1) })
        // An alert rule on this gauge pages while the guard holds weights it would otherwise have zeroed.
        family(
            "brother_cluster_panic_guard", "gauge",
            "1 while the panic guard holds the weights of nodes that dropped to 0 at once (the last round's decision).",
            panicking.map { ($0.0, $0.1) })
        family(
            "brother_cluster_combined_weight", "gauge", "Sum of the cluster's node weights (big_brother's CombinedWeight).",
            combined.map { ($0.0, $0.1) })
        family(
            "brother_node_weight", "gauge", "The 0-100 weight brother decided for the node (before its capacity).", weights.map { ($0.0, $0.1) })
        family(
            "brother_node_kernel_weight", "gauge", "The node's IPVS weight: brother_node_weight times the node's capacity.",
            kernelWeights.map { ($0.0, $0.1) })
        family("brother_node_health", "gauge", "The last health the node's agent reported (0-100).", healths.map { ($0.0, $0.1) })
        family("brother_node_active_connections", "gauge", "Active connections to the node, from IPVS.", active.map { ($0.0, $0.1) })
        family("brother_node_inactive_connections", "gauge", "Inactive connections to the node, from IPVS.", inactive.map { ($0.0, $0.1) })
        // Liveness (RoundLiveness): alert on the age approaching its limit, before GET /health fails.
        let ages = statuses.compactMap { status in
            RoundLiveness.age(of: status, now: now).map { ([("cluster", status.name)], String(format: "%.3f", $0)) }
        }
        family("brother_round_age_seconds", "gauge", "Seconds since the cluster's last completed round.", ages)
        family(
            "brother_round_age_limit_seconds", "gauge",
            "The round age past which GET /health fails (3 check intervals + poll timeout, at least 10 s).",
            statuses.map { ([("cluster", $0.name)], String(format: "%g", RoundLiveness.limit(for: $0.effective).inSeconds)) })
        family(
            "brother_undecodable_ipvs_entries", "gauge",
            "Destinations and services of the cluster's IPVS services that brother cannot read, and so leaves alone (logged once each).",
            undecodable.map { ($0.0, $0.1) })

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

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
