import Foundation
import LitmusCore
import NetworkAddress
import Testing

/// `litmusctl force down --wait`: when is a node drained by every brother that polls it?
@Suite struct DrainProgressTests {
    static let force = Date(timeIntervalSince1970: 1_800_000_000)
    static func report(_ poller: String, weight: Int, connections: Int, at offset: TimeInterval) -> PollerReport {
        PollerReport(poller: poller, weight: weight, activeConnections: connections, seenAt: force.addingTimeInterval(offset))
    }

    @Test func drainedOnlyWhenEveryPollerReportsZeroAfterTheForce() {
        let before = [Self.report("lb1/web", weight: 80, connections: 12, at: -0.5), Self.report("lb2/web", weight: 80, connections: 3, at: -0.7)]
        #expect(
            DrainProgress.evaluate(before, since: Self.force)
                == .waiting(["lb1/web: not polled since the force", "lb2/web: not polled since the force"]))
        let partly = [Self.report("lb1/web", weight: 0, connections: 4, at: 1), Self.report("lb2/web", weight: 0, connections: 0, at: 1)]
        #expect(DrainProgress.evaluate(partly, since: Self.force) == .waiting(["lb1/web: weight 0, 4 active connections"]))
        let done = [Self.report("lb1/web", weight: 0, connections: 0, at: 3), Self.report("lb2/web", weight: 0, connections: 0, at: 1)]
        #expect(DrainProgress.evaluate(done, since: Self.force) == .drained(done))
    }

    @Test func aPollerGoneLongBeforeTheForceIsNotWaitedForAndNoneAtAllIsSaid() {
        let gone = Self.report("old/web", weight: 80, connections: 0, at: -3600)
        let live = Self.report("lb1/web", weight: 0, connections: 0, at: 2)
        #expect(DrainProgress.evaluate([gone, live], since: Self.force) == .drained([live]))
        #expect(DrainProgress.evaluate([gone], since: Self.force) == .noPollers)
        #expect(DrainProgress.evaluate([], since: Self.force) == .noPollers)
    }

    @Test func theRegistryIgnoresMalformedHeadersAndKeepsTheLatest() {
        let registry = PollerRegistry()
        registry.configure(services: ["web", "db"], trust: DrainReportTrust())
        func record(_ poller: String, _ weight: String, _ connections: String, at offset: TimeInterval) {
            registry.record(
                service: "web", poller: poller, weight: weight, connections: connections, token: nil, peer: IPAddress("127.0.0.1"),
                viaUnixSocket: false, at: Self.force.addingTimeInterval(offset))
        }
        record("lb1/web", "80", "2", at: 0)
        record("lb1/web", "0", "0", at: 1)
        record("lb2/web", "lots", "1", at: 0)
        record("lb3/web", "5", "-1", at: 0)
        #expect(registry.reports(for: "web") == [Self.report("lb1/web", weight: 0, connections: 0, at: 1)])
        #expect(registry.reports(for: "db").isEmpty)
    }
}
