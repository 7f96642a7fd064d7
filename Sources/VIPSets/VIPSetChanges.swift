/// The minimal changes that turn a set's members into the wanted ones: what ``VIPSetClient/sync(_:members:)`` does.
public struct VIPSetChanges: Hashable, Sendable {
    /// Members to add, sorted.
    public var added: [VIPSetMember]
    /// Members to remove, sorted.
    public var removed: [VIPSetMember]

    public init(added: [VIPSetMember] = [], removed: [VIPSetMember] = []) {
        self.added = added
        self.removed = removed
    }

    /// The changes from `current` to `wanted`: members only in `wanted` are added, members only in `current` removed.
    public init(from current: some Sequence<VIPSetMember>, to wanted: Set<VIPSetMember>) {
        let current = Set(current)
        self.init(added: wanted.subtracting(current).sorted(), removed: current.subtracting(wanted).sorted())
    }

    /// True when the set already has the wanted members.
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty }
}
