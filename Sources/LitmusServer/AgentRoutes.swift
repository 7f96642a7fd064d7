import AccessControl
import HTTPServing
import HTTPTypes
import Hummingbird
import LitmusCore
import LitmusWire
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// litmus_paper's HTTP API, byte for byte, plus JSON on request and a Prometheus `/metrics`.
public struct AgentRoutes: Sendable {
    let state: AgentState
    let transport: ServerTransport
    /// Renders the Prometheus exposition; supplied by the executable, which owns the metrics backend.
    let renderMetrics: (@Sendable () -> String)?
    let now: @Sendable () -> Date

    public init(
        state: AgentState, transport: ServerTransport, renderMetrics: (@Sendable () -> String)? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.state = state
        self.transport = transport
        self.renderMetrics = renderMetrics
        self.now = now
    }

    static let healthHeader = HTTPField.Name(HealthReport.healthHeader)!
    static let forcedHeader = HTTPField.Name(HealthReport.forcedHeader)!
    static let ageHeader = HTTPField.Name("X-Health-Age")!
    static let staleHeader = HTTPField.Name("X-Health-Stale")!
    /// litmus-forces.json cannot be read: which forces hold instead. A header, as the body is litmus_paper's to the byte.
    static let forceFileHeader = HTTPField.Name("X-Litmus-Force-File")!
    static let tokenHeader = HTTPField.Name("X-Litmus-Token")!
    static let pollerHeader = HTTPField.Name(HealthReport.pollerHeader)!
    static let pollerWeightHeader = HTTPField.Name(HealthReport.pollerWeightHeader)!
    static let pollerConnectionsHeader = HTTPField.Name(HealthReport.pollerConnectionsHeader)!
    static let pollerTokenHeader = HTTPField.Name(HealthReport.pollerTokenHeader)!

    /// Builds the router; every handler answers 4xx with a reason for bad input and never throws a 500.
    public func buildRouter() -> Router<PeerRequestContext> {
        let router = Router(context: PeerRequestContext.self)
        router.middlewares.add(PlainErrorMiddleware(style: .litmusPaper))
        router.get("/") { request, _ in await self.table(request) }
        router.get("/metrics") { _, _ in await self.prometheus() }
        for direction in ForceDirection.allCases {
            router.post("/\(direction.rawValue)") { request, context in
                await self.createForce(request, context, scope: .global, direction: direction)
            }
            router.delete("/\(direction.rawValue)") { request, context in
                await self.deleteForce(request, context, scope: .global, direction: direction)
            }
            router.post("/:service/\(direction.rawValue)") { request, context in
                guard let scope = self.serviceScope(context) else { return self.badServiceName(request) }
                return await self.createForce(request, context, scope: scope, direction: direction)
            }
            router.delete("/:service/\(direction.rawValue)") { request, context in
                guard let scope = self.serviceScope(context) else { return self.badServiceName(request) }
                return await self.deleteForce(request, context, scope: scope, direction: direction)
            }
        }
        router.get("/:service/status") { request, context in await self.status(request, context) }
        router.get("/:service/metrics") { request, context in await self.serviceMetrics(request, context) }
        router.get("/:service/pollers") { _, context in self.pollers(context) }
        return router
    }

    // MARK: reads

    /// The brothers that poll a service and what they last said (JSON).
    func pollers(_ context: PeerRequestContext) -> Response {
        json(.ok, state.pollers.reports(for: context.parameters.get("service") ?? ""))
    }

    func status(_ request: Request, _ context: PeerRequestContext) async -> Response {
        // Kept only from a trusted brother and for a configured service; the answer is the same
        // bytes whoever polls (litmus_paper's pollers send no such headers at all).
        if let poller = request.headers[AgentRoutes.pollerHeader], let name = context.parameters.get("service") {
            state.pollers.record(
                service: name, poller: poller, weight: request.headers[AgentRoutes.pollerWeightHeader],
                connections: request.headers[AgentRoutes.pollerConnectionsHeader], token: request.headers[AgentRoutes.pollerTokenHeader],
                peer: context.remoteIPAddress, viaUnixSocket: transport == .unixSocket, at: now())
        }
        // Hot path: the status rendered at the last change, without an actor hop (the same answer
        // StatusAnswers gives on the event loop, for requests that reach the router).
        if !request.wantsJSON, let name = context.parameters.get("service") {
            let now = self.now()
            if let snapshot = state.snapshots.lookup(name, now: now) {
                let answer = AgentRoutes.snapshotAnswer(snapshot, now: now)
                return Response(status: answer.status, headers: answer.headerFields, body: .init(byteBuffer: answer.body))
            }
        }
        guard let name = context.parameters.get("service"), let status = await state.status(of: name) else {
            var headers = HTTPFields()
            headers[AgentRoutes.healthHeader] = "0"
            if request.wantsJSON { return json(.notFound, ["error": "NOT FOUND"], headers: headers) }
            return text(.notFound, "NOT FOUND", headers: headers)
        }
        var headers = HTTPFields()
        headers[AgentRoutes.healthHeader] = String(status.reported)
        if let forced = status.forced { headers[AgentRoutes.forcedHeader] = forced.direction.rawValue }
        if let age = status.age { headers[AgentRoutes.ageHeader] = AgentRoutes.milliseconds(age) }
        if let stale = status.staleReason { headers[AgentRoutes.staleHeader] = stale }
        if let problem = status.forceFileProblem { headers[AgentRoutes.forceFileHeader] = problem }
        let code: HTTPResponse.Status = status.reported > 0 ? .ok : .serviceUnavailable
        if request.wantsJSON { return json(code, status, headers: headers) }
        return text(code, StatusText.status(status), headers: headers)
    }

