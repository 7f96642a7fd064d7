import Foundation
import LitmusCore
import NetworkAddress
import Testing

/// The drain registry against hostile pollers: invented service paths, spoofed reports and
/// floods of poller names cost no memory, fool no `--wait`, and never push a real brother out.
@Suite struct PollerRegistryTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let loopback = IPAddress("127.0.0.1")
    static let balancer = IPAddress("192.0.2.10")
    static let stranger = IPAddress("198.51.100.66")

    static func registry(
        services: [String] = ["web"], trust: DrainReportTrust = DrainReportTrust(), perService: Int = PollerRegistry.defaultMaximumPollersPerService,
        total: Int = PollerRegistry.defaultMaximumPollers
    ) -> PollerRegistry {
        let registry = PollerRegistry(maximumPollersPerService: perService, maximumPollers: total)
        registry.configure(services: services, trust: trust)
        return registry
    }

    @discardableResult
    static func report(
        _ registry: PollerRegistry, service: String = "web", poller: String, weight: Int = 0, connections: Int = 0, token: String? = nil,
        from peer: IPAddress? = PollerRegistryTests.loopback, at offset: TimeInterval = 0
    ) -> PollerRegistry.Outcome {
        registry.record(
            service: service, poller: poller, weight: String(weight), connections: String(connections), token: token, peer: peer,
            viaUnixSocket: false, at: now.addingTimeInterval(offset))
    }

    /// The review's reproduction: 10,000 `GET /<random 2 KB name>/status` with `X-Brother-*`
    /// headers grew the agent by 23 MB for good. Only configured services are recorded now.
    @Test func tenThousandInventedServicesLeaveTheRegistryEmpty() {
        let registry = Self.registry()
        let padding = String(repeating: "x", count: 2048)
        for index in 0..<10_000 {
            let outcome = Self.report(registry, service: "\(index)-\(padding)", poller: "lb\(index)/web", weight: 1, connections: 1)
            #expect(outcome == .unknownService)
        }
        #expect(registry.size.pollers == 0)
        #expect(registry.size.services == 0)
        #expect(registry.outcomes[.unknownService] == 10_000)
    }

    /// 64 invented pollers used to evict the oldest report, the real brother's.
    @Test func newPollersAreRefusedWhenFullAndAKnownOneIsNeverEvicted() {
        let registry = Self.registry(services: ["web", "api"], perService: 64, total: 100)
        #expect(Self.report(registry, poller: "lb1/web", weight: 40, connections: 5) == .recorded)
        for index in 0..<200 {
            Self.report(registry, poller: "fake\(index)", at: Double(index + 1))
        }
        #expect(registry.size.pollers == 64, "bounded per service")
        #expect(registry.reports(for: "web").contains { $0.poller == "lb1/web" && $0.activeConnections == 5 }, "the real brother stays")
        #expect(registry.outcomes[.full] == 137, "200 new pollers, 63 places: the rest refused and counted")
        // A known poller is still updated when the service is full.
        #expect(Self.report(registry, poller: "lb1/web", weight: 0, connections: 2, at: 500) == .recorded)
        #expect(registry.reports(for: "web").first { $0.poller == "lb1/web" }?.activeConnections == 2)
        // The total bound holds across services.
        for index in 0..<100 { Self.report(registry, service: "api", poller: "fake\(index)") }
        #expect(registry.size.pollers == 100)
        #expect(registry.reports(for: "api").count == 36)
    }

    @Test func onlyTrustedBrothersAreBelieved() {
        let trust = DrainReportTrust(networks: [IPNetwork(parsing: "192.0.2.0/28")!], token: "s3cret")
        let registry = Self.registry(trust: trust)
        #expect(Self.report(registry, poller: "lb1/web", connections: 0, token: "s3cret", from: Self.stranger) == .untrusted, "wrong network")
        #expect(Self.report(registry, poller: "lb1/web", connections: 0, token: nil, from: Self.balancer) == .untrusted, "no token")
        #expect(Self.report(registry, poller: "lb1/web", connections: 0, token: "s3creT", from: Self.balancer) == .untrusted, "wrong token")
        #expect(Self.report(registry, poller: "lb1/web", connections: 0, token: "s3cret", from: nil) == .untrusted, "unknown peer")
        #expect(registry.size.pollers == 0)
        #expect(Self.report(registry, poller: "lb1/web", connections: 7, token: "s3cret", from: Self.balancer) == .recorded)
        #expect(registry.reports(for: "web").map(\.activeConnections) == [7])
    }

    /// Without a token, loopback is trusted by default and anyone else is not.
    @Test func theDefaultTrustsLoopbackOnly() {
        let registry = Self.registry()
        #expect(Self.report(registry, poller: "lb1/web", from: Self.stranger) == .untrusted)
        #expect(Self.report(registry, poller: "lb1/web", from: IPAddress("::1")) == .recorded)
        #expect(Self.report(registry, poller: "lb2/web", from: IPAddress("::ffff:127.0.0.1")) == .recorded, "IPv4-mapped loopback")
        #expect(
            registry.record(
                service: "web", poller: "lb3/web", weight: "0", connections: "0", token: nil, peer: nil, viaUnixSocket: true, at: Self.now)
                == .recorded, "the Unix socket is the admin door")
    }

    @Test func theConfigurationDecidesWhatStays() {
        let registry = Self.registry(services: ["web", "api"])
        Self.report(registry, poller: "lb1/web")
        Self.report(registry, service: "api", poller: "lb1/api")
        registry.configure(services: ["web"], trust: DrainReportTrust())
        #expect(registry.size.pollers == 1, "a removed service's reports go")
        #expect(registry.reports(for: "api").isEmpty)
        registry.configure(services: ["web"], trust: DrainReportTrust(token: "new"))
        #expect(registry.size.pollers == 0, "reports accepted under the old trust go when it changes")
    }

    @Test func metricsGetWhatHappenedSinceTheLastScrape() {
        let registry = Self.registry()
        Self.report(registry, poller: "lb1/web")
        Self.report(registry, poller: "lb1/web", from: Self.stranger)
        Self.report(registry, service: "nope", poller: "lb1/web")
        #expect(registry.takeUnpublishedOutcomes() == [.recorded: 1, .untrusted: 1, .unknownService: 1])
        #expect(registry.takeUnpublishedOutcomes().isEmpty)
        Self.report(registry, poller: "lb1/web")
        #expect(registry.takeUnpublishedOutcomes() == [.recorded: 1])
    }

    @Test func brotherURLsGiveTheirLiteralAddress() {
        #expect(DrainReportTrust.literalAddress(ofURL: "http://192.0.2.1:9292") == IPAddress("192.0.2.1"))
        #expect(DrainReportTrust.literalAddress(ofURL: "https://[fd00::1]:9292/") == IPAddress("fd00::1"))
        #expect(DrainReportTrust.literalAddress(ofURL: "http://192.0.2.1/") == IPAddress("192.0.2.1"))
        #expect(DrainReportTrust.literalAddress(ofURL: "http://brother.example:9292") == nil, "host names are not resolved")
        #expect(DrainReportTrust.literalAddress(ofURL: "192.0.2.1") == nil)
    }
}
