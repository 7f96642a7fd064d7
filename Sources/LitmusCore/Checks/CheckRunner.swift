import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NetworkAddress
import Posix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs dependencies and metrics. A failing check never throws upward: it returns a result with a reason
/// (litmus_paper `dependency/tcp.rb` turns its own exceptions into `false` and a log line).
struct CheckRunner: Sendable {
    let context: CheckContext
    let service: String

    func run(_ spec: DependencySpec) async -> DependencyResult {
        let start = ContinuousClock.now
        let label = spec.label
        do {
            try await withCheckTimeout(spec.timeout) { try await self.check(spec) }
            return DependencyResult(label: label, available: true, duration: (ContinuousClock.now - start).seconds)
        } catch {
            let detail = "\(error)"
            context.logger.warning("dependency failed", metadata: ["service": "\(service)", "check": "\(label)", "reason": "\(detail)"])
            return DependencyResult(label: label, available: false, detail: detail, duration: (ContinuousClock.now - start).seconds)
        }
    }

    func run(_ spec: MetricSpec) async -> MetricResult {
        let start = ContinuousClock.now
        let label = spec.label
        do {
            let (value, stats) = try await withCheckTimeout(spec.timeout) { try await self.measure(spec) }
            // Contributions are ceil'd one by one (litmus_paper 0.8.9); bounded so garbage cannot overflow.
            let contribution = value.isFinite ? Int(max(-1_000_000, min(1_000_000, value)).rounded(.up)) : 0
            return MetricResult(label: label, value: max(0, contribution), stats: stats, duration: (ContinuousClock.now - start).seconds)
        } catch {
            let detail = "\(error)"
            context.logger.warning("metric failed", metadata: ["service": "\(service)", "check": "\(label)", "reason": "\(detail)"])
            return MetricResult(label: label, value: 0, detail: detail, duration: (ContinuousClock.now - start).seconds)
        }
    }

    // MARK: dependencies

    private func check(_ spec: DependencySpec) async throws {
        switch spec {
        case .http(let http):
            try await checkHTTP(http)
        case .tcp(let tcp):
            let deadline = Deadline.after(tcp.timeout)
            try await context.blocking {
                let socket = try BlockingSocket.connect(host: tcp.host, port: tcp.port, deadline: deadline)
                guard let expected = tcp.expect else { return }
                if let send = tcp.send { try socket.write(send + "\n", deadline: deadline) }
                let line = try socket.readLine(deadline: deadline) ?? ""
                guard line == expected else { throw CheckFailure("expected \"\(expected)\", got \"\(line.prefix(200))\"") }
            }
        case .unixSocket(let unix):
            let deadline = Deadline.after(unix.timeout)
            try await context.blocking {
                let socket: BlockingSocket
                switch Result(catching: { () throws(SocketError) in try BlockingSocket.connect(unixPath: unix.path, deadline: deadline) }) {
                case .success(let connected): socket = connected
                case .failure(let error) where error.code == ECONNREFUSED:
                    // The kernel refuses alike a socket file whose daemon has gone and a path that is no socket.
                    throw CheckFailure("\(error); nothing accepts connections there (a stale socket file, or not a socket)")
                case .failure(let error): throw error
                }
                guard let expected = unix.expect else { return }
                if let send = unix.send { try socket.write(send + "\n", deadline: deadline) }
                let line = try socket.readLine(deadline: deadline) ?? ""
                guard line == expected else { throw CheckFailure("expected \"\(expected)\", got \"\(line.prefix(200))\"") }
            }
        case .script(let program, let timeout):
            let deadline = Deadline.after(timeout)
            let result = try await context.run(program.argv, deadline: deadline)
            switch result.termination {
            case .exited(0): return
            case .exited(let code):
                throw CheckFailure("exit status \(code); stdout: \(result.standardOutput.prefix(500)) stderr: \(result.standardError.prefix(500))")
            case .signalled(let signal): throw CheckFailure("killed by signal \(signal)")
            case .timedOut: throw CheckFailure("timed out after \(timeout.seconds)s; process group killed")
            case .cancelled: throw CancellationError()
            }
        case .fileContents(let path, let pattern, _):
            let text = try await context.blocking { try String(contentsOfFile: path, encoding: .utf8) }
            let regex = try Regex(pattern)
            guard text.contains(regex) else { throw CheckFailure("\(path) does not match /\(pattern)/") }
        case .haproxyBackends(let socket, let cluster, let timeout):
            let deadline = Deadline.after(timeout)
            let rows = try await context.blocking { try HAProxyStats.fetch(socket: socket, deadline: deadline) }
            guard let backend = rows.first(where: { $0.proxy == cluster && $0.server == "BACKEND" }) else {
                throw CheckFailure("HAProxy has no backend \(cluster)")
            }
            guard backend.weight != 0 else { throw CheckFailure("backend \(cluster) has weight 0") }
        }
    }

