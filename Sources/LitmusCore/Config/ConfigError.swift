import YAML

/// A configuration problem: which file, where in it (line, column and a YAML path such as
/// `services.web.checks[1].weight`), and what is wrong. The YAML module's one problem type, which
/// brother's readers report too.
public typealias ConfigError = YAMLProblem

/// Every problem found in one load, so an operator can fix them all in one go.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
