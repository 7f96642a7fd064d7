/// One coverage-guided fuzz target: arbitrary bytes in, the parser under test run on them.
///
/// A target returns normally for every input, valid or not; it traps (`precondition`) only when
/// the parser breaks a property it promises, for example that a parsed address prints as text that
/// parses back to the same address. A crash, a trap or a sanitizer report is a bug; libFuzzer saves
/// the input, and the input then goes into `Fuzz/corpus/<name>/` as a regression test that
/// ``FuzzCorpusTests`` replays in the host suite.
public struct FuzzTarget: Sendable {
    /// The name `scripts/fuzz` and the corpus directory use.
    public let name: String
    /// What it feeds and what it checks, for `plimsoll-fuzz --list`.
    public let summary: String
    let body: @Sendable (UnsafeRawBufferPointer, FuzzScratch) -> Void

    init(_ name: String, _ summary: String, body: @escaping @Sendable (UnsafeRawBufferPointer, FuzzScratch) -> Void) {
        self.name = name
        self.summary = summary
        self.body = body
    }

    /// Runs the target on one input. `scratch` holds the files of targets that read from disk.
    public func run(_ input: UnsafeRawBufferPointer, scratch: FuzzScratch) {
        body(input, scratch)
    }

    /// Every target, in the order `scripts/fuzz` runs them.
    public static let all: [FuzzTarget] = [
        .yaml, .litmusConfig, .brotherConfig, .agentAnswer, .healthReport, .agentCheck, .formFields,
        .address, .dns, .netlink, .forceFile, .stateFile, .checkHistoryFile, .brotherAPIAnswer,
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
