import NetworkAddress
import Testing

@Suite struct HostAndPortTests {
    @Test(arguments: [
        ("127.0.0.1:9292", "127.0.0.1", 9292), ("[::1]:80", "::1", 80), ("brother.example:9292", "brother.example", 9292),
        ("[fd00::2]:65535", "fd00::2", 65535),
    ])
    func parsesAndPrints(_ text: String, _ host: String, _ port: Int) throws {
        let parsed = try #require(HostAndPort(parsing: text))
        #expect(parsed == HostAndPort(host: host, port: port))
        #expect(parsed.description == text)
    }

    @Test(arguments: ["", "127.0.0.1", "127.0.0.1:", ":80", "::1:80", "[::1]80", "[]:80", "host:65536", "host:0", "host:http"])
    func refusesWhatIsNotHostAndPort(_ text: String) {
        #expect(HostAndPort(parsing: text) == nil)
    }

    @Test func aListenerMayAskForAnyPort() {
        #expect(HostAndPort(parsing: "127.0.0.1:0") == nil)
        #expect(HostAndPort(parsing: "127.0.0.1:0", ports: 0...65535) == HostAndPort(host: "127.0.0.1", port: 0))
    }

    @Test func onlyLiteralHostsHaveAnAddress() {
        #expect(HostAndPort(host: "::1", port: 1).address == IPAddress("::1"))
        #expect(HostAndPort(host: "localhost", port: 1).address == nil)
    }
}
