import BrotherCore
import IPVS
import NetworkAddress
import Testing

@Suite struct WeightReasonTests {
    @Test(arguments: [
        (WeightReason.health(87), "health 87"),
        (.ramping(percent: 40, target: 80), "ramping 40% of 80"),
        (.minimumWeight(5), "raised to min_weight 5"),
        (.capped(50), "capped by max_weight 50"),
        (.down, "health 0"),
        (.rising(1, of: 3), "rise 1 of 3"),
        (.falling(1, of: 2), "fall 1 of 2"),
        (.noHealth(.unreachable), "no health: unreachable"),
        (.held(.unreachable, elapsed: .seconds(3), hold: .seconds(10)), "held: unreachable for 3s of 10s"),
        (.held(.garbage, elapsed: .milliseconds(2500), hold: .seconds(10)), "held: garbage answer for 2.5s of 10s"),
        (.deadBand(proposed: 81, band: 2), "dead-band: 81 is within 2 of the current weight"),
        (.forced(.down), "forced down"),
        (.clusterForced(.up), "cluster forced up"),
        (.fileForced(.down, path: "/d/nodes/web/[2001:db8::1]:80.down"), "forced down by file /d/nodes/web/[2001:db8::1]:80.down"),
        (.panicHeld, "held: panic guard"),
        (.passive(active: Destination.ID(address: IPAddress("10.0.0.2")!, port: 0)), "passive: 10.0.0.2:0 is active"),
        (.passive(active: nil), "passive: no node is healthy"),
        (.notPolled, "not polled yet"),
    ])
    func everyReasonReadsAsAnOperatorWouldSayIt(_ reason: WeightReason, _ text: String) {
        #expect(reason.description == text)
    }

    @Test(arguments: [
        ("198.51.100.10:443/tcp", "198.51.100.10:443/tcp"),
        ("[2001:db8::10]:53/udp", "[2001:db8::10]:53/udp"),
        ("192.0.2.1:9/SCTP", "192.0.2.1:9/sctp"),
    ])
    func vipsParseAndPrint(_ text: String, _ printed: String) throws {
        #expect(try #require(ClusterVIP(parsing: text)).description == printed)
    }

    @Test(arguments: ["192.0.2.1/tcp", "192.0.2.1:0/tcp", "192.0.2.1:80", "192.0.2.1:80/icmp", "2001:db8::1:80/tcp", "host:80/tcp"])
    func malformedVIPsAreRejected(_ text: String) {
        #expect(ClusterVIP(parsing: text) == nil)
    }

    @Test(arguments: [
        (RampCurve.linear, 0.25, 0.25), (.linear, -1, 0), (.linear, 2, 1), (.quadratic, 0.5, 0.25), (.steps(4), 0.49, 0.25),
        (.steps(4), 0.5, 0.5), (.steps(10), 0.99, 0.9),
    ])
    func rampCurveFractions(_ curve: RampCurve, _ progress: Double, _ fraction: Double) {
        #expect(abs(curve.fraction(at: progress) - fraction) < 1e-9)
    }
}
