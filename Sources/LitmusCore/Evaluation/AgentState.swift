import LitmusWire
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The agent's shared state: the active configuration, the latest evaluation per service, and the forces.
///
/// Status requests read from here and never run a check.
public actor AgentState {
    public private(set) var settings: AgentSettings
    private var evaluations: [String: ServiceEvaluation] = [:]
    private var forceStore: ForceStore
    /// Each check's last transitions, saved in the data directory when one happens.
    private var checkHistory: CheckHistory
    private var checkHistoryFile: CheckHistoryFile
    private var inFlight: Set<String> = []
    private let logger: Logger
    private let clock: @Sendable () -> Date
    /// Rendered statuses for readers that must not wait for the actor (the status route).
    public nonisolated let snapshots = StatusSnapshots()
    /// What trusted polling brothers said about this node, per configured service (for
    /// `litmusctl force down --wait`).
    public nonisolated let pollers: PollerRegistry

    public init(settings: AgentSettings, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.logger = logger
        self.clock = clock
        var forceStore = ForceStore(directory: settings.dataDirectory)
        Self.reloadForces(&forceStore, services: settings.services.keys, now: clock(), logger: logger)
        self.forceStore = forceStore
        let historyFile = CheckHistoryFile(directory: settings.dataDirectory)
        let (history, warning) = historyFile.load()
        if let warning { logger.warning("\(warning)") }
        self.checkHistoryFile = historyFile
        self.checkHistory = history
        self.pollers = PollerRegistry(logger: logger)
        pollers.configure(services: settings.services.keys, trust: settings.drainReports)
    }

    // MARK: configuration

    /// Switches to a new, already validated configuration; results of removed services are dropped.
    public func apply(_ newSettings: AgentSettings) {
        let old = settings
        settings = newSettings
        // A service whose checks changed must not keep showing results of the old checks.
        evaluations = evaluations.filter { entry in
            guard let new = newSettings.services[entry.key] else { return false }
            return old.services[entry.key] == new
        }
        pollers.configure(services: newSettings.services.keys, trust: newSettings.drainReports)
        if forceStore.directory != newSettings.dataDirectory { forceStore = ForceStore(directory: newSettings.dataDirectory) }
        if checkHistoryFile.directory != newSettings.dataDirectory {
            checkHistoryFile = CheckHistoryFile(directory: newSettings.dataDirectory)
            let (history, warning) = checkHistoryFile.load()
            if let warning { logger.warning("\(warning)") }
            checkHistory = history
        }
        // Checks that are gone take their history with them.
        if checkHistory.retain(newSettings.services) { saveCheckHistory() }
        refreshForces()
    }

    /// Re-renders every service's status into `snapshots`.
    private func republish() {
        snapshots.publish(allStatuses(), stalenessLimit: settings.stalenessLimit)
    }

    public var serviceNames: [String] { settings.services.keys.sorted() }

    // MARK: evaluation bookkeeping

    /// Services due for evaluation that are not still being evaluated, now marked in flight.
    func claimDueServices() -> [ServiceSpec] {
        let due = settings.services.values.filter { !inFlight.contains($0.name) }.sorted { $0.name < $1.name }
        inFlight.formUnion(due.map(\.name))
        return due
    }

    /// Stores a finished evaluation, if the service still exists with the same definition.
    func record(_ evaluation: ServiceEvaluation, for spec: ServiceSpec) {
        inFlight.remove(spec.name)
        guard settings.services[spec.name] == spec else { return }
        store(evaluation)
    }

    /// Stores an evaluation directly (tests and tools), recording its checks' transitions.
    public func store(_ evaluation: ServiceEvaluation) {
        evaluations[evaluation.service] = evaluation
        let transitions = checkHistory.observe(evaluation, at: clock())
        if !transitions.isEmpty {
            for transition in transitions {
                logger.notice(
                    "check \(transition.arrow)",
                    metadata: ["service": "\(evaluation.service)", "check": "\(transition.check)", "reason": "\(transition.reason ?? "-")"])
            }
            saveCheckHistory()
        }
        republish()
    }

    /// Writes the history; a failure is logged, and the next transition tries again.
    private func saveCheckHistory() {
        do {
            try checkHistoryFile.save(checkHistory)
        } catch {
            logger.error("\(error)")
        }
    }

    // MARK: forces

    /// Re-reads forces from disk (litmus_paper may have written files) and drops expired ones.
    public func refreshForces() {
        Self.reloadForces(&forceStore, services: settings.services.keys, now: clock(), logger: logger)
        removeExpiredForces()
        republish()
    }

    /// Re-reads the forces and logs their problems; an unreadable force file is logged when it
    /// starts, changes or ends, not at every refresh (one per evaluation interval).
    private static func reloadForces(_ forceStore: inout ForceStore, services: some Sequence<String>, now: Date, logger: Logger) {
        let before = forceStore.fileProblem
        for problem in forceStore.reload(knownServices: services, now: now) {
            logger.error("force store problem", metadata: ["problem": "\(problem)"])
        }
        guard forceStore.fileProblem != before else { return }
        if let problem = forceStore.fileProblem {
            logger.error("force file unreadable", metadata: ["problem": "\(problem)"])
        } else {
            logger.notice("force file reads well again", metadata: ["path": "\(forceStore.directory)/\(ForceStore.fileName)"])
        }
    }

    public func removeExpiredForces() {
        do {
            for force in try forceStore.removeExpired(now: clock()) {
                logger.notice(
                    "force expired", metadata: ["scope": "\(force.scope)", "direction": "\(force.direction.rawValue)", "reason": "\(force.reason)"])
            }
        } catch {
            logger.error("cannot remove expired forces", metadata: ["error": "\(error)"])
        }
    }

    public func setForce(_ force: Force) throws(ForceStoreError) {
        try forceStore.set(force)
        republish()
        logger.notice(
            "force set",
            metadata: ["scope": "\(force.scope)", "state": "\(force.state)", "reason": "\(force.reason)", "author": "\(force.author ?? "-")"]
        )
    }

    public func removeForce(scope: Force.Scope, direction: ForceDirection) throws(ForceStoreError) -> Bool {
        let removed = try forceStore.remove(scope: scope, direction: direction)
        republish()
        if removed { logger.notice("force removed", metadata: ["scope": "\(scope)", "direction": "\(direction.rawValue)"]) }
        return removed
    }

    public var allForces: [Force] { forceStore.forces.filter { !$0.isExpired(at: clock()) } }

    // MARK: status

    /// The current status of a service, or `nil` if no such service is configured.
    public func status(of service: String) -> ServiceStatus? {
        guard settings.services[service] != nil else { return nil }
        let now = clock()
        var status = ServiceStatus(
            service: service, evaluation: evaluations[service], forces: forceStore.forces(for: service, now: now), now: now,
            stalenessLimit: settings.stalenessLimit, forceFileProblem: forceStore.fileProblem
        )
        status.transitions = checkHistory.transitions(of: service)
        return status
    }

    public func allStatuses() -> [ServiceStatus] {
        serviceNames.compactMap { status(of: $0) }
    }
}
