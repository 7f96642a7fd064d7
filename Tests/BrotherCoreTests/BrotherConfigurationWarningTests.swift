import BrotherCore
import BrotherMonitor
import BrotherPolling
import Foundation
import IPVSTesting
import Logging
import NIOConcurrencyHelpers
import Testing
import YAML

/// big_brother keys brother accepts but does not act on: warnings that name the key, where it is
/// and what brother does instead; never errors, so a big_brother file still loads.
@Suite struct BrotherConfigurationWarningTests {
    @Test func everyIgnoredKeyIsAWarningAtItsPath() throws {
        let configuration = try BrotherConfiguration(yaml: BrotherConfigurationTests.bigBrotherExample, source: "bb.yml")
        #expect(configuration.clusters.map(\.name) == ["app", "db"])
        #expect(
            configuration.warnings.map(\.path) == [
                "_big_brother.offset", "_big_brother.nagios", "clusters[0].nagios", "clusters[0].max_down_ticks",
                "clusters[0].non_egress_locations", "clusters[0].nodes[2].interpol",
            ])
        #expect(configuration.warnings.allSatisfy { $0.source == "bb.yml" && $0.message.hasPrefix("ignored (big_brother's ") })
    }

    @Test func aWarningSaysWhatBrotherDoesInstead() throws {
        let yaml = """
            clusters:
              - cluster_name: a
                fwmark: 1
                max_down_ticks: 5
                nagios: {server: nsca.example.net}
                nodes: []
            """
        let warnings = try BrotherConfiguration(yaml: yaml, source: "a.yml").warnings.map(\.description)
        #expect(warnings.count == 2)
        #expect(warnings[0].hasPrefix("a.yml: clusters[0].max_down_ticks: warning: ignored"))
        #expect(warnings[0].contains("stays at weight 0"))
        #expect(warnings[1].hasPrefix("a.yml: clusters[0].nagios: warning: ignored"))
        #expect(warnings[1].contains("use notify"))
    }

    /// A default is merged under every cluster but said once, at its own path, even with no cluster.
    @Test func aDefaultIsWarnedAboutOnce() throws {
        let yaml = """
            _big_brother:
              max_down_ticks: 30
            clusters:
              - {cluster_name: a, fwmark: 1, nodes: []}
              - {cluster_name: b, fwmark: 2, nodes: []}
            """
        #expect(try BrotherConfiguration(yaml: yaml, source: "t.yml").warnings.map(\.path) == ["_big_brother.max_down_ticks"])
        let none = "_big_brother:\n  offset: 10000\nclusters: []\n"
        #expect(try BrotherConfiguration(yaml: none, source: "t.yml").warnings.map(\.path) == ["_big_brother.offset"])
    }

    @Test func keysBrotherActsOnAreNoWarning() throws {
        let yaml = """
            _big_brother: {check_interval: 1, ramp_up_time: 0, has_downpage: true, backend_mode: active_passive}
            clusters:
              - cluster_name: a
                fwmark: 1
                nodes:
                  - {address: 10.0.0.1, port: 9292, path: /a/status, priority: 1, max_weight: 50, interpol: false}
            """
        #expect(try BrotherConfiguration(yaml: yaml, source: "t.yml").warnings.isEmpty)
    }

    /// An invalid file is refused whole; its ignored keys are not the news.
    @Test func problemsStillFailAndWarningsAreNotProblems() {
        let yaml = "clusters:\n  - {cluster_name: a, fwmark: 1, max_down_ticks: 3, nodes: [{address: nowhere}]}\n"
        #expect(BrotherConfiguration.validate(yaml: yaml).map(\.path) == ["clusters[0].nodes[0].address"])
    }

    /// Warnings describe the file, not what runs: the same clusters are the same configuration.
    @Test func warningsDoNotMakeConfigurationsDiffer() throws {
        let ignored = try BrotherConfiguration(
            yaml: "clusters:\n  - {cluster_name: a, fwmark: 1, nagios: {host: lb}, nodes: []}\n", source: "t.yml")
        #expect(ignored.warnings.count == 1)
        #expect(ignored == BrotherConfiguration(clusters: ignored.clusters))
        #expect(Set([ignored, BrotherConfiguration(clusters: ignored.clusters)]).count == 1)
    }

    @Test func theExampleFileWarnsAboutItsBigBrotherKeys() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/brother.yml").standardized
        let configuration = try BrotherConfiguration.load(path: url.path)
        let keys = Set(configuration.warnings.map { String($0.path.split(separator: ".").last ?? "") })
        #expect(keys == ["offset", "max_down_ticks", "nagios", "non_egress_locations", "interpol"])
        #expect(configuration.warnings.allSatisfy { $0.source == url.path })
    }

    /// `brother run` says it again on every reload (SIGHUP or POST /reload), at warning level.
    @Test func aReloadLogsEachWarning() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warnings-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/brother.yml"
        try "clusters:\n  - {cluster_name: a, fwmark: 1, max_down_ticks: 3, nodes: []}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let lines = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "brother") { _ in RecordingLogHandler(lines: lines, minimumLevel: .warning) }
        let fetcher = HTTPAgentFetcher()
        let monitor = try ClusterMonitor(
            configuration: BrotherConfiguration(clusters: []), ipvs: FakeIPVS(), fetcher: fetcher, store: nil, logger: logger)
        let outcome = await ConfigurationReloader(path: path, monitor: monitor).reload()
        try await fetcher.shutdown()
        guard case .applied = outcome else {
            Issue.record("a valid file with a warning was refused: \(outcome)")
            return
        }
        let warnings = lines.withLockedValue { $0 }.filter { $0.hasPrefix("warning: ") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.hasPrefix("warning: \(path): clusters[0].max_down_ticks: warning: ignored") == true)
    }

    /// A name outside [A-Za-z0-9._~-] works (the API decodes it) but every URL must encode it: a
    /// warning `brother check` prints, naming the characters; dots inside a name are ordinary.
    @Test func anUnusualClusterNameIsAWarningNamingItsCharacters() throws {
        let yaml = """
            clusters:
              - {cluster_name: "web:blue+1", fwmark: 1, nodes: []}
              - {cluster_name: "web.v2_a~b-c", fwmark: 2, nodes: []}
              - {cluster_name: "..web", fwmark: 3, nodes: []}
            """
        let warnings = try BrotherConfiguration(yaml: yaml, source: "n.yml").warnings
        #expect(warnings.map(\.path) == ["clusters[0].cluster_name"])
        #expect(warnings.first?.message.contains("the characters \":\", \"+\"") == true)
    }
}
