import YAML

/// Everything wrong with a brother configuration file: which file, where in it (line, column and the
/// YAML path, e.g. `clusters[2].nodes[0].port`) and what is wrong. Parsing reports every problem at
/// once, so an operator fixes a file in one pass.
public struct BrotherConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One problem at one place: the YAML module's problem type, which litmus's config errors are too.
    public typealias Problem = YAMLProblem

    /// The file name (or whatever the text came from).
    public var source: String
    /// Never empty; in document order. Each names `source` as its file.
    public var problems: [Problem]

    public init(source: String, problems: [Problem]) {
        self.source = source
        self.problems = problems.map { problem in
            var problem = problem
            problem.file = source
            return problem
        }
    }

    /// One line per problem: `FILE:LINE:COLUMN: PATH: MESSAGE` (no line or column when the problem has
    /// no place in the text, such as an unreadable file).
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// A key brother accepts, so that a big_brother file loads unchanged, but does not act on. It is not
/// an error (the file is valid and runs), but an operator must not believe the key works: each
/// warning names the file, the YAML path and what brother does instead.
public struct BrotherConfigurationWarning: Hashable, Sendable, CustomStringConvertible {
    /// The file name (or whatever the text came from).
    public var source: String
    /// The YAML path of the key, e.g. `_big_brother.max_down_ticks` or `clusters[0].nagios`.
    public var path: String
    /// What brother does instead.
    public var message: String

    public init(source: String, path: String, message: String) {
        self.source = source
        self.path = path
        self.message = message
    }

    /// One line: `FILE: PATH: warning: MESSAGE`.
    public var description: String { "\(source): \(path): warning: \(message)" }
}
