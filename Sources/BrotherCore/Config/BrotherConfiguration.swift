import Foundation
import IPVS
import YAML

/// brother's configuration: big_brother's YAML as it is, plus additive keys.
///
/// ```yaml
/// _big_brother:            # defaults, deep-merged under every cluster (cluster keys win)
///   check_interval: 1
/// clusters:
///   - cluster_name: app
///     fwmark: 101          # or service: "TCP 198.51.100.10:80"
///     scheduler: wrr
///     nodes:
///       - {address: 10.0.1.11, port: 9293, path: /app/status}
/// ```
/// The keys, defaults and semantics are documented in `brother.yml(5)`.
public struct BrotherConfiguration: Hashable, Sendable {
    public var clusters: [ClusterConfiguration]
    /// `admin:`: who may change state through the API, besides the command line's networks and token.
    public var admin: BrotherAdminSettings
    /// big_brother keys the text gives that brother accepts but does not act on: `_big_brother`'s,
    /// then each cluster's (its own keys, then its nodes').
    /// They describe the file, not what brother runs: two configurations with the same clusters are
    /// equal whatever their warnings.
    public var warnings: [BrotherConfigurationWarning]
    /// `sync:`: the IPVS connection-sync daemons' parameters, for `brother sync master|backup`; `nil` without the section.
    public var sync: BrotherSyncSettings?
    /// `_big_brother.poll_threads`: how many poll loops (threads) share the agents; `nil` lets brother
    /// choose (one per 10,000 agents, at most one per core). Read at start: a reload keeps the loops running.
    public var pollThreads: Int?

