import ArgumentParser
import Foundation
import LitmusCore
import LitmusWire

/// `litmusctl`: list services, show a status, set or delete forces. Talks to the agent's Unix socket by default.
@main
struct LitmusctlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "litmusctl",
        abstract: "Control a running litmus agent: list services, show status, force services down, up or to a health ceiling.",
        discussion: "Exit status: 0 on success, 2 when the agent rejected the request (client error), 1 otherwise.",
        version: LitmusVersion.current,
        subcommands: [List.self, Status.self, Force.self]
    )

    /// litmus_paper's exit codes: usage mistakes are client errors (2), not ArgumentParser's 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                var standardError = StandardError()
                print(fullMessage(for: error), to: &standardError)
                Self.exit(withError: ExitCode(2))
            }
            Self.exit(withError: error)
        }
    }
}

/// How to reach the agent.
struct AgentOptions: ParsableArguments {
    @Option(help: "The agent's Unix socket (default: unix_socket from --config, else /run/litmus/litmus.sock).")
    var socket: String?

    @Option(help: "Talk HTTP to the agent instead, e.g. http://127.0.0.1:9292.")
    var url: String?

    @Option(name: .shortAndLong, help: "Read the socket path (or port) from this litmus configuration.")
    var config: String?

    func validate() throws {
        if socket != nil && url != nil { throw ValidationError("give --socket or --url, not both") }
        if let url, AgentEndpoint(url: url) == nil { throw ValidationError("--url must look like http://127.0.0.1:9292") }
    }

    func endpoint() throws -> AgentEndpoint {
        if let url, let endpoint = AgentEndpoint(url: url) { return endpoint }
        if let socket { return .unixSocket(socket) }
        if let config {
            do {
                let settings = try ConfigLoader.load(path: config)
                if let path = settings.unixSocket { return .unixSocket(path) }
                return .http(host: "127.0.0.1", port: settings.port)
            } catch {
                throw ValidationError("cannot read \(config):\n\(error.description)")
            }
        }
        return .unixSocket("/run/litmus/litmus.sock")
    }

    /// Sends the command, prints the answer, and exits with litmus_paper's codes.
    func perform(_ command: ControlCommand) async throws {
        let client = AgentClient(endpoint: try endpoint())
        let request = command.request
        do {
            let response = try await client.send(method: request.method, path: request.path, headers: request.headers, body: request.body)
            let output = command.output(for: response)
            let code = ControlCommand.exitCode(forStatus: response.status)
            if code == 0 {
                print(output, terminator: "")
            } else {
                var standardError = StandardError()
                print(output, terminator: "", to: &standardError)
                throw ExitCode(code)
            }
        } catch let error as AgentClientError {
            var standardError = StandardError()
            print(error.description, to: &standardError)
            throw ExitCode(1)
        }
    }
}

