/// One node of a parsed YAML document, with the line it starts on so config errors can point at it.
///
/// Aliases are already resolved (an alias is a copy of its anchored node), so there are only three kinds.
struct YAMLNode: Sendable, Hashable {
    enum Content: Sendable, Hashable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        /// Pairs in file order; duplicate keys are kept, so the reader above can report them.
        case mapping([YAMLPair])
    }

    var content: Content
    /// 1-based line of the node's first character (for a block collection: its first entry).
    var line: Int

    var scalar: YAMLScalar? {
        if case .scalar(let scalar) = content { return scalar }
        return nil
    }

    var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    var mapping: [YAMLPair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// A plain `~`, `null`, or nothing at all (`key:` with no value).
    var isNull: Bool { scalar?.isNull ?? false }

    static func null(line: Int) -> YAMLNode {
        YAMLNode(content: .scalar(YAMLScalar(text: "", style: .plain)), line: line)
    }
}

/// A `key: value` entry of a mapping.
struct YAMLPair: Sendable, Hashable {
    var key: YAMLNode
    var value: YAMLNode
}
