import AccessControl
import ArgumentParser
import BrotherCore
import BrotherDiscovery
import BrotherMonitor
import BrotherPolling
import BrotherServer
import Foundation
import HTTPServing
import IPVS
import Logging
import NetworkAddress
import Posix
import ServiceLifecycle
import VIPSets

/// `brother run`: the supervisor daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Poll every agent and keep the IPVS weights of every cluster in step with their health.",
        discussion: """
            Every running cluster is polled on its check interval, all nodes in parallel; weights follow the policy in \
            brother.yml(5) and only differences are written to the kernel over netlink. Services already in the kernel are \
            adopted without writes when they match; a destination of a running cluster's service that brother.yml no longer \
            lists (removed while brother was stopped) drains as a reload's removed node does: weight 0, deleted when its \
            connections end or the cluster's drain_timeout passes. Node state (ramps, hysteresis, forces), which clusters run and each cluster's last 100 events are saved to \
            --state-file after every change, so a restart changes nothing. A state file that cannot be read at start \
            (truncated, garbage, not a file) never stops brother: it is renamed <state-file>.corrupt-YYYYMMDDTHHMMSSZ with a \
            warning naming it, the backup <state-file>.1 is tried, and otherwise brother starts by taking over the kernel's \
            table as it is (no write when the agents agree with it). The HTTP API (big_brother's routes, JSON, per-node \
            forces, /metrics) listens on --listen and --socket. Clusters with `discovery` take nodes from DNS (A, AAAA or SRV, \
            re-resolved on an interval); a failed lookup keeps the nodes, and a node goes only after 3 answers in a row (NXDOMAIN too) leave it out, a share per interval. SIGHUP or POST /reload \
            re-reads the configuration; an invalid file changes nothing. big_brother keys that brother accepts but does not act \
            on (max_down_ticks, nagios, offset, non_egress_locations, a node's interpol: true) are logged as warnings, each with its YAML path, at start \
            and on every reload. SIGTERM and SIGINT stop brother and leave the kernel as it is. brother keeps \
            one connection open per agent (idle connections close after 60 s unused) and raises its open-file limit to the hard limit at start; it warns when that is too \
            low (raise LimitNOFILE or `ulimit -Hn`), and then keeps as many connections alive as the limit holds (less 256 for \
            its own and room for 4,096 new ones) and polls the other agents on a new connection each time. Every poll runs on a thread of brother's own, named brother-poll in \
            top -H: one per 10,000 agents up to one per core (brother-poll-1, brother-poll-2 and so on; _big_brother.poll_threads in brother.yml(5) sets the count), \
            each agent always on the same one; brother polling 10,000 agents every second took under 40% of one core in the project's scale benchmark. \
            The API closes connections that send no whole request within --http-request-read-timeout or wait unused for \
            --http-idle-timeout, and holds at most --http-max-connections (--http-max-connections-per-peer from one address): at \
            a cap the connection that has waited longest gives way. The API is described in brother-api(7). \
            Under systemd (Type=notify, NOTIFY_SOCKET set) brother sends READY=1 once every listener serves and every \
            managed cluster has completed a round, STOPPING=1 when it begins to stop, and WATCHDOG=1 every third of \
            WatchdogSec (WATCHDOG_USEC) only while every managed cluster's last round is younger than 3 check intervals \
            plus its poll timeout (at least 10 s), the rule GET /health answers by: a brother whose rounds stopped is \
            restarted by systemd, which leaves the kernel's table as it is. brother.service sets WatchdogSec=30s.
            """)

    @Option(name: .long, help: "The configuration file (big_brother's YAML plus brother's keys; see brother.yml.5).")
    var config = "/etc/brother/brother.yml"

    @Option(
        name: .long,
        help: """
            Where node state and cluster phases are kept across restarts. It is written durably (a temporary file, fsync, \
            rename, fsync of the directory), so a crash or a power loss leaves the old or the new file whole; the file each \
            save replaces is kept as <state-file>.1. To start without saved state, remove both.
            """)
    var stateFile = "/var/lib/brother/state.json"

    @Option(
        name: .long,
        help: """
            big_brother's data directory: the files up/<cluster> and down/<cluster> force a whole cluster; \
            nodes/<cluster>/<node>.down and <node>.up force one node (see brother.yml.5).
            """)
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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "HTTP connections the TCP listeners hold together; at the cap the longest-waiting idle or half-open one gives way.", valueName: "n"))
    var httpMaxConnections = ConnectionLimits().maxConnections

    @Option(name: .long, help: ArgumentHelp("HTTP connections one IP address may hold.", valueName: "n"))
    var httpMaxConnectionsPerPeer = ConnectionLimits().maxConnectionsPerPeer

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds a client has to send a whole request (head and body) from its first byte, or from connecting.", valueName: "seconds"))
    var httpRequestReadTimeout = ConnectionLimits().requestReadTimeout.inSeconds

    @Option(name: .long, help: ArgumentHelp("Seconds a kept-alive HTTP connection may wait unused for its next request.", valueName: "seconds"))
    var httpIdleTimeout = ConnectionLimits().idleTimeout.inSeconds

    /// The API's timeouts and connection caps from the options.
    var connectionLimits: ConnectionLimits {
        ConnectionLimits(
            maxConnections: httpMaxConnections, maxConnectionsPerPeer: httpMaxConnectionsPerPeer,
            requestReadTimeout: .milliseconds(Int64((httpRequestReadTimeout * 1000).rounded())),
            idleTimeout: .milliseconds(Int64((httpIdleTimeout * 1000).rounded())))
    }

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
        for (name, value) in [("--http-max-connections", httpMaxConnections), ("--http-max-connections-per-peer", httpMaxConnectionsPerPeer)]
        where !ConnectionLimits.connectionRange.contains(value) {
            throw ValidationError(
                "\(name) must be \(ConnectionLimits.connectionRange.lowerBound)...\(ConnectionLimits.connectionRange.upperBound), not \(value)")
        }
        if httpMaxConnectionsPerPeer > httpMaxConnections {
            throw ValidationError(
                "--http-max-connections-per-peer (\(httpMaxConnectionsPerPeer)) must not exceed --http-max-connections (\(httpMaxConnections))")
        }
        for (name, value) in [("--http-request-read-timeout", httpRequestReadTimeout), ("--http-idle-timeout", httpIdleTimeout)]
        where !(value >= 0.001 && value <= 3600) {
            throw ValidationError("\(name) must be more than 0 and at most 3600 seconds, not \(value)")
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
        // A group that does not exist would lock every tool out of the socket: refused at start.
        if let group = configuration.admin.socketGroup, (try? UserDatabase.groupID(named: group)) == nil {
            printError("brother: \(config): admin.socket_group: there is no group \(group) on this host (or the group database cannot be read)")
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
        if !configuration.admin.trustLoopback && access.token == nil {
            logger.warning("admin.trust_loopback is false and there is no --admin-token-file: changes are accepted over the Unix socket only")
        }
        let ipvs: IPVSClient
        do {
            ipvs = try IPVSClient()
        } catch let error as IPVSError {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
        let fileLimit = FileDescriptorLimit.raiseToHardLimit()
        // As many poll loops as the agents need (or as configured), each agent on one of them for good;
        // as many kept-alive connections as the open-file limit holds (the other agents connect per poll).
        let fetcher = HTTPAgentFetcher(
            assignment: PollLoopAssignment.forConfiguration(
                configuration.pollThreads, agents: configuration.clusters.reduce(0) { $0 + $1.nodes.count },
                cores: ProcessInfo.processInfo.activeProcessorCount),
            keptConnections: HTTPAgentFetcher.keptConnections(openFileLimit: fileLimit),
            openConnections: HTTPAgentFetcher.openConnections(openFileLimit: fileLimit))
        // A state file that cannot be read is moved aside with a warning: it never stops brother.
        let monitor = try ClusterMonitor(
            configuration: configuration, ipvs: ipvs, fetcher: fetcher, store: BrotherStateStore(path: stateFile), logger: logger,
            forceFiles: ClusterForceFiles(dataDirectory: dataDir), vipSets: { try VIPSetClient() },
            startMode: ClusterStartMode(rawValue: startClusters) ?? .all)
        let reloader = ConfigurationReloader(path: config, monitor: monitor)
        // Clusters with `discovery` get their nodes from DNS; it follows reloads, so it always runs.
        let discovery = DNSDiscovery(monitor: monitor, logger: logger)
        let agents = configuration.clusters.reduce(0) { $0 + $1.nodes.count }
        if let warning = FileDescriptorLimit.warning(limit: fileLimit, agents: agents) {
            logger.warning("\(warning)")
        }
        // The API's connections must leave the polls their descriptors.
        let (limits, limitWarning) = connectionLimits.fitted(toOpenFileLimit: fileLimit, reserved: agents + FileDescriptorLimit.reserve)
        if let limitWarning { logger.warning("\(limitWarning)") }
        let api: [any Service]
        // systemd (Type=notify) hears READY=1 once every listener serves: each reports here.
        let (listening, listened) = AsyncStream.makeStream(of: Void.self)
        let listeners = listen.compactMap(BrotherHTTPServer.listener(parsing:)).count + (socket == "none" ? 0 : 1)
        do {
            api = try BrotherHTTPServer.applications(
                monitor: monitor, listeners: listen.compactMap(BrotherHTTPServer.listener(parsing:)),
                unixSocket: socket == "none" ? nil : socket, limits: limits,
                access: access, reloader: reloader, logger: logger, eventStreams: maxEventStreams,
                onListening: { label, port in
                    logger.info("API listening on \(label)\(port > 0 && label.hasSuffix(":0") ? " (port \(port))" : "")")
                    listened.yield()
                })
        } catch {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
        logger.info("monitoring \(configuration.clusters.count) clusters from \(config) (\(fetcher.assignment.loops) poll threads)")
        for warning in configuration.warnings { logger.warning("\(warning)") }
        MallocArenas.limit(to: 2)
        let systemd = SystemdNotifier(
            settings: .init(environment: ProcessInfo.processInfo.environment, processID: getpid()), monitor: monitor, listening: listening,
            listeners: listeners, logger: logger)
        // systemd's notifier last: STOPPING=1 as shutdown begins.
        try await BrotherServiceGroup.run(
            monitor: monitor, reloader: reloader, others: [discovery] + api + [systemd], fetcher: fetcher, logger: logger)
    }
}
