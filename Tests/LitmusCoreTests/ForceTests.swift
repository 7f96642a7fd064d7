import AccessControl
import Foundation
import LitmusTesting
import LitmusWire
import Logging
import NetworkAddress
import Synchronization
import Testing

@testable import LitmusCore

@Suite struct ForcePrecedenceTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var forces: [(Force.Scope, ForcedState)]
        var measured: Int
        var reported: Int
        var winner: ForceDirection?
        var winnerScope: Force.Scope?
        var testDescription: String { forces.map { "\($0.0):\($0.1)" }.joined(separator: " + ") + " measured \(measured)" }
    }

    static let rows: [Row] = [
        Row(forces: [], measured: 70, reported: 70, winner: nil),
        Row(forces: [(.service("web"), .down)], measured: 70, reported: 0, winner: .down, winnerScope: .service("web")),
        Row(forces: [(.global, .up)], measured: 0, reported: 100, winner: .up, winnerScope: .global),
        Row(forces: [(.global, .health(40))], measured: 70, reported: 40, winner: .health, winnerScope: .global),
        Row(forces: [(.global, .health(40))], measured: 0, reported: 0, winner: .health, winnerScope: .global),
        // Unlike litmus_paper (global files first), down beats up whatever the scope.
        Row(forces: [(.global, .up), (.service("web"), .down)], measured: 70, reported: 0, winner: .down, winnerScope: .service("web")),
        Row(forces: [(.global, .down), (.service("web"), .up)], measured: 70, reported: 0, winner: .down, winnerScope: .global),
        Row(forces: [(.global, .health(90)), (.service("web"), .up)], measured: 10, reported: 100, winner: .up, winnerScope: .service("web")),
        Row(forces: [(.global, .health(30)), (.service("web"), .health(60))], measured: 80, reported: 30, winner: .health, winnerScope: .global),
        Row(forces: [(.global, .up), (.global, .down), (.global, .health(5))], measured: 50, reported: 0, winner: .down, winnerScope: .global),
        Row(forces: [(.service("other"), .down)], measured: 50, reported: 50, winner: nil),
    ]

    @Test(arguments: rows)
    func precedence(_ row: Row) {
        let now = Date()
        let forces = row.forces.map { Force(scope: $0.0, state: $0.1, reason: "r", createdAt: now) }
        let evaluation = ServiceEvaluation(
            service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: row.measured, duration: 0)], finishedAt: now, duration: 0
        )
        let status = ServiceStatus(service: "web", evaluation: evaluation, forces: forces, now: now, stalenessLimit: .seconds(30))
        #expect(status.measured == row.measured)
        #expect(status.reported == row.reported)
        #expect(status.forced?.direction == row.winner)
        #expect(status.forced?.scope == row.winnerScope)
        let applicable = forces.filter { $0.applies(to: "web") }
        #expect(status.otherForces.count == max(0, applicable.count - 1))
    }

    @Test func staleResultsCountAsZeroWithAReason() {
        let now = Date()
        let old = ServiceEvaluation(
            service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: 80, duration: 0)], finishedAt: now.addingTimeInterval(-40),
            duration: 0)
        let status = ServiceStatus(service: "web", evaluation: old, forces: [], now: now, stalenessLimit: .seconds(30))
        #expect(status.reported == 0)
        #expect(status.staleReason?.contains("staleness limit") == true)
        #expect(Int(status.age ?? 0) == 40)
        let fresh = ServiceStatus(service: "web", evaluation: old, forces: [], now: now.addingTimeInterval(-20), stalenessLimit: .seconds(30))
        #expect(fresh.reported == 80)
        #expect(fresh.staleReason == nil)
        let never = ServiceStatus(service: "web", evaluation: nil, forces: [], now: now, stalenessLimit: .seconds(30))
        #expect(never.reported == 0 && never.staleReason == "not evaluated yet")
    }

    @Test func measuredHealthRules() {
        let ok = DependencyResult(label: "d", available: true, duration: 0)
        let bad = DependencyResult(label: "d", available: false, detail: "x", duration: 0)
        let metrics = [MetricResult(label: "a", value: 60, duration: 0), MetricResult(label: "b", value: 70, duration: 0)]
        #expect(ServiceEvaluation(service: "s", dependencies: [ok], metrics: metrics, finishedAt: Date(), duration: 0).measured == 100)
        #expect(ServiceEvaluation(service: "s", dependencies: [ok, bad], metrics: metrics, finishedAt: Date(), duration: 0).measured == 0)
        #expect(ServiceEvaluation(service: "s", dependencies: [ok], metrics: [], finishedAt: Date(), duration: 0).measured == 0)
        #expect(ServiceEvaluation(service: "s", dependencies: [], metrics: [metrics[0]], finishedAt: Date(), duration: 0).measured == 60)
    }
}

