import Posix

/// One row of HAProxy's `show stat` CSV.
public struct HAProxyStatRow: Sendable, Equatable {
    public var proxy: String
    public var server: String
    public var status: String
    public var weight: Int
}

/// Reads HAProxy's stats over its admin Unix socket.
public enum HAProxyStats {
    /// Sends `show stat` and parses the answer. Blocking; bounded by `deadline`.
    public static func fetch(socket path: String, deadline: Deadline) throws -> [HAProxyStatRow] {
        let socket = try BlockingSocket.connect(unixPath: path, deadline: deadline)
        try socket.write("show stat\n", deadline: deadline)
        return try parse(socket.readToEnd(deadline: deadline), source: path)
    }

    /// Parses the CSV, locating columns by the `# pxname,svname,…` header rather than by position.
    public static func parse(_ text: String, source: String) throws -> [HAProxyStatRow] {
        let lines = text.split(whereSeparator: \.isNewline)
        guard let header = lines.first(where: { $0.hasPrefix("# ") }) else {
            throw SocketError(peer: source, operation: "parse show stat from", reason: "no CSV header in the answer")
        }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let proxy = columns.firstIndex(of: "pxname"), let server = columns.firstIndex(of: "svname"),
            let status = columns.firstIndex(of: "status"), let weight = columns.firstIndex(of: "weight")
        else {
            throw SocketError(peer: source, operation: "parse show stat from", reason: "header lacks pxname, svname, status or weight")
        }
        let needed = max(proxy, server, status, weight)
        return lines.filter { !$0.hasPrefix("#") }.compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > needed else { return nil }
            return HAProxyStatRow(
                proxy: String(fields[proxy]), server: String(fields[server]), status: String(fields[status]), weight: Int(fields[weight]) ?? 0)
        }
    }

    /// litmus_paper's backend-health metric: weight × Σweight(UP servers) / Σweight(all servers), truncated.
    /// Weights are the configured (`show stat` current) weights; MAINT/DOWN/DRAIN servers count only in the total.
    public static func backendHealth(_ rows: [HAProxyStatRow], cluster: String, weight: Int) -> Int? {
        let servers = rows.filter { $0.proxy == cluster && $0.server != "FRONTEND" && $0.server != "BACKEND" }
        guard !servers.isEmpty else { return nil }
        let total = servers.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return 0 }
        // "no check" servers are in service too: HAProxy simply does not health-check them.
        let up = servers.filter { $0.status.hasPrefix("UP") || $0.status == "no check" }.reduce(0) { $0 + $1.weight }
        return weight * up / total
    }
}
