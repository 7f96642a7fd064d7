import ArgumentParser
import BrotherCore
import Foundation
import IPVS
import IPVSViews

/// `brother ipvs`: the operator's view of the kernel table, and desired-state apply.
struct IPVSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvs",
        abstract: "Show or change the kernel's IPVS table (like ipvsadm -Ln, over netlink).",
        subcommands: [List.self, Apply.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List virtual services and destinations with weights, connections and rates.",
            discussion: """
                When brother runs on this machine, each destination it manages also shows its health, ramp and reason \
                (HEALTH, RAMP, BROTHER; in --json a "brother" object per destination and a "cluster" per service), read \
                from brother's API: its Unix socket (--api-socket), then --api. Reading needs no token. When neither \
                answers, the kernel's table is shown alone with one line saying why; that is not an error.
                """)

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @Option(name: .long, help: "Show only this service, e.g. \"TCP 198.51.100.10:80\" or \"FWM 7\".")
        var service: String?

        @Option(name: .long, help: ArgumentHelp("brother's API Unix socket (brother run --socket); \"none\" to skip it.", valueName: "path"))
        var apiSocket = "/run/brother/brother.sock"

        @Option(name: .long, help: ArgumentHelp("brother's API over TCP (brother run --listen); \"none\" to skip it.", valueName: "url"))
        var api = "http://127.0.0.1:9292"

        @Flag(help: "Show the kernel's table only, without asking brother's API.")
        var noAPI = false

        func validate() throws {
            if let service, VirtualService.ID(parsing: service) == nil {
                throw ValidationError(
                    "--service \"\(service)\" is not a service; write \"TCP 198.51.100.10:80\", \"UDP [2001:db8::1]:53\" or \"FWM 7\"")
            }
            if api != "none", BrotherAPIReader.Endpoint(url: api) == nil {
                throw ValidationError("--api \"\(api)\" is not http://HOST:PORT, e.g. http://127.0.0.1:9292")
            }
        }

        /// Where brother's API is asked: the socket first (it answers even with no TCP listener).
        var endpoints: [BrotherAPIReader.Endpoint] {
            var endpoints: [BrotherAPIReader.Endpoint] = []
            if apiSocket != "none" { endpoints.append(.unixSocket(apiSocket)) }
            if api != "none", let endpoint = BrotherAPIReader.Endpoint(url: api) { endpoints.append(endpoint) }
            return endpoints
        }

        func run() async throws {
            try await IPVSCommand.reportingErrors {
                let client = try IPVSClient()
                let scope = service.flatMap(VirtualService.ID.init(parsing:)).map { Set([$0]) }
                let table = try await client.table(scope: scope)
                if let scope, table.entries.isEmpty, let id = scope.first { throw IPVSError.serviceNotFound(id) }
                let brother = noAPI ? nil : BrotherAPIReader(endpoints: endpoints).read()
                let view = IPVSTableView(info: try await client.info(), table: table, brother: brother)
                print(json ? try view.json() : view.text(), terminator: "")
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the kernel hold exactly the services in a YAML/JSON file, with the fewest changes.",
            discussion: """
                Services listed in FILE are created or updated and their destinations made to match (added, updated, \
                removed); services not in FILE are never touched unless named with --remove. All changes go to the \
                kernel in netlink batches; each change is printed, then each failure with its reason. Exit status 1 \
                if any change failed.

                FILE is YAML (or JSON) with one key, services, a list of:
                  service: "TCP 198.51.100.10:80", "UDP [2001:db8::1]:53", "SCTP 198.51.100.10:9", "FWM 7" or "FWM 7 IPv6"
                  scheduler: rr, wrr (default), lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh
                  flags: a list of ops (UDP and FWM only), sh-fallback, sh-port (scheduler sh), mh-fallback, mh-port (scheduler mh), flag-1, flag-2, flag-3
                  persistence: {timeout: SECONDS, netmask: PREFIX-LENGTH}
                  persistence_engine: sip
                  destinations: a list of {address: "192.0.2.2:8080", forwarding: masq | route | local | tunnel | \
                gue:PORT | gre (optionally ",csum" or ",remcsum"), weight: 0..2147483647, upper_threshold: N, lower_threshold: N}
                """)

        @Argument(help: "The desired table (YAML or JSON); see brother.8.")
        var file: String

        @Flag(help: "Print the changes without making them.")
        var dryRun = false

        @Option(name: .long, help: "Also remove this service if present (repeatable), e.g. \"FWM 7\".")
        var remove: [String] = []

        func run() async throws {
            try await IPVSCommand.reportingErrors {
                let text: String
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot read \(file): \(error.localizedDescription)")
                }
                let desired = try IPVSTableFile(yaml: text, source: file).desired
                var alsoOwned: Set<VirtualService.ID> = []
                for name in remove {
                    guard let id = VirtualService.ID(parsing: name) else { throw ValidationError("--remove \"\(name)\" is not a service") }
                    alsoOwned.insert(id)
                }
                let client = try IPVSClient()
                let owned = alsoOwned.union(desired.services.keys)
                let actual = try await client.table(scope: owned)
                let plan = IPVSPlan(desired: desired, actual: actual, owned: owned)
                for item in actual.undecodable { printError("left alone: \(item)") }
                for change in plan.changes { print(dryRun ? "would \(change)" : change.description) }
                if plan.changes.isEmpty { print("kernel already matches \(file): no changes") }
                guard !dryRun, !plan.changes.isEmpty else { return }
                let report = try await client.apply(plan.changes)
                print("\(report.succeeded) of \(report.attempted) changes applied")
                for failure in report.failures { printError("failed: \(failure.change): \(failure.error)") }
                if !report.isSuccess { throw ExitCode(1) }
            }
        }
    }

    /// Prints library errors as one clear line on stderr and exits 1 (argument errors exit 64 via the parser).
    static func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as IPVSError {
            printError("brother: \(error)")
            throw ExitCode(1)
        } catch let error as IPVSTableFileError {
            printError("brother: \(error)")
            throw ExitCode(1)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
