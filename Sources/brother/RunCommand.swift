import AccessControl
import ArgumentParser
import BrotherCore
import BrotherDiscovery
import BrotherMonitor
import BrotherPolling
import BrotherServer
import Foundation
import IPVS
import Logging
import NetworkAddress
import Posix
import ServiceLifecycle
import UnixSignals
import VIPSets

/// `brother run`: the supervisor daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Poll every agent and keep the IPVS weights of every cluster in step with their health.",
        discussion: """
            Every running cluster is polled on its check interval, all nodes in parallel; weights follow the policy in \
            brother.yml(5) and only differences are written to the kernel over netlink. Services already in the kernel are \
            adopted without writes when they match. Node state (ramps, hysteresis, forces) and which clusters run are saved to \
            --state-file after every change, so a restart changes nothing. The HTTP API (big_brother's routes, JSON, per-node \
            forces, /metrics) listens on --listen and --socket. Clusters with `discovery` take nodes from DNS (A, AAAA or SRV, \
            re-resolved on an interval); a failed lookup keeps the nodes, NXDOMAIN drains them. SIGHUP or POST /reload \
            re-reads the configuration; an invalid file changes nothing. big_brother keys that brother accepts but does not act \
            on (max_down_ticks, nagios, offset, non_egress_locations, a node's interpol: true) are logged as warnings, each with its YAML path, at start \
            and on every reload. SIGTERM and SIGINT stop brother and leave the kernel as it is. brother keeps \
            one connection open per agent (idle connections close after 60 s unused) and raises its open-file limit to the hard limit at start; it warns when that is too \
            low (raise LimitNOFILE or `ulimit -Hn`). Every poll runs on one thread of brother's own, named brother-poll in \
            top -H; brother polling 10,000 agents every second took under 40% of one core in the project's scale benchmark. \
            The API is described in brother-api(7).
            """)

    @Option(name: .long, help: "The configuration file (big_brother's YAML plus brother's keys; see brother.yml.5).")
    var config = "/etc/brother/brother.yml"

    @Option(name: .long, help: "Where node state and cluster phases are kept across restarts.")
    var stateFile = "/var/lib/brother/state.json"

    @Option(name: .long, help: "big_brother's data directory: the files up/<cluster> and down/<cluster> force a whole cluster.")
    var dataDir = "/etc/brother"

    @Option(
        name: .long, help: ArgumentHelp("An address:port for the HTTP API; repeat for more. \"none\" for no TCP listener.", valueName: "address:port")
    )
    var listen: [String] = ["127.0.0.1:9292"]

    @Option(name: .long, help: ArgumentHelp("The API's Unix socket (changes accepted without a token); \"none\" for none.", valueName: "path"))
    var socket = "/run/brother/brother.sock"

    @Option(
        name: .long,
        help: ArgumentHelp("A network (CIDR) besides loopback whose clients may make changes, with the token; repeatable.", valueName: "cidr"))
    var adminNetwork: [String] = []

    @Option(
        name: .long, help: ArgumentHelp("A file holding the token that --admin-network clients must send (Authorization: Bearer).", valueName: "path")
    )
    var adminTokenFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How many dashboard event streams (GET /events) may be open at once, over every listener; one more is answered 503.",
            valueName: "count"))
    var maxEventStreams = DashboardEvents.defaultSubscriberLimit

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Which clusters run at start when the state file says nothing: all, or in-kernel (only those whose IPVS service exists; the others wait for PUT /cluster/<name>, as with big_brother and Pacemaker).",
            valueName: "all|in-kernel"))
    var startClusters = "all"

    func validate() throws {
        guard ClusterStartMode(rawValue: startClusters) != nil else {
            throw ValidationError("--start-clusters must be all or in-kernel, not \"\(startClusters)\"")
        }
        guard maxEventStreams >= 0 else {
            throw ValidationError("--max-event-streams must be 0 or more, not \(maxEventStreams)")
        }
        for text in listen where text != "none" && BrotherHTTPServer.listener(parsing: text) == nil {
            throw ValidationError("--listen \"\(text)\" is not ADDRESS:PORT (e.g. 127.0.0.1:9292 or [::1]:9292)")
        }
        for text in adminNetwork where IPNetwork(parsing: text) == nil {
            throw ValidationError("--admin-network \"\(text)\" is not an address or CIDR network")
        }
        if !adminNetwork.isEmpty && adminTokenFile == nil {
            throw ValidationError("--admin-network needs --admin-token-file: clients beyond loopback must send a token")
        }
    }

    func run() async throws {
        let logger = Logger(label: "brother")
        let configuration: BrotherConfiguration
        do {
            configuration = try BrotherConfiguration.load(path: config)
        } catch let error as BrotherConfigurationError {
            printError("\(error)")
            throw ExitCode(1)
        }
        var access = AdminAccess(allowedNetworks: adminNetwork.compactMap(IPNetwork.init(parsing:)))
        if let adminTokenFile {
            guard let token = try? String(contentsOfFile: adminTokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                !token.isEmpty
            else {
                printError("brother: --admin-token-file \(adminTokenFile) cannot be read or is empty")
                throw ExitCode(1)
            }
            access.token = token
        }
        let ipvs: IPVSClient
        do {
            ipvs = try IPVSClient()
        } catch let error as IPVSError {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
        let fetcher = HTTPAgentFetcher()
        let monitor: ClusterMonitor
        do {
            monitor = try ClusterMonitor(
                configuration: configuration, ipvs: ipvs, fetcher: fetcher, store: BrotherStateStore(path: stateFile), logger: logger,
                forceFiles: ClusterForceFiles(dataDirectory: dataDir), vipSets: { try VIPSetClient() },
                startMode: ClusterStartMode(rawValue: startClusters) ?? .all)
        } catch let error as BrotherStateError {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
        let reloader = ConfigurationReloader(path: config, monitor: monitor)
        // Clusters with `discovery` get their nodes from DNS; it follows reloads, so it always runs.
        let discovery = DNSDiscovery(monitor: monitor, logger: logger)
        let api: [any Service]
        do {
            api = try BrotherHTTPServer.applications(
                monitor: monitor, listeners: listen.compactMap(BrotherHTTPServer.listener(parsing:)),
                unixSocket: socket == "none" ? nil : socket,
                access: access, reloader: reloader, logger: logger, eventStreams: maxEventStreams,
                onListening: { label, port in logger.info("API listening on \(label)\(port > 0 && label.hasSuffix(":0") ? " (port \(port))" : "")") })
        } catch {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
        logger.info("monitoring \(configuration.clusters.count) clusters from \(config)")
        for warning in configuration.warnings { logger.warning("\(warning)") }
        MallocArenas.limit(to: 2)
        let fileLimit = FileDescriptorLimit.raiseToHardLimit()
        if let warning = FileDescriptorLimit.warning(limit: fileLimit, agents: configuration.clusters.reduce(0) { $0 + $1.nodes.count }) {
            logger.warning("\(warning)")
        }
        // The notifier first: services stop in reverse order, so it still sends what the monitor
        // reports while it stops its clusters.
        let group = ServiceGroup(
            configuration: .init(
                services: [monitor.notifier, monitor, reloader, discovery] + api, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await fetcher.shutdown()
            throw error
        }
        try await fetcher.shutdown()
    }
}
