import Foundation
import IPVS
import NetworkAddress
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// Weight edits three ways on one table of 1,000 services × 10 destinations: through the library
/// (one batch), through one `ipvsadm -R` restore, and through one `ipvsadm -e` process per edit
/// (big_brother's way). `ipvs-bench spawn-cost N` measures only the process cost (for the host).
@main
enum IPVSBench {
    static let services = 1000
    static let destinationsPerService = 10
    static let sampledProcesses = 500

    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        do {
            if arguments.first == "spawn-cost" {
                let count = Int(arguments.dropFirst().first ?? "") ?? sampledProcesses
                // Without ip_vs, ipvsadm also runs modprobe, so its time here is an upper bound;
                // a bare process start (`true`) is the lower bound used for the ratio.
                let ipvsadm = try time { for _ in 0..<count { _ = try spawn(["ipvsadm", "-L", "-n"]) } }
                let bare = try time { for _ in 0..<count { _ = try spawn(["true"]) } }
                print(
                    String(
                        format: "host: %d ipvsadm processes in %.3f s = %.3f ms per process (includes its failed modprobe)", count, ipvsadm,
                        ipvsadm * 1000 / Double(count)))
                print(String(format: "host: %d bare process starts (true) in %.3f s = %.3f ms per process", count, bare, bare * 1000 / Double(count)))
                print(String(format: "HOST_PROCESS_MS %.4f", bare * 1000 / Double(count)))
                print(String(format: "HOST_IPVSADM_MS %.4f", ipvsadm * 1000 / Double(count)))
                return
            }
            try await run()
        } catch {
            FileHandle.standardError.write(Data("ipvs-bench: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws {
        let client = try IPVSClient()
        try await client.flush()
        var setup: [IPVSChange] = []
        var pairs: [(Destination, VirtualService.ID)] = []
        for s in 0..<services {
            let id = VirtualService.ID.address(IPAddress(bytes: [198, 51, 100 + UInt8(s / 250), UInt8(s % 250 + 1)])!, port: 80, protocol: .tcp)
            setup.append(.addService(VirtualService(id: id)))
            for d in 0..<destinationsPerService {
                let destination = Destination(
                    id: .init(address: IPAddress(bytes: [192, 0, 2, UInt8(d + 1)])!, port: 80), forwarding: .directRouting, weight: 1)
                setup.append(.addDestination(destination, service: id))
                pairs.append((destination, id))
            }
        }
        let created = try await client.apply(setup)
        guard created.isSuccess else { throw BenchFailure("setup failed: \(created.failures.prefix(3))") }
        print("table: \(services) services x \(destinationsPerService) destinations = \(pairs.count) destinations")

        // 1. The library: 10,000 edits in one batch.
        let edits = pairs.map { pair -> IPVSChange in
            var destination = pair.0
            destination.weight = 50
            return .updateDestination(destination, service: pair.1)
        }
        var report = IPVSBatchReport(attempted: 0)
        let library = try await timeAsync { report = try await client.apply(edits) }
        guard report.isSuccess else { throw BenchFailure("library edits failed: \(report.failures.prefix(3))") }
        try await verify(client, weight: 50, pairs.count)

        // 2. One ipvsadm -R restore of the same 10,000 edits (to weight 60).
        let restore = pairs.map { "-e -t \($0.1.addressText) -r \($0.0.id) -g -w 60" }.joined(separator: "\n") + "\n"
        let restoreSeconds = try time { _ = try spawn(["ipvsadm", "-R"], input: restore) }
        try await verify(client, weight: 60, pairs.count)

        // 3. One ipvsadm -e process per edit, on a sample (to weight 70).
        let sample = Array(pairs.prefix(sampledProcesses))
        let perProcess = try time {
            for pair in sample { _ = try spawn(["ipvsadm", "-e", "-t", pair.1.addressText, "-r", "\(pair.0.id)", "-g", "-w", "70"]) }
        }
        let sampledWeights = try await client.destinations(of: sample[0].1).filter { $0.destination.weight == 70 }.count
        guard sampledWeights == destinationsPerService else { throw BenchFailure("ipvsadm -e edits did not land") }

        let libraryPerEdit = library / Double(edits.count)
        let restorePerEdit = restoreSeconds / Double(edits.count)
        let processPerEdit = perProcess / Double(sample.count)
        print(String(format: "library (netlink batch): %6d edits in %8.3f s = %9.2f µs per edit", edits.count, library, libraryPerEdit * 1e6))
        print(String(format: "ipvsadm -R (one restore): %6d edits in %8.3f s = %9.2f µs per edit", edits.count, restoreSeconds, restorePerEdit * 1e6))
        print(String(format: "ipvsadm -e per edit:     %6d edits in %8.3f s = %9.2f µs per edit", sample.count, perProcess, processPerEdit * 1e6))
        print(String(format: "ratio ipvsadm -R / library: %.2fx (target >= 1.0: the library is no slower)", restorePerEdit / libraryPerEdit))
        print(String(format: "ratio ipvsadm -e process / library: %.0fx (target >= 100x)", processPerEdit / libraryPerEdit))
        print(String(format: "LIBRARY_US %.3f", libraryPerEdit * 1e6))
        try await client.flush()
    }

    static func verify(_ client: IPVSClient, weight: Int, _ expected: Int) async throws {
        let table = try await client.table()
        let matching = table.entries.values.reduce(0) { $0 + $1.destinations.filter { $0.destination.weight == weight }.count }
        guard matching == expected else { throw BenchFailure("expected \(expected) destinations at weight \(weight), found \(matching)") }
    }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func timeAsync(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Runs a program with argv (no shell) and waits for it: its output goes to /dev/null.
    /// Without input it is a bare spawn and wait, so the per-process cost measured is the
    /// process's own; with input, ``ProcessRunner`` writes it while the program reads.
    static func spawn(_ arguments: [String], input: String? = nil) throws -> ProcessResult.Termination {
        guard let input else {
            return try ChildProcess.spawn(arguments, options: .init(standardInput: .null, standardOutput: .null, standardError: .null)).wait()
        }
        return try ProcessRunner.run(arguments, input: Array(input.utf8), deadline: .after(.seconds(600))).termination
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension VirtualService.ID {
    var addressText: String {
        if case .address(let address, let port, _) = self { return address.description(port: port) }
        return ""
    }
}
