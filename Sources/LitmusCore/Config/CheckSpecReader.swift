import NetworkAddress
import YAML

/// Turns one `dependencies[i]` or `checks[i]` mapping into a spec; option names follow litmus_paper.
///
/// litmus_paper used `timeout_seconds` for some types and `timeout` for others; both are accepted everywhere.
enum CheckSpecReader {
    static func dependency(_ cursor: YAMLCursor) throws(ConfigError) -> DependencySpec {
        var object = try YAMLObject(cursor)
        let typeCursor = try object.required("type")
        let type = try typeCursor.string()
        let spec: DependencySpec
        switch type {
        case "http":
            let urlCursor = try object.required("url", "uri")
            var http = HTTPDependencySpec(url: try urlCursor.nonEmptyString())
            guard http.url.hasPrefix("http://") || http.url.hasPrefix("https://") else {
                throw urlCursor.error("expected an http:// or https:// URL, got \"\(http.url)\"")
            }
            if let value = object.optional("method") {
                http.method = try value.nonEmptyString().uppercased()
                guard ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"].contains(http.method) else {
                    throw value.error("unknown HTTP method \"\(http.method)\"")
                }
            }
            if let value = object.optional("expected_status", "status") {
                let status = try value.int(in: 100...599)
                http.expectedStatus = status...status
            }
            if let value = object.optional("content", "body_regex") { http.content = try value.regex() }
            if let value = object.optional("verify_tls", "tls_verify") { http.verifyTLS = try value.bool() }
            if let value = object.optional("ca_file") { http.caFile = try value.nonEmptyString() }
            if let value = timeout(&object) { http.timeout = try value.seconds() }
            spec = .http(http)
        case "tcp":
            var tcp = TCPDependencySpec(
                host: try object.required("host", "ip").nonEmptyString(),
                port: try object.required("port").port()
            )
            if let value = object.optional("send", "input_data") { tcp.send = try value.string() }
            if let value = object.optional("expect", "expected_output") { tcp.expect = try value.string() }
            if let value = timeout(&object) { tcp.timeout = try value.seconds() }
            spec = .tcp(tcp)
        case "unix_socket":
            // `socket_path` as the unix_socket_utilization check spells it; `path` as file_contents does.
            let pathCursor = try object.required("path", "socket_path")
            let path = try pathCursor.nonEmptyString()
            guard path.utf8.count < 108 else {
                throw pathCursor.error("a Unix socket path holds at most 107 bytes (sun_path), this one has \(path.utf8.count)")
            }
            guard path.hasPrefix("/") else {
                throw pathCursor.error("expected an absolute path such as /run/php-fpm.sock, got \"\(path)\"")
            }
            var unix = UnixSocketDependencySpec(path: path)
            if let value = object.optional("send", "input_data") { unix.send = try value.string() }
            if let value = object.optional("expect", "expected_output") { unix.expect = try value.string() }
            if let value = timeout(&object) { unix.timeout = try value.seconds() }
            spec = .unixSocket(unix)
        case "script":
            let program = try self.program(&object)
            spec = .script(program: program, timeout: try timeout(&object)?.seconds() ?? .seconds(5))
        case "file_contents":
            spec = .fileContents(
                path: try object.required("path").nonEmptyString(),
                pattern: try object.required("regex", "content").regex(),
                timeout: try timeout(&object)?.seconds() ?? .seconds(5)
            )
        case "haproxy_backends":
            spec = .haproxyBackends(
                socket: try object.required("domain_socket", "socket").nonEmptyString(),
                cluster: try object.required("cluster").nonEmptyString(),
                timeout: try timeout(&object)?.seconds() ?? .seconds(2)
            )
        default:
            throw typeCursor.error("unknown dependency type \"\(type)\"; expected http, tcp, unix_socket, script, file_contents or haproxy_backends")
        }
        if let problem = object.unknownKeys().first { throw problem }
        return spec
    }

    static func metric(_ cursor: YAMLCursor) throws(ConfigError) -> MetricSpec {
        var object = try YAMLObject(cursor)
        let typeCursor = try object.required("type")
        let type = try typeCursor.string()
        let spec: MetricSpec
        switch type {
        case "constant_metric", "constant":
            spec = .constant(weight: try weight(&object))
        case "cpu_load":
            spec = .cpuLoad(weight: try weight(&object))
        case "script":
            let program = try self.program(&object)
            spec = .script(program: program, weight: try weight(&object), timeout: try timeout(&object)?.seconds() ?? .seconds(5))
        case "tcp_socket_utilization":
            spec = .tcpSocketUtilization(
                weight: try weight(&object),
                address: try object.required("address").hostAndPort(),
                maxConnections: try object.required("maxconn").int(in: 1...10_000_000)
            )
        case "unix_socket_utilization":
            spec = .unixSocketUtilization(
                weight: try weight(&object),
                path: try object.required("socket_path", "path").nonEmptyString(),
                maxConnections: try object.required("maxconn").int(in: 1...10_000_000)
            )
        case "haproxy_backends_health":
            spec = .haproxyBackendsHealth(
                weight: try weight(&object),
                socket: try object.required("domain_socket", "socket").nonEmptyString(),
                cluster: try object.required("cluster").nonEmptyString(),
                timeout: try timeout(&object)?.seconds() ?? .seconds(2)
            )
        case "brother_cluster", "big_brother_service":
            let base = try object.optional("url")?.nonEmptyString() ?? "http://127.0.0.1:9292"
            guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
                throw cursor.child("url", cursor.node).error("expected an http:// or https:// URL, got \"\(base)\"")
            }
            spec = .brotherCluster(
                baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base,
                cluster: try object.required("cluster", "service").nonEmptyString(),
                timeout: try timeout(&object)?.seconds() ?? .seconds(2)
            )
        case "internet_health":
            let hostsCursor = try object.required("hosts")
            var hosts: [HostAndPort] = []
            for item in try hostsCursor.sequence() { hosts.append(try item.hostAndPort()) }
            guard !hosts.isEmpty else { throw hostsCursor.error("needs at least one host:port") }
            spec = .internetHealth(weight: try weight(&object), hosts: hosts, timeout: try timeout(&object)?.seconds() ?? .seconds(5))
        default:
            throw typeCursor.error(
                "unknown check type \"\(type)\"; expected constant_metric, cpu_load, script, tcp_socket_utilization, "
                    + "unix_socket_utilization, haproxy_backends_health, brother_cluster or internet_health"
            )
        }
        if let problem = object.unknownKeys().first { throw problem }
        return spec
    }

    private static func timeout(_ object: inout YAMLObject) -> YAMLCursor? {
        object.optional("timeout_seconds", "timeout")
    }

    private static func weight(_ object: inout YAMLObject) throws(ConfigError) -> Int {
        try object.required("weight").int(in: 0...100)
    }

    /// `command: [argv...]`, or `command: "string"` together with `shell: true`.
    private static func program(_ object: inout YAMLObject) throws(ConfigError) -> ProgramSpec {
        let command = try object.required("command")
        let shell = try object.optional("shell")?.bool() ?? false
        if command.node.sequence != nil {
            var argv: [String] = []
            for item in try command.sequence() { argv.append(try item.nonEmptyString()) }
            guard !argv.isEmpty else { throw command.error("the argv list is empty") }
            return ProgramSpec(arguments: argv, usesShell: shell)
        }
        let line = try command.nonEmptyString()
        guard shell else {
            throw command.error("a command string would need a shell; give an argv list (command: [\"/path/to/prog\", \"arg\"]) or set shell: true")
        }
        return ProgramSpec(arguments: [line], usesShell: true)
    }
}
