import AccessControl
import NetworkAddress

/// The whole agent configuration after loading and validating every file.
public struct AgentSettings: Sendable, Equatable {
    /// The files that were read, main file first.
    public var files: [String]
    /// litmus_paper's `port`: what litmusctl connects to over HTTP; also the default listen port.
    public var port: Int = 9292
    /// Where force files live (litmus_paper's and ours).
    public var dataDirectory: String = "/etc/litmus"
    /// litmus_paper's `include_files` glob, relative to the main file's directory.
    public var includePattern: String?
    /// HTTP listeners (`host:port`, `[v6]:port`).
    public var listen: [HostAndPort] = []
    /// The Unix socket litmusctl talks to; `nil` disables it.
    public var unixSocket: String? = "/run/litmus/litmus.sock"
    /// How often every service is evaluated.
    public var evaluationInterval: Duration = .seconds(2)
    /// A result older than this counts as health 0.
    public var stalenessLimit: Duration = .seconds(30)
    /// Who may change forces.
    public var admin = AdminAccess()
    /// The HAProxy agent-check listeners.
    public var agentCheck = AgentCheckSettings()
    /// HTTPS listeners beside the plain ones (`tls:`); nil serves plain HTTP only.
    public var tls: TLSListenerSettings?
    /// The HTTP listeners' timeouts and connection caps (`http_limits:`).
    public var httpLimits = HTTPLimitSettings()
    /// Services by name.
    public var services: [String: ServiceSpec] = [:]
    /// brothers this agent registers its node with (`register:`).
    public var registrations: [Registration] = []
    /// Whose drain reports (`X-Brother-*` on a poll) count for `litmusctl force down --wait`
    /// (`drain_reports:`; default: loopback plus the `register:` brothers given by address).
    public var drainReports = DrainReportTrust()

    public init(files: [String] = []) { self.files = files }

    /// The HTTP listeners to open: `listen`, or every IPv4 address on `port` as litmus_paper did.
    public var effectiveListen: [HostAndPort] {
        listen.isEmpty ? [HostAndPort(host: "0.0.0.0", port: port)] : listen
    }
}

/// HAProxy agent-check listeners: one port per service, and/or one port where HAProxy's `agent-send` names it.
public struct AgentCheckSettings: Sendable, Equatable {
    /// The address the agent-check ports bind to.
    public var address: String = "0.0.0.0"
    /// Multi-port mode: service name → port.
    public var ports: [String: Int] = [:]
    /// Single-port mode: the port where the first line a client sends is the service name.
    public var singlePort: Int?

    public init() {}

    public var isEnabled: Bool { !ports.isEmpty || singlePort != nil }
}

/// One monitored service: gates (dependencies) and weighted metrics (litmus_paper's `checks`).
public struct ServiceSpec: Sendable, Equatable {
    public var name: String
    public var dependencies: [DependencySpec]
    public var metrics: [MetricSpec]
    /// The file the service was defined in (a later definition replaces an earlier one, as in litmus_paper).
    public var file: String

    public init(name: String, dependencies: [DependencySpec], metrics: [MetricSpec], file: String) {
        self.name = name
        self.dependencies = dependencies
        self.metrics = metrics
        self.file = file
    }
}
