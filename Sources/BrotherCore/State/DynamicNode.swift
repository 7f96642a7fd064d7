import Foundation

/// A node that is not in the configuration file: it joined through the API and keeps itself alive
/// with a TTL (litmus can do this for its own node), or a discovery source (DNS) lists it.
public struct DynamicNode: Hashable, Sendable, Codable {
    public enum Source: Hashable, Sendable, Codable, CustomStringConvertible {
        /// Joined through `PUT /cluster/<name>/members/<node>`; leaves (with a drain) when the TTL lapses.
        case joined(expires: Date)
        /// Listed by a discovery source, named (e.g. `dns:web.service.consul`); leaves when it is no longer listed.
        case discovered(String)

        public var description: String {
            switch self {
            case .joined: "joined"
            case .discovered(let source): source
            }
        }
    }

    public var node: NodeConfiguration
    public var source: Source

    public init(node: NodeConfiguration, source: Source) {
        self.node = node
        self.source = source
    }
}
