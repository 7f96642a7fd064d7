import HTTPTypes
import NetworkAddress

/// Refuses changes a web page could have sent: the part of the admin decision about where a
/// request comes from in the browser's sense, which the peer's address cannot tell. Loopback and
/// the Unix socket are trusted without a token, so without this any page open in a browser on the
/// node (or reaching brother through `ssh -L`) could post a form to them.
///
/// In order, for a request that changes state:
/// 1. `Sec-Fetch-Site` other than `same-origin` or `none` (a page of another site, or another
///    port of this host, sent it) is refused. Browsers send it to loopback and https addresses.
/// 2. An `Origin` that is not this server (`null`, or another scheme, host or port than the
///    `Host`) is refused. Browsers send it with every POST, PUT and DELETE.
/// 3. Unless the request carries the admin token, its `Host` must be an address literal,
///    `localhost` (or `*.localhost`), or one of the configured server names (over the Unix
///    socket also a one-label name such as `brother`, what `curl --unix-socket` users type): a
///    DNS-rebinding page reaches loopback under a name of its own, which always has a dot. The
///    token is exempt because a page cannot know it.
/// 4. Unless the route is one that must stay "simple" for old clients, it must carry something a
///    page cannot send without the browser asking the server first (a CORS preflight, which
///    neither daemon answers): a method other than GET, HEAD and POST, `X-Requested-By`, the
///    token header or `Authorization`, or a JSON `Content-Type`.
public struct CrossSiteGuard: Sendable {
    /// Whether a route accepts a request a plain HTML form could send.
    public enum SimpleRequests: Sendable, Equatable {
        /// big_brother's and litmus_paper's clients send form posts (and big_brother's GET has a
        /// side effect): checks 1–3 only; brother-api(7) and litmus(8)'s docs say why each is safe.
        case allowed
        /// Check 4 too.
        case refused
    }

    /// The header any non-browser client may send to show a request is not a web form's.
    public static let requestedByHeader = HTTPField.Name("X-Requested-By")!

    public var serverNames: [String]
    /// The daemon's own token header (`X-Litmus-Token`, `X-Brother-Token`).
    public var tokenHeader: HTTPField.Name
    /// Names the server-names setting in refusals, e.g. "admin.server_names".
    public var serverNamesSetting: String

    public init(serverNames: [String], tokenHeader: HTTPField.Name, serverNamesSetting: String) {
        self.serverNames = serverNames.map(Self.normalizedName)
        self.tokenHeader = tokenHeader
        self.serverNamesSetting = serverNamesSetting
    }

    /// Why the request is refused (the body of a 403), or `nil`.
    /// - Parameters:
    ///   - authority: the request's `Host` (HTTPTypes keeps it apart from the other fields).
    ///   - hasValidToken: it carries the configured admin token.
    public func refusal(
        method: HTTPRequest.Method, path: String, authority: String?, headers: HTTPFields, transport: ServerTransport,
        hasValidToken: Bool, simple: SimpleRequests
    ) -> String? {
        if let site = headers[Self.fetchSiteHeader] {
            let value = site.trimmingSpaces.lowercased()
            if value != "same-origin" && value != "none" {
                return "cross-site request refused: Sec-Fetch-Site is \(value) (a web page of another site or port sent it)"
            }
        }
        if let origin = headers[Self.originHeader] {
            let text = origin.trimmingSpaces
            guard let parsed = Authority(origin: text) else {
                return "cross-site request refused: Origin \(text) is not this server (a sandboxed page, a file or a redirect sent it)"
            }
            guard let authority, let host = Authority(host: authority, defaultPort: parsed.port), host == parsed else {
                return "cross-site request refused: Origin \(text) is not this server (\(authority ?? "no Host"))"
            }
        }
        if !hasValidToken, let authority {
            guard let host = Authority(host: authority, defaultPort: 80), accepts(host.host, transport: transport) else {
                return "request refused: Host \(authority) is not this server's address, localhost or a name in \(serverNamesSetting) "
                    + "(a DNS-rebinding page sends a name of its own); use one of those, or send the admin token"
            }
        }
        if simple == .refused, isSimple(method: method, headers: headers) {
            return "request refused: \(method.rawValue) \(path) must show it is not a web form: send X-Requested-By (any value), "
                + "the admin token or a JSON Content-Type (e.g. curl -H 'X-Requested-By: curl')"
        }
        return nil
    }

    /// Whether a page could have sent it without a preflight (the Fetch standard's CORS-safelisted
    /// methods and the only non-safelisted headers we accept as proof).
    func isSimple(method: HTTPRequest.Method, headers: HTTPFields) -> Bool {
        guard method == .get || method == .head || method == .post else { return false }
        if headers[Self.requestedByHeader] != nil || headers[.authorization] != nil || headers[tokenHeader] != nil { return false }
        if let type = headers[.contentType], type.trimmingSpaces.lowercased().hasPrefix("application/json") { return false }
        return true
    }

    /// Address literals cannot be rebound; localhost names resolve to loopback only; the
    /// configured names are the operator's; a one-label name over the Unix socket cannot be a
    /// public DNS name an attacker controls.
    func accepts(_ host: String, transport: ServerTransport) -> Bool {
        if host.isEmpty || IPAddress(host) != nil { return true }
        let name = Self.normalizedName(host)
        if name == "localhost" || name.hasSuffix(".localhost") || serverNames.contains(name) { return true }
        return transport == .unixSocket && !name.contains(".")
    }

    static func normalizedName(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    static let fetchSiteHeader = HTTPField.Name("Sec-Fetch-Site")!
    static let originHeader = HTTPField.Name("Origin")!

    /// A host and port, from a `Host` value or an origin's `scheme://host[:port]`.
    struct Authority: Equatable {
        var host: String
        var port: Int

        /// `null`, an opaque or unparsable origin: nil.
        init?(origin: String) {
            let lower = origin.lowercased()
            let defaultPort: Int
            let rest: Substring
            if lower.hasPrefix("http://") {
                defaultPort = 80
                rest = lower.dropFirst("http://".count)
            } else if lower.hasPrefix("https://") {
                defaultPort = 443
                rest = lower.dropFirst("https://".count)
            } else {
                return nil
            }
            self.init(host: String(rest), defaultPort: defaultPort)
        }

        /// `host`, `host:port`, `[v6]` or `[v6]:port`; a missing port is `defaultPort` (the
        /// origin's scheme's, since a `Host` names the port only when it is not the default).
        init?(host text: String, defaultPort: Int) {
            let text = text.lowercased()
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { return nil }
                host = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                if rest.isEmpty {
                    port = defaultPort
                } else {
                    guard rest.hasPrefix(":"), let value = Int(rest.dropFirst()) else { return nil }
                    port = value
                }
                return
            }
            if let colon = text.lastIndex(of: ":") {
                guard let value = Int(text[text.index(after: colon)...]) else { return nil }
                host = String(text[..<colon])
                port = value
            } else {
                host = text
                port = defaultPort
            }
            if host.contains(":") || host.contains("/") { return nil }
            host = CrossSiteGuard.normalizedName(host)
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
