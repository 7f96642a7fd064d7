import AccessControl
import Foundation
import LitmusTesting
import NetworkAddress
import Testing
import YAML

@testable import LitmusCore

@Suite struct ConfigLoaderTests {
    @Test func loadsTheExampleWithItsIncludes() throws {
        let settings = try ConfigLoader.load(path: "\(Repository.root)/examples/litmus.yml")
        #expect(settings.services.keys.sorted() == ["api", "edge", "lb_web", "maintenance_page", "web"])
        #expect(settings.files.count == 4)
        #expect(settings.agentCheck.ports == ["web": 9191])
        #expect(settings.agentCheck.singlePort == 9190)
        #expect(settings.admin.token != nil)
        #expect(settings.services["web"]?.metrics.count == 2)
    }

    /// Every litmus file in examples/ (litmus*.yml and litmus.d/) must load on its own; the other
    /// examples belong to brother and are loaded by its tests.
    @Test(
        arguments: try! FileManager.default.subpathsOfDirectory(atPath: "\(Repository.root)/examples")
            .filter { $0.hasSuffix(".yml") && $0.hasPrefix("litmus") }.sorted())
    func everyExampleFileLoads(_ file: String) throws {
        let settings = try ConfigLoader.load(path: "\(Repository.root)/examples/\(file)")
        #expect(!settings.services.isEmpty)
    }

