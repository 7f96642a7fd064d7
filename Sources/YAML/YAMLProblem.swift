/// A problem in a YAML file: which file, where in it (line, column and YAML path), and what is wrong.
///
/// The one error type of every configuration reader (litmus.yml, brother.yml, `brother ipvs apply`'s
/// table): the parser throws it for text that is not YAML of the supported subset, and the readers above
/// build it for values that are YAML but not what a key needs. Its message says what was wrong and, where
/// it helps, what to write instead.
public struct YAMLProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file the problem is in (or whatever the text came from); empty when the text has no name.
    public var file: String
    /// The YAML path of the offending value, e.g. `clusters[2].nodes[0].port`; empty for the whole document.
    public var path: String
    /// 1-based line, when the problem has a place in the text (an unreadable file has none).
    public var line: Int?
    /// 1-based column, counted in Unicode scalars (a tab counts as one).
    public var column: Int?
    /// What is wrong and, where it helps, what would be right.
    public var message: String

    public init(file: String = "", path: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.path = path
        self.line = line
        self.column = column
        self.message = message
    }

    /// `FILE:LINE:COLUMN: PATH: MESSAGE`, the compilers' form that editors and `grep -n` users know;
    /// parts that are unknown or empty are left out.
    public var description: String {
        var location = file
        for number in [line, column].compactMap({ $0 }) { location += location.isEmpty ? "\(number)" : ":\(number)" }
        let parts = [location, path, message].filter { !$0.isEmpty }
        return parts.joined(separator: ": ")
    }
}
