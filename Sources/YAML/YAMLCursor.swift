/// A YAML node plus where it sits (file and YAML path): the typed-access layer over `YAMLNode`s that
/// the config readers share. Every read applies `YAMLScalar`'s one scalar rule, and every error is a
/// `YAMLProblem` naming the file, the node's line and column, and its path.
public struct YAMLCursor: Sendable {
    public let node: YAMLNode
    public let file: String
    /// e.g. `services.web.checks[1]`; empty for the document's root.
    public let path: String

    public init(node: YAMLNode, file: String, path: String = "") {
        self.node = node
        self.file = file
        self.path = path
    }

    /// A problem at this node.
    public func error(_ message: String) -> YAMLProblem {
        YAMLProblem(file: file, path: path, line: node.line, column: node.column, message: message)
    }

    /// The cursor of `key` in this mapping; `value` is its node (or, for a missing key, this mapping's own,
    /// so "is required" points at the mapping that lacks it).
    public func child(_ key: String, _ value: YAMLNode) -> YAMLCursor {
        YAMLCursor(node: value, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    public func element(_ index: Int, _ value: YAMLNode) -> YAMLCursor {
        YAMLCursor(node: value, file: file, path: "\(path)[\(index)]")
    }

    /// The entries of a mapping, in file order, with string keys.
    public func mapping() throws(YAMLProblem) -> [(key: String, value: YAMLCursor)] {
        guard let pairs = node.mapping else { throw error("expected a mapping (key: value pairs), found \(kind)") }
        var result: [(key: String, value: YAMLCursor)] = []
        for pair in pairs {
            guard let name = pair.key.scalar?.text else { throw error("keys must be plain strings") }
            result.append((name, child(name, pair.value)))
        }
        return result
    }

    public func sequence() throws(YAMLProblem) -> [YAMLCursor] {
        guard let items = node.sequence else { throw error("expected a list, found \(kind)") }
        return items.enumerated().map { element($0.offset, $0.element) }
    }

    public var isNull: Bool { node.isNull }

    public func string() throws(YAMLProblem) -> String {
        guard let scalar = node.scalar, !scalar.isNull else { throw error("expected a string, found \(kind)") }
        return scalar.text
    }

    public func nonEmptyString() throws(YAMLProblem) -> String {
        let value = try string()
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    public func int(in range: ClosedRange<Int>) throws(YAMLProblem) -> Int {
        if let ambiguity = node.scalar?.leadingZeroAmbiguity { throw error(ambiguity) }
        guard let value = node.scalar?.int, !isNull else { throw error("expected an integer, found \(describe)") }
        guard range.contains(value) else { throw error("must be \(range.lowerBound)...\(range.upperBound), got \(value)") }
        return value
    }

    public func bool() throws(YAMLProblem) -> Bool {
        guard let value = node.scalar?.bool else { throw error("expected true or false, found \(describe)") }
        return value
    }

    /// Seconds, integer or fractional, > 0 and at most `maximum`.
    public func seconds(maximum: Double = 3600) throws(YAMLProblem) -> Duration {
        if let ambiguity = node.scalar?.leadingZeroAmbiguity { throw error(ambiguity) }
        guard let value = node.scalar?.double, !isNull else { throw error("expected a number of seconds, found \(describe)") }
        guard value > 0, value <= maximum else { throw error("must be more than 0 and at most \(Int(maximum)) seconds, got \(value)") }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    public func port() throws(YAMLProblem) -> Int { try int(in: 1...65535) }

    /// What the node is, for messages: "a mapping", "a list", "a scalar" or "nothing (null)".
    public var kind: String {
        switch node.content {
        case .scalar(let scalar): scalar.isNull ? "nothing (null)" : "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// A scalar's text in quotes, or the node's ``kind``.
    public var describe: String {
        if let scalar = node.scalar, !scalar.isNull { return "\"\(scalar.text)\"" }
        return kind
    }
}

/// Reads a mapping's keys once each and reports unknown or missing ones by path.
public struct YAMLObject {
    public let cursor: YAMLCursor
    private var entries: [String: YAMLCursor] = [:]
    private var order: [String] = []
    private var used: Set<String> = []

    public init(_ cursor: YAMLCursor) throws(YAMLProblem) {
        self.cursor = cursor
        for (key, value) in try cursor.mapping() {
            if entries[key] != nil { throw value.error("duplicate key") }
            entries[key] = value
            order.append(key)
        }
    }

    public mutating func optional(_ keys: String...) -> YAMLCursor? {
        for key in keys {
            used.insert(key)
            if let value = entries[key], !value.isNull { return value }
        }
        return nil
    }

    public mutating func required(_ key: String, _ aliases: String...) throws(YAMLProblem) -> YAMLCursor {
        for name in [key] + aliases {
            used.insert(name)
            if let value = entries[name], !value.isNull { return value }
        }
        throw cursor.child(key, cursor.node).error("is required")
    }

    /// Keys nobody asked for: almost always a typo, so they are errors.
    public func unknownKeys() -> [YAMLProblem] {
        order.filter { !used.contains($0) }.map { key in
            entries[key]!.error("unknown key; known keys here: \(used.sorted().joined(separator: ", "))")
        }
    }
}
