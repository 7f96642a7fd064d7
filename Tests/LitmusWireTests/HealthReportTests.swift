import DeterministicRandom
import LitmusWire
import Testing

@Suite struct HealthReportTests {
    @Test func headerWinsOverBody() throws {
        let report = try #require(HealthReport(status: 200, healthHeader: "87", body: "Health: 12\n"))
        #expect(report.health == 87)
        #expect(report.forced == nil)
    }

    @Test func bodyIsTheFallbackWhenTheHeaderIsMissingOrGarbage() throws {
        let body = "Measured Health: 5\nHealth: 42\nMetric::CPULoad(100): 42\n"
        #expect(HealthReport(status: 200, healthHeader: nil, body: body)?.health == 42)
        #expect(HealthReport(status: 200, healthHeader: "lots", body: body)?.health == 42)
    }

    @Test func measuredHealthIsNotMistakenForHealth() {
        #expect(HealthReport(status: 200, healthHeader: nil, body: "Measured Health: 70\n") == nil)
    }

    @Test(arguments: [503, 404, 500, 301, 0])
    func nonOKStatusMeansZero(status: Int) throws {
        let report = try #require(HealthReport(status: status, healthHeader: "90", body: "Health: 90\n"))
        #expect(report.health == 0)
        #expect(!report.isUp)
    }

    @Test func forcedHeaderIsRead() throws {
        let report = try #require(HealthReport(status: 200, healthHeader: "40", forcedHeader: "health", body: ""))
        #expect(report.forced == .health)
        #expect(HealthReport(status: 200, healthHeader: "40", forcedHeader: "sideways", body: "")?.forced == nil)
    }

    @Test(arguments: ["", "Health:", "Health: -3", "Health: 99999999999999999999999", "\u{0}\u{ff}garbage", "Health 12"])
    func garbageBodiesGiveNil(body: String) {
        #expect(HealthReport(status: 200, healthHeader: nil, body: body) == nil)
    }

    @Test func overlongHeaderNumbersDoNotTrap() {
        #expect(HealthReport(status: 200, healthHeader: "999999999999999999999999", body: "Health: 3\n")?.health == 3)
    }

    @Test func randomInputNeverCrashes() {
        var generator = SplitMix64(seed: 0x5eed)
        var parsed = 0
        for _ in 0..<2000 {
            let length = Int(generator.next() % 40)
            let alphabet = Array("Health: 0123456789\n\r\t%#abcXY-".unicodeScalars)
            let text = String(String.UnicodeScalarView((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }))
            if let report = HealthReport(status: 200, healthHeader: text, body: text) {
                #expect(report.health >= 0)
                parsed += 1
            }
            _ = AgentCheckReply(parsing: text)
        }
        #expect(parsed > 0)
    }
}
