import Foundation
import FuzzTargets
import Glibc

/// Writes one line to standard error and exits: a usage or setup problem, not a finding.
func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("plimsoll-fuzz: \(message)\n".utf8))
    exit(status)
}

#if FUZZING
    // Built by scripts/fuzz with `--sanitize=fuzzer -DFUZZING`: libFuzzer owns `main` and calls these
    // two C entry points, which carry no context of their own. The target chosen by
    // PLIMSOLL_FUZZ_TARGET is therefore process-wide state, written once by LLVMFuzzerInitialize
    // before the first input and only read afterwards, from libFuzzer's single thread.
    nonisolated(unsafe) private var selected: (target: FuzzTarget, scratch: FuzzScratch)?

    @_cdecl("LLVMFuzzerInitialize")
    public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>)
        -> CInt
    {
        let name = getenv("PLIMSOLL_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTarget.named(name) else {
            let known = FuzzTarget.all.map(\.name).joined(separator: ", ")
            fail("set PLIMSOLL_FUZZ_TARGET to one of: \(known) (got \"\(name)\")", status: 2)
        }
        do {
            selected = (target, try FuzzScratch())
        } catch {
            fail("cannot make a scratch directory: \(error)", status: 2)
        }
        return 0
    }

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        guard let (target, scratch) = selected else { return 0 }
        target.run(UnsafeRawBufferPointer(start: data, count: size), scratch: scratch)
        return 0
    }
#else
    /// Without libFuzzer: replays inputs through a target, so a saved crash can be rerun under a
    /// debugger, and lists the targets for scripts/fuzz.
    ///
    ///     plimsoll-fuzz --list
    ///     plimsoll-fuzz TARGET FILE...
    @main
    struct FuzzReplay {
        static func main() throws {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments == ["--list"] {
                for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
                return
            }
            guard let name = arguments.first, let target = FuzzTarget.named(name) else {
                fail("usage: plimsoll-fuzz --list | plimsoll-fuzz TARGET FILE...", status: 2)
            }
            let scratch = try FuzzScratch()
            for path in arguments.dropFirst() {
                guard let bytes = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)", status: 1) }
                bytes.withUnsafeBytes { target.run($0, scratch: scratch) }
                print("\(name): \(path): ok")
            }
        }
    }
#endif
