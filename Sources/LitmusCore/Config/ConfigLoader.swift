import AccessControl
import Glibc
import LitmusWire
import NetworkAddress
import Posix
import YAML

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Loads litmus_paper-style YAML (`port`, `data_directory`, `include_files`, `services`) plus litmus's own keys.
///
/// Included files (a glob relative to the main file's directory) may only define `services`, as in litmus_paper.
/// Errors are collected rather than thrown one at a time.
public enum ConfigLoader {
    /// Loads and validates `path` and everything it includes.
    /// - Throws: `ConfigErrors` listing every problem with file, YAML path and reason.
    public static func load(path: String) throws(ConfigErrors) -> AgentSettings {
        var errors: [ConfigError] = []
        var settings = AgentSettings(files: [path])
        guard let root = parse(file: path, errors: &errors) else { throw ConfigErrors(errors) }
        readMain(root, into: &settings, errors: &errors)
        if let pattern = settings.includePattern {
            let directory = FilePaths.directory(of: path)
            let full = pattern.hasPrefix("/") ? pattern : (directory.isEmpty ? pattern : "\(directory)/\(pattern)")
            for file in glob(full) {
                settings.files.append(file)
                guard let included = parse(file: file, errors: &errors) else { continue }
                readIncluded(included, into: &settings, errors: &errors)
            }
        }
        for (service, port) in settings.agentCheck.ports where settings.services[service] == nil {
            errors.append(
                ConfigError(file: path, path: "agent_check.ports.\(service)", message: "no service named \"\(service)\" is defined (port \(port))"))
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return settings
    }

    private static func parse(file: String, errors: inout [ConfigError]) -> YAMLCursor? {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            errors.append(ConfigError(file: file, path: "", message: "cannot read the file: \(FileErrorText.describe(error))"))
            return nil
        }
        do {
            guard let node = try YAMLParser.parse(text, file: file) else {
                errors.append(ConfigError(file: file, path: "", message: "the file is empty; expected a mapping"))
                return nil
            }
            return YAMLCursor(node: node, file: file, path: "")
        } catch {
            var problem = error
            problem.message = "not valid YAML: \(problem.message)"
            errors.append(problem)
            return nil
        }
    }

    /// Runs one section's reader; its error (if any) is returned so the caller records it and carries on.
    private static func attempt(_ body: () throws(ConfigError) -> Void) -> ConfigError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    private static func readMain(_ root: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        var object: YAMLObject
        do { object = try YAMLObject(root) } catch {
            errors.append(error)
            return
        }
        if let error = attempt({ () throws(ConfigError) in
            if let value = object.optional("port") { settings.port = try value.port() }
        }) {
            errors.append(error)
        }
        if let error = attempt({ () throws(ConfigError) in
            if let value = object.optional("data_directory") { settings.dataDirectory = try value.nonEmptyString() }
        }) {
            errors.append(error)
        }
        if let error = attempt({ () throws(ConfigError) in
            if let value = object.optional("include_files") { settings.includePattern = try value.nonEmptyString() }
        }) {
            errors.append(error)
        }
        // litmus_paper's file cache is replaced by background evaluation; the keys stay accepted.
        _ = object.optional("cache_location")
        _ = object.optional("cache_ttl")
        if let error = attempt({ () throws(ConfigError) in
            if let value = object.optional("listen") {
                settings.listen = []
                for item in try value.sequence() { settings.listen.append(try item.hostAndPort()) }
            }
        }) {
            errors.append(error)
        }
        if let error = attempt({ () throws(ConfigError) in
            if let value = object.optional("unix_socket") {
                let path = try value.string()
                settings.unixSocket = path.isEmpty ? nil : path
            }
        }) {
            errors.append(error)
        }
        if let error = attempt({ () throws(ConfigError) in
            if let value = object.optional("evaluation_interval") { settings.evaluationInterval = try value.seconds(maximum: 3600) }
        }) {
            errors.append(error)
        }
        if let error = attempt({ () throws(ConfigError) in
            if let value = object.optional("staleness_limit") { settings.stalenessLimit = try value.seconds(maximum: 86400) }
        }) {
            errors.append(error)
        }
        if let value = object.optional("admin") { readAdmin(value, into: &settings, errors: &errors) }
        if let value = object.optional("agent_check") { readAgentCheck(value, into: &settings, errors: &errors) }
        if let value = object.optional("http_limits") { readHTTPLimits(value, into: &settings, errors: &errors) }
        if let value = object.optional("tls") { readTLS(value, into: &settings, errors: &errors) }
        if let value = object.optional("services") { readServices(value, into: &settings, errors: &errors) }
        if let value = object.optional("register") { readRegistrations(value, into: &settings, errors: &errors) }
        var drainNetworksGiven = false
        if let value = object.optional("drain_reports") { drainNetworksGiven = readDrainReports(value, into: &settings, errors: &errors) }
        if !drainNetworksGiven { settings.drainReports.networks = defaultDrainReportNetworks(settings.registrations) }
        errors += object.unknownKeys()
        for (index, registration) in settings.registrations.enumerated() where settings.services[registration.service] == nil {
            errors.append(root.child("register", root.node).error("register[\(index)].service: no service \"\(registration.service)\" is defined"))
        }
        if settings.stalenessLimit <= settings.evaluationInterval {
            errors.append(
                root.child("staleness_limit", root.node).error("must be longer than evaluation_interval, or every result would count as stale"))
        }
    }

