import AccessControl
import BrotherCore
import BrotherMonitor
import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import IPVS
import LitmusWire
import NIOCore

/// brother's HTTP API: big_brother's routes with its exact bodies and codes, JSON for every
/// resource on `Accept: application/json`, per-node forces, reload and Prometheus `/metrics`.
///
/// | route | |
/// |---|---|
/// | GET `/` | big_brother's cluster list |
/// | GET `/cluster/<n>` | `Running: …` / `CombinedWeight: …`; resumes a stopped cluster found in the kernel (callers allowed to change state only) |
/// | GET `/cluster/<n>/status` | the same, never a side effect |
/// | GET `/cluster/<n>/status_detail` | big_brother's JSON |
/// | PUT / DELETE `/cluster/<n>` | start / stop with a drain: 200 `OK`, 304 when already so |
/// | GET `/cluster/<n>/nodes/<node>` | one node: weight and why, health, connections, force |
/// | PUT `/cluster/<n>/nodes/<node>/up\|down\|drain`, DELETE `…/force` | per-node forces (`reason` field) |
/// | PUT / DELETE `/cluster/<n>/members/<address:port>` | a node joins with `ttl`, `agent_port`, `path` (refresh = PUT again) / leaves; the cluster's join token suffices |
/// | POST `/reload` | re-read the configuration; 422 and nothing changed when invalid |
/// | GET `/metrics` | Prometheus |
/// | GET `/health` | 200 while every managed cluster's rounds are fresh, 503 naming the stale ones (``RoundLiveness``) |
/// | GET `/dashboard`, `/events` | the live dashboard and its server-sent events (a JSON snapshot on every change; ``DashboardEvents``) |
public struct BrotherRoutes: Sendable {
    let monitor: ClusterMonitor
    let transport: ServerTransport
    let access: AdminAccess
    let reloader: ConfigurationReloader?
    let events: DashboardEvents
    let now: @Sendable () -> Date
    /// When this router was made: the age of a cluster that has had no round yet.
    let since: Date

    /// - Parameters:
    ///   - events: the event streams, shared by every listener of one brother (their subscriber
    ///     limit and their encoded snapshot); by default this router's own.
    ///   - now: the wall clock the ages of rounds are measured with (tests move it).
    public init(
        monitor: ClusterMonitor, transport: ServerTransport, access: AdminAccess = AdminAccess(), reloader: ConfigurationReloader? = nil,
        events: DashboardEvents? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.now = now
        self.since = now()
        self.monitor = monitor
        self.transport = transport
        self.access = access
        self.reloader = reloader
        self.events = events ?? DashboardEvents(monitor: monitor)
    }

    /// big_brother answers with Sinatra's default type; kept so that byte-for-byte clients see no change.
    static let bigBrotherContentType = "text/html;charset=utf-8"
    static let tokenHeader = HTTPField.Name("X-Brother-Token")!
    static let wording = AdminPolicy.Wording(
        subject: "changes", socket: "brother's Unix socket", networksSetting: "--admin-network", tokenSetting: "--admin-token-file",
        loopbackSetting: "admin.trust_loopback in brother.yml", socketGroupSetting: "admin.socket_group in brother.yml",
        serverNamesSetting: "admin.server_names in brother.yml")

    public func buildRouter() -> Router<PeerRequestContext> {
        let router = Router(context: PeerRequestContext.self)
        router.middlewares.add(PlainErrorMiddleware(style: .bigBrother))
        router.get("/") { request, _ in await self.index(request) }
        router.get("/metrics") { _, _ in await self.metrics() }
        router.get("/health") { request, _ in await self.health(request) }
        router.get("/dashboard") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("/events") { _, _ in self.events.response() }
        router.post("/reload") { request, context in await self.reload(request, context) }
        router.get("/cluster/:name") { request, context in await self.clusterStatus(request, context, synchronize: true) }
        router.get("/cluster/:name/status") { request, context in await self.clusterStatus(request, context, synchronize: false) }
        router.get("/cluster/:name/status_detail") { request, context in await self.statusDetail(request, context) }
        router.put("/cluster/:name") { request, context in await self.start(request, context) }
        router.delete("/cluster/:name") { request, context in await self.stop(request, context) }
        router.get("/cluster/:name/nodes/:node") { request, context in await self.nodeDetail(request, context) }
        for force in [WeightForce.up, .down, .drain] {
            router.put("/cluster/:name/nodes/:node/\(force.rawValue)") { request, context in await self.force(request, context, force) }
            router.post("/cluster/:name/nodes/:node/\(force.rawValue)") { request, context in await self.force(request, context, force) }
        }
        router.delete("/cluster/:name/nodes/:node/force") { request, context in await self.force(request, context, nil) }
        router.put("/cluster/:name/members/:node") { request, context in await self.join(request, context) }
        router.delete("/cluster/:name/members/:node") { request, context in await self.leave(request, context) }
        return router
    }

