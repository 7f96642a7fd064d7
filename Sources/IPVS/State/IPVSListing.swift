/// What a dump read: the items the codec could decode, and the ones it could not, reported
/// instead of failing the whole dump (one destination of a kind brother does not model must not
/// freeze its cluster).
public struct IPVSListing<Item: Sendable & Hashable>: Sendable, Hashable {
    public var items: [Item]
    public var undecodable: [IPVSUndecodable]

    public init(items: [Item] = [], undecodable: [IPVSUndecodable] = []) {
        self.items = items
        self.undecodable = undecodable
    }
}
