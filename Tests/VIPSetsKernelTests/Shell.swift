import Foundation
import Testing

/// Runs a host tool (the `ipset` tool, ipvsadm, iptables-legacy, ip) to cross-check the library; tests only.
struct Shell {
    struct Result: CustomStringConvertible {
        var status: Int32
        var output: String
        var errors: String
        var description: String { "exit \(status), stdout '\(output)', stderr '\(errors)'" }
    }

    /// Runs `/bin/bash -c script` and returns its exit status and output.
    @discardableResult
    static func run(_ script: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            output: String(decoding: outData, as: UTF8.self),
            errors: String(decoding: errData, as: UTF8.self)
        )
    }

    /// Runs a script that must succeed; records an issue with its output otherwise.
    @discardableResult
    static func must(_ script: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(script)
        #expect(result.status == 0, "\(script): \(result)", sourceLocation: sourceLocation)
        return result.output
    }

    /// The entries of a set as the `ipset` tool saves them (`ipset list -o save NAME`), sorted; nil when the tool fails.
    static func toolEntries(_ set: String) throws -> [String]? {
        let result = try run("ipset list -o save \(set)")
        guard result.status == 0 else { return nil }
        return result.output.split(separator: "\n").filter { $0.hasPrefix("add ") }.map {
            String($0.split(separator: " ")[2])
        }.sorted()
    }

    /// The `create` line of a set as the `ipset` tool saves it.
    static func toolHeader(_ set: String) throws -> String? {
        let result = try run("ipset list -o save \(set)")
        guard result.status == 0 else { return nil }
        return result.output.split(separator: "\n").first { $0.hasPrefix("create ") }.map(String.init)
    }
}
