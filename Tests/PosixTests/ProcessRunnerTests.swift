import Glibc
import Posix
import Testing

/// The runner's standard input, environment and launch errors, as brother's notify commands use
/// them; the process-group kills on timeout and cancellation are LitmusCoreTests' CheckRunnerTests.
struct ProcessRunnerTests {
    @Test func theChildGetsTheEnvironmentAddedToOurs() throws {
        let result = try ProcessRunner.run(
            ["/usr/bin/env"], environment: ["BROTHER_EVENT": "node_down", "BROTHER_MESSAGE": "weight 80 → 0"], deadline: .after(.seconds(60)))
        #expect(result.termination == .exited(0))
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.contains("BROTHER_EVENT=node_down"))
        #expect(lines.contains("BROTHER_MESSAGE=weight 80 → 0"))
        let path = try #require(getenv("PATH").map { String(cString: $0) })
        #expect(lines.contains { $0 == "PATH=\(path)" }, "the rest of the environment is this process's")
    }

    @Test func anAddedVariableReplacesOurs() throws {
        let result = try ProcessRunner.run(["/usr/bin/env"], environment: ["PATH": "/nowhere"], deadline: .after(.seconds(60)))
        let paths = result.standardOutput.split(separator: "\n").filter { $0.hasPrefix("PATH=") }
        #expect(paths == ["PATH=/nowhere"])
    }

    @Test func theChildReadsItsInputToTheEnd() throws {
        let event = #"{"cluster":"web","event":"node_down"}"#
        let result = try ProcessRunner.run(["/bin/cat"], input: Array(event.utf8), deadline: .after(.seconds(60)))
        #expect(result.termination == .exited(0))
        #expect(result.standardOutput == event)
    }

    @Test func inputLargerThanTheSocketBufferIsWrittenWhileOutputIsRead() throws {
        // cat echoes as it reads: writing all the input first would block on a full buffer while
        // cat blocks on a full output pipe. Output is kept up to the limit; the rest is read and dropped.
        let input = (0..<(1 << 20)).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let result = try ProcessRunner.run(["/bin/cat"], input: input, deadline: .after(.seconds(60)))
        #expect(result.termination == .exited(0))
        let output = Array(result.standardOutput.utf8)
        #expect(output.count >= ProcessRunner.outputLimit && output.count < ProcessRunner.outputLimit + 4096)
        #expect(output == Array(input.prefix(output.count)))
    }

    @Test func aChildThatIgnoresItsInputEndsNormally() throws {
        // No SIGPIPE for us when the child exits without reading: this test process would die of it.
        let result = try ProcessRunner.run(["/bin/true"], input: [UInt8](repeating: 1, count: 1 << 20), deadline: .after(.seconds(60)))
        #expect(result.termination == .exited(0))
    }

    @Test func aProgramThatCannotStartSaysWhichAndWhy() {
        let error = #expect(throws: ProcessLaunchError.self) {
            try ProcessRunner.run(["/nonexistent/notify-hook"], input: [1], deadline: .after(.seconds(60)))
        }
        #expect(error?.operation == "posix_spawnp" && error?.errno == ENOENT)
        #expect(error?.description == "cannot run /nonexistent/notify-hook: posix_spawnp failed: No such file or directory")
        #expect(throws: ProcessLaunchError.self) { try ProcessRunner.run([], deadline: .after(.seconds(60))) }
    }

    @Test func aRunOnItsOwnThreadFeedsInputAndEnvironment() async throws {
        // The notify runner's way: argv, environment additions and JSON on standard input, off the
        // cooperative pool. A script the test writes reports both to a file the test then reads
        // (run by /bin/sh from argv: exec'ing a file just written can fail with ETXTBSY while
        // parallel tests spawn).
        let directory = "/tmp/posix-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try #require(mkdir(directory, 0o700) == 0)
        defer {
            unlink("\(directory)/hook")
            unlink("\(directory)/seen")
            rmdir(directory)
        }
        let script = "{ echo \"event=$BROTHER_EVENT\"; cat; } > \"$1\"\n"
        try #require(Self.write(script, to: "\(directory)/hook", mode: 0o600))
        let result = try await ProcessRunner.runOnOwnThread(
            ["/bin/sh", "\(directory)/hook", "\(directory)/seen"], environment: ["BROTHER_EVENT": "node_up"],
            input: Array("{\"node\":\"192.0.2.2:80\"}".utf8),
            deadline: .after(.seconds(60)))
        #expect(result.termination == .exited(0))
        #expect(Self.read("\(directory)/seen") == "event=node_up\n{\"node\":\"192.0.2.2:80\"}")
    }

    @Test func aRunPastItsDeadlineIsKilled() throws {
        let result = try ProcessRunner.run(["/bin/sleep", "3600"], deadline: .after(.milliseconds(100)))
        #expect(result.termination == .timedOut)
    }

    static func write(_ text: String, to path: String, mode: mode_t) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
