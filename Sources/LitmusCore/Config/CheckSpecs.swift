import NetworkAddress

/// A program to run: an argv (no shell), or a command line for `/bin/sh -c` only when the config says `shell: true`.
public struct ProgramSpec: Sendable, Hashable {
    public var arguments: [String]
    public var usesShell: Bool

    public init(arguments: [String], usesShell: Bool = false) {
        self.arguments = arguments
        self.usesShell = usesShell
    }

    /// The argv actually spawned.
    public var argv: [String] { usesShell ? ["/bin/sh", "-c", arguments.joined(separator: " ")] : arguments }

    /// How litmus_paper labels the command: the command line as written.
    public var displayString: String { arguments.joined(separator: " ") }
}

/// A gate: if any dependency fails, the service measures 0.
public enum DependencySpec: Sendable, Hashable {
    case http(HTTPDependencySpec)
    case tcp(TCPDependencySpec)
    case unixSocket(UnixSocketDependencySpec)
    case script(program: ProgramSpec, timeout: Duration)
    case fileContents(path: String, pattern: String, timeout: Duration)
    case haproxyBackends(socket: String, cluster: String, timeout: Duration)

    /// litmus_paper's summary label, e.g. `Dependency::HTTP(http://localhost/heartbeat)`.
    public var label: String {
        switch self {
        case .http(let spec): "Dependency::HTTP(\(spec.url))"
        case .tcp(let spec): "Dependency::TCP(tcp://\(HostAndPort(host: spec.host, port: spec.port)))"
        case .unixSocket(let spec): "Dependency::UnixSocket(\(spec.path))"
        case .script(let program, _): "Dependency::Script(\(program.displayString))"
        case .fileContents(let path, let pattern, _): "Dependency::FileContents(\(path), /\(pattern)/)"
        case .haproxyBackends(let socket, let cluster, _): "Dependency::HaproxyBackends(\(socket), \(cluster))"
        }
    }

    public var timeout: Duration {
        switch self {
        case .http(let spec): spec.timeout
        case .tcp(let spec): spec.timeout
        case .unixSocket(let spec): spec.timeout
        case .script(_, let timeout), .fileContents(_, _, let timeout), .haproxyBackends(_, _, let timeout): timeout
        }
    }
}

public struct HTTPDependencySpec: Sendable, Hashable {
    public var url: String
    public var method: String = "GET"
    /// Accepted status codes; litmus_paper accepts any 2xx.
    public var expectedStatus: ClosedRange<Int> = 200...299
    /// A regular expression the body must match (litmus_paper's `content`, default `.*`).
    public var content: String?
    public var verifyTLS: Bool = true
    public var caFile: String?
    public var timeout: Duration = .seconds(2)

    public init(url: String) { self.url = url }
}

public struct TCPDependencySpec: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Sent (followed by a newline) before reading, when `expect` is set.
    public var send: String?
    /// The line the peer must answer with (compared without its line ending).
    public var expect: String?
    public var timeout: Duration = .seconds(5)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// A local daemon's Unix stream socket (php-fpm, a database, HAProxy's stats socket): passes once a
/// connection is accepted and, when `expect` is set, the first line answered matches.
public struct UnixSocketDependencySpec: Sendable, Hashable {
    public var path: String
    /// Sent (followed by a newline) before reading, when `expect` is set.
    public var send: String?
    /// The line the peer must answer with (compared without its line ending).
    public var expect: String?
    public var timeout: Duration = .seconds(5)

    public init(path: String) { self.path = path }
}

/// A weighted contribution to health; contributions are ceil'd and summed.
public enum MetricSpec: Sendable, Hashable {
    case constant(weight: Int)
    case cpuLoad(weight: Int)
    case script(program: ProgramSpec, weight: Int, timeout: Duration)
    case tcpSocketUtilization(weight: Int, address: HostAndPort, maxConnections: Int)
    case unixSocketUtilization(weight: Int, path: String, maxConnections: Int)
    case haproxyBackendsHealth(weight: Int, socket: String, cluster: String, timeout: Duration)
    case brotherCluster(baseURL: String, cluster: String, timeout: Duration)
    case internetHealth(weight: Int, hosts: [HostAndPort], timeout: Duration)

    public var label: String {
        switch self {
        case .constant(let weight): "Metric::ConstantMetric(\(weight))"
        case .cpuLoad(let weight): "Metric::CPULoad(\(weight))"
        case .script(let program, let weight, _): "Metric::Script(\(program.displayString), \(weight))"
        case .tcpSocketUtilization(let weight, let address, let maxConnections):
            "Metric::TcpSocketUtilization(weight: \(weight), maxconn: \(maxConnections), address: \(address))"
        case .unixSocketUtilization(let weight, let path, let maxConnections):
            "Metric::UnixSocketUtilization(weight: \(weight), maxconn: \(maxConnections), path: \(path))"
        case .haproxyBackendsHealth(let weight, let socket, let cluster, _):
            "Metric::HaproxyBackendsHealth(\(weight), \(socket), \(cluster))"
        case .brotherCluster(let baseURL, let cluster, _): "Metric::BigBrotherService(\(baseURL)/cluster/\(cluster))"
        case .internetHealth(let weight, let hosts, _):
            "Metric::InternetHealth(\(weight), \(hosts.map(\.description).joined(separator: ",")))"
        }
    }

    /// How long the metric may take; reading /proc or a constant is bounded by a short default.
    public var timeout: Duration {
        switch self {
        case .script(_, _, let timeout), .haproxyBackendsHealth(_, _, _, let timeout), .brotherCluster(_, _, let timeout),
            .internetHealth(_, _, let timeout):
            timeout
        case .constant, .cpuLoad, .tcpSocketUtilization, .unixSocketUtilization: .seconds(2)
        }
    }
}