    private static func readIncluded(_ root: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        var object: YAMLObject
        do { object = try YAMLObject(root) } catch {
            errors.append(error)
            return
        }
        if let value = object.optional("services") { readServices(value, into: &settings, errors: &errors) }
        errors += object.unknownKeys().map { error in
            var error = error
            error.message = "only services may be defined in an included file"
            return error
        }
    }

    private static func readRegistrations(_ cursor: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        let items: [YAMLCursor]
        do { items = try cursor.sequence() } catch {
            errors.append(error)
            return
        }
        for item in items {
            if let error = attempt({ () throws(ConfigError) in
                var object = try YAMLObject(item)
                let brotherCursor = try object.required("brother")
                let brother = try brotherCursor.nonEmptyString()
                guard brother.hasPrefix("http://") || brother.hasPrefix("https://"), !brother.contains(where: \.isWhitespace) else {
                    throw brotherCursor.error("expected brother's API URL, e.g. http://192.0.2.1:9292")
                }
                let cluster = try object.required("cluster").nonEmptyString()
                let nodeCursor = try object.required("node")
                let node = try nodeCursor.nonEmptyString()
                guard let colon = node.lastIndex(of: ":"), let port = Int(node[node.index(after: colon)...]), (1...65535).contains(port),
                    IPAddress(String(node[..<colon].trimming(where: { $0 == "[" || $0 == "]" }))) != nil
                else { throw nodeCursor.error("expected the real server as ADDRESS:PORT, e.g. 192.0.2.2:8080") }
                let service = try object.required("service").nonEmptyString()
                var registration = Registration(brother: brother, cluster: cluster, node: node, service: service)
                if let value = object.optional("agent_port") { registration.agentPort = try value.port() }
                if let value = object.optional("ttl") { registration.ttl = try value.seconds(maximum: 86400) }
                if let value = object.optional("interval") { registration.interval = try value.seconds(maximum: 3600) }
                // The range brother's join route takes (health 100 times it fits the kernel's weight).
                if let value = object.optional("capacity") { registration.capacity = try value.int(in: MemberRegistration.capacityRange) }
                if registration.interval >= registration.ttl {
                    throw item.error("interval must be shorter than ttl, or the node would lapse between refreshes")
                }
                // brother's join token (join_token in brother.yml(5)); `token` is the older name.
                if let value = object.optional("join_token", "token") { registration.token = try token(value) }
                if let value = object.optional("join_token_file", "token_file") { registration.token = try tokenFile(value) }
                if let unknown = object.unknownKeys().first { throw unknown }
                settings.registrations.append(registration)
            }) {
                errors.append(error)
            }
        }
    }

    /// `drain_reports:`; returns whether `trusted_networks` was given (otherwise the default applies).
    private static func readDrainReports(_ cursor: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) -> Bool {
        var networksGiven = false
        if let error = attempt({ () throws(ConfigError) in
            var object = try YAMLObject(cursor)
            if let value = object.optional("trusted_networks") {
                var networks: [IPNetwork] = []
                for item in try value.sequence() {
                    let text = try item.string()
                    guard let network = IPNetwork(parsing: text) else {
                        throw item.error("expected an address or CIDR network of a polling brother, got \"\(text)\"")
                    }
                    networks.append(network)
                }
                settings.drainReports.networks = networks
                networksGiven = true
            }
            let inline = object.optional("token")
            let file = object.optional("token_file")
            if inline != nil, let file { throw file.error("give token or token_file, not both") }
            if let inline { settings.drainReports.token = try token(inline) }
            if let file { settings.drainReports.token = try tokenFile(file) }
            errors += object.unknownKeys()
        }) {
            errors.append(error)
        }
        return networksGiven
    }

