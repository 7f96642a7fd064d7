/// Text that is not YAML (or uses YAML that litmus configs do not support), with where it went wrong.
struct YAMLSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line.
    var line: Int
    /// 1-based column.
    var column: Int
    var message: String

    var description: String { "line \(line), column \(column): \(message)" }
}