    @Test func litmusPaperLayoutAndDefaults() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(
            "litmus.yml",
            """
            port: 9300
            data_directory: \(dir.path)/data
            cache_location: /run/shm
            cache_ttl: 5
            services:
              web:
                dependencies:
                  - type: http
                    uri: http://127.0.0.1:1/heartbeat
                    method: get
                    timeout_seconds: 1.5
                  - type: tcp
                    ip: 127.0.0.1
                    port: 6379
                    input_data: PING
                    expected_output: +PONG
                checks:
                  - type: constant_metric
                    weight: 60
                  - type: cpu_load
                    weight: 40
            """
        )
        let settings = try ConfigLoader.load(path: path)
        #expect(settings.port == 9300)
        #expect(settings.effectiveListen == [HostAndPort(host: "0.0.0.0", port: 9300)])
        let web = try #require(settings.services["web"])
        guard case .http(let http) = web.dependencies[0], case .tcp(let tcp) = web.dependencies[1] else {
            Issue.record("wrong dependency types: \(web.dependencies)")
            return
        }
        #expect(http.method == "GET")
        #expect(http.timeout == .milliseconds(1500))
        #expect(tcp.send == "PING" && tcp.expect == "+PONG" && tcp.timeout == .seconds(5))
        #expect(web.metrics == [.constant(weight: 60), .cpuLoad(weight: 40)])
        #expect(settings.httpLimits == HTTPLimitSettings())
    }

    @Test func unixSocketDependencyIsRead() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(
            "litmus.yml",
            """
            services:
              php:
                dependencies:
                  - type: unix_socket
                    path: /run/php/php-fpm.sock
                  - type: unix_socket
                    socket_path: /run/redis.sock
                    send: PING
                    expect: +PONG
                    timeout_seconds: 0.5
                checks:
                  - type: constant_metric
                    weight: 100
            """
        )
        var redis = UnixSocketDependencySpec(path: "/run/redis.sock")
        redis.send = "PING"
        redis.expect = "+PONG"
        redis.timeout = .milliseconds(500)
        let php = try #require(try ConfigLoader.load(path: path).services["php"])
        #expect(php.dependencies == [.unixSocket(UnixSocketDependencySpec(path: "/run/php/php-fpm.sock")), .unixSocket(redis)])
        #expect(php.dependencies[0].label == "Dependency::UnixSocket(/run/php/php-fpm.sock)")
        #expect(php.dependencies[0].timeout == .seconds(5), "the tcp dependency's default")
    }

    @Test func aBadUnixSocketValueNamesItsLineAndColumn() throws {
        let dir = TemporaryDirectory()
        let file = dir.write(
            "litmus.yml", "services:\n  php:\n    dependencies:\n      - type: unix_socket\n        path: run/php-fpm.sock\n")
        let errors = try #require(throws: ConfigErrors.self) { try ConfigLoader.load(path: file) }
        let error = try #require(errors.errors.first)
        #expect(error.path == "services.php.dependencies[0].path")
        #expect(error.line == 5 && error.column == 15, "\(error)")
        #expect(error.message.contains("absolute path"), "\(error.message)")
        #expect(error.description.contains("\(file):5:15"), "\(error.description)")
    }

    @Test func httpLimitsAreRead() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(
            "litmus.yml",
            "http_limits:\n  max_connections: 4096\n  max_connections_per_peer: 256\n  request_read_timeout: 2.5\n  idle_timeout: 120\n")
        let limits = try ConfigLoader.load(path: path).httpLimits
        #expect(limits.maxConnections == 4096 && limits.maxConnectionsPerPeer == 256)
        #expect(limits.requestReadTimeout == .milliseconds(2500) && limits.idleTimeout == .seconds(120))
        let small = try ConfigLoader.load(path: dir.write("small.yml", "http_limits:\n  max_connections: 16\n")).httpLimits
        #expect(small.maxConnectionsPerPeer == 16, "the per-peer default never exceeds the total")
    }

    @Test func adminTakesLoopbackTrustTheSocketGroupAndServerNames() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(
            "litmus.yml",
            "admin:\n  trust_loopback: false\n  token: s3cret\n  socket_group: root\n  server_names: [node1.example.com]\nservices: {}\n")
        let admin = try ConfigLoader.load(path: path).admin
        #expect(admin == AdminAccess(token: "s3cret", trustLoopback: false, socketGroup: "root", serverNames: ["node1.example.com"]))
        let defaults = try ConfigLoader.load(path: dir.write("plain.yml", "services: {}\n")).admin
        #expect(defaults.trustLoopback && defaults.socketGroup == nil && defaults.serverNames.isEmpty, "today's behaviour by default")
    }

    @Test func includedFilesReplaceEarlierServices() throws {
        let dir = TemporaryDirectory()
        dir.write("conf.d/a.yml", "services:\n  web:\n    checks:\n      - type: constant_metric\n        weight: 10\n")
        dir.write("conf.d/b.yml", "services:\n  db:\n    checks:\n      - type: constant_metric\n        weight: 20\n")
        let path = dir.write(
            "main.yml", "include_files: conf.d/*.yml\nservices:\n  web:\n    checks:\n      - type: constant_metric\n        weight: 5\n")
        let settings = try ConfigLoader.load(path: path)
        #expect(settings.services["web"]?.metrics == [.constant(weight: 10)])
        #expect(settings.services["db"]?.metrics == [.constant(weight: 20)])
    }

    struct BadConfig: Sendable, CustomTestStringConvertible {
        var yaml: String
        var path: String
        var message: String
        var testDescription: String { path }
    }

    static let badConfigs: [BadConfig] = [
        BadConfig(
            yaml: "services:\n  web:\n    checks:\n      - type: constant_metric\n        weight: 10\n      - type: cpu_load\n        weight: lots\n",
            path: "services.web.checks[1].weight", message: "expected an integer"),
        BadConfig(
            yaml: "services:\n  web:\n    checks:\n      - type: constant_metric\n        weight: 101\n", path: "services.web.checks[0].weight",
            message: "0...100"),
        BadConfig(yaml: "port: 70000\n", path: "port", message: "1...65535"),
        BadConfig(
            yaml: "services:\n  web:\n    dependencies:\n      - type: carrier_pigeon\n", path: "services.web.dependencies[0].type",
            message: "unknown dependency type"),
        BadConfig(
            yaml: "services:\n  web:\n    dependencies:\n      - type: script\n        command: curl localhost\n",
            path: "services.web.dependencies[0].command", message: "shell: true"),
        BadConfig(
            yaml: "services:\n  web:\n    dependencies:\n      - type: file_contents\n        path: /x\n        regex: \"([\"\n",
            path: "services.web.dependencies[0].regex", message: "regular expression"),
        BadConfig(
            yaml: "services:\n  web:\n    dependencies:\n      - type: tcp\n        host: h\n", path: "services.web.dependencies[0].port",
            message: "is required"),
        BadConfig(
            yaml: "services:\n  web:\n    dependencies:\n      - type: unix_socket\n        port: 80\n", path: "services.web.dependencies[0].path",
            message: "is required"),
        BadConfig(
            yaml: "services:\n  web:\n    dependencies:\n      - type: unix_socket\n        path: /run/a.sock\n        timeout: soon\n",
            path: "services.web.dependencies[0].timeout", message: "seconds"),
        BadConfig(
            yaml: "services:\n  web:\n    dependencies:\n      - type: unix_socket\n        path: /\(String(repeating: "d", count: 120))\n",
            path: "services.web.dependencies[0].path", message: "at most 107 bytes"),
        BadConfig(yaml: "servics: {}\n", path: "servics", message: "unknown key"),
        BadConfig(yaml: "admin:\n  allowed_networks: [10.0.0.0/8]\n", path: "admin", message: "needs a token"),
        BadConfig(yaml: "admin:\n  allowed_networks: [10.0.0.0/33]\n  token: x\n", path: "admin.allowed_networks[0]", message: "CIDR"),
        BadConfig(
            yaml: "admin:\n  socket_group: no-such-group-plimsoll\n", path: "admin.socket_group", message: "there is no group no-such-group-plimsoll"),
        BadConfig(yaml: "admin:\n  server_names: [\"node1:9292\"]\n", path: "admin.server_names[0]", message: "host name without port"),
        BadConfig(yaml: "admin:\n  trust_loopback: perhaps\n", path: "admin.trust_loopback", message: "true or false"),
        BadConfig(yaml: "agent_check:\n  ports:\n    nope: 9191\n", path: "agent_check.ports.nope", message: "no service"),
        BadConfig(yaml: "listen: [\"localhost\"]\n", path: "listen[0]", message: "host:port"),
        BadConfig(yaml: "services:\n  global:\n    checks: []\n", path: "services.global", message: "service names"),
        BadConfig(yaml: "evaluation_interval: 10\nstaleness_limit: 5\n", path: "staleness_limit", message: "longer than evaluation_interval"),
        BadConfig(yaml: "http_limits:\n  max_connections: 0\n", path: "http_limits.max_connections", message: "1...1000000"),
        BadConfig(
            yaml: "http_limits:\n  max_connections: 10\n  max_connections_per_peer: 20\n", path: "http_limits.max_connections_per_peer",
            message: "must not exceed max_connections (10)"),
        BadConfig(yaml: "http_limits:\n  idle_timeout: 0\n", path: "http_limits.idle_timeout", message: "more than 0"),
        BadConfig(yaml: "http_limits:\n  request_read_timeout: soon\n", path: "http_limits.request_read_timeout", message: "seconds"),
        BadConfig(yaml: "http_limits:\n  header_timeout: 5\n", path: "http_limits.header_timeout", message: "unknown key"),
    ]

    @Test(arguments: badConfigs)
    func errorsNameFilePathAndProblem(_ bad: BadConfig) throws {
        let dir = TemporaryDirectory()
        let file = dir.write("litmus.yml", bad.yaml)
        let errors = try #require(throws: ConfigErrors.self) { try ConfigLoader.load(path: file) }
        let error = try #require(errors.errors.first { $0.path == bad.path }, "no error at \(bad.path) in: \(errors)")
        #expect(error.file == file)
        #expect(error.message.contains(bad.message), "\(error.message)")
        #expect(error.description.contains("\(file)"))
        #expect(error.description.contains(bad.path))
    }

    @Test func errorsInIncludedFilesNameThatFile() throws {
        let dir = TemporaryDirectory()
        let included = dir.write("d/x.yml", "services:\n  web:\n    checks:\n      - type: cpu_load\n")
        let main = dir.write("main.yml", "include_files: d/*.yml\n")
        let errors = try #require(throws: ConfigErrors.self) { try ConfigLoader.load(path: main) }
        #expect(errors.errors.map(\.file) == [included])
        #expect(errors.errors.first?.path == "services.web.checks[0].weight")
    }

    @Test func missingFileAndBrokenYAMLAreReported() throws {
        let dir = TemporaryDirectory()
        let missing = try #require(throws: ConfigErrors.self) { try ConfigLoader.load(path: "\(dir.path)/nope.yml") }
        #expect(missing.description.contains("cannot read"))
        let broken = dir.write("broken.yml", "services: [\n")
        let errors = try #require(throws: ConfigErrors.self) { try ConfigLoader.load(path: broken) }
        #expect(errors.description.contains("not valid YAML"))
    }
}
