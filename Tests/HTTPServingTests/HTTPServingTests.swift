import AccessControl
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LitmusWire
import NIOCore
import NetworkAddress
import Testing

/// The server foundation both daemons share, through a router of its own: error styles, forms and
/// the admin gate (the daemons' route tests check the same through their APIs).
@Suite struct HTTPServingTests {
    static let tokenHeader = HTTPField.Name("X-Test-Token")!

    static func router(style: PlainErrorStyle, transport: ServerTransport, access: AdminAccess) -> Router<PeerRequestContext> {
        let router = Router(context: PeerRequestContext.self)
        router.middlewares.add(PlainErrorMiddleware(style: style))
        router.post("/form") { request, _ in
            let fields = try await request.formFields(limit: 64)
            return "reason=\(fields["reason"] ?? "-") json=\(request.wantsJSON)"
        }
        router.post("/change") { request, context in
            let gate = AdminGate(policy: AdminPolicy(access: access), tokenHeader: tokenHeader)
            return switch gate.decide(request, context, transport: transport) {
            case .allowed: "allowed"
            case .needsToken(let why): "token: \(why)"
            case .forbidden(let why): "forbidden: \(why)"
            }
        }
        return router
    }

    @Test(arguments: [(PlainErrorStyle.litmusPaper, "NOT FOUND", "text/plain"), (.bigBrother, "Not Found\n", "text/plain; charset=utf-8")])
    func unknownPathsKeepEachOriginalsWords(style: PlainErrorStyle, body: String, contentType: String) async throws {
        let app = Application(router: Self.router(style: style, transport: .tcp, access: AdminAccess()))
        try await app.test(.router) { client in
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body) == body)
                #expect(response.headers[.contentType] == contentType)
            }
        }
    }

    @Test func formsComeFromTheBodyAndTheQueryAndNeverFromJSON() async throws {
        let app = Application(router: Self.router(style: .bigBrother, transport: .tcp, access: AdminAccess()))
        try await app.test(.router) { client in
            try await client.execute(uri: "/form?reason=query", method: .post) { response in
                #expect(String(buffer: response.body) == "reason=query json=false")
            }
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .accept: "application/json"]
            try await client.execute(uri: "/form?reason=query", method: .post, headers: form, body: ByteBuffer(string: "reason=body+wins")) {
                #expect(String(buffer: $0.body) == "reason=body wins json=true")
            }
            try await client.execute(
                uri: "/form", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{\"reason\":\"x\"}")
            ) { response in
                #expect(response.status == .badRequest, "a JSON body is refused with the reason, not a 500")
                #expect(String(buffer: response.body).contains("not JSON"))
            }
            try await client.execute(uri: "/form", method: .post, body: ByteBuffer(string: String(repeating: "x", count: 65))) { response in
                #expect(response.status == .badRequest, "a body over the limit is refused with the reason, not a 500")
            }
        }
    }

    @Test func theUnixSocketIsTrustedAndTCPIsChecked() async throws {
        let access = AdminAccess(allowedNetworks: [IPNetwork(parsing: "10.0.0.0/8")!], token: "s3cret")
        let unix = Application(router: Self.router(style: .bigBrother, transport: .unixSocket, access: access))
        try await unix.test(.router) { client in
            try await client.execute(uri: "/change", method: .post) { #expect(String(buffer: $0.body) == "allowed") }
        }
        // The router test client has no peer address: over TCP that is refused, never trusted.
        let tcp = Application(router: Self.router(style: .bigBrother, transport: .tcp, access: access))
        try await tcp.test(.router) { client in
            try await client.execute(uri: "/change", method: .post) { #expect(String(buffer: $0.body).hasPrefix("forbidden: ")) }
        }
    }

    @Test func theTokenComesFromBearerOrTheDaemonsHeader() {
        let access = AdminAccess(allowedNetworks: [IPNetwork(parsing: "192.0.2.0/24")!], token: "s3cret")
        let gate = AdminGate(policy: AdminPolicy(access: access), tokenHeader: Self.tokenHeader)
        let peer = IPAddress("192.0.2.1")
        #expect(gate.decide(headers: [.authorization: "Bearer s3cret"], peer: peer, transport: .tcp) == .allowed)
        #expect(gate.decide(headers: [Self.tokenHeader: "s3cret"], peer: peer, transport: .tcp) == .allowed)
        #expect(gate.token(in: [.authorization: "Bearer a", Self.tokenHeader: "b"]) == "a", "Bearer wins")
        #expect(gate.token(in: [.authorization: "Basic czNjcmV0"]) == nil, "only Bearer carries the token")
        guard case .needsToken = gate.decide(headers: [.authorization: "Bearer wrong"], peer: peer, transport: .tcp) else {
            Issue.record("a wrong token from an allowed network must be asked for the token")
            return
        }
        guard case .forbidden = gate.decide(headers: [.authorization: "Bearer s3cret"], peer: IPAddress("198.51.100.1"), transport: .tcp) else {
            Issue.record("the token never opens the door to a network that is not allowed")
            return
        }
        #expect(gate.decide(headers: [:], peer: IPAddress("::1"), transport: .tcp) == .allowed, "loopback")
        #expect(gate.decide(headers: [:], peer: nil, transport: .unixSocket) == .allowed, "the Unix socket")
    }
}
