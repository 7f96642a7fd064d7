import AccessControl
import HTTPServing
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LitmusWire
import NIOCore
import NetworkAddress
import Posix
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
            return switch await gate.decide(request, context, transport: transport) {
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
            let notAForm: HTTPFields = [CrossSiteGuard.requestedByHeader: "test"]
            try await client.execute(uri: "/change", method: .post, headers: notAForm) { #expect(String(buffer: $0.body) == "allowed") }
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

    @Test func loopbackTrustCanBeTurnedOffAndThenTheTokenIsNeeded() {
        let loopback = IPAddress("127.0.0.1")
        let trusting = AdminPolicy(access: AdminAccess(token: "s3cret"))
        #expect(trusting.decide(remoteAddress: loopback, viaUnixSocket: false, token: nil) == .allowed, "today's default")
        let strict = AdminPolicy(access: AdminAccess(token: "s3cret", trustLoopback: false))
        #expect(
            strict.decide(remoteAddress: loopback, viaUnixSocket: false, token: nil)
                == .needsToken(
                    "admin.trust_loopback is off: loopback clients need the admin token too (Authorization: Bearer <token>), or use the agent's Unix socket"
                ))
        #expect(strict.decide(remoteAddress: IPAddress("::1"), viaUnixSocket: false, token: "wrong") != .allowed)
        #expect(strict.decide(remoteAddress: loopback, viaUnixSocket: false, token: "s3cret") == .allowed)
        #expect(strict.decide(remoteAddress: nil, viaUnixSocket: true, token: nil) == .allowed, "the socket stays the door")
        let noToken = AdminPolicy(access: AdminAccess(trustLoopback: false))
        guard case .forbidden(let why) = noToken.decide(remoteAddress: loopback, viaUnixSocket: false, token: nil) else {
            Issue.record("without a token configured, loopback has no way in over TCP")
            return
        }
        #expect(why.contains("none is set (admin.token)"))
    }

    /// A fixed group table: "admins" is 4242, user 1000 is a member of it, user 2000 is not.
    struct Directory: GroupDirectory {
        func group(named name: String) throws -> SocketGroup? { name == "admins" || name == "4242" ? SocketGroup(name: name, id: 4242) : nil }
        func memberships(ofUser userID: UInt32) throws -> [UInt32] { userID == 1000 ? [1000, 4242] : [userID] }
    }

    @Test func theSocketGroupAdmitsRootAndMembersOnly() {
        let access = AdminAccess(socketGroup: "admins")
        let gate = AdminGate(policy: AdminPolicy(access: access), tokenHeader: Self.tokenHeader, groups: Directory())
        func decide(uid: UInt32, gid: UInt32) -> AdminPolicy.Decision {
            let identity = gate.identity(of: PeerCredentials(processID: 77, userID: uid, groupID: gid), group: "admins")
            return gate.policy.decide(remoteAddress: nil, viaUnixSocket: true, token: nil, socketIdentity: identity)
        }
        #expect(decide(uid: 0, gid: 0) == .allowed, "root always")
        #expect(decide(uid: 1000, gid: 1000) == .allowed, "a member through the group database")
        #expect(decide(uid: 2000, gid: 4242) == .allowed, "running in the group (newgrp, sg)")
        #expect(
            decide(uid: 2000, gid: 2000)
                == .forbidden(
                    "force changes over the agent's Unix socket are accepted only from root and members of group admins (admin.socket_group); "
                        + "this client is pid 77, uid 2000, gid 2000"))
        let missing = gate.identity(of: PeerCredentials(processID: 1, userID: 0, groupID: 0), group: "nosuch")
        #expect(
            gate.policy.decide(remoteAddress: nil, viaUnixSocket: true, token: nil, socketIdentity: missing)
                == .forbidden("force changes over the agent's Unix socket are refused: there is no group nosuch on this host (admin.socket_group)"),
            "fails closed, even for root: the setting is wrong")
        guard case .forbidden = gate.policy.decide(remoteAddress: nil, viaUnixSocket: true, token: nil) else {
            Issue.record("unknown credentials must not pass a group check")
            return
        }
        #expect(
            AdminPolicy(access: AdminAccess()).decide(remoteAddress: nil, viaUnixSocket: true, token: nil) == .allowed,
            "without a group the socket's mode is the door, as before")
    }
}