    // MARK: big_brother's routes

    func index(_ request: Request) async -> Response {
        let statuses = await monitor.statuses()
        if request.wantsJSON {
            return json(
                .ok,
                IndexView(version: BrotherVersion.current, clusters: statuses.map { ClusterView($0, now: now()) }, lastReload: await reloadView()))
        }
        let running = statuses.filter(\.phase.isRunning).map { (label: ClusterView.label($0.configuration), combinedWeight: $0.combinedWeight) }
        let stopped = statuses.filter { !$0.phase.isRunning }.map { ClusterView.label($0.configuration) }
        return bigBrother(.ok, BigBrotherText.index(running: running, stopped: stopped))
    }

    func clusterStatus(_ request: Request, _ context: PeerRequestContext, synchronize: Bool) async -> Response {
        guard let name = context.clusterName, var status = await monitor.status(of: name) else { return notFound(request, context) }
        // The side effect of big_brother's GET is a change: only for callers allowed to make changes,
        // and never for a page of another site (a GET stays simple: big_brother's clients send it so).
        if synchronize, status.phase == .stopped, await authorizationFailure(request, context, simple: .allowed) == nil {
            try? await monitor.synchronize(cluster: name)
            status = await monitor.status(of: name) ?? status
        }
        if request.wantsJSON { return json(.ok, ClusterView(status, now: now())) }
        return bigBrother(.ok, BigBrotherText.clusterStatus(running: status.phase.isRunning, combinedWeight: status.combinedWeight))
    }

    func statusDetail(_ request: Request, _ context: PeerRequestContext) async -> Response {
        guard let name = context.clusterName, let status = await monitor.status(of: name) else { return notFound(request, context) }
        let nodes = status.effective.realServers.map { (address: "\($0.address)", weight: status.weight(of: $0.destinationID)) }
        return bigBrother(.ok, BigBrotherText.statusDetail(cluster: name, running: status.phase.isRunning, nodes: nodes))
    }

    func start(_ request: Request, _ context: PeerRequestContext) async -> Response {
        if let denied = await authorizationFailure(request, context) { return denied }
        guard let name = context.clusterName, await monitor.status(of: name) != nil else { return notFound(request, context) }
        do {
            try await monitor.synchronize(cluster: name)
            if await monitor.status(of: name)?.phase.isRunning == true { return notModified() }
            try await monitor.start(cluster: name)
        } catch {
            return failure(request, .notFound, error.description)
        }
        return changed(request, name)
    }

    func stop(_ request: Request, _ context: PeerRequestContext) async -> Response {
        if let denied = await authorizationFailure(request, context) { return denied }
        guard let name = context.clusterName, await monitor.status(of: name) != nil else { return notFound(request, context) }
        do {
            guard try await monitor.stop(cluster: name) else { return notModified() }
        } catch {
            return failure(request, .notFound, error.description)
        }
        return changed(request, name)
    }

    // MARK: brother's additions

    func nodeDetail(_ request: Request, _ context: PeerRequestContext) async -> Response {
        guard let name = context.clusterName, await monitor.status(of: name) != nil else { return notFound(request, context) }
        let text = context.pathParameter("node") ?? ""
        do {
            let id = try await monitor.node(text, of: name)
            return nodeResponse(request, await monitor.status(of: name), id)
        } catch {
            return failure(request, .notFound, error.description)
        }
    }

    func force(_ request: Request, _ context: PeerRequestContext, _ force: WeightForce?) async -> Response {
        if let denied = await authorizationFailure(request, context) { return denied }
        guard let name = context.clusterName, await monitor.status(of: name) != nil else { return notFound(request, context) }
        let fields: FormFields
        do {
            fields = try await request.formFields()
        } catch {
            return failure(request, .badRequest, "\(error)")
        }
        let reason = fields["reason"].flatMap { $0.isEmpty ? nil : $0 }
        if let reason, reason.count > 1000 || reason.contains(where: \.isNewline) {
            return failure(request, .badRequest, "reason must be one line of at most 1000 characters")
        }
        do {
            let id = try await monitor.node(context.pathParameter("node") ?? "", of: name)
            _ = try await monitor.setForce(force, node: "\(id)", cluster: name, reason: reason)
            return nodeResponse(request, await monitor.status(of: name), id)
        } catch {
            return failure(request, .notFound, error.description)
        }
    }

