import Glibc

/// Runs a program from an argv (never through a shell string we built) in its own process group,
/// and collects what it writes. litmus's script checks and brother's notify commands run through
/// here, and so do the benchmarks' tools that take input.
///
/// Blocking by design: callers run it on a thread pool. It returns by the deadline: on timeout the whole
/// process group is killed (as litmus_paper does), so grandchildren holding the pipes die too.
public enum ProcessRunner {
    /// Each of standard output and standard error keeps at most this many bytes; the rest is read and dropped.
    public static let outputLimit = 64 * 1024

    /// - Parameters:
    ///   - environment: variables set (or replaced) in the child's environment, which is otherwise this process's.
    ///   - input: written to the child's standard input, which then closes; nil: /dev/null.
    ///   - cancellation: kills the process group at once from another thread (the run returns `.cancelled`).
    public static func run(
        _ argv: [String], environment: [String: String] = [:], input: [UInt8]? = nil, deadline: Deadline,
        cancellation: ProcessCancellation? = nil
    ) throws(ProcessLaunchError) -> ProcessResult {
        guard !argv.isEmpty else { throw ProcessLaunchError(argv: argv, errno: EINVAL, operation: "argv") }
        var output: (read: Int32, write: Int32)
        var errorOutput: (read: Int32, write: Int32)
        var inputEnds: (parent: Int32, child: Int32)?
        do {
            output = try SystemCall.pipe()
        } catch {
            throw ProcessLaunchError(argv: argv, error)
        }
        do {
            errorOutput = try SystemCall.pipe()
        } catch {
            close(output.read)
            close(output.write)
            throw ProcessLaunchError(argv: argv, error)
        }
        if input != nil {
            do {
                // A socket rather than a pipe: a child that exits without reading all of its input
                // must not kill the daemon with SIGPIPE (writes use MSG_NOSIGNAL).
                let (parent, child) = try SystemCall.socketPair()
                inputEnds = (parent, child)
                try SystemCall.setNonblocking(parent)
            } catch {
                for fd in [output.read, output.write, errorOutput.read, errorOutput.write, inputEnds?.parent ?? -1, inputEnds?.child ?? -1]
                where fd >= 0 {
                    close(fd)
                }
                throw ProcessLaunchError(argv: argv, error)
            }
        }

        let options = ChildProcess.Options(
            standardInput: inputEnds.map { .descriptor($0.child) } ?? .null, standardOutput: .descriptor(output.write),
            standardError: .descriptor(errorOutput.write), environment: environment, ownProcessGroup: true)
        let launched = Result { () throws(ProcessLaunchError) in try ChildProcess.spawn(argv, options: options) }
        close(output.write)
        close(errorOutput.write)
        if let inputEnds { close(inputEnds.child) }
        let child: ChildProcess
        switch launched {
        case .success(let started): child = started
        case .failure(let error):
            close(output.read)
            close(errorOutput.read)
            if let inputEnds { close(inputEnds.parent) }
            throw error
        }
        defer {
            close(output.read)
            close(errorOutput.read)
        }

        var exchange = Exchange(output: output.read, errorOutput: errorOutput.read, input: inputEnds?.parent ?? -1, pendingInput: input ?? [])
        var timedOut = !exchange.run(deadline: deadline, cancellation: cancellation)
        var termination: ProcessResult.Termination?
        if !timedOut {
            // Output closed; wait for the exit itself, still bounded by the deadline.
            while true {
                do {
                    termination = try child.exitStatus()
                } catch {
                    // Not our child any more (ECHILD: someone else reaped it): nothing left to wait for.
                    termination = .exited(0)
                }
                if termination != nil { break }
                if deadline.hasPassed || cancellation?.isCancelled == true {
                    timedOut = true
                    break
                }
                usleep(2_000)
            }
        }
        if timedOut {
            child.killGroup()
            _ = try? child.wait()
            termination = cancellation?.isCancelled == true ? .cancelled : .timedOut
        }
        return ProcessResult(
            termination: termination ?? .timedOut, standardOutput: String(decoding: exchange.output, as: UTF8.self),
            standardError: String(decoding: exchange.errorOutput, as: UTF8.self))
    }

    /// The parent's side of a run: reads both output pipes (capped at ``outputLimit``) and writes
    /// the input, until the outputs close and the input is written, or the deadline or a
    /// cancellation comes first.
    private struct Exchange {
        let outFD: Int32
        let errFD: Int32
        var inputFD: Int32
        var pendingInput: ArraySlice<UInt8>
        var output: [UInt8] = []
        var errorOutput: [UInt8] = []
        var open: [Int32: Bool]

        init(output: Int32, errorOutput: Int32, input: Int32, pendingInput: [UInt8]) {
            outFD = output
            errFD = errorOutput
            inputFD = input
            self.pendingInput = pendingInput[...]
            open = [output: true, errorOutput: true]
            if input >= 0 && pendingInput.isEmpty { closeInput() }
        }

        /// False if the deadline or a cancellation came first.
        mutating func run(deadline: Deadline, cancellation: ProcessCancellation?) -> Bool {
            defer { closeInput() }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let wake = cancellation?.descriptor ?? -1
            while open.values.contains(true) || inputFD >= 0 {
                if cancellation?.isCancelled == true { return false }
                var fds = open.filter(\.value).map { pollfd(fd: $0.key, events: Int16(POLLIN), revents: 0) }
                if inputFD >= 0 { fds.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
                if wake >= 0 { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
                var remaining = deadline.remainingMilliseconds
                if remaining == 0 { return false }
                // Without a wake-up descriptor, look at the cancellation flag at least every 100 ms.
                if cancellation != nil && wake < 0 { remaining = min(remaining, 100) }
                let ready: Int32?
                do {
                    ready = try SystemCall.poll(&fds, timeoutMilliseconds: remaining)
                } catch {
                    return true
                }
                guard let ready else { continue }
                if ready == 0 {
                    if deadline.hasPassed { return false }
                    continue
                }
                for entry in fds where entry.revents != 0 && entry.fd != wake {
                    if entry.fd == inputFD {
                        writeInput()
                    } else {
                        read(entry.fd, &buffer)
                    }
                }
            }
            return true
        }

        private mutating func read(_ fd: Int32, _ buffer: inout [UInt8]) {
            let count = try? buffer.withUnsafeMutableBytes { raw throws(SystemCallError) in try SystemCall.read(fd, into: raw) }
            switch count {
            case .processed(let count)? where count > 0:
                if fd == outFD {
                    if output.count < outputLimit { output += buffer[0..<count] }
                } else if errorOutput.count < outputLimit {
                    errorOutput += buffer[0..<count]
                }
            case .wouldBlock?: break
            case .processed?, nil: open[fd] = false
            }
        }

        private mutating func writeInput() {
            let written = try? pendingInput.withUnsafeBytes { raw throws(SystemCallError) in
                try SystemCall.send(inputFD, raw, flags: Int32(MSG_NOSIGNAL))
            }
            switch written {
            case .processed(let count)?: pendingInput = pendingInput.dropFirst(count)
            case .wouldBlock?: return
            // The child closed its input (or ended): the rest is not wanted.
            case nil: pendingInput = []
            }
            if pendingInput.isEmpty { closeInput() }
        }

        /// The child sees the end of its input.
        private mutating func closeInput() {
            guard inputFD >= 0 else { return }
            close(inputFD)
            inputFD = -1
        }
    }
}