    private func checkHTTP(_ spec: HTTPDependencySpec) async throws {
        let (status, body) = try await httpGet(
            url: spec.url, method: spec.method, verify: spec.verifyTLS, caFile: spec.caFile, timeout: spec.timeout
        )
        guard spec.expectedStatus.contains(status) else {
            let expected = spec.expectedStatus.count == 1 ? "\(spec.expectedStatus.lowerBound)" : "2xx"
            throw CheckFailure("HTTP status \(status), expected \(expected)")
        }
        if let pattern = spec.content {
            guard body.contains(try Regex(pattern)) else { throw CheckFailure("body does not match /\(pattern)/") }
        }
    }

    private func httpGet(url: String, method: String, verify: Bool, caFile: String?, timeout: Duration) async throws -> (Int, String) {
        var headers: [(String, String)] = []
        // Basic auth from the URL's userinfo, as litmus_paper supported.
        if let components = URLComponents(string: url), let user = components.user {
            let credentials = "\(user):\(components.password ?? "")"
            headers.append(("Authorization", "Basic \(Data(credentials.utf8).base64EncodedString())"))
        }
        let response = try await context.http.fetch(
            url, method: method, headers: headers, timeout: timeout, verifyTLS: verify, caFile: caFile, limit: 1 << 20
        )
        return (response.status, response.body)
    }

    // MARK: metrics

    private func measure(_ spec: MetricSpec) async throws -> (Double, [MetricStat]) {
        switch spec {
        case .constant(let weight):
            return (Double(weight), [])
        case .cpuLoad(let weight):
            let (load, processors) = try await context.blocking { try LoadAverage.read() }
            return (LoadAverage.contribution(weight: weight, load: load, processors: processors), [MetricStat(name: "cpu_load_average", value: load)])
        case .script(let program, let weight, let timeout):
            let deadline = Deadline.after(timeout)
            let result = try await context.run(program.argv, deadline: deadline)
            if case .timedOut = result.termination { throw CheckFailure("timed out after \(timeout.seconds)s; process group killed") }
            if result.termination != .exited(0) {
                context.logger.info(
                    "metric script exited non-zero", metadata: ["service": "\(service)", "stderr": "\(result.standardError.prefix(500))"])
            }
            let text = result.standardOutput.trimmingWhitespace()
            guard let fraction = Double(text), fraction.isFinite else {
                throw CheckFailure("script printed \"\(text.prefix(100))\", expected a fraction such as 0.75")
            }
            return (Double(weight) * fraction, [])
        case .tcpSocketUtilization(let weight, let address, let maxConnections):
            let stats = try await context.blocking { try ListenerStatsReader.tcp(address) }
            return (stats.contribution(weight: weight, maxConnections: maxConnections), socketStats(stats, maxConnections))
        case .unixSocketUtilization(let weight, let path, let maxConnections):
            let stats = try await context.blocking { try ListenerStatsReader.unix(path: path) }
            return (stats.contribution(weight: weight, maxConnections: maxConnections), socketStats(stats, maxConnections))
        case .haproxyBackendsHealth(let weight, let socket, let cluster, let timeout):
            let deadline = Deadline.after(timeout)
            let rows = try await context.blocking { try HAProxyStats.fetch(socket: socket, deadline: deadline) }
            guard let health = HAProxyStats.backendHealth(rows, cluster: cluster, weight: weight) else {
                throw CheckFailure("HAProxy has no servers in \(cluster)")
            }
            return (Double(health), [])
        case .brotherCluster(let baseURL, let cluster, let timeout):
            let (status, body) = try await httpGet(url: "\(baseURL)/cluster/\(cluster)", method: "GET", verify: true, caFile: nil, timeout: timeout)
            guard status == 200 else { throw CheckFailure("HTTP status \(status) from \(baseURL)/cluster/\(cluster)") }
            guard let line = body.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("CombinedWeight:") }),
                let weight = Int(line.dropFirst("CombinedWeight:".count).trimmingBlanks())
            else { throw CheckFailure("no CombinedWeight line in the answer") }
            return (Double(weight), [])
        case .internetHealth(let weight, let hosts, let timeout):
            // litmus_paper splits the timeout evenly across hosts; here they are tried in parallel, each with that share.
            let share = timeout / hosts.count
            let reachable = await withTaskGroup(of: Bool.self) { group in
                for host in hosts {
                    group.addTask {
                        let deadline = Deadline.after(share)
                        return
                            (try? await self.context.blocking { _ = try BlockingSocket.connect(host: host.host, port: host.port, deadline: deadline) })
                            != nil
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            return (Double(weight * reachable / hosts.count), [])
        }
    }

    private func socketStats(_ stats: ListenerStats, _ maxConnections: Int) -> [MetricStat] {
        [
            MetricStat(name: "socket_active", value: Double(stats.active)),
            MetricStat(name: "socket_queued", value: Double(stats.queued)),
            MetricStat(name: "socket_utilization", value: Double(stats.utilization(maxConnections: maxConnections))),
        ]
    }
}

/// A check's own reason for failing.
struct CheckFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
