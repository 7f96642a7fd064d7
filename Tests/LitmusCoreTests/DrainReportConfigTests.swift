import LitmusCore
import LitmusTesting
import NetworkAddress
import Testing

/// `drain_reports:` in litmus.yml, its default, and the join token of `register:`.
@Suite struct DrainReportConfigTests {
    static let service = """
        services:
          web:
            checks: [{type: constant_metric, weight: 100}]

        """

    @Test func theDefaultTrustsLoopbackAndTheRegisterBrothersByAddress() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(
            "litmus.yml",
            Self.service + """
                register:
                  - {brother: "http://192.0.2.1:9292", cluster: web, node: "192.0.2.2:8080", service: web, join_token: j0in}
                  - {brother: "http://[fd00::1]:9292", cluster: web, node: "192.0.2.2:8080", service: web}
                  - {brother: "http://brother.example:9292", cluster: web, node: "192.0.2.2:8080", service: web}

                """)
        let settings = try ConfigLoader.load(path: path)
        #expect(settings.drainReports.networks.map(\.description) == ["127.0.0.0/8", "::1/128", "192.0.2.1/32", "fd00::1/128"])
        #expect(settings.drainReports.token == nil)
        #expect(settings.registrations.first?.token == "j0in", "join_token is what registration sends")
    }

    @Test func trustedNetworksAndTokenFileAreRead() throws {
        let dir = TemporaryDirectory()
        let tokenFile = dir.write("poll-token", "poll-secret\n")
        let path = dir.write(
            "litmus.yml",
            Self.service + """
                drain_reports:
                  trusted_networks: ["10.20.0.1", "10.30.0.0/24"]
                  token_file: \(tokenFile)

                """)
        let settings = try ConfigLoader.load(path: path)
        #expect(settings.drainReports.networks.map(\.description) == ["10.20.0.1/32", "10.30.0.0/24"], "no loopback unless listed")
        #expect(settings.drainReports.token == "poll-secret")
    }

    @Test(arguments: [
        ("drain_reports: {trusted_networks: [lb1]}", "drain_reports.trusted_networks[0]: expected an address or CIDR network"),
        ("drain_reports: {token: a, token_file: /etc/hostname}", "drain_reports.token_file: give token or token_file, not both"),
        ("drain_reports: {token: \"two words\"}", "drain_reports.token: a token must be visible ASCII"),
        ("drain_reports: {trusted: []}", "drain_reports.trusted: unknown key"),
    ])
    func mistakesAreNamedWithTheirPath(_ yaml: String, _ expected: String) throws {
        let dir = TemporaryDirectory()
        let path = dir.write("litmus.yml", Self.service + yaml + "\n")
        let error = #expect(throws: ConfigErrors.self) { try ConfigLoader.load(path: path) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }
}
