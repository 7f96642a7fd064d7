/// Where a node starts in its text, as people count: both 1-based, the column in Unicode scalars.
public struct YAMLMark: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// One node of a parsed YAML document, with where it starts so config errors can point at it.
///
/// Aliases are already resolved (an alias is a copy of its anchored node, mark included), so there are
/// only three kinds.
public struct YAMLNode: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        /// Pairs in file order; duplicate keys are kept, so the reader above can report them.
        case mapping([YAMLPair])
    }

    public var content: Content
    /// The node's first character (for a block collection: its first entry; for a missing value, `key:`
    /// with nothing after it, the key).
    public var mark: YAMLMark

    public init(content: Content, mark: YAMLMark) {
        self.content = content
        self.mark = mark
    }

    public var line: Int { mark.line }
    public var column: Int { mark.column }

    public var scalar: YAMLScalar? {
        if case .scalar(let scalar) = content { return scalar }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    public var mapping: [YAMLPair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// A plain `~`, `null`, or nothing at all (`key:` with no value).
    public var isNull: Bool { scalar?.isNull ?? false }

    /// The value of the first pair whose key's text is `key`, in a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar?.text == key }?.value
    }

    static func null(at mark: YAMLMark) -> YAMLNode {
        YAMLNode(content: .scalar(YAMLScalar(text: "", style: .plain)), mark: mark)
    }
}

/// A `key: value` entry of a mapping.
public struct YAMLPair: Sendable, Hashable {
    public var key: YAMLNode
    public var value: YAMLNode

    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}
