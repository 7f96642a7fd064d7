import BrotherCore
import BrotherPolling
import Foundation
import IPVS
import Logging
import ServiceLifecycle
import VIPSets

/// brother's loop: for every running cluster, on its check interval, poll every node's agent in
/// parallel, step the weight policy, apply the cluster rules, and make the kernel match with only
/// the differences (`IPVSControlling.apply(desired:)` reads the cluster's service first, so drift
/// made by hand is repaired on the next round). State is saved after every round that changed it.
///
/// The monitor is a sequencer over parts that know no time of their own: each round it polls
/// (``PollRound``), asks ``RoundPlanner`` what the round decides, has ``KernelReconciler`` make the
/// kernel match, merges the result into the cluster's status (``RoundPlanner/merge(_:into:before:actual:error:)``),
/// saves the state file when its durable part changed, and hands the notifications to the
/// ``AlertNotifier``.
///
/// Every kernel write for a cluster happens inside one of its rounds, and a cluster has at most one
/// round in flight: API calls (start, stop, forces, reload) change the cluster's status and then ask
/// for a round, which runs at once or right after the one in flight.
public actor ClusterMonitor: Service {
    var configuration: BrotherConfiguration {
        // The order of ``statuses()`` is the configuration's.
        didSet { stateGeneration &+= 1 }
    }
    let ipvs: any IPVSControlling
    let fetcher: any AgentHealthFetching
    let forceFiles: ClusterForceFiles?
    /// The per-node force files in the same data directory.
    let nodeForceFiles: NodeForceFiles?
    /// Per cluster, the node force file problems already logged: each is told once, not every round.
    var loggedNodeForceProblems: [String: Set<String>] = [:]
    let startMode: ClusterStartMode
    let logger: Logger
    var clusters: [String: ClusterStatus] = [:] {
        // Every change, in place or not, moves the generation: readers of the whole state (the
        // dashboard's event stream) encode it again only when it moved.
        didSet { stateGeneration &+= 1 }
    }
    /// Services of clusters removed from the configuration while they drained, found in the state file.
    var leftoverServices: [String: String] = [:]
    public internal(set) var counters = MonitorCounters()
    /// The last reload's outcome: when, and its error if it was refused.
    public internal(set) var lastReload: (time: Date, error: String?)? {
        didSet { stateGeneration &+= 1 }
    }
    /// Moves on every change of what ``statuses()`` and ``lastReload`` return (not of the counters).
    public private(set) var stateGeneration: UInt64 = 0
    /// brother.yml's `admin:` section as last loaded: the API reads it for every change, so a reload applies it.
    public var adminSettings: BrotherAdminSettings { configuration.admin }
    /// Applies rounds' tables to the kernel and keeps the VIP sets.
    let reconciler: KernelReconciler
    /// Names this brother in the poll headers agents keep (`HOSTNAME/CLUSTER`).
    let hostName: String
    /// Runs clusters' notify commands on state changes (run it as a service beside the monitor).
    public nonisolated let notifier: AlertNotifier
    /// Times the rounds: `ContinuousClock` in production, a manual clock in tests.
    let clock: any Clock<Duration>
    var hasAdopted = false
    /// The state file, encoded per cluster: a round re-encodes only what changed.
    var stateFile: ClusterStateFile

    private var roundsInFlight: Set<String> = []
    private var rerunRequested: Set<String> = []
    private var roundWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var loopCommands: AsyncStream<String>.Continuation?
    var loopGenerations: [String: Int] = [:]

    /// - Parameters:
    ///   - forceFiles: big_brother's `up/` and `down/` files, when a data directory is set; the
    ///     per-node files (``NodeForceFiles``) are read from the same directory.
    ///   - vipSets: opens the VIP-set client, the first time a cluster with VIPs needs it.
    ///   - startMode: which clusters run when the state file says nothing about them.
    ///   - notifier: runs notify commands; it sends only while its `run()` runs (brother's ServiceGroup).
    ///   - clock: times each cluster's rounds (events and state keep wall time, `Date`).
    /// A state file that cannot be read does not stop the monitor: it is moved aside with a warning,
    /// its backup is used or, without one, the kernel's table is taken as it is (``adoptKernelState(now:)``).
    public init(
        configuration: BrotherConfiguration, ipvs: any IPVSControlling, fetcher: any AgentHealthFetching, store: BrotherStateStore?,
        logger: Logger, forceFiles: ClusterForceFiles? = nil, vipSets: (@Sendable () throws -> any VIPSetControlling)? = nil,
        startMode: ClusterStartMode = .all, notifier: AlertNotifier? = nil, clock: any Clock<Duration> = ContinuousClock()
    ) throws {
        self.notifier = notifier ?? AlertNotifier(logger: logger, clock: clock)
        self.clock = clock
        self.configuration = configuration
        self.ipvs = ipvs
        self.fetcher = fetcher
        self.logger = logger
        self.forceFiles = forceFiles
        self.nodeForceFiles = forceFiles.map { NodeForceFiles(dataDirectory: $0.dataDirectory) }
        self.reconciler = KernelReconciler(ipvs: ipvs, vipSets: vipSets, logger: logger)
        self.startMode = startMode
        let host = ProcessInfo.processInfo.hostName
        self.hostName = host.isEmpty || host == "(none)" ? "brother" : host
        self.stateFile = try ClusterStateFile(store: store, logger: logger)
        let restored = stateFile.restore(configuration, startMode: startMode)
        clusters = restored.clusters
        leftoverServices = restored.leftoverServices
    }

    // MARK: reads

    public func status(of cluster: String) -> ClusterStatus? { clusters[cluster] }

    /// Every cluster, in the configuration's order, then removed clusters that are still stopping.
    public func statuses() -> [ClusterStatus] {
        let configured = configuration.clusters.compactMap { clusters[$0.name] }
        let removed = clusters.values.filter(\.isRemovedFromConfiguration).sorted { $0.name < $1.name }
        return configured + removed
    }

    /// What the dashboard shows, as of one ``stateGeneration``.
    public struct StateReading: Sendable {
        public var generation: UInt64
        public var statuses: [ClusterStatus]
        public var lastReload: (time: Date, error: String?)?
    }

    /// ``statuses()`` and ``lastReload`` with their ``stateGeneration``, or nil when the generation
    /// is still `generation`: a reader that has the state of a generation asks for nothing more.
    public func state(changedSince generation: UInt64?) -> StateReading? {
        guard generation != stateGeneration else { return nil }
        return StateReading(generation: stateGeneration, statuses: statuses(), lastReload: lastReload)
    }

    public var clusterNames: [String] { configuration.clusters.map(\.name) }
    public var currentConfiguration: BrotherConfiguration { configuration }
    public var kernelWrites: Int { counters.kernelWrites }

    // MARK: running

    /// Runs every cluster on its own interval until graceful shutdown. Reloads start, stop and
    /// re-time the per-cluster loops.
    public func run() async throws {
        try await adoptKernelState()
        let (commands, continuation) = AsyncStream.makeStream(of: String.self)
        loopCommands = continuation
        for name in clusters.keys.sorted() { startLoop(name) }
        await withDiscardingTaskGroup { group in
            for await name in commands.cancelOnGracefulShutdown() {
                guard let generation = loopGenerations[name] else { continue }
                group.addTask { await self.loop(cluster: name, generation: generation) }
            }
            group.cancelAll()
        }
        loopCommands = nil
        // The last saves are on disk before brother exits.
        await stateFile.flush()
    }

    /// (Re)starts a cluster's loop; an older loop of the same cluster ends at its next tick.
    func startLoop(_ name: String) {
        loopGenerations[name, default: 0] += 1
        loopCommands?.yield(name)
    }

    private func loop(cluster name: String, generation: Int) async {
        guard let interval = clusters[name]?.configuration.checkInterval else { return }
        await runRound(cluster: name)
        // Each cluster's timer runs at its own offset in the interval, so a hundred clusters do not
        // poll all their agents in the same millisecond.
        try? await clock.sleep(for: Self.timerPhase(of: name, interval: interval))
        guard loopGenerations[name] == generation, clusters[name] != nil, !Task.isCancelled else { return }
        await runRound(cluster: name)
        await clock.forEachTick(of: interval) {
            guard loopGenerations[name] == generation, clusters[name] != nil else { return false }
            await runRound(cluster: name)
            return true
        }
    }

    /// Where in its check interval a cluster's rounds fall: a fraction of the interval from a hash
    /// of its name (the same in every run), so clusters spread evenly on average.
    public static func timerPhase(of cluster: String, interval: Duration) -> Duration {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in cluster.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        // FNV mixes a name's last bytes into the low bits only: names like web1, web2 would land
        // together. A final mix (MurmurHash3's) spreads them.
        hash = (hash ^ (hash >> 33)) &* 0xff51_afd7_ed55_8ccd
        hash = (hash ^ (hash >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return interval * (Double(hash >> 11) / Double(1 << 53))
    }

    /// Decides which clusters run and takes over what the kernel already has: nodes without saved
    /// state take the kernel's weight, so taking over a running balancer writes nothing when the
    /// agents agree with it (and restarts no ramp). Destinations of a running cluster's service that
    /// the configuration no longer lists (removed while brother was stopped) drain as a reload's
    /// removed nodes do: weight 0 now, deleted when their connections end or the drain timeout
    /// passes. Deleting them at once would stall their connections (`expire_nodest_conn` is 0 by
    /// default).
    /// - Parameter now: the start's time, from which the strays' drain timeout runs.
    public func adoptKernelState(now: Date = Date()) async throws {
        guard !hasAdopted else { return }
        hasAdopted = true
        for (name, service) in leftoverServices.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "cluster \(name) was stopping when brother stopped and is no longer configured; its IPVS service \(service) is left as it is (remove it with `brother ipvs apply EMPTY.yml --remove '\(service)'`)"
            )
        }
        for cluster in configuration.clusters {
            let name = cluster.name
            let read: IPVSTable.Entry?
            do {
                // The kernel dumps no destinations, rather than failing, for a service it does not have:
                // ask for the service itself first, or in-kernel mode would start every cluster.
                let service = try await ipvs.service(cluster.serviceID)
                read = IPVSTable.Entry(status: service, destinations: try await ipvs.destinations(of: cluster.serviceID))
            } catch IPVSError.serviceNotFound {
                read = nil
            } catch {
                logger.error("cannot read \(cluster.serviceID) from the kernel: \(error)", metadata: ["cluster": "\(name)"])
                clusters[name]?.lastError = "\(error)"
                continue
            }
            // In big_brother's mode the kernel says which clusters run; a stop in progress goes on.
            if startMode == .inKernel, clusters[name]?.phase.isStopping == false {
                clusters[name]?.phase = read == nil ? .stopped : .running
            }
            let realServers = (clusters[name]?.effective ?? cluster).realServers
            let nodes = Set(realServers.map(\.destinationID))
            let byID = Dictionary(realServers.map { ($0.destinationID, $0) }, uniquingKeysWith: { first, _ in first })
            for status in read?.destinations ?? [] where nodes.contains(status.destination.id) {
                // The kernel holds weight × capacity; the policy remembers the 0-100 weight.
                let weight = byID[status.destination.id]?.policyWeight(fromKernel: status.destination.weight) ?? status.destination.weight
                if clusters[name]?.states[status.destination.id] == nil {
                    clusters[name]?.states[status.destination.id] = NodeHealthState(health: weight, weight: weight, isUp: weight > 0)
                } else {
                    // The kernel holds the weight last written; the file may predate it by a round.
                    clusters[name]?.states[status.destination.id]?.weight = weight
                }
            }
            if let read, clusters[name]?.phase.isRunning == true { drainStrays(of: name, service: read, nodes: nodes, now: now) }
            record(
                name, .cluster,
                "\(clusters[name]?.phase.description ?? "?") at start; \(read.map { "\($0.destinations.count) destinations in the kernel" } ?? "not in the kernel")"
            )
        }
        if stateFile.needsRewrite { saveState() }
    }

    /// Puts the kernel destinations that are not the cluster's nodes on a drain, as a reload does
    /// for the nodes it removes (a drain the state file kept goes on with its deadline). The
    /// service as read is kept as the cluster's kernel table, so a stray drains with its own
    /// forwarding and thresholds, only its weight changed.
    private func drainStrays(of name: String, service: IPVSTable.Entry, nodes: Set<Destination.ID>, now: Date) {
        guard let status = clusters[name] else { return }
        let strays = service.destinations.map(\.destination.id).filter { !nodes.contains($0) }.sorted()
        guard !strays.isEmpty else { return }
        clusters[name]?.kernelTable.entries[status.configuration.serviceID] = service
        let deadline = now.addingTimeInterval(status.configuration.drainTimeout.inSeconds)
        for id in strays where status.draining[id] == nil {
            clusters[name]?.draining[id] = deadline
            record(
                name, .cluster, "in the kernel but no longer configured: draining for up to \(status.configuration.drainTimeout), then deleted",
                node: "\(id)")
        }
        saveState()
    }

    // MARK: rounds

    /// One round for one cluster (poll, decide, apply, save), or, when one is in flight, waits for it
    /// and one more. Never throws: failures are logged and kept in the cluster's status.
    public func runRound(cluster name: String, now: Date? = nil) async {
        if roundsInFlight.contains(name) {
            rerunRequested.insert(name)
            await withCheckedContinuation { roundWaiters[name, default: []].append($0) }
            return
        }
        roundsInFlight.insert(name)
        repeat {
            rerunRequested.remove(name)
            await performRound(name, now: now ?? Date())
        } while rerunRequested.contains(name)
        roundsInFlight.remove(name)
        for waiter in roundWaiters.removeValue(forKey: name) ?? [] { waiter.resume() }
    }

    private func performRound(_ name: String, now: Date) async {
        guard let status = clusters[name] else { return }
        switch status.phase {
        case .stopped: return
        case .stopping(let until): await performStoppingRound(name, until: until, now: now)
        case .running: await performRunningRound(name, now: now)
        }
    }

    private func performRunningRound(_ name: String, now: Date) async {
        expireJoinedNodes(name, now: now)
        guard let before = clusters[name] else { return }
        let clusterForce = forceFiles?.force(of: name)
        let nodeForces = readNodeForceFiles(name, nodes: before.effective.realServers.map(\.destinationID))
        let polls = await PollRound.poll(
            pollTargets(before, poller: "\(hostName)/\(name)"), using: fetcher, timeout: before.configuration.pollTimeout,
            jitter: before.configuration.pollJitter)

        // A reload or an operator may have changed the cluster while the polls were out.
        guard let current = clusters[name], current.phase == .running else { return }
        let plan = RoundPlanner.plan(current, polls: polls, clusterForce: clusterForce, nodeForces: nodeForces, now: now)
        let applied = await applyToKernel(name, desired: plan.desired, owned: plan.owned, now: now)
        await syncVIPSets(name, cluster: plan.cluster, empty: false)

        // Merge into the status as it is now: forces set meanwhile are the operator's and stay.
        guard let latest = clusters[name] else { return }
        let outcome = RoundPlanner.merge(plan, into: latest, before: before, actual: applied.actual, error: applied.error)
        counters.clusters[name, default: .init()].add(outcome.counts)
        for notification in outcome.notifications { emit(name, notification, configuration: plan.cluster) }
        clusters[name] = outcome.status
        // A ramp step's weight event rides with the next save (saving every step would write the file
        // every round of a ramp); a node going up or down, an alert, a drain ending or drift is saved now.
        let previousEvent = latest.events.events.last
        let newEvents = outcome.status.events.events.reversed().prefix { $0 != previousEvent }
        if outcome.needsSave || !outcome.notifications.isEmpty || newEvents.contains(where: { $0.kind != .weight }) {
            saveState(cluster: name)
        }
    }

    /// The cluster's node force files this round. A problem with them (a name that is no node, a
    /// directory brother cannot list) is logged when it appears, not every round; once gone, it
    /// would be logged again if it came back.
    private func readNodeForceFiles(_ name: String, nodes: [Destination.ID]) -> [Destination.ID: FileForce] {
        guard let nodeForceFiles else { return [:] }
        let reading = nodeForceFiles.read(cluster: name, nodes: nodes)
        let logged = loggedNodeForceProblems[name] ?? []
        for problem in reading.problems where !logged.contains(problem) { logger.warning("\(problem)") }
        loggedNodeForceProblems[name] = reading.problems.isEmpty ? nil : Set(reading.problems)
        return reading.forces
    }

    /// Every node's agent, told the node's weight and connections (`X-Brother-*`), with the
    /// cluster's drain report token so the agent believes them.
    private func pollTargets(_ status: ClusterStatus, poller: String) -> [Destination.ID: AgentTarget] {
        let weights = RoundPlanner.reportedWeights(of: status)
        let kernel = status.kernel
        let token = status.configuration.drainReportToken
        var targets: [Destination.ID: AgentTarget] = [:]
        for node in status.effective.realServers {
            let id = node.destinationID
            let report = PollReport(
                poller: poller, weight: weights[id] ?? 0, activeConnections: Int(kernel[id]?.activeConnections ?? 0), token: token)
            targets[id] = AgentTarget(
                address: node.address, port: node.port, path: node.path, report: report, tls: status.configuration.checkTLS)
        }
        return targets
    }

    /// Stopping: weight 0 everywhere until no connection is left or the deadline passes, then the
    /// service (and any retired one) is deleted and the VIP sets emptied.
    private func performStoppingRound(_ name: String, until: Date, now: Date) async {
        guard let status = clusters[name] else { return }
        let ids = RoundPlanner.stoppingScope(of: status)
        let table: IPVSTable
        do {
            table = try await ipvs.table(scope: ids)
        } catch {
            clusters[name]?.lastError = "\(error)"
            logger.error("reading \(status.configuration.serviceID) failed: \(error)", metadata: ["cluster": "\(name)"])
            return
        }
        let plan = RoundPlanner.planStopping(status, table: table, until: until, now: now)
        let applied = await applyToKernel(name, desired: plan.desired, owned: ids, now: now)
        guard case .delete(let why) = plan else {
            if let latest = clusters[name] { clusters[name] = RoundPlanner.quiescing(latest, table: table, error: applied.error, now: now) }
            return
        }
        guard applied.error == nil else { return }
        await syncVIPSets(name, cluster: status.configuration, empty: true)
        guard let latest = clusters[name], case .stopping = latest.phase else { return }
        let stopped = RoundPlanner.stopped(latest, why: why, now: now)
        emit(name, stopped.notification, configuration: status.effective)
        clusters[name] = stopped.status
        let isForgotten = stopped.status == nil
        if isForgotten { logger.info("removed cluster stopped (\(why)); service deleted", metadata: ["cluster": "\(name)"]) }
        saveState()
        if isForgotten { await reconciler.forget(cluster: name) }
    }

    /// Applies a desired state through the reconciler and keeps what it counted and the drift it saw.
    private func applyToKernel(_ name: String, desired: IPVSDesiredState, owned: Set<VirtualService.ID>, now: Date) async -> KernelApplication {
        let applied = await reconciler.apply(desired, owned: owned, cluster: name, now: now)
        counters.clusters[name, default: .init()].add(applied.counts)
        if let drift = applied.drift { clusters[name]?.events.append(drift) }
        return applied
    }

    /// Makes the cluster's VIP sets hold its VIPs (or nothing when it stops); a failure is the cluster's last error.
    private func syncVIPSets(_ name: String, cluster: ClusterConfiguration, empty: Bool) async {
        if let error = await reconciler.syncVIPSets(of: cluster, empty: empty) { clusters[name]?.lastError = error }
    }

    // MARK: state

    /// A state change: a structured log line, and the cluster's notify command (rate-limited, queued
    /// for the notifier's service so a slow command never delays a round).
    func emit(_ name: String, _ event: String, node: String? = nil, _ message: String, now: Date = Date(), configuration: ClusterConfiguration? = nil)
    {
        emit(name, ClusterNotification(event: event, node: node, message: message, time: now), configuration: configuration)
    }

    func emit(_ name: String, _ notification: ClusterNotification, configuration: ClusterConfiguration? = nil) {
        logger.notice(
            "\(notification.message)", metadata: ["cluster": "\(name)", "event": "\(notification.event)", "node": "\(notification.node ?? "")"])
        guard let notify = (configuration ?? clusters[name]?.effective)?.notify else { return }
        let alert = AlertNotifier.Event(
            cluster: name, event: notification.event, node: notification.node, message: notification.message, time: notification.time)
        notifier.submit(alert, using: notify)
    }

    func record(_ name: String, _ kind: ClusterEvent.Kind, _ message: String, node: String? = nil) {
        clusters[name]?.events.append(ClusterEvent(time: Date(), kind: kind, node: node, message: message))
        logger.info("\(node.map { "\($0): " } ?? "")\(message)", metadata: ["cluster": "\(name)"])
    }

    /// Hands the state file over to be written (its own thread writes it, ``StateFileWriter``): after
    /// a round only that cluster's part changed (`cluster`); after anything else, any part may have.
    func saveState(cluster: String? = nil) {
        stateFile.save(clusters, changed: cluster)
    }

    /// Saves, and returns once the file is on disk: an operator's change is answered only when a
    /// `kill -9` can no longer lose it.
    func saveStateDurably() async {
        saveState()
        await stateFile.flush()
    }

    /// Returns once every save so far is on disk: at stop, and for tests that read the file.
    public func flushStateFile() async {
        await stateFile.flush()
    }
}