    /// Dynamic membership: `PUT /cluster/<n>/members/<address:port>` with the fields of
    /// ``MemberRegistration`` (the contract litmus's registrar sends).
    func join(_ request: Request, _ context: PeerRequestContext) async -> Response {
        let name = context.clusterName ?? ""
        let status = await monitor.status(of: name)
        if let denied = await membershipFailure(request, context, cluster: name, joinToken: status?.configuration.joinToken) { return denied }
        guard status != nil else { return notFound(request, context) }
        let text = context.pathParameter("node") ?? ""
        guard let id = Destination.ID(parsing: text), id.port > 0 else {
            return failure(request, .badRequest, "member \"\(text)\" is not ADDRESS:PORT (the real server as IPVS sees it, e.g. 192.0.2.2:8080)")
        }
        let member: MemberRegistration
        do {
            member = try MemberRegistration(fields: try await request.formFields())
        } catch {
            return failure(request, .badRequest, "\(error)")
        }
        var node = NodeConfiguration(
            address: id.address, port: UInt16(member.agentPort), path: member.statusPath(cluster: name), priority: member.priority,
            maxWeight: member.maxWeight, realPort: id.port, capacity: member.capacity ?? 1)
        node.group = member.group
        do {
            let isNew = try await monitor.join(cluster: name, node: node, ttl: .seconds(member.ttl))
            let response = nodeResponse(request, await monitor.status(of: name), id)
            return isNew ? Response(status: .created, headers: response.headers, body: response.body) : response
        } catch {
            return failure(request, .badRequest, error.description)
        }
    }

    func leave(_ request: Request, _ context: PeerRequestContext) async -> Response {
        let name = context.clusterName ?? ""
        let status = await monitor.status(of: name)
        if let denied = await membershipFailure(request, context, cluster: name, joinToken: status?.configuration.joinToken) { return denied }
        guard status != nil else { return notFound(request, context) }
        do {
            try await monitor.leave(cluster: name, node: context.pathParameter("node") ?? "")
        } catch {
            return failure(request, .notFound, error.description)
        }
        return changed(request, name)
    }

    func reload(_ request: Request, _ context: PeerRequestContext) async -> Response {
        if let denied = await authorizationFailure(request, context) { return denied }
        guard let reloader else { return failure(request, .notFound, "this brother has no configuration file to reload") }
        switch await reloader.reload() {
        case .applied(let report):
            if request.wantsJSON { return json(.ok, ["result": "reloaded", "changes": report.description]) }
            return plain(.ok, "reloaded: \(report)\n")
        case .refused(let error):
            if request.wantsJSON { return json(.unprocessableContent, ["error": error]) }
            return plain(.unprocessableContent, "reload refused, nothing changed:\n\(error)\n")
        }
    }

    /// Liveness for Pacemaker's monitor, systemd's watchdog and load balancers in front: whether
    /// every cluster brother manages has completed a round recently (``RoundLiveness``).
    func health(_ request: Request) async -> Response {
        let statuses = await monitor.statuses()
        let stale = RoundLiveness.stale(statuses, now: now(), since: since)
        let managed = statuses.filter { $0.phase != .stopped }.count
        let status: HTTPResponse.Status = stale.isEmpty ? .ok : .serviceUnavailable
        if request.wantsJSON {
            return json(status, HealthView(healthy: stale.isEmpty, managedClusters: managed, stale: stale.map(HealthView.StaleView.init)))
        }
        if stale.isEmpty { return plain(.ok, "OK: rounds are fresh in all \(managed) managed clusters\n") }
        return plain(status, "STALE: \(stale.count) of \(managed) managed clusters have no recent round\n" + stale.map { "\($0)\n" }.joined())
    }

    struct HealthView: Codable {
        struct StaleView: Codable {
            var cluster: String
            var ageSeconds: Double
            var limitSeconds: Double
            var hasRun: Bool

            init(_ stale: RoundLiveness.Stale) {
                cluster = stale.cluster
                ageSeconds = stale.age
                limitSeconds = stale.limit
                hasRun = stale.hasRun
            }
        }

        var healthy: Bool
        var managedClusters: Int
        var stale: [StaleView]
    }