extension LitmusctlCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every service's reported and measured health and forces.")
        @OptionGroup var agent: AgentOptions

        func run() async throws { try await agent.perform(.list) }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one service's health, forces, result age, checks and their last transitions.",
            discussion: """
                A Force file: line says that the agent cannot read its litmus-forces.json, and which forces it holds instead. \
                Last transitions: lists each check's last 10 changes between OK and FAIL (with the reason), kept across restarts.
                """)
        @OptionGroup var agent: AgentOptions
        @Argument(help: "The service.") var service: String

        func run() async throws { try await agent.perform(.status(service: service)) }
    }

    struct Force: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Force a service (or, without SVC, every service) down, up, or to a health ceiling; --delete removes the force.",
            usage: """
                litmusctl force down [SVC] [--reason R] [--ttl 30m]
                litmusctl force up [SVC] [--reason R] [--ttl 30m]
                litmusctl force health N [SVC] [--reason R] [--ttl 30m]
                litmusctl force down|up|health [SVC] --delete
                """
        )
        @OptionGroup var agent: AgentOptions

        @Argument(help: "down, up or health.") var direction: ForceDirection
        @Argument(help: "For health: N (0-100), then optionally SVC. Otherwise optionally SVC.") var rest: [String] = []

        @Option(name: .shortAndLong, help: "Why (prompted for on a terminal when missing).") var reason: String?
        @Option(help: "Expire the force after this long: seconds, or 90s, 15m, 2h, 1d.") var ttl: String?
        @Option(help: "Who is forcing (default: $SUDO_USER or $USER).") var author: String?
        @Flag(name: .shortAndLong, help: "Delete the force instead of creating it.") var delete = false
        @Flag(
            help: """
                With force down SVC: return once every trusted brother that polls this node reports weight 0 and no active \
                connection to it (the deploy workflow: force down --wait, deploy, force down --delete). Only reports from \
                drain_reports in litmus.yml(5) count.
                """)
        var wait = false
        @Option(help: "How long --wait waits: seconds, or 90s, 15m, 2h.") var waitTimeout = "5m"

        func validate() throws {
            _ = try parsed()
            if let ttl, ForceRequest.parseTTL(ttl) == nil { throw ValidationError("--ttl must be like 90, 90s, 15m, 2h or 1d") }
            if delete && (ttl != nil || reason != nil) { throw ValidationError("--delete takes no --reason or --ttl") }
            if wait {
                guard direction == .down, !delete, try parsed().service != nil else {
                    throw ValidationError("--wait goes with force down SVC: litmusctl force down web --wait")
                }
                guard ForceRequest.parseTTL(waitTimeout) != nil else { throw ValidationError("--wait-timeout must be like 90, 90s, 15m or 2h") }
            }
        }

        func parsed() throws -> (health: Int?, service: String?) {
            var rest = self.rest[...]
            var health: Int?
            if direction == .health && !delete {
                guard let first = rest.popFirst(), let value = Int(first), (0...100).contains(value) else {
                    throw ValidationError("force health needs N, an integer 0-100: litmusctl force health N [SVC]")
                }
                health = value
            }
            let service = rest.popFirst()
            if let service, !ServiceName.isValid(service) { throw ValidationError("\"\(service)\" is not a valid service name") }
            guard rest.isEmpty else { throw ValidationError("unexpected arguments: \(rest.joined(separator: " "))") }
            return (health, service)
        }

        func run() async throws {
            let (health, service) = try parsed()
            if delete {
                try await agent.perform(.deleteForce(direction: direction, service: service))
                return
            }
            var reasonText = reason
            if reasonText == nil && ProcessEnvironment.isInteractive {
                print("Reason? ", terminator: "")
                reasonText = readLine()
            }
            let author = author ?? ProcessEnvironment.value("SUDO_USER") ?? ProcessEnvironment.value("USER")
            let forcedAt = Date()
            try await agent.perform(
                .force(direction: direction, service: service, health: health, reason: reasonText ?? "", ttl: ttl, author: author))
            if wait, let service { try await waitForDrain(service, since: forcedAt) }
        }

        /// Polls the agent for what the brothers polling `service` last said, until all report the
        /// node drained, or the timeout.
        func waitForDrain(_ service: String, since: Date) async throws {
            let timeout = ForceRequest.parseTTL(waitTimeout).map { Double($0.components.seconds) } ?? 300
            let client = AgentClient(endpoint: try agent.endpoint())
            let deadline = Date().addingTimeInterval(timeout)
            var standardError = StandardError()
            var lastMessage = ""
            while true {
                let reports: [PollerReport]
                do {
                    let response = try await client.send(method: "GET", path: "/\(service)/pollers", headers: [("Accept", "application/json")])
                    let decoder = JSONDecoder()
                    decoder.dateDecodingStrategy = .iso8601
                    reports = (try? decoder.decode([PollerReport].self, from: Data(response.body.utf8))) ?? []
                } catch {
                    print(error.description, to: &standardError)
                    throw ExitCode(1)
                }
                let verdict = DrainProgress.evaluate(reports, since: since)
                switch verdict {
                case .drained(let pollers):
                    print("drained: \(pollers.map(\.poller).joined(separator: ", ")) report weight 0 and no active connection")
                    return
                case .waiting(let what):
                    let message = "waiting: " + what.joined(separator: "; ")
                    if message != lastMessage { print(message, to: &standardError) }
                    lastMessage = message
                case .noPollers:
                    // Give brothers one poll interval or so to show up before giving up.
                    if Date().timeIntervalSince(since) > min(15, timeout) {
                        print(
                            """
                            no trusted brother has polled \(service) recently: cannot confirm the drain (reports count only from \
                            drain_reports.trusted_networks, with drain_reports.token when one is set; see litmus.yml(5))
                            """, to: &standardError)
                        throw ExitCode(1)
                    }
                }
                if Date() >= deadline {
                    print("timed out after \(waitTimeout): \(lastMessage)", to: &standardError)
                    throw ExitCode(1)
                }
                // The brothers report at their own check interval; asking twice a second is plenty.
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

extension ForceDirection: ExpressibleByArgument {}
