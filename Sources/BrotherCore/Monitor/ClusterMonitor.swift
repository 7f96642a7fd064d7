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
/// Every kernel write for a cluster happens inside one of its rounds, and a cluster has at most one
/// round in flight: API calls (start, stop, forces, reload) change the cluster's status and then ask
/// for a round, which runs at once or right after the one in flight.
public actor ClusterMonitor: Service {
    var configuration: BrotherConfiguration
    let ipvs: any IPVSControlling
    let fetcher: any AgentHealthFetching
    let store: BrotherStateStore?
    let forceFiles: ClusterForceFiles?
    let makeVIPSets: (@Sendable () throws -> any VIPSetControlling)?
    var vipSets: (any VIPSetControlling)?
    let startMode: ClusterStartMode
    let logger: Logger
    var clusters: [String: ClusterStatus] = [:]
    /// Services of clusters removed from the configuration while they drained, found in the state file.
    var leftoverServices: [String: String] = [:]
    public internal(set) var counters = MonitorCounters()
    /// The last reload's outcome: when, and its error if it was refused.
    public internal(set) var lastReload: (time: Date, error: String?)?
    var lastDesired: [String: IPVSDesiredState] = [:]
    /// Names this brother in the poll headers agents keep (`HOSTNAME/CLUSTER`).
    let hostName: String
    /// Runs clusters' notify commands on state changes (run it as a service beside the monitor).
    public nonisolated let notifier: AlertNotifier
    /// Times the rounds: `ContinuousClock` in production, a manual clock in tests.
    let clock: any Clock<Duration>
    var hasAdopted = false
    /// The state file, encoded per cluster: a round re-encodes only what changed.
    var stateFile = EncodedStateFile()

    private var roundsInFlight: Set<String> = []
    private var rerunRequested: Set<String> = []
    private var roundWaiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var loopCommands: AsyncStream<String>.Continuation?
    var loopGenerations: [String: Int] = [:]

    /// - Parameters:
    ///   - forceFiles: big_brother's `up/` and `down/` files, when a data directory is set.
    ///   - vipSets: opens the VIP-set client, the first time a cluster with VIPs needs it.
    ///   - startMode: which clusters run when the state file says nothing about them.
    ///   - notifier: runs notify commands; it sends only while its `run()` runs (brother's ServiceGroup).
    ///   - clock: times each cluster's rounds (events and state keep wall time, `Date`).
    /// - Throws: ``BrotherStateError`` when the state file exists but cannot be read.
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
        self.store = store
        self.logger = logger
        self.forceFiles = forceFiles
        self.makeVIPSets = vipSets
        self.startMode = startMode
        let host = ProcessInfo.processInfo.hostName
        self.hostName = host.isEmpty || host == "(none)" ? "brother" : host
        let saved = try store?.load() ?? BrotherStateStore.Snapshot()
        for cluster in configuration.clusters {
            var states: [Destination.ID: NodeHealthState] = [:]
            for (key, state) in saved.clusters[cluster.name] ?? [:] {
                if let id = Destination.ID(parsing: key) { states[id] = state }
            }
            let phase = saved.phases?[cluster.name] ?? (startMode == .all ? .running : .stopped)
            var status = ClusterStatus(configuration: cluster, phase: phase, states: states)
            for (key, deadline) in saved.draining?[cluster.name] ?? [:] {
                if let id = Destination.ID(parsing: key) { status.draining[id] = deadline }
            }
            for (key, node) in saved.dynamicNodes?[cluster.name] ?? [:] {
                if let id = Destination.ID(parsing: key) { status.dynamicNodes[id] = node }
            }
            for (key, deadline) in saved.retiredServices?[cluster.name] ?? [:] {
                if let id = VirtualService.ID(parsing: key) { status.retiredServices[id] = deadline }
            }
            clusters[cluster.name] = status
        }
        for (name, service) in saved.removedClusterServices ?? [:] where configuration.cluster(named: name) == nil {
            leftoverServices[name] = service
        }
    }

    // MARK: reads

    public func status(of cluster: String) -> ClusterStatus? { clusters[cluster] }

    /// Every cluster, in the configuration's order, then removed clusters that are still stopping.
    public func statuses() -> [ClusterStatus] {
        let configured = configuration.clusters.compactMap { clusters[$0.name] }
        let removed = clusters.values.filter(\.isRemovedFromConfiguration).sorted { $0.name < $1.name }
        return configured + removed
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
    /// agents agree with it (and restarts no ramp).
    public func adoptKernelState() async throws {
        guard !hasAdopted else { return }
        hasAdopted = true
        for (name, service) in leftoverServices.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "cluster \(name) was stopping when brother stopped and is no longer configured; its IPVS service \(service) is left as it is (remove it with `brother ipvs apply EMPTY.yml --remove '\(service)'`)"
            )
        }
        for cluster in configuration.clusters {
            let name = cluster.name
            let inKernel: [DestinationStatus]?
            do {
                // The kernel dumps no destinations, rather than failing, for a service it does not have:
                // ask for the service itself first, or in-kernel mode would start every cluster.
                _ = try await ipvs.service(cluster.serviceID)
                inKernel = try await ipvs.destinations(of: cluster.serviceID)
            } catch IPVSError.serviceNotFound {
                inKernel = nil
            } catch {
                logger.error("cannot read \(cluster.serviceID) from the kernel: \(error)", metadata: ["cluster": "\(name)"])
                clusters[name]?.lastError = "\(error)"
                continue
            }
            // In big_brother's mode the kernel says which clusters run; a stop in progress goes on.
            if startMode == .inKernel, clusters[name]?.phase.isStopping == false {
                clusters[name]?.phase = inKernel == nil ? .stopped : .running
            }
            let nodes = Set((clusters[name]?.effective ?? cluster).realServers.map(\.destinationID))
            for status in inKernel ?? [] where nodes.contains(status.destination.id) {
                let weight = status.destination.weight
                if clusters[name]?.states[status.destination.id] == nil {
                    clusters[name]?.states[status.destination.id] = NodeHealthState(health: weight, weight: weight, isUp: weight > 0)
                } else {
                    // The kernel holds the weight last written; the file may predate it by a round.
                    clusters[name]?.states[status.destination.id]?.weight = weight
                }
            }
            record(
                name, .cluster,
                "\(clusters[name]?.phase.description ?? "?") at start; \(inKernel.map { "\($0.count) destinations in the kernel" } ?? "not in the kernel")"
            )
        }
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
        var targets: [Destination.ID: AgentTarget] = [:]
        let kernel = before.kernel
        let poller = "\(hostName)/\(name)"
        // One lookup table per round: `weight(of:)` searches the decision's node list.
        var previousWeights: [Destination.ID: Int] = [:]
        for (id, state) in before.states { previousWeights[id] = state.weight }
        for outcome in before.lastDecision?.nodes ?? [] { previousWeights[outcome.id] = outcome.weight }
        for node in before.effective.realServers {
            let id = node.destinationID
            let report = PollReport(poller: poller, weight: previousWeights[id] ?? 0, activeConnections: Int(kernel[id]?.activeConnections ?? 0))
            targets[id] = AgentTarget(address: node.address, port: node.port, path: node.path, report: report)
        }
        let polls = await PollRound.poll(targets, using: fetcher, timeout: before.configuration.pollTimeout, jitter: before.configuration.pollJitter)

        // A reload or an operator may have changed the cluster while the polls were out.
        guard var current = clusters[name], current.phase == .running else { return }
        let cluster = current.effective
        let decision = ClusterWeighting(cluster: cluster).evaluate(
            states: current.states, observations: polls.mapValues(\.observation), force: clusterForce, now: now)

        // Removed nodes and retired services drain at weight 0 until their connections end or the deadline.
        var finishedDrains: [Destination.ID] = []
        var entry = decision.entry
        // Connection counts come from the previous round's kernel read; without one (first round
        // after a start) a draining node stays at 0 until a read says it is empty.
        let kernelKnown = current.lastRound != nil
        let lastKernel = current.kernel
        for (id, deadline) in current.draining.sorted(by: { $0.key < $1.key }) {
            let kernel = lastKernel[id]
            let drained = kernelKnown && (kernel?.activeConnections ?? 0) == 0
            guard now < deadline, !drained else {
                finishedDrains.append(id)
                continue
            }
            if !entry.destinations.contains(where: { $0.id == id }) {
                var destination = kernel?.destination ?? Destination(id: id, forwarding: cluster.forwarding, weight: 0)
                destination.weight = 0
                entry.destinations.append(destination)
            }
        }
        var desired = IPVSDesiredState([entry])
        var finishedRetirements: [VirtualService.ID] = []
        for (id, deadline) in current.retiredServices.sorted(by: { $0.key < $1.key }) {
            guard let old = current.kernelTable.entries[id], now < deadline,
                old.destinations.contains(where: { $0.activeConnections > 0 })
            else {
                finishedRetirements.append(id)
                continue
            }
            desired.services[id] = Self.quiesced(old)
        }
        let owned = Set(current.retiredServices.keys)
        let (actual, error) = await applyToKernel(name, desired: desired, owned: owned, now: now)
        await syncVIPSets(name, cluster: cluster, empty: false)

        // Merge into the status as it is now: forces set meanwhile are the operator's and stay.
        guard var latest = clusters[name] else { return }
        current = latest
        var counts = counters.clusters[name, default: .init()]
        counts.rounds += 1
        for poll in polls.values {
            counts.polls += 1
            let seconds = poll.latency.inSeconds
            counts.pollLatencySum += seconds
            for (index, bound) in MonitorCounters.latencyBounds.enumerated() where seconds <= bound { counts.latencyBuckets[index] += 1 }
            switch poll.observation {
            case .health: break
            case .unreachable: counts.pollFailures["unreachable", default: 0] += 1
            case .garbage: counts.pollFailures["garbage", default: 0] += 1
            case .refused: counts.pollFailures["refused", default: 0] += 1
            }
        }
        let configuredNodes = Set(current.effective.realServers.map(\.destinationID))
        for outcome in decision.nodes where configuredNodes.contains(outcome.id) {
            let previous = previousWeights[outcome.id] ?? 0
            var state = outcome.state
            if let live = current.states[outcome.id] {
                state.force = live.force
                state.forceReason = live.forceReason
                state.forcedSince = live.forcedSince
            }
            latest.states[outcome.id] = state
            if previous != outcome.weight {
                if (previous == 0) != (outcome.weight == 0) {
                    counts.transitions += 1
                    let event = outcome.weight == 0 ? "node_down" : "node_up"
                    emit(
                        name, event, node: "\(outcome.id)", "weight \(previous) → \(outcome.weight): \(outcome.reason)", now: now,
                        configuration: cluster)
                }
                latest.events.append(
                    ClusterEvent(
                        time: now, kind: .weight, node: "\(outcome.id)", message: "weight \(previous) → \(outcome.weight): \(outcome.reason)"))
            }
        }
        counters.clusters[name] = counts
        for id in latest.states.keys where !configuredNodes.contains(id) { latest.states[id] = nil }
        for id in finishedDrains where latest.draining[id] != nil {
            latest.draining[id] = nil
            latest.events.append(ClusterEvent(time: now, kind: .cluster, node: "\(id)", message: "drained; deleted from IPVS"))
        }
        for id in finishedRetirements where latest.retiredServices[id] != nil {
            latest.retiredServices[id] = nil
            latest.events.append(ClusterEvent(time: now, kind: .cluster, message: "previous service \(id) drained; deleted"))
        }
        for alert in decision.alerts where before.lastDecision?.alerts.contains(alert) != true {
            emit(name, alert.kind.rawValue, alert.message, now: now, configuration: cluster)
            latest.events.append(ClusterEvent(time: now, kind: .alert, message: alert.message))
        }
        latest.lastPolls = polls
        latest.lastDecision = decision
        latest.lastRound = now
        latest.clusterForce = clusterForce
        if let actual { latest.kernelTable = actual }
        latest.lastError = error
        // Only what a restart needs is saved: the weight comes back from the kernel and the health
        // from the next poll, so a health that wobbles every round does not rewrite the file.
        let changed =
            Self.durable(latest.states) != Self.durable(before.states) || latest.draining != before.draining
            || latest.retiredServices != before.retiredServices || latest.dynamicNodes != before.dynamicNodes
        clusters[name] = latest
        if changed { saveState(cluster: name) }
    }

    /// Stopping: weight 0 everywhere until no connection is left or the deadline passes, then the
    /// service (and any retired one) is deleted and the VIP sets emptied.
    private func performStoppingRound(_ name: String, until: Date, now: Date) async {
        guard let status = clusters[name] else { return }
        let ids = Set([status.configuration.serviceID]).union(status.retiredServices.keys)
        let table: IPVSTable
        do {
            table = try await ipvs.table(scope: ids)
        } catch {
            clusters[name]?.lastError = "\(error)"
            logger.error("reading \(status.configuration.serviceID) failed: \(error)", metadata: ["cluster": "\(name)"])
            return
        }
        let active = table.entries.values.reduce(0) { sum, entry in sum + entry.destinations.reduce(0) { $0 + Int($1.activeConnections) } }
        if active == 0 || now >= until {
            let (_, error) = await applyToKernel(name, desired: IPVSDesiredState([]), owned: ids, now: now)
            guard error == nil else { return }
            await syncVIPSets(name, cluster: status.configuration, empty: true)
            guard var latest = clusters[name], case .stopping = latest.phase else { return }
            let why = active == 0 ? "no connection left" : "drain timeout reached with \(active) active connections"
            emit(name, "cluster_stopped", "cluster \(name) stopped (\(why)); IPVS service deleted", now: now, configuration: status.effective)
            if latest.isRemovedFromConfiguration {
                clusters[name] = nil
                lastDesired[name] = nil
                logger.info("removed cluster stopped (\(why)); service deleted", metadata: ["cluster": "\(name)"])
            } else {
                latest.phase = .stopped
                latest.retiredServices = [:]
                latest.draining = [:]
                latest.lastDecision = nil
                latest.kernelTable = IPVSTable()
                latest.events.append(ClusterEvent(time: now, kind: .cluster, message: "stopped (\(why)); IPVS service deleted"))
                clusters[name] = latest
            }
            saveState()
            return
        }
        var desired = IPVSDesiredState([])
        for (id, entry) in table.entries {
            desired.services[id] = Self.quiesced(entry)
        }
        let (_, error) = await applyToKernel(name, desired: desired, owned: ids, now: now)
        clusters[name]?.kernelTable = table
        clusters[name]?.lastRound = now
        clusters[name]?.lastError = error
    }

    /// Applies a desired state, counts writes, and notices drift: changes needed although brother's
    /// own wish did not change since the last round mean someone edited the table by hand.
    /// - Returns: the owned services as read before the changes, and the error if any.
    private func applyToKernel(_ name: String, desired: IPVSDesiredState, owned: Set<VirtualService.ID>, now: Date) async -> (IPVSTable?, String?) {
        do {
            let report = try await ipvs.apply(desired: desired, alsoOwned: owned)
            let changes = report.plan.changes
            var counts = counters.clusters[name, default: .init()]
            counts.kernelWrites += changes.count
            counts.kernelWriteFailures += report.batch.failures.count
            if !changes.isEmpty, lastDesired[name] == desired {
                counts.driftRepairs += changes.count
                let list = changes.map(\.description).joined(separator: "; ")
                logger.warning("repaired changes made outside brother: \(list)", metadata: ["cluster": "\(name)"])
                clusters[name]?.events.append(ClusterEvent(time: now, kind: .drift, message: "repaired changes made outside brother: \(list)"))
            }
            counters.clusters[name] = counts
            // One line per round at info (a ramp of thousands of nodes would flood the log), each
            // change at debug; weight changes are in the cluster's events too.
            if !changes.isEmpty {
                let shown = changes.prefix(3).map(\.description).joined(separator: "; ")
                logger.info(
                    "applied \(changes.count) change\(changes.count == 1 ? "" : "s"): \(shown)\(changes.count > 3 ? "; …" : "")",
                    metadata: ["cluster": "\(name)"])
                if changes.count > 3 { for change in changes { logger.debug("\(change)", metadata: ["cluster": "\(name)"]) } }
            }
            for failure in report.batch.failures { logger.error("\(failure.change): \(failure.error)", metadata: ["cluster": "\(name)"]) }
            lastDesired[name] = report.batch.failures.isEmpty ? desired : nil
            return (report.actual, report.batch.failures.first.map { "\($0.change): \($0.error)" })
        } catch {
            logger.error("applying weights failed: \(error)", metadata: ["cluster": "\(name)"])
            counters.clusters[name, default: .init()].kernelWriteFailures += 1
            lastDesired[name] = nil
            return (nil, "\(error)")
        }
    }

    /// Makes the cluster's VIP sets hold its VIPs (or nothing when it stops).
    private func syncVIPSets(_ name: String, cluster: ClusterConfiguration, empty: Bool) async {
        guard !cluster.vips.isEmpty else { return }
        do {
            let membership = try VIPSetMembership(cluster: cluster)
            if vipSets == nil {
                guard let makeVIPSets else {
                    clusters[name]?.lastError = "cluster has VIPs but brother was started without VIP-set support"
                    return
                }
                vipSets = try makeVIPSets()
            }
            guard let vipSets else { return }
            for set in membership.sets {
                if !empty { try await vipSets.create(set, existOK: true) }
                let changes = try await vipSets.sync(set.name, members: empty ? [] : membership.members[set.name] ?? [])
                if !changes.isEmpty {
                    logger.info(
                        "VIP set \(set.name): +\(changes.added.map(\.description)) -\(changes.removed.map(\.description))",
                        metadata: ["cluster": "\(name)"])
                }
            }
        } catch {
            if empty, case VIPSetError.noSuchSet = error { return }
            logger.error("VIP set: \(error)", metadata: ["cluster": "\(name)"])
            clusters[name]?.lastError = "VIP set: \(error)"
        }
    }

    /// A service as the kernel holds it, every destination at weight 0: what draining asks for.
    static func quiesced(_ entry: IPVSTable.Entry) -> IPVSDesiredState.Entry {
        IPVSDesiredState.Entry(
            service: entry.status.service,
            destinations: entry.destinations.map {
                var d = $0.destination; d.weight = 0; return d
            })
    }

    // MARK: state

    /// The part of node states that must survive a restart (weight and health are re-read).
    static func durable(_ states: [Destination.ID: NodeHealthState]) -> [Destination.ID: NodeHealthState] {
        states.mapValues { state in
            var kept = state
            kept.weight = 0
            kept.health = nil
            return kept
        }
    }

    /// A state change: a structured log line, and the cluster's notify command (rate-limited, queued
    /// for the notifier's service so a slow command never delays a round).
    func emit(_ name: String, _ event: String, node: String? = nil, _ message: String, now: Date = Date(), configuration: ClusterConfiguration? = nil)
    {
        logger.notice("\(message)", metadata: ["cluster": "\(name)", "event": "\(event)", "node": "\(node ?? "")"])
        guard let notify = (configuration ?? clusters[name]?.effective)?.notify else { return }
        let alert = AlertNotifier.Event(cluster: name, event: event, node: node, message: message, time: now)
        notifier.submit(alert, using: notify)
    }

    func record(_ name: String, _ kind: ClusterEvent.Kind, _ message: String, node: String? = nil) {
        clusters[name]?.events.append(ClusterEvent(time: Date(), kind: kind, node: node, message: message))
        logger.info("\(node.map { "\($0): " } ?? "")\(message)", metadata: ["cluster": "\(name)"])
    }

    /// Writes the state file. After a round, only that cluster's part is encoded again (every
    /// other change saves the whole state, so the parts kept encoded are never stale).
    func saveState(cluster: String? = nil) {
        guard let store else { return }
        func record(_ status: ClusterStatus) -> EncodedStateFile.ClusterRecord {
            // The durable part only: a ramp or a wobbling health changes weights every round, and
            // would have every save encode every cluster again (both come back after a restart).
            EncodedStateFile.ClusterRecord(
                states: Self.durable(status.states), phase: status.phase, draining: status.draining, retiredServices: status.retiredServices,
                dynamicNodes: status.dynamicNodes, removedService: status.isRemovedFromConfiguration ? "\(status.configuration.serviceID)" : nil)
        }
        do {
            let document: Data
            if let cluster, !stateFile.isEmpty {
                document = try stateFile.document(updating: cluster, to: clusters[cluster].map(record))
            } else {
                document = try stateFile.document(for: clusters.mapValues(record))
            }
            try store.write(document)
        } catch let error as BrotherStateError {
            logger.error("\(error)")
        } catch {
            logger.error("state file \(store.path) cannot be encoded (\(error))")
        }
    }
}
