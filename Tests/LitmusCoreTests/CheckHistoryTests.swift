import Foundation
import LitmusTesting
import Logging
import Synchronization
import Testing

@testable import LitmusCore

/// Each check's last transitions: recorded on the agent's clock, bounded per check, saved in the
/// data directory only when one happens, back after a restart; a damaged file is a warning.
@Suite struct CheckHistoryTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let dependency = DependencySpec.fileContents(path: "/srv/ready", pattern: "ok", timeout: .seconds(1))
    static let metric = MetricSpec.constant(weight: 80)

    static func settings(_ dir: TemporaryDirectory) -> AgentSettings {
        var settings = AgentSettings()
        settings.dataDirectory = "\(dir.path)/data"
        settings.services["web"] = ServiceSpec(name: "web", dependencies: [dependency], metrics: [metric], file: "x")
        return settings
    }

    static func evaluation(dependencyUp: Bool, metricError: String? = nil, at time: Date) -> ServiceEvaluation {
        ServiceEvaluation(
            service: "web",
            dependencies: [
                DependencyResult(label: dependency.label, available: dependencyUp, detail: dependencyUp ? nil : "no match in /srv/ready", duration: 0)
            ],
            metrics: [MetricResult(label: metric.label, value: metricError == nil ? 80 : 0, detail: metricError, duration: 0)], finishedAt: time,
            duration: 0)
    }

    var historyPath: (TemporaryDirectory) -> String { { "\($0.path)/data/\(CheckHistoryFile.fileName)" } }

    @Test func transitionsAreRecordedOnTheClockAndWrittenOnlyWhenOneHappens() async throws {
        let dir = TemporaryDirectory()
        let clock = TestClock(Self.t0)
        let state = AgentState(settings: Self.settings(dir), logger: Logger(label: "test"), clock: { clock.now })
        await state.store(Self.evaluation(dependencyUp: true, at: clock.now))
        #expect(await state.status(of: "web")?.transitions == [], "passing from the start is no transition")
        #expect(!FileManager.default.fileExists(atPath: historyPath(dir)), "nothing written without a transition")

        clock.advance(10)
        await state.store(Self.evaluation(dependencyUp: false, at: clock.now))
        clock.advance(5)
        await state.store(Self.evaluation(dependencyUp: false, metricError: "timed out after 1.0s", at: clock.now))
        let written = try FileManager.default.attributesOfItem(atPath: historyPath(dir))[.modificationDate] as? Date
        clock.advance(5)
        await state.store(Self.evaluation(dependencyUp: false, metricError: "timed out after 1.0s", at: clock.now))
        #expect(try FileManager.default.attributesOfItem(atPath: historyPath(dir))[.modificationDate] as? Date == written, "unchanged: not written")
        clock.advance(20)
        await state.store(Self.evaluation(dependencyUp: true, at: clock.now))

        let transitions = try #require(await state.status(of: "web")?.transitions)
        #expect(
            transitions == [
                CheckTransition(time: Self.t0 + 10, check: Self.dependency.label, passed: false, reason: "no match in /srv/ready"),
                CheckTransition(time: Self.t0 + 15, check: Self.metric.label, passed: false, reason: "timed out after 1.0s"),
                CheckTransition(time: Self.t0 + 40, check: Self.dependency.label, passed: true),
                CheckTransition(time: Self.t0 + 40, check: Self.metric.label, passed: true),
            ])
    }

    @Test func eachCheckKeepsItsLastTen() {
        var history = CheckHistory()
        for step in 0..<25 {
            _ = history.observe(Self.evaluation(dependencyUp: step % 2 == 1, at: Self.t0), at: Self.t0 + Double(step))
        }
        let kept = history.transitions(of: "web")
        #expect(kept.count == CheckHistory.limit && CheckHistory.limit == 10)
        #expect(kept.first?.time == Self.t0 + 15 && kept.last?.time == Self.t0 + 24, "the newest ten")
    }

    @Test func theHistorySurvivesARestartAndItsStateToo() async throws {
        let dir = TemporaryDirectory()
        let clock = TestClock(Self.t0)
        let first = AgentState(settings: Self.settings(dir), logger: Logger(label: "test"), clock: { clock.now })
        await first.store(Self.evaluation(dependencyUp: false, at: clock.now))
        let before = try #require(await first.status(of: "web")?.transitions)
        #expect(before.count == 1)

        clock.advance(60)
        let second = AgentState(settings: Self.settings(dir), logger: Logger(label: "test"), clock: { clock.now })
        #expect(await second.status(of: "web")?.transitions == before)
        // Still failing after the restart: the saved history says it was failing, so no new transition.
        await second.store(Self.evaluation(dependencyUp: false, at: clock.now))
        #expect(await second.status(of: "web")?.transitions == before)
        await second.store(Self.evaluation(dependencyUp: true, at: clock.now))
        #expect(await second.status(of: "web")?.transitions?.last == CheckTransition(time: Self.t0 + 60, check: Self.dependency.label, passed: true))
    }

    @Test func aDamagedFileIsAWarningAndNoHistory() async throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: "\(dir.path)/data", withIntermediateDirectories: true)
        try Data("{\"services\": {\"web\": [tru".utf8).write(to: URL(fileURLWithPath: historyPath(dir)))
        let lines = WarningLines()
        let logger = Logger(label: "test") { _ in WarningRecorder(lines: lines) }
        let clock = TestClock(Self.t0)
        let state = AgentState(settings: Self.settings(dir), logger: logger, clock: { clock.now })
        #expect(await state.status(of: "web")?.transitions == [])
        #expect(lines.all.contains { $0.contains("check history") && $0.contains("cannot be read") })
        await state.store(Self.evaluation(dependencyUp: false, at: clock.now))
        #expect(CheckHistoryFile(directory: "\(dir.path)/data").load().history.transitions(of: "web").count == 1, "the next transition replaces it")
    }

    @Test func litmusctlShowsTheTransitions() {
        var status = ServiceStatus(
            service: "web", evaluation: Self.evaluation(dependencyUp: true, at: Self.t0), forces: [], now: Self.t0, stalenessLimit: .seconds(20))
        status.transitions = [
            CheckTransition(time: Self.t0, check: Self.dependency.label, passed: false, reason: "no match in /srv/ready"),
            CheckTransition(time: Self.t0 + 5, check: Self.dependency.label, passed: true),
        ]
        let text = StatusPresenter.render(status)
        #expect(
            text.hasSuffix(
                """
                Last transitions:
                  2027-01-15T08:00:00Z Dependency::FileContents(/srv/ready, /ok/): OK → FAIL (no match in /srv/ready)
                  2027-01-15T08:00:05Z Dependency::FileContents(/srv/ready, /ok/): FAIL → OK

                """), "\(text)")
        // litmus_paper's bytes do not change.
        #expect(!StatusText.status(status).contains("transition"))
    }
}

/// The warnings logged so far.
final class WarningLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

/// Keeps warning lines.
struct WarningRecorder: LogHandler {
    let lines: WarningLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append("\(event.message)")
    }
}