    func metrics() async -> Response {
        let text = PrometheusText.render(statuses: await monitor.statuses(), counters: await monitor.counters, now: now())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: helpers

    struct IndexView: Codable {
        var version: String
        var clusters: [ClusterView]
        var lastReload: ReloadView?
    }

    struct ReloadView: Codable {
        var time: Date
        var error: String?
    }

    func reloadView() async -> ReloadView? {
        guard let last = await monitor.lastReload else { return nil }
        return ReloadView(time: last.time, error: last.error)
    }

    func nodeResponse(_ request: Request, _ status: ClusterStatus?, _ id: Destination.ID) -> Response {
        guard let status, let node = ClusterView(status).nodes.first(where: { $0.node == "\(id)" }) else {
            return failure(request, .notFound, "node \(id) not found")
        }
        if request.wantsJSON { return json(.ok, node) }
        var lines = [
            "Node: \(node.node)", "Cluster: \(status.name)", "Weight: \(node.weight)", "Reason: \(node.reason)",
            "Health: \(node.health.map(String.init) ?? "unknown")", "Agent: \(node.agent)",
            "ActiveConnections: \(node.activeConnections)", "InactiveConnections: \(node.inactiveConnections)",
        ]
        // Only with a capacity: the text stays as it was for every node without one.
        if node.capacity != 1 { lines.insert(contentsOf: ["Capacity: \(node.capacity)", "KernelWeight: \(node.kernelWeight)"], at: 3) }
        if let force = node.force { lines.append("Forced: \(force)\(node.forceReason.map { " (\($0))" } ?? "")") }
        if let force = node.fileForce { lines.append("FileForced: \(force) (\(node.fileForcePath ?? ""))") }
        if let draining = node.draining { lines.append("Draining: \(draining)") }
        if let problem = node.lastPollProblem { lines.append("LastPollProblem: \(problem)") }
        return plain(.ok, lines.joined(separator: "\n") + "\n")
    }

    func changed(_ request: Request, _ name: String) -> Response {
        if request.wantsJSON { return json(.ok, ["result": "OK", "cluster": name]) }
        return bigBrother(.ok, "OK")
    }

    func notModified() -> Response { Response(status: .notModified) }

    func notFound(_ request: Request, _ context: PeerRequestContext) -> Response {
        let name = context.clusterName ?? ""
        if request.wantsJSON { return json(.notFound, ["error": BigBrotherText.notFound(name)]) }
        return bigBrother(.notFound, BigBrotherText.notFound(name))
    }

    /// - Parameter simple: `.allowed` only for the routes brother-api(7) lists as staying simple.
    func authorizationFailure(
        _ request: Request, _ context: PeerRequestContext, simple: CrossSiteGuard.SimpleRequests = .refused
    ) async -> Response? {
        // The networks and the token come from the command line, the rest from brother.yml (reloadable).
        let settings = await monitor.adminSettings
        let access = AdminAccess(
            allowedNetworks: self.access.allowedNetworks, token: self.access.token, trustLoopback: settings.trustLoopback,
            socketGroup: settings.socketGroup, serverNames: settings.serverNames)
        let gate = AdminGate(policy: AdminPolicy(access: access, wording: BrotherRoutes.wording), tokenHeader: BrotherRoutes.tokenHeader)
        switch await gate.decide(request, context, transport: transport, simple: simple) {
        case .allowed: return nil
        case .needsToken(let reason): return failure(request, .unauthorized, reason)
        case .forbidden(let reason): return failure(request, .forbidden, reason)
        }
    }

    /// The membership routes' gate (``MembershipGate``): the cluster's join token opens them by itself
    /// (a web page cannot know it); without it they are changes like any other, behind the whole admin
    /// gate with its cross-site checks.
    func membershipFailure(_ request: Request, _ context: PeerRequestContext, cluster: String, joinToken: String?) async -> Response? {
        let admin = AdminGate(policy: AdminPolicy(access: access, wording: BrotherRoutes.wording), tokenHeader: BrotherRoutes.tokenHeader)
        let gate = MembershipGate(admin: admin, joinToken: joinToken)
        if gate.acceptsJoinToken(in: request.headers) { return nil }
        guard let denied = await authorizationFailure(request, context) else { return nil }
        // A cluster that takes a join token says so, whatever else refused the request.
        return joinToken == nil ? denied : failure(request, .unauthorized, MembershipGate.advice(cluster: cluster))
    }

    func failure(_ request: Request, _ status: HTTPResponse.Status, _ message: String) -> Response {
        request.wantsJSON ? json(status, ["error": message]) : plain(status, message + "\n")
    }

    func bigBrother(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: BrotherRoutes.bigBrotherContentType], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func plain(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension PeerRequestContext {
    /// The `:name` path component, percent-decoded: clients encode a name with characters outside
    /// [A-Za-z0-9._~-] (ocf/brother-cluster does, and so does every URL library), and Hummingbird's
    /// parameters are the raw path. An encoding that does not decode (a stray `%`) names no cluster.
    var clusterName: String? { pathParameter("name") }

    func pathParameter(_ key: String) -> String? { parameters.get(key)?.removingPercentEncoding }
}