    /// Without `drain_reports.trusted_networks`: loopback (a brother on this host) and every
    /// `register:` brother whose URL gives an address. Host names are not resolved: a brother named
    /// by host name, or polling from another address than its API's, must be listed.
    static func defaultDrainReportNetworks(_ registrations: [Registration]) -> [IPNetwork] {
        var networks = DrainReportTrust.loopback
        for registration in registrations {
            guard let address = DrainReportTrust.literalAddress(ofURL: registration.brother),
                let network = IPNetwork(address: address, prefixLength: address.family.maximumPrefixLength), !networks.contains(network)
            else { continue }
            networks.append(network)
        }
        return networks
    }

    /// A token written in the file: sent in a header, so visible ASCII without spaces.
    private static func token(_ value: YAMLCursor) throws(ConfigError) -> String {
        let text = try value.nonEmptyString()
        guard DrainReportTrust.isValidToken(text) else {
            throw value.error("a token must be visible ASCII without spaces, at most 1024 bytes (it is sent in an HTTP header)")
        }
        return text
    }

    /// A token read from a file (surrounding whitespace trimmed).
    private static func tokenFile(_ value: YAMLCursor) throws(ConfigError) -> String {
        let path = try value.nonEmptyString()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw value.error("cannot read the token file \(path)") }
        let token = text.trimmingWhitespace()
        guard !token.isEmpty else { throw value.error("the token file \(path) is empty") }
        guard DrainReportTrust.isValidToken(token) else {
            throw value.error("the token in \(path) must be visible ASCII without spaces, at most 1024 bytes (it is sent in an HTTP header)")
        }
        return token
    }

    private static func readAdmin(_ cursor: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        if let error = attempt({ () throws(ConfigError) in
            var object = try YAMLObject(cursor)
            if let value = object.optional("allowed_networks") {
                for item in try value.sequence() {
                    let text = try item.string()
                    guard let network = IPNetwork(parsing: text) else { throw item.error("expected an address or CIDR network, got \"\(text)\"") }
                    settings.admin.allowedNetworks.append(network)
                }
            }
            if let value = object.optional("token") { settings.admin.token = try value.nonEmptyString() }
            if let value = object.optional("token_file") {
                let path = try value.nonEmptyString()
                guard let token = try? String(contentsOfFile: path, encoding: .utf8) else { throw value.error("cannot read the token file \(path)") }
                let trimmed = token.trimmingWhitespace()
                guard !trimmed.isEmpty else { throw value.error("the token file \(path) is empty") }
                settings.admin.token = trimmed
            }
            if let value = object.optional("trust_loopback") { settings.admin.trustLoopback = try value.bool() }
            if let value = object.optional("socket_group") {
                let group = try value.nonEmptyString()
                // Checked here, so that a typo is refused at start (or by a reload) rather than lock litmusctl out.
                let found: UInt32?
                do { found = try UserDatabase.groupID(named: group) } catch { throw value.error("cannot look up group \(group): \(error)") }
                guard found != nil else { throw value.error("there is no group \(group) on this host") }
                settings.admin.socketGroup = group
            }
            if let value = object.optional("server_names") {
                for item in try value.sequence() {
                    let name = try item.nonEmptyString()
                    guard !name.contains(where: { $0.isWhitespace || $0 == "/" || $0 == ":" }) else {
                        throw item.error("expected a host name without port, e.g. node1.example.com, got \"\(name)\"")
                    }
                    settings.admin.serverNames.append(name)
                }
            }
            errors += object.unknownKeys()
            if !settings.admin.allowedNetworks.isEmpty, settings.admin.token == nil {
                throw cursor.error("allowed_networks needs a token (token or token_file): remote force changes are only accepted with one")
            }
        }) {
            errors.append(error)
        }
    }

    private static func readAgentCheck(_ cursor: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        if let error = attempt({ () throws(ConfigError) in
            var object = try YAMLObject(cursor)
            if let value = object.optional("address") { settings.agentCheck.address = try value.nonEmptyString() }
            if let value = object.optional("port") { settings.agentCheck.singlePort = try value.port() }
            if let value = object.optional("ports") {
                var seen: [Int: String] = [:]
                for (service, portCursor) in try value.mapping() {
                    let port = try portCursor.port()
                    if let other = seen[port] { throw portCursor.error("port \(port) is already used by service \(other)") }
                    if port == settings.agentCheck.singlePort { throw portCursor.error("port \(port) is already the single agent-check port") }
                    seen[port] = service
                    settings.agentCheck.ports[service] = port
                }
            }
            errors += object.unknownKeys()
        }) {
            errors.append(error)
        }
    }

    /// `tls:` — certificate and key required, client_ca optional; each file must be readable now
    /// (its contents are checked when the listener loads it, at start and on SIGHUP).
    private static func readTLS(_ cursor: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        let directory = FilePaths.directory(of: settings.files.first ?? "")
        func file(_ value: YAMLCursor) throws(ConfigError) -> String {
            let given = try value.nonEmptyString()
            let path = given.hasPrefix("/") || directory.isEmpty ? given : "\(directory)/\(given)"
            guard access(path, R_OK) == 0 else { throw value.error("cannot read \(path): \(String(cString: strerror(errno)))") }
            return path
        }
        if let error = attempt({ () throws(ConfigError) in
            var object = try YAMLObject(cursor)
            var listen: [HostAndPort] = []
            if let value = object.optional("listen") {
                for item in try value.sequence() { listen.append(try item.hostAndPort()) }
            }
            if let value = object.optional("port") {
                guard listen.isEmpty else { throw value.error("give port or listen, not both") }
                listen = [HostAndPort(host: "0.0.0.0", port: try value.port())]
            }
            if listen.isEmpty { listen = [HostAndPort(host: "0.0.0.0", port: TLSListenerSettings.defaultPort)] }
            guard let certificate = object.optional("certificate") else { throw cursor.error("certificate: required (a PEM certificate file)") }
            guard let key = object.optional("key") else { throw cursor.error("key: required (the certificate's PEM private key file)") }
            var tls = TLSListenerSettings(listen: listen, certificateFile: try file(certificate), keyFile: try file(key))
            if let value = object.optional("client_ca") { tls.clientCAFile = try file(value) }
            errors += object.unknownKeys()
            settings.tls = tls
        }) {
            errors.append(error)
        }
    }

    private static func readHTTPLimits(_ cursor: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        if let error = attempt({ () throws(ConfigError) in
            var object = try YAMLObject(cursor)
            var limits = HTTPLimitSettings()
            if let value = object.optional("max_connections") { limits.maxConnections = try value.int(in: 1...1_000_000) }
            if let value = object.optional("max_connections_per_peer") {
                limits.maxConnectionsPerPeer = try value.int(in: 1...1_000_000)
                if limits.maxConnectionsPerPeer > limits.maxConnections {
                    throw value.error("must not exceed max_connections (\(limits.maxConnections))")
                }
            } else {
                limits.maxConnectionsPerPeer = min(limits.maxConnectionsPerPeer, limits.maxConnections)
            }
            if let value = object.optional("request_read_timeout") { limits.requestReadTimeout = try value.seconds(maximum: 3600) }
            if let value = object.optional("idle_timeout") { limits.idleTimeout = try value.seconds(maximum: 3600) }
            errors += object.unknownKeys()
            settings.httpLimits = limits
        }) {
            errors.append(error)
        }
    }

    private static func readServices(_ cursor: YAMLCursor, into settings: inout AgentSettings, errors: inout [ConfigError]) {
        let entries: [(key: String, value: YAMLCursor)]
        do { entries = try cursor.mapping() } catch {
            errors.append(error)
            return
        }
        for (name, service) in entries {
            guard ServiceNameRule.isValid(name) else {
                errors.append(service.error("service names may use only letters, digits and _ : . - (and not be \"global\")"))
                continue
            }
            var dependencies: [DependencySpec] = []
            var metrics: [MetricSpec] = []
            var failed = false
            if let error = attempt({ () throws(ConfigError) in
                var object = try YAMLObject(service)
                if let list = object.optional("dependencies") {
                    for item in try list.sequence() {
                        do throws(ConfigError) { dependencies.append(try CheckSpecReader.dependency(item)) } catch {
                            errors.append(error)
                            failed = true
                        }
                    }
                }
                if let list = object.optional("checks", "metrics") {
                    for item in try list.sequence() {
                        do throws(ConfigError) { metrics.append(try CheckSpecReader.metric(item)) } catch {
                            errors.append(error)
                            failed = true
                        }
                    }
                }
                errors += object.unknownKeys()
            }) {
                errors.append(error)
            }
            if !failed {
                settings.services[name] = ServiceSpec(name: name, dependencies: dependencies, metrics: metrics, file: service.file)
            }
        }
    }

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        var files: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { files.append(String(cString: path)) }
        }
        return files.sorted()
    }
}

/// Service names: the wire rule, and not `global` (whose force files would collide with the global ones).
enum ServiceNameRule {
    static func isValid(_ name: String) -> Bool {
        ServiceName.isValid(name) && name != "global"
    }
}
