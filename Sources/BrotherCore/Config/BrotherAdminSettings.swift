import YAML

/// brother.yml's `admin:` section: who may change state through the API, besides the command
/// line's `--admin-network` and `--admin-token-file` (brother.yml(5), brother-api(7)).
///
/// ```yaml
/// admin:
///   trust_loopback: false          # loopback TCP clients need the token too
///   socket_group: brother-admin    # the Unix socket admits root and this group only (SO_PEERCRED)
///   server_names: [lb1.example.com] # Host names accepted for changes besides addresses and localhost
/// ```
public struct BrotherAdminSettings: Hashable, Sendable {
    /// Loopback TCP clients may change state without the token (big_brother's behaviour).
    public var trustLoopback = true
    /// The group whose members may change state over the Unix socket (root always may); `nil`:
    /// whoever can open the socket (mode 0660).
    public var socketGroup: String?
    /// Names this brother is reached by, for the Host check on changes sent without the token.
    public var serverNames: [String] = []

    public init(trustLoopback: Bool = true, socketGroup: String? = nil, serverNames: [String] = []) {
        self.trustLoopback = trustLoopback
        self.socketGroup = socketGroup
        self.serverNames = serverNames
    }

    static let keys: Set<String> = ["trust_loopback", "socket_group", "server_names"]

    /// Reads the section, reporting every problem at its path.
    static func read(_ block: LocatedNode, reader: inout ConfigReader) -> BrotherAdminSettings {
        var settings = BrotherAdminSettings()
        let entries = reader.entries(of: block.node, at: block.path, known: keys, hint: "`trust_loopback`, `socket_group` and `server_names`") ?? []
        let values = Dictionary(entries, uniquingKeysWith: { first, _ in first })
        if let flag = reader.bool(values["trust_loopback"]) { settings.trustLoopback = flag }
        if let value = values["socket_group"], let group = reader.string(value) {
            if group.isEmpty || group.contains(where: \.isWhitespace) {
                reader.report(value.path, "must be a group name or number, not \"\(group)\"")
            } else {
                settings.socketGroup = group
            }
        }
        for item in reader.list(values["server_names"]) ?? [] {
            guard let name = reader.string(item) else { continue }
            if name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == "/" || $0 == ":" }) {
                reader.report(item.path, "must be a host name without port, e.g. lb1.example.com, not \"\(name)\"")
            } else {
                settings.serverNames.append(name)
            }
        }
        return settings
    }
}