    public init(
        clusters: [ClusterConfiguration], warnings: [BrotherConfigurationWarning] = [], admin: BrotherAdminSettings = BrotherAdminSettings(),
        sync: BrotherSyncSettings? = nil, pollThreads: Int? = nil
    ) {
        self.clusters = clusters
        self.warnings = warnings
        self.admin = admin
        self.sync = sync
        self.pollThreads = pollThreads
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.clusters == rhs.clusters && lhs.admin == rhs.admin && lhs.sync == rhs.sync }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(clusters)
        hasher.combine(admin)
        hasher.combine(sync)
    }

    /// Parses a configuration's text; `source` names it in errors and warnings (usually the file's path).
    /// - Throws: ``BrotherConfigurationError`` listing every problem found.
    public init(yaml text: String, source: String) throws {
        switch Self.parse(yaml: text, source: source) {
        case .success(let parsed):
            self.init(
                clusters: parsed.clusters,
                warnings: parsed.warnings.map { BrotherConfigurationWarning(source: source, path: $0.path, message: $0.message) },
                admin: parsed.admin, sync: parsed.sync, pollThreads: parsed.pollThreads)
        case .failure(let problems): throw BrotherConfigurationError(source: source, problems: problems.list)
        }
    }

    /// Every problem in a configuration's text, in document order; empty when it is valid. The problems
    /// name no file.
    public static func validate(yaml text: String) -> [BrotherConfigurationError.Problem] {
        if case .failure(let problems) = parse(yaml: text, source: "") { return problems.list }
        return []
    }

    /// Reads and parses a file.
    /// - Throws: ``BrotherConfigurationError`` (an unreadable file is one problem at the empty path).
    public static func load(path: String) throws -> BrotherConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BrotherConfigurationError(
                source: path, problems: [.init(file: path, path: "", message: "cannot read the file: \(error.localizedDescription)")])
        }
        return try BrotherConfiguration(yaml: text, source: path)
    }

    /// The cluster of that name.
    public func cluster(named name: String) -> ClusterConfiguration? { clusters.first { $0.name == name } }

    private struct Problems: Error { var list: [BrotherConfigurationError.Problem] }

    /// What a valid text holds: the warnings are problems (path and message) that do not stop it.
    private struct Parsed {
        var clusters: [ClusterConfiguration]
        var warnings: [BrotherConfigurationError.Problem]
        var admin: BrotherAdminSettings
        var sync: BrotherSyncSettings?
        var pollThreads: Int?
    }

    /// The clusters, the warnings, the admin and sync settings of a valid text.
    private static func parse(yaml text: String, source: String) -> Result<Parsed, Problems> {
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(text, file: source)
        } catch {
            var problem = error
            problem.message = "not valid YAML: \(problem.message)"
            return .failure(Problems(list: [problem]))
        }
        var reader = ConfigReader(file: source)
        guard let root else {
            return .failure(Problems(list: [.init(file: source, path: "", message: "is empty; it needs a `clusters` list")]))
        }
        let top =
            reader.entries(
                of: root, at: "", known: ["_big_brother", "clusters", "admin", "sync"],
                hint: "`_big_brother`, `clusters`, `admin` and `sync`") ?? []
        let topLevel = Dictionary(top, uniquingKeysWith: { first, _ in first })

        var defaults: [String: LocatedNode] = [:]
        var pollThreads: Int?
        if let block = topLevel["_big_brother"] {
            let known = ClusterKeys.shared.union(ClusterKeys.defaultsOnly)
            for (key, value) in reader.entries(of: block.node, at: block.path, known: known, hint: "cluster defaults") ?? [] {
                // brother's own, for the whole process rather than a cluster default.
                if key == "poll_threads" {
                    pollThreads = reader.integer(value, in: 1...ClusterKeys.maximumPollThreads)
                    continue
                }
                defaults[key] = value
                // Once here, at the default's own path, not once per cluster it is merged under.
                if let instead = ClusterKeys.ignored[key] { reader.warn(value.path, instead) }
            }
        }

        var clusters: [ClusterConfiguration] = []
        if let list = topLevel["clusters"] {
            for item in reader.list(list) ?? [] {
                if let cluster = ClusterParser.parse(item, defaults: defaults, reader: &reader) { clusters.append(cluster) }
            }
        } else if root.mapping != nil {
            reader.report("clusters", "required: a list of clusters")
        }
        checkUniqueness(clusters, reader: &reader)
        let admin = topLevel["admin"].map { BrotherAdminSettings.read($0, reader: &reader) } ?? BrotherAdminSettings()
        let sync = topLevel["sync"].flatMap { BrotherSyncSettings.read($0, reader: &reader) }

        guard reader.problems.isEmpty else { return .failure(Problems(list: reader.problems)) }
        return .success(Parsed(clusters: clusters, warnings: reader.warnings, admin: admin, sync: sync, pollThreads: pollThreads))
    }

    /// Names, services and VIPs must each belong to one cluster: two owners would fight over one
    /// kernel object.
    private static func checkUniqueness(_ clusters: [ClusterConfiguration], reader: inout ConfigReader) {
        var names: [String: Int] = [:]
        var services: [VirtualService.ID: Int] = [:]
        var vips: [ClusterVIP: Int] = [:]
        for (index, cluster) in clusters.enumerated() {
            let path = "clusters[\(index)]"
            if let first = names[cluster.name] {
                reader.report("\(path).cluster_name", "\"\(cluster.name)\" is already the name of clusters[\(first)]")
            } else {
                names[cluster.name] = index
            }
            if let first = services[cluster.serviceID] {
                let key = cluster.fwmark == nil ? "service" : "fwmark"
                reader.report("\(path).\(key)", "\(cluster.serviceID) is already used by clusters[\(first)] (\(clusters[first].name))")
            } else {
                services[cluster.serviceID] = index
            }
            for (vipIndex, vip) in cluster.vips.enumerated() {
                if let first = vips[vip] {
                    reader.report("\(path).vips[\(vipIndex)]", "\(vip) is already a VIP of clusters[\(first)] (\(clusters[first].name))")
                } else {
                    vips[vip] = index
                }
            }
        }
    }
}
