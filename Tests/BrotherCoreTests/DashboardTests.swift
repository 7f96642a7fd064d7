import BrotherCore
import BrotherMonitor
import BrotherServer
import Foundation
import HTTPServing
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The live dashboard in a real browser: headless Chromium (Debian's package) driven by Playwright
/// loads `/dashboard` from brother's API, and a weight change made through the API must appear
/// without a reload, and the page must fit a 390 px phone screen. Opt-in (`DASHBOARD_TESTS=1`, set
/// by scripts/test, which installs Chromium and Playwright); once asked, a missing browser is a failure.
@Suite(.serialized, .enabled(if: DashboardTesting.requested, "set DASHBOARD_TESTS=1 after scripts/setup (Chromium and Playwright)"))
struct DashboardTests {
    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @Test func aWeightChangeAppearsLiveInHeadlessChromium() async throws {
        let python = ProcessInfo.processInfo.environment["DASHBOARD_PYTHON"] ?? "\(Self.root)/.build/dashboard-venv/bin/python3"
        #expect(FileManager.default.isExecutableFile(atPath: python), "no Playwright Python at \(python): run scripts/setup")
        try await ClusterMonitorOperationsTests.Harness.with { h in
            let yaml = ClusterMonitorOperationsTests.yaml(agentPort: h.server.port, nodes: [8081, 8082, 8083])
            let monitor = try await h.monitor(yaml)
            for _ in 0..<2 { await monitor.runRound(cluster: "web") }
            let app = Application(
                router: BrotherRoutes(monitor: monitor, transport: .tcp).buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0))
            )
            try await app.test(.live) { client in
                let port = try #require(client.port)
                var arguments = [python, "\(Self.root)/Tests/Dashboard/dashboard_check.py", "http://127.0.0.1:\(port)", "web", "127.0.0.1:8082"]
                if let directory = ProcessInfo.processInfo.environment["DASHBOARD_SCREENSHOTS"] { arguments += ["--screenshots", directory] }
                let result = try await Self.run(arguments)
                #expect(result.status == 0, "dashboard check failed:\n\(result.output)")
                #expect(result.output.contains("appeared without a reload"))
                #expect(result.output.contains("phone layout fits 390px"))
            }
        }
    }

    /// Runs the checker off the cooperative pool (it blocks for seconds while the server answers it).
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            process.terminationHandler = { finished in
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                continuation.resume(returning: (finished.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
    }
}

enum DashboardTesting {
    static let requested = ProcessInfo.processInfo.environment["DASHBOARD_TESTS"] == "1"
}
