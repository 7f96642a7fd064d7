import ArgumentParser
import LitmusCore
import LitmusServer
import Logging
import Metrics
import Posix
import Prometheus

/// `litmus`: the health agent. Parses arguments and hands over to LitmusServer; nothing happens before `run()`.
@main
struct LitmusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "litmus",
        abstract: "Health agent: evaluates service checks in the background and serves litmus_paper-compatible health.",
        discussion: """
            litmus reads a YAML configuration (litmus_paper's layout), evaluates each service's dependencies \
            and metrics on a schedule, and answers GET /<service>/status with X-Health. SIGHUP reloads the \
            configuration; a configuration that fails validation is rejected and the old one keeps serving.
            """,
        version: LitmusVersion.current,
        subcommands: [Run.self, Check.self],
        defaultSubcommand: Run.self
    )
}

/// Where the configuration is when no path is given: `$LITMUS_CONFIG`, else /etc/litmus.yml.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file (default: $LITMUS_CONFIG, else /etc/litmus.yml).")
    var config: String?

    var path: String { config ?? ProcessEnvironment.value("LITMUS_CONFIG") ?? "/etc/litmus.yml" }
}

extension LitmusCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the agent (the default).")

        @OptionGroup var options: ConfigOption

        @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
        var logLevel: Logger.Level = .info

        func run() async throws {
            MallocArenas.limit(to: 2)
            let level = logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let logger = Logger(label: "litmus")
            do {
                try await AgentRunner.run(configPath: options.path, logger: logger) {
                    var buffer: [UInt8] = []
                    registry.emit(into: &buffer)
                    return String(decoding: buffer, as: UTF8.self)
                }
            } catch let errors as ConfigErrors {
                logger.critical("configuration is invalid", metadata: ["errors": "\(errors.description)"])
                throw ExitCode(2)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a configuration file (and its includes) without starting.")

        @Argument(help: "The configuration file to check.")
        var config: String

        func run() throws {
            do {
                let settings = try ConfigLoader.load(path: config)
                // tls: the certificate and key must load and go together, as `litmus run` and SIGHUP need.
                _ = try AgentHTTPServer.tlsContext(settings)
                print("\(config): OK (\(settings.services.count) services in \(settings.files.count) files)")
            } catch {
                var standardError = StandardError()
                print("\(error)", to: &standardError)
                throw ExitCode(1)
            }
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
