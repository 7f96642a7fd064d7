import ArgumentParser
import Foundation
import IPVS
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The destination whose kernel weight a command watches.
struct WatchedDestination: ParsableArguments {
    @Option(help: "The virtual service, e.g. \"TCP 198.51.100.10:80\".")
    var service: String

    @Option(help: "The real server, e.g. 192.0.2.2:8080.")
    var destination: String

    var ids: (VirtualService.ID, Destination.ID) {
        get throws {
            guard let service = VirtualService.ID(parsing: service) else { throw ValidationError("not a service: \(self.service)") }
            guard let destination = Destination.ID(parsing: destination) else { throw ValidationError("not a destination: \(self.destination)") }
            return (service, destination)
        }
    }

    /// The destination's weight in the kernel now; nil when it is not there.
    func weight(_ client: IPVSClient) async throws -> Int? {
        let (service, destination) = try ids
        return try await client.destinations(of: service).first { $0.destination.id == destination }?.destination.weight
    }
}

/// `brother-bench detect`: one trial. Waits until the destination's weight is back at `--wait-at-least`,
/// then a random part of a check interval (so trials do not lock to brother's poll phase), starts a
/// monotonic clock, forces the agent down (runs the command after `--`) or kills it (`--kill PID`,
/// SIGKILL), then reads the destination's kernel weight over netlink every ~2 ms until it is 0.
/// Prints `DETECT_MS` (clock start to weight 0), `ACTION_MS` (how long the command took; 0 for a
/// kill), `FORCE_MS` (when the agent's force file changed, i.e. the force took effect; 0 for a kill)
/// and `SAMPLE_MS` (the mean time between two reads: the resolution).
struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect", abstract: "Time one force-down or kill until the node's kernel weight is 0 (inside UML, as root).")

    @OptionGroup var watched: WatchedDestination

    @Option(help: "SIGKILL this process (the agent) instead of running a command.")
    var kill: Int32?

    @Option(help: "First wait until the weight is at least this (the node is fully back from the last trial).")
    var waitAtLeast = 1

    @Option(help: "The agent's force file (litmus-forces.json): its change marks the moment the force took effect.")
    var forceFile: String?

    @Option(help: "Wait a random 0..<JITTER seconds first.")
    var jitter = 1.0

    @Option(help: "Give up after this many seconds.")
    var timeout = 15.0

    @Option(help: "Milliseconds between two reads of the weight.")
    var every = 2

    @Argument(parsing: .postTerminator, help: "The command that forces the agent down (after --).")
    var command: [String] = []

    func validate() throws {
        guard (kill == nil) != command.isEmpty else { throw ValidationError("give either --kill PID or a command after --") }
    }

    func run() async throws {
        let client = try IPVSClient()
        let waitStart = ContinuousClock.now
        while (try? await watched.weight(client)).flatMap({ $0 }).map({ $0 < waitAtLeast }) ?? true {
            if ContinuousClock.now - waitStart > .seconds(timeout) {
                throw BenchFailure("\(watched.destination) in \(watched.service) did not reach weight \(waitAtLeast) before the trial")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let forceFileBefore = forceFile.map(Self.fileIdentity)
        var forceTime: Duration? = forceFile == nil ? .zero : nil
        try await Task.sleep(for: .seconds(Double.random(in: 0..<max(jitter, 0.001))))
        let clock = ContinuousClock()
        let start = clock.now
        var child: ChildProcess?
        var actionTime: Duration?
        if let kill {
            guard Glibc.kill(kill, SIGKILL) == 0 else { throw BenchFailure("kill \(kill): \(String(cString: strerror(errno)))") }
            actionTime = .zero
        } else {
            // Its output is not the benchmark's; its errors are.
            child = try ChildProcess.spawn(command, options: .init(standardInput: .null, standardOutput: .null))
        }
        var reads = 0
        var detected: Duration?
        while detected == nil {
            if let child, actionTime == nil, let termination = try child.exitStatus() {
                actionTime = clock.now - start
                guard termination == .exited(0) else { throw BenchFailure("\(command.joined(separator: " ")) \(termination)") }
            }
            if forceTime == nil, let forceFile, Self.fileIdentity(forceFile) != forceFileBefore {
                forceTime = clock.now - start
            }
            let weight = try await watched.weight(client)
            reads += 1
            if weight == 0 || weight == nil {
                detected = clock.now - start
                break
            }
            if clock.now - start > .seconds(timeout) { throw BenchFailure("weight still \(weight ?? -1) after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(every))
        }
        if let child, actionTime == nil {
            let termination = try child.wait()
            actionTime = clock.now - start
            guard termination == .exited(0) else { throw BenchFailure("\(command.joined(separator: " ")) \(termination)") }
        }
        let elapsed = detected ?? .zero
        if forceTime == nil, let forceFile, Self.fileIdentity(forceFile) != forceFileBefore { forceTime = clock.now - start }
        guard let forceTime else { throw BenchFailure("the force file \(forceFile ?? "") did not change: the weight went to 0 for another reason") }
        print(
            String(
                format: "DETECT_MS %.1f ACTION_MS %.1f FORCE_MS %.1f SAMPLE_MS %.2f", elapsed.milliseconds, (actionTime ?? .zero).milliseconds,
                forceTime.milliseconds, elapsed.milliseconds / Double(max(reads, 1))))
    }

    /// Inode and modification time: an atomic rewrite (temporary file + rename) changes both.
    static func fileIdentity(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_ino), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
    }
}

/// `brother-bench wait-weight`: waits until the destination's kernel weight is at least N.
struct WaitWeightCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wait-weight", abstract: "Wait until a destination's kernel weight reaches N.")

    @OptionGroup var watched: WatchedDestination

    @Option(help: "The weight to wait for.")
    var atLeast = 1

    @Option(help: "Give up after this many seconds.")
    var timeout = 30.0

    func run() async throws {
        let client = try IPVSClient()
        let clock = ContinuousClock()
        let start = clock.now
        var weight: Int?
        while clock.now - start < .seconds(timeout) {
            weight = try? await watched.weight(client)
            if let weight, weight >= atLeast { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchFailure(
            "\(watched.destination) in \(watched.service): weight \(weight.map(String.init) ?? "absent"), not \(atLeast), after \(timeout) s")
    }
}
