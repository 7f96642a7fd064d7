import Foundation
import IPVS
import NetworkAddress
import Testing

/// Kernel tests run only when asked (`IPVS_KERNEL_TESTS=1`, as root, in a scratch network namespace
/// of a kernel with ip_vs: scripts/kernel-tests). Once asked, a missing ip_vs fails them.
enum KernelTests {
    static let requested = ProcessInfo.processInfo.environment["IPVS_KERNEL_TESTS"] == "1"
    static let reason: Comment = "set IPVS_KERNEL_TESTS=1 and run as root in a kernel with ip_vs: scripts/kernel-tests"

    /// A client on an empty table: every test starts from a clean namespace-local IPVS table.
    static func freshClient() async throws -> IPVSClient {
        let client = try IPVSClient()
        try await client.flush()
        #expect(try await client.services().isEmpty)
        return client
    }
}

/// Runs a program (never a shell) and captures its output.
struct Command {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ arguments: [String], input: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inputPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
        // Read both pipes before waiting, so a chatty child cannot fill a pipe and block.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Runs and requires exit status 0.
    @discardableResult
    static func check(_ arguments: [String], input: String? = nil) throws -> String {
        let output = try run(arguments, input: input)
        guard output.status == 0 else {
            throw CommandFailure(arguments: arguments, status: output.status, stderr: output.stderr)
        }
        return output.stdout
    }
}

struct CommandFailure: Error, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stderr: String
    var description: String { "\(arguments.joined(separator: " ")) exited \(status): \(stderr)" }
}

/// ipvsadm's save format (`ipvsadm -S -n`), written independently of the library so each side
/// checks the other.
enum IpvsadmFormat {
    static func service(_ id: VirtualService.ID) -> String {
        switch id {
        case .firewallMark(let mark, let family): family == .ipv6 ? "-f \(mark) -6" : "-f \(mark)"
        case .address(let address, let port, let proto):
            "\(["tcp": "-t", "udp": "-u", "sctp": "--sctp-service"][proto.description]!) \(address.description(port: port))"
        }
    }

    static func lines(for service: VirtualService, destinations: [Destination]) -> [String] {
        var line = "-A \(self.service(service.id)) -s \(service.scheduler.rawValue)"
        if let persistence = service.persistence {
            line += " -p \(persistence.timeout)"
            switch service.id.family {
            case .ipv4:
                if persistence.netmaskPrefixLength != 32 { line += " -M \(dottedMask(persistence.netmaskPrefixLength))" }
            case .ipv6:
                if persistence.netmaskPrefixLength != 128 { line += " -M \(persistence.netmaskPrefixLength)" }
            }
        }
        if let engine = service.persistenceEngine { line += " --pe \(engine)" }
        if service.flags.contains(.onePacket) { line += " -o" }
        var schedulerFlags: [String] = []
        let prefix = service.scheduler == .maglevHashing ? "mh" : "sh"
        if service.flags.contains(.schedulerFlag1) { schedulerFlags.append("\(prefix)-fallback") }
        if service.flags.contains(.schedulerFlag2) { schedulerFlags.append("\(prefix)-port") }
        if !schedulerFlags.isEmpty { line += " -b \(schedulerFlags.joined(separator: ","))" }
        var result = [line]
        for destination in destinations {
            var entry = "-a \(self.service(service.id)) -r \(destination.id.address.description(port: destination.id.port))"
            switch destination.forwarding {
            case .masquerade: entry += " -m"
            case .directRouting: entry += " -g"
            case .tunnel: entry += " -i"
            case .local, .bypass: entry += " -g"
            }
            entry += " -w \(destination.weight)"
            if case .tunnel(let encapsulation) = destination.forwarding, encapsulation.kind == .ipip {
                entry += " --tun-type ipip"
            } else if case .tunnel(let encapsulation) = destination.forwarding {
                entry += encapsulation.kind == .gue ? " --tun-type gue --tun-port \(encapsulation.port)" : " --tun-type gre"
                if encapsulation.flags.contains(.checksum) {
                    entry += " --tun-csum"
                } else if encapsulation.flags.contains(.remoteChecksum) {
                    entry += " --tun-remcsum"
                } else {
                    entry += " --tun-nocsum"
                }
            }
            result.append(entry)
        }
        return result
    }

    static func dottedMask(_ prefix: Int) -> String {
        let mask: UInt32 = prefix == 0 ? 0 : UInt32.max << (32 - prefix)
        return [24, 16, 8, 0].map { String((mask >> UInt32($0)) & 0xFF) }.joined(separator: ".")
    }

    /// The kernel table as ipvsadm saves it, lines sorted (ipvsadm prints in hash order).
    static func savedTable() throws -> [String] {
        try Command.check(["ipvsadm", "-S", "-n"]).split(separator: "\n").map(String.init).sorted()
    }
}
