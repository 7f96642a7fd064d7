/// big_brother's text bodies, byte for byte (its Sinatra app's strings).
public enum BigBrotherText {
    /// `GET /`: every running cluster with its CombinedWeight, then the stopped ones. big_brother's
    /// heredoc leaves an empty line after each list.
    public static func index(running: [(label: String, combinedWeight: Int)], stopped: [String], version: String = BrotherVersion.current) -> String {
        var text = "Big Brother: \(version)\n\nRunning:\n"
        for cluster in running { text += "+ \(cluster.label) - CombinedWeight: \(cluster.combinedWeight)\n" }
        text += "\nStopped:\n"
        for label in stopped { text += "- \(label)\n" }
        return text + "\n"
    }

    /// `GET /cluster/<name>` and `/cluster/<name>/status`.
    public static func clusterStatus(running: Bool, combinedWeight: Int) -> String {
        "Running: \(running)\nCombinedWeight: \(combinedWeight)\n"
    }

    /// `GET /cluster/<name>/status_detail`: Ruby's `to_json` of `{"nodes" => {address => weight},
    /// "cluster" => name, "running" => bool}`: no spaces, keys in that order, a later node with the
    /// same address replacing an earlier one's weight.
    public static func statusDetail(cluster: String, running: Bool, nodes: [(address: String, weight: Int)]) -> String {
        var order: [String] = []
        var weights: [String: Int] = [:]
        for node in nodes {
            if weights[node.address] == nil { order.append(node.address) }
            weights[node.address] = node.weight
        }
        let entries = order.map { "\(jsonString($0)):\(weights[$0]!)" }.joined(separator: ",")
        return "{\"nodes\":{\(entries)},\"cluster\":\(jsonString(cluster)),\"running\":\(running)}"
    }

    public static func notFound(_ cluster: String) -> String { "Cluster \(cluster) not found" }

    /// A JSON string literal, escaped as Ruby's JSON generator does for these characters.
    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