    func table(_ request: Request) async -> Response {
        let statuses = await state.allStatuses()
        if request.wantsJSON { return json(.ok, statuses) }
        return text(.ok, StatusText.table(statuses, version: LitmusVersion.current))
    }

    func serviceMetrics(_ request: Request, _ context: PeerRequestContext) async -> Response {
        guard let name = context.parameters.get("service"), let status = await state.status(of: name) else {
            return text(.notFound, "NOT FOUND")
        }
        return text(.ok, StatusText.metrics(status))
    }

    func prometheus() async -> Response {
        guard let renderMetrics else { return text(.notFound, "NOT FOUND") }
        for status in await state.allStatuses() { ReportedHealthMetrics.record(status) }
        DrainReportMetrics.record(state.pollers)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: renderMetrics())))
    }

    // MARK: force changes

    func createForce(_ request: Request, _ context: PeerRequestContext, scope: Force.Scope, direction: ForceDirection) async -> Response {
        // litmus_paper's litmusctl posts a plain form: the browser checks stop pages (see docs/litmus.md).
        if let denied = await authorize(request, context, simple: .allowed) { return denied }
        let fields: FormFields
        do { fields = try await request.formFields() } catch { return text(.badRequest, "\(error)") }
        let forceRequest: ForceRequest
        do {
            forceRequest = try ForceRequest(scope: scope, direction: direction, fields: fields)
        } catch {
            return request.wantsJSON ? json(.badRequest, ["error": error.description]) : text(.badRequest, error.description)
        }
        let force = forceRequest.force(now: now())
        do {
            try await state.setForce(force)
        } catch {
            return text(.serviceUnavailable, error.description)
        }
        if request.wantsJSON { return json(.created, force) }
        return text(.created, "File created")
    }

    func deleteForce(_ request: Request, _ context: PeerRequestContext, scope: Force.Scope, direction: ForceDirection) async -> Response {
        if let denied = await authorize(request, context) { return denied }
        do {
            guard try await state.removeForce(scope: scope, direction: direction) else {
                return request.wantsJSON ? json(.notFound, ["error": "NOT FOUND"]) : text(.notFound, "NOT FOUND")
            }
        } catch {
            return text(.serviceUnavailable, error.description)
        }
        return request.wantsJSON ? json(.ok, ["result": "deleted"]) : text(.ok, "File deleted")
    }

    func authorize(
        _ request: Request, _ context: PeerRequestContext, simple: CrossSiteGuard.SimpleRequests = .refused
    ) async -> Response? {
        let gate = AdminGate(policy: AdminPolicy(access: await state.settings.admin), tokenHeader: AgentRoutes.tokenHeader)
        switch await gate.decide(request, context, transport: transport, simple: simple) {
        case .allowed: return nil
        case .needsToken(let reason): return text(.unauthorized, reason)
        case .forbidden(let reason): return text(.forbidden, reason)
        }
    }

    // MARK: helpers

    func serviceScope(_ context: PeerRequestContext) -> Force.Scope? {
        guard let name = context.parameters.get("service"), ServiceName.isValid(name), name != "global" else { return nil }
        return .service(name)
    }

    func badServiceName(_ request: Request) -> Response {
        text(.badRequest, "service names may use only letters, digits and _ : . - (and not be \"global\")")
    }

    func text(_ status: HTTPResponse.Status, _ body: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/plain"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension AgentRoutes {
    /// litmus_paper's status answer from a rendered snapshot: the fields (in the order the router
    /// writes them) and the body, for both the router and the event-loop path.
    static func snapshotAnswer(_ snapshot: RenderedStatus, now: Date) -> EventLoopAnswer {
        let status = snapshot.status
        var headers = HTTPFields()
        headers[.contentType] = "text/plain"
        headers[AgentRoutes.healthHeader] = String(status.reported)
        if let forced = status.forced { headers[AgentRoutes.forcedHeader] = forced.direction.rawValue }
        if let evaluatedAt = status.evaluatedAt {
            headers[AgentRoutes.ageHeader] = AgentRoutes.milliseconds(max(0, now.timeIntervalSince(evaluatedAt)))
        }
        if let stale = status.staleReason { headers[AgentRoutes.staleHeader] = stale }
        if let problem = status.forceFileProblem { headers[AgentRoutes.forceFileHeader] = problem }
        return EventLoopAnswer(status: status.reported > 0 ? .ok : .serviceUnavailable, headerFields: headers, body: snapshot.body)
    }

    /// Seconds with three decimals, without Foundation's `String(format:)` on the hot path.
    static func milliseconds(_ seconds: Double) -> String {
        let total = Int((seconds * 1000).rounded())
        let fraction = total % 1000
        return "\(total / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }
}
