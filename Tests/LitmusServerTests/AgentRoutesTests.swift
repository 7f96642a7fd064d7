import AccessControl
import Foundation
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LitmusCore
import LitmusServer
import LitmusTesting
import LitmusWire
import Logging
import Testing

/// Every route against litmus_paper's wire formats (anchors §2.8–2.9), byte for byte.
@Suite struct AgentRoutesTests {
    static let evaluatedAt = Date(timeIntervalSince1970: 1_700_000_000)

    static func makeState(_ dir: TemporaryDirectory, staleAfter: Duration = .seconds(30), admin: AdminAccess = AdminAccess()) async -> AgentState {
        var settings = AgentSettings()
        settings.admin = admin
        settings.dataDirectory = "\(dir.path)/data"
        settings.stalenessLimit = staleAfter
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [], metrics: [], file: "x")
        settings.services["db_primary"] = ServiceSpec(name: "db_primary", dependencies: [], metrics: [], file: "x")
        let state = AgentState(settings: settings, logger: Logger(label: "test"), clock: { evaluatedAt.addingTimeInterval(2) })
        await state.store(
            ServiceEvaluation(
                service: "web",
                dependencies: [DependencyResult(label: "Dependency::HTTP(http://localhost/heartbeat)", available: true, duration: 0.01)],
                metrics: [
                    MetricResult(
                        label: "Metric::CPULoad(100)", value: 82, stats: [MetricStat(name: "cpu_load_average", value: 0.36)], duration: 0.001)
                ],
                finishedAt: evaluatedAt, duration: 0.02))
        await state.store(
            ServiceEvaluation(
                service: "db_primary",
                dependencies: [DependencyResult(label: "Dependency::TCP(tcp://127.0.0.1:5432)", available: false, detail: "refused", duration: 0.01)],
                metrics: [MetricResult(label: "Metric::ConstantMetric(100)", value: 100, duration: 0)],
                finishedAt: evaluatedAt, duration: 0.02))
        return state
    }

    static func app(_ state: AgentState, transport: ServerTransport = .unixSocket, metrics: (@Sendable () -> String)? = nil)
        -> some ApplicationProtocol
    {
        let routes = AgentRoutes(state: state, transport: transport, renderMetrics: metrics, now: { evaluatedAt.addingTimeInterval(2) })
        return Application(router: routes.buildRouter())
    }

    @Test func healthyStatusIsByteCompatible() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            try await client.execute(uri: "/web/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Health")!] == "82")
                #expect(response.headers[HTTPField.Name("X-Health-Forced")!] == nil)
                #expect(response.headers[.contentType] == "text/plain")
                #expect(response.headers[HTTPField.Name("X-Health-Age")!] == "2.000")
                #expect(
                    String(buffer: response.body)
                        == "Health: 82\nMeasured Health: 82\nDependency::HTTP(http://localhost/heartbeat): OK\nMetric::CPULoad(100): 82\n")
            }
        }
    }

    @Test func brothersPollHeadersAreRememberedForDrainWaits() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            let headers: HTTPFields = [
                HTTPField.Name("X-Brother-Poller")!: "lb1/web", HTTPField.Name("X-Brother-Weight")!: "0",
                HTTPField.Name("X-Brother-Connections")!: "3",
            ]
            try await client.execute(uri: "/web/status", method: .get, headers: headers) { response in
                #expect(response.status == .ok, "the poll is answered as ever")
            }
            try await client.execute(uri: "/web/pollers", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("\"poller\":\"lb1\\/web\"") || text.contains("\"poller\":\"lb1/web\""))
                #expect(text.contains("\"activeConnections\":3"))
                #expect(text.contains("\"weight\":0"))
            }
            try await client.execute(uri: "/db_primary/pollers", method: .get) { response in
                #expect(String(buffer: response.body) == "[]")
            }
        }
    }

    @Test func failedDependencyGives503AndZero() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            try await client.execute(uri: "/db_primary/status", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[HTTPField.Name("X-Health")!] == "0")
                #expect(
                    String(buffer: response.body)
                        == "Health: 0\nMeasured Health: 0\nDependency::TCP(tcp://127.0.0.1:5432): FAIL\nMetric::ConstantMetric(100): 100\n")
            }
        }
    }

    @Test func unknownServiceIs404WithXHealthZero() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            try await client.execute(uri: "/nope/status", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[HTTPField.Name("X-Health")!] == "0")
                #expect(String(buffer: response.body) == "NOT FOUND")
            }
            try await client.execute(uri: "/nope/metrics", method: .get) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/no/such/route", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == "NOT FOUND")
            }
        }
    }

    @Test func forcesOverHTTPFollowLitmusPaper() async throws {
        let dir = TemporaryDirectory()
        let state = await Self.makeState(dir)
        try await Self.app(state).test(.router) { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(
                uri: "/web/health", method: .post, headers: form, body: ByteBuffer(string: "reason=health+for+testing&health=88")
            ) { response in
                #expect(response.status == .created)
                #expect(String(buffer: response.body) == "File created")
            }
            try await client.execute(uri: "/web/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Health")!] == "82")
                #expect(response.headers[HTTPField.Name("X-Health-Forced")!] == "health")
                #expect(
                    String(buffer: response.body)
                        == "Health: 82\nMeasured Health: 82\nForced Reason: health for testing 88\n"
                        + "Dependency::HTTP(http://localhost/heartbeat): OK\nMetric::CPULoad(100): 82\n")
            }
            try await client.execute(uri: "/down", method: .post, headers: form, body: ByteBuffer(string: "reason=maintenance")) { response in
                #expect(response.status == .created)
                #expect(String(buffer: response.body) == "File created")
            }
            try await client.execute(uri: "/web/status", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[HTTPField.Name("X-Health")!] == "0")
                #expect(response.headers[HTTPField.Name("X-Health-Forced")!] == "down")
                #expect(String(buffer: response.body).hasPrefix("Health: 0\nMeasured Health: 82\nForced Reason: maintenance\n"))
            }
            try await client.execute(uri: "/down", method: .delete) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "File deleted")
            }
            try await client.execute(uri: "/down", method: .delete) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == "NOT FOUND")
            }
            try await client.execute(uri: "/db_primary/up", method: .post, headers: form, body: ByteBuffer(string: "reason=trust+me")) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/db_primary/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Health")!] == "100")
                #expect(response.headers[HTTPField.Name("X-Health-Forced")!] == "up")
            }
        }
    }

    @Test(arguments: ["/down", "/up", "/health", "/web/down", "/web/up", "/web/health"])
    func everyForceRouteCreatesAndDeletes(_ path: String) async throws {
        let dir = TemporaryDirectory()
        let state = await Self.makeState(dir)
        try await Self.app(state).test(.router) { client in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(uri: path, method: .post, headers: form, body: ByteBuffer(string: "reason=r&health=10")) { response in
                #expect(response.status == .created)
                #expect(response.headers[.contentType] == "text/plain")
                #expect(String(buffer: response.body) == "File created")
            }
            try await client.execute(uri: "/web/status", method: .get) { response in
                #expect(response.headers[HTTPField.Name("X-Health-Forced")!] == path.split(separator: "/").last.map(String.init))
            }
            try await client.execute(uri: path, method: .delete) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "File deleted")
            }
            try await client.execute(uri: path, method: .delete) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == "NOT FOUND")
            }
        }
        #expect(await state.allForces.isEmpty)
    }

    @Test(arguments: [
        ("/web/health", "reason=x", "health must be an integer"),
        ("/web/health", "health=150", "health must be an integer"),
        ("/health", "health=abc", "health must be an integer"),
        ("/web/down", "ttl=forever", "ttl must be"),
        ("/..%2Fetc/down", "reason=x", "service names"),
    ])
    func badForceRequestsGet400WithAReason(_ path: String, _ body: String, _ message: String) async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            try await client.execute(
                uri: path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains(message))
            }
        }
    }

    @Test func mutationsOverTCPAreRefusedForUnknownClients() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir), transport: .tcp).test(.router) { client in
            try await client.execute(uri: "/down", method: .post) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("loopback"))
            }
            try await client.execute(uri: "/web/status", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func loopbackTCPClientsMayForce() async throws {
        let dir = TemporaryDirectory()
        let state = await Self.makeState(dir)
        let routes = AgentRoutes(state: state, transport: .tcp)
        let app = Application(router: routes.buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await client.execute(uri: "/web/down", method: .post, body: ByteBuffer(string: "reason=live")) { response in
                #expect(response.status == .created)
            }
        }
        #expect(await state.status(of: "web")?.forced?.reason == "live")
    }

    @Test func tableHasNoANSICodes() async throws {
        let dir = TemporaryDirectory()
        let state = await Self.makeState(dir)
        try await state.setForce(Force(scope: .service("db_primary"), state: .health(20), reason: "slow roll", createdAt: Date()))
        try await Self.app(state).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let expected = """
                    Litmus Paper \(LitmusVersion.current)

                     Service    │ Reported │ Measured │ Health
                     Name       │ Health   │ Health   │ Forced?
                    ────────────┴──────────┴──────────┴─────────
                     db_primary      0          0       Yes, Health: 20 Reason: slow roll
                     web             82         82      No

                    """
                #expect(String(buffer: response.body) == expected)
                #expect(!String(buffer: response.body).contains("\u{1b}["))
            }
        }
    }

    @Test func serviceMetricsLines() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            try await client.execute(uri: "/web/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "cpu_load_average{service=\"web\"} 0.36 1700000000000\n")
            }
        }
    }

    @Test func jsonOnRequest() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            try await client.execute(uri: "/web/status", method: .get, headers: [.accept: "application/json"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let object = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
                #expect(object["reported"] as? Int == 82)
                #expect(object["age"] as? Double == 2)
                #expect((object["metrics"] as? [[String: Any]])?.first?["label"] as? String == "Metric::CPULoad(100)")
            }
            try await client.execute(uri: "/", method: .get, headers: [.accept: "application/json"]) { response in
                let list = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [[String: Any]])
                #expect(list.compactMap { $0["service"] as? String } == ["db_primary", "web"])
            }
        }
    }

    @Test func staleResultsReportZeroWithReason() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir, staleAfter: .seconds(1))).test(.router) { client in
            try await client.execute(uri: "/web/status", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[HTTPField.Name("X-Health")!] == "0")
                #expect(response.headers[HTTPField.Name("X-Health-Stale")!]?.contains("staleness limit") == true)
            }
        }
    }

    @Test func anUnreadableForceFileHoldsTheServiceDownAndSaysWhy() async throws {
        let dir = TemporaryDirectory()
        _ = dir.write("data/litmus-forces.json", "[{\"createdAt\":")
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            // Text (from the rendered snapshot) and JSON (from the actor).
            for accept in ["text/plain", "application/json"] {
                try await client.execute(uri: "/web/status", method: .get, headers: [.accept: accept]) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[HTTPField.Name("X-Health")!] == "0")
                    #expect(response.headers[HTTPField.Name("X-Health-Forced")!] == "down")
                    #expect(response.headers[HTTPField.Name("X-Litmus-Force-File")!]?.contains("litmus-forces.json cannot be read") == true)
                    #expect(String(buffer: response.body).contains("is unreadable: every service held down"))
                }
            }
        }
    }

    @Test func prometheusEndpointUsesTheExecutablesRenderer() async throws {
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir), metrics: { "litmus_service_health{service=\"web\"} 82\n" }).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("litmus_service_health"))
            }
        }
    }

    @Test func wireContractRoundTrip() async throws {
        // The supervisor side (LitmusWire) reads what the agent side writes.
        let dir = TemporaryDirectory()
        try await Self.app(await Self.makeState(dir)).test(.router) { client in
            try await client.execute(uri: "/web/status", method: .get) { response in
                let report = HealthReport(
                    status: Int(response.status.code), healthHeader: nil, forcedHeader: response.headers[HTTPField.Name("X-Health-Forced")!],
                    body: String(buffer: response.body))
                #expect(report?.health == 82)
            }
        }
    }
}
