import HTTPServing
import HTTPTypes
import Testing

/// The browser half of the admin decision, as values: what a web page can send is refused, what
/// litmusctl, curl, big_brother's and litmus_paper's clients send is not.
@Suite struct CrossSiteGuardTests {
    static let tokenHeader = HTTPField.Name("X-Test-Token")!
    static let guardian = CrossSiteGuard(serverNames: ["LB1.example.com."], tokenHeader: tokenHeader, serverNamesSetting: "admin.server_names")

    static func refusal(
        _ headers: HTTPFields = [:], method: HTTPRequest.Method = .post, host: String? = "127.0.0.1:9292", transport: ServerTransport = .tcp,
        token: Bool = false, simple: CrossSiteGuard.SimpleRequests = .allowed
    ) -> String? {
        guardian.refusal(
            method: method, path: "/web/down", authority: host, headers: headers, transport: transport, hasValidToken: token, simple: simple)
    }

    static func origin(_ value: String) -> HTTPFields { [HTTPField.Name("Origin")!: value, .contentType: "text/plain"] }

    @Test func theFormPostOfAPageOnAnotherSiteIsRefusedNamingItsOrigin() {
        // The finding: curl -X POST -H 'Origin: http://evil.example' -H 'Content-Type: text/plain' --data reason=csrf
        #expect(
            Self.refusal(Self.origin("http://evil.example"))
                == "cross-site request refused: Origin http://evil.example is not this server (127.0.0.1:9292)")
        #expect(Self.refusal(Self.origin("null"))?.hasPrefix("cross-site request refused: Origin null is not this server") == true)
        #expect(Self.refusal(Self.origin("http://127.0.0.1:8080")) != nil, "another port of this host is another origin")
    }

    @Test(arguments: ["cross-site", "same-site", "Cross-Site", "something-new"])
    func fetchMetadataOtherThanSameOriginIsRefused(_ site: String) {
        let refusal = Self.refusal([HTTPField.Name("Sec-Fetch-Site")!: site])
        #expect(refusal == "cross-site request refused: Sec-Fetch-Site is \(site.lowercased()) (a web page of another site or port sent it)")
    }

    @Test func theServersOwnPagesAndToolsPass() {
        let sameOrigin: HTTPFields = [
            HTTPField.Name("Origin")!: "http://127.0.0.1:9292", HTTPField.Name("Sec-Fetch-Site")!: "same-origin",
            CrossSiteGuard.requestedByHeader: "dashboard",
        ]
        #expect(Self.refusal(sameOrigin, simple: .refused) == nil, "a page served by this server (the dashboard)")
        #expect(Self.refusal([HTTPField.Name("Origin")!: "http://localhost:8080"], host: "localhost:8080") == nil, "through ssh -L")
        #expect(Self.refusal([HTTPField.Name("Origin")!: "http://[::1]:9292"], host: "[::1]:9292") == nil)
        #expect(Self.refusal([HTTPField.Name("Origin")!: "http://LB1.example.com:80"], host: "lb1.example.com") == nil, "default port")
        // A TLS proxy in front that passes the Host on: the page's origin is https on 443, and so is the request.
        #expect(Self.refusal([HTTPField.Name("Origin")!: "https://lb1.example.com"], host: "lb1.example.com") == nil, "behind TLS")
        #expect(Self.refusal([HTTPField.Name("Origin")!: "https://lb1.example.com"], host: "lb1.example.com:80") != nil, "443 is not 80")
        #expect(Self.refusal([HTTPField.Name("Sec-Fetch-Site")!: "none"]) == nil, "typed in the address bar")
        #expect(Self.refusal([.contentType: "application/x-www-form-urlencoded"]) == nil, "litmus_paper's litmusctl: no Origin")
        #expect(Self.refusal(host: nil) == nil, "HTTP/1.0 without Host is no browser")
    }

    @Test(arguments: ["evil.example:9292", "evil.example", "127.0.0.1.nip.io:9292", "a:b:c", "[::1"])
    func aNameThatIsNotThisServersIsRefusedWithoutTheToken(_ host: String) {
        let refusal = Self.refusal(method: .put, host: host)
        #expect(refusal?.hasPrefix("request refused: Host \(host) is not this server's address, localhost or a name in admin.server_names") == true)
        #expect(Self.refusal(method: .put, host: host, transport: .unixSocket) != nil, "a dotted name is refused on the socket too")
        if !host.contains(":") || host.hasSuffix(":9292") {
            #expect(
                Self.refusal(method: .put, host: host, token: true) == nil, "a page cannot know the token: a client that sends it may use any name")
        }
    }

    @Test(arguments: ["127.0.0.1:9292", "192.0.2.7", "[2001:db8::1]:80", "localhost", "LOCALHOST:9", "app.localhost:1", "lb1.example.com:9292"])
    func addressesLocalhostAndServerNamesPass(_ host: String) {
        #expect(Self.refusal(method: .delete, host: host) == nil)
    }

    @Test func oneLabelNamesPassOnlyOnTheUnixSocket() {
        // curl --unix-socket /run/brother/brother.sock -X PUT http://brother/cluster/web (the OCF agent does so).
        #expect(Self.refusal(method: .put, host: "brother", transport: .unixSocket) == nil)
        #expect(Self.refusal(method: .put, host: "brother", transport: .tcp) != nil)
    }

    @Test func routesThatNeedNotStaySimpleRefuseWhatAFormCanSend() {
        let refusal = Self.refusal([.contentType: "application/x-www-form-urlencoded"], simple: .refused)
        #expect(
            refusal
                == "request refused: POST /web/down must show it is not a web form: send X-Requested-By (any value), "
                + "the admin token or a JSON Content-Type (e.g. curl -H 'X-Requested-By: curl')")
        #expect(Self.refusal(method: .get, simple: .refused) != nil)
        for proof: HTTPFields in [
            [CrossSiteGuard.requestedByHeader: "curl"], [.authorization: "Bearer x"], [Self.tokenHeader: "x"],
            [.contentType: "application/json; charset=utf-8"],
        ] {
            #expect(Self.refusal(proof, simple: .refused) == nil, "\(proof)")
        }
        #expect(Self.refusal(method: .put, simple: .refused) == nil, "PUT needs a preflight: not simple")
        #expect(Self.refusal(method: .delete, simple: .refused) == nil, "DELETE needs a preflight: not simple")
    }
}
