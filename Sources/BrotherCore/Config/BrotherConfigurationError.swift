/// Everything wrong with a brother configuration file: which file, where in it (the YAML path,
/// e.g. `clusters[2].nodes[0].port`) and what is wrong. Parsing reports every problem at once,
/// so an operator fixes a file in one pass.
public struct BrotherConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One problem at one place.
    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        /// The YAML path, e.g. `clusters[2].nodes[0].port`; empty for the document itself.
        public var path: String
        public var message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }

        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    /// The file name (or whatever the text came from).
    public var source: String
    /// Never empty; in document order.
    public var problems: [Problem]

    public init(source: String, problems: [Problem]) {
        self.source = source
        self.problems = problems
    }

    /// One line per problem: `FILE: PATH: MESSAGE`.
    public var description: String { problems.map { "\(source): \($0)" }.joined(separator: "\n") }
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