/// A clock tests can move.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ date: Date = Date()) { current = Mutex(date) }
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite struct ForceStoreTests {
    func settings(_ dir: TemporaryDirectory) -> AgentSettings {
        var settings = AgentSettings()
        settings.dataDirectory = "\(dir.path)/data"
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [], metrics: [.constant(weight: 80)], file: "x")
        return settings
    }

    @Test func forcesExpireByThemselves() async throws {
        let dir = TemporaryDirectory()
        let clock = TestClock()
        let state = AgentState(settings: settings(dir), logger: Logger(label: "test"), clock: { clock.now })
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: 80, duration: 0)], finishedAt: clock.now, duration: 0))
        let request = try ForceRequest(
            scope: .service("web"), direction: .down, fields: FormFields(["reason": "deploy", "ttl": "60s", "author": "ops"]))
        try await state.setForce(request.force(now: clock.now))
        #expect(await state.status(of: "web")?.reported == 0)
        #expect(await state.status(of: "web")?.forced?.author == "ops")
        clock.advance(30)
        #expect(await state.status(of: "web")?.forced?.direction == .down)
        clock.advance(31)
        // Expired forces stop counting immediately, and are removed from disk on the next refresh.
        #expect(await state.status(of: "web")?.forced == nil)
        await state.removeExpiredForces()
        let json = try String(contentsOfFile: "\(dir.path)/data/litmus-forces.json", encoding: .utf8)
        #expect(!json.contains("deploy"))
    }

    @Test func forcesSurviveARestart() async throws {
        let dir = TemporaryDirectory()
        let first = AgentState(settings: settings(dir), logger: Logger(label: "test"))
        try await first.setForce(Force(scope: .global, state: .health(35), reason: "slow roll", author: "amy", createdAt: Date()))
        let second = AgentState(settings: settings(dir), logger: Logger(label: "test"))
        let force = try #require(await second.allForces.first)
        #expect(force.state == .health(35) && force.author == "amy" && force.reason == "slow roll")
    }

    @Test func litmusPaperForceFilesAreHonouredAndDeletable() async throws {
        let dir = TemporaryDirectory()
        dir.write("data/web_health", "health for testing\n88\n")
        dir.write("data/global_up", "everything up\n")
        let state = AgentState(settings: settings(dir), logger: Logger(label: "test"))
        await state.store(
            ServiceEvaluation(
                service: "web", dependencies: [], metrics: [MetricResult(label: "m", value: 0, duration: 0)], finishedAt: Date(), duration: 0))
        let status = try #require(await state.status(of: "web"))
        // Our precedence: up beats a health ceiling.
        #expect(status.forced?.direction == .up)
        #expect(status.forced?.origin == .litmusPaperFile)
        #expect(status.otherForces.map(\.statusReason) == ["health for testing 88"])
        #expect(try await state.removeForce(scope: .global, direction: .up))
        #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/data/global_up"))
        #expect(await state.status(of: "web")?.reported == 0)
        #expect(try await state.removeForce(scope: .global, direction: .up) == false)
    }

    /// Two services, each measured at 80.
    func agent(_ dir: TemporaryDirectory, clock: TestClock) async -> AgentState {
        var settings = settings(dir)
        settings.services["api"] = ServiceSpec(name: "api", dependencies: [], metrics: [.constant(weight: 80)], file: "x")
        let state = AgentState(settings: settings, logger: Logger(label: "test"), clock: { clock.now })
        for service in ["web", "api"] {
            await state.store(
                ServiceEvaluation(
                    service: service, dependencies: [], metrics: [MetricResult(label: "m", value: 80, duration: 0)], finishedAt: clock.now,
                    duration: 0))
        }
        return state
    }

    /// A power loss or a full disk can leave the force file cut short: the maintenance it holds goes on.
    @Test func aTruncatedForceFileKeepsTheLastGoodForcesAndSaysSo() async throws {
        let dir = TemporaryDirectory()
        let clock = TestClock()
        let state = await agent(dir, clock: clock)
        try await state.setForce(Force(scope: .service("web"), state: .down, reason: "maintenance", author: "ops", createdAt: clock.now))
        let path = "\(dir.path)/data/\(ForceStore.fileName)"
        let json = try Data(contentsOf: URL(fileURLWithPath: path))
        try json.prefix(json.count / 2).write(to: URL(fileURLWithPath: path))

        await state.refreshForces()
        let web = try #require(await state.status(of: "web"))
        #expect(web.reported == 0, "still forced down")
        #expect(web.forced?.reason == "maintenance")
        #expect(await state.status(of: "api")?.reported == 80)
        let problem = try #require(web.forceFileProblem)
        #expect(problem.hasPrefix("\(path) cannot be read (not a valid force list: "))
        #expect(problem.hasSuffix("keeping the 1 forces of its last good read"))
        #expect(StatusPresenter.render(web).contains("Force file: \(problem)\n"))

        // A change writes the forces litmus holds: the file is whole again.
        try await state.setForce(Force(scope: .service("api"), state: .health(50), reason: "half", createdAt: clock.now))
        await state.refreshForces()
        #expect(await state.status(of: "web")?.forceFileProblem == nil)
        #expect(await state.status(of: "web")?.reported == 0)
        #expect(await state.status(of: "api")?.reported == 50)
    }

    /// Unreadable from the start, the file may hold a force down: every service is held down until
    /// it reads well; then the forces are the file's again.
    @Test(arguments: ["truncated", "garbage", "directory"])
    func aForceFileUnreadableAtStartHoldsEveryServiceDown(_ damage: String) async throws {
        let dir = TemporaryDirectory()
        let clock = TestClock()
        let path = "\(dir.path)/data/\(ForceStore.fileName)"
        switch damage {
        case "truncated": _ = dir.write("data/\(ForceStore.fileName)", "[\n  {\n    \"createdAt\" : \"2026-12-07T01:")
        case "garbage": _ = dir.write("data/\(ForceStore.fileName)", "\u{1}\u{FFFD}not json")
        default: try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        let state = await agent(dir, clock: clock)
        for service in ["web", "api"] {
            let status = try #require(await state.status(of: service))
            #expect(status.reported == 0)
            #expect(status.forced?.origin == .unreadableForceFile)
            #expect(status.forced?.reason == "force file \(path) is unreadable: every service held down until it reads well")
            #expect(status.forceFileProblem?.hasSuffix("was never read well: every service is forced down") == true)
        }
        let since = await state.status(of: "web")?.forced?.createdAt
        clock.advance(5)
        await state.refreshForces()
        #expect(await state.status(of: "web")?.forced?.createdAt == since, "held down since the first read that failed")

        // Writing now would replace forces litmus never read.
        await #expect(throws: ForceStoreError.self) {
            try await state.setForce(Force(scope: .service("web"), state: .up, reason: "x", createdAt: clock.now))
        }
        #expect(await state.allForces.allSatisfy { $0.origin != .litmus })

        // Repaired: the file's forces, and only them.
        try? FileManager.default.removeItem(atPath: path)
        _ = dir.write("data/\(ForceStore.fileName)", "[]")
        await state.refreshForces()
        #expect(await state.status(of: "web")?.reported == 80)
        #expect(await state.status(of: "api")?.reported == 80)
        #expect(await state.status(of: "web")?.forceFileProblem == nil)
    }

    /// Found by scripts/fuzz (force-file, after 224,460 inputs): litmus-forces.json is decoded without
    /// `Force.init`, so an edited file gave a health force of 140; a reason could keep a line break too,
    /// which would end the status body's `Forced Reason:` line early. Both are mended and said.
    @Test func anEditedForceFileIsMendedAndTheOperatorTold() throws {
        let dir = TemporaryDirectory()
        let forces = """
            [
              {"createdAt": "2026-12-07T01:31:24Z", "origin": "litmus", "reason": "half", "scope": {"global": {}}, "state": {"health": {"_0": 140}}},
              {"createdAt": "2026-12-07T01:31:24Z", "origin": "litmus", "reason": "two\\nlines", "scope": {"service": {"_0": "web"}}, "state": {"health": {"_0": -5}}},
              {"createdAt": "2026-12-07T01:31:24Z", "origin": "litmus", "reason": "fine", "scope": {"service": {"_0": "api"}}, "state": {"health": {"_0": 40}}}
            ]
            """
        dir.write(ForceStore.fileName, forces)
        var store = ForceStore(directory: dir.path)
        let problems = store.reload(knownServices: ["web", "api"])
        #expect(store.forces.map(\.state) == [.health(100), .health(0), .health(40)])
        #expect(store.forces.map(\.reason) == ["half", "two lines", "fine"])
        #expect(
            problems == [
                "\(dir.path)/litmus-forces.json: force 1 (global): health 140 is outside 0-100; read as 100",
                "\(dir.path)/litmus-forces.json: force 2 (web): health -5 is outside 0-100; read as 0",
            ])
    }

    @Test func litmusPaperHealthFileWithoutAValueUsesTheLastLinesInteger() {
        let dir = TemporaryDirectory()
        let path = dir.write("web_health", "42 is the answer\n")
        let force = ForceStore.readLitmusPaperFile(path: path, scope: .service("web"), direction: .health)
        #expect(force?.state == .health(42))
    }

    @Test(arguments: [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)])
    func ttlFormats(_ text: String, _ seconds: Int64) {
        #expect(ForceRequest.parseTTL(text) == .seconds(seconds))
    }

    @Test(arguments: ["", "0", "-5", "5x", "999999999999", "400d"])
    func badTTLs(_ text: String) {
        #expect(ForceRequest.parseTTL(text) == nil)
    }

    @Test func healthForcesNeedAValue() {
        #expect(throws: ForceRequest.Invalid.self) { try ForceRequest(scope: .global, direction: .health, fields: FormFields(["reason": "x"])) }
        #expect(throws: ForceRequest.Invalid.self) { try ForceRequest(scope: .global, direction: .health, fields: FormFields(["health": "101"])) }
    }
}

@Suite struct AdminPolicyTests {
    let policy = AdminPolicy(access: AdminAccess(allowedNetworks: [IPNetwork(parsing: "10.0.0.0/8")!], token: "s3cret"))

    @Test func loopbackAndUnixSocketAreTrusted() {
        #expect(policy.decide(remoteAddress: IPAddress("127.0.0.1"), viaUnixSocket: false, token: nil) == .allowed)
        #expect(policy.decide(remoteAddress: IPAddress("::1"), viaUnixSocket: false, token: nil) == .allowed)
        #expect(policy.decide(remoteAddress: nil, viaUnixSocket: true, token: nil) == .allowed)
    }

    @Test func allowedNetworksNeedTheToken() {
        #expect(policy.decide(remoteAddress: IPAddress("10.1.2.3"), viaUnixSocket: false, token: "s3cret") == .allowed)
        guard case .needsToken = policy.decide(remoteAddress: IPAddress("10.1.2.3"), viaUnixSocket: false, token: "wrong") else {
            Issue.record("wrong token accepted")
            return
        }
        guard case .forbidden = policy.decide(remoteAddress: IPAddress("192.168.1.1"), viaUnixSocket: false, token: "s3cret") else {
            Issue.record("outside network accepted")
            return
        }
    }
}
