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
    ///
    /// Output goes through temporary files, not pipes: a background process the script starts (the real server)
    /// inherits the descriptors, and a pipe it holds open would never reach end-of-file.
    @discardableResult
    static func run(_ script: String) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
        let stem = "vipsets-shell-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let outURL = directory.appendingPathComponent(stem + ".out")
        let errURL = directory.appendingPathComponent(stem + ".err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let trace = ProcessInfo.processInfo.environment["VIPSETS_SHELL_TRACE"] == "1"
        if trace { FileHandle.standardError.write(Data("shell> \(script.prefix(60))\n".utf8)) }
        try process.run()
        process.waitUntilExit()
        if trace { FileHandle.standardError.write(Data("shell< exit \(process.terminationStatus)\n".utf8)) }
        try out.close()
        try err.close()
        return Result(
            status: process.terminationStatus,
            output: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            errors: String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
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
