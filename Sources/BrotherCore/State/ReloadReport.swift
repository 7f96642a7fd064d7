/// What a configuration reload changed, for the API's answer and the log.
public struct ReloadReport: Hashable, Sendable, CustomStringConvertible {
    public var addedClusters: [String] = []
    public var removedClusters: [String] = []
    public var changedClusters: [String] = []
    public var addedNodes: [String] = []
    /// Nodes now draining before deletion ("web 192.0.2.2:8080").
    public var drainingNodes: [String] = []

    public init() {}

    public var isEmpty: Bool {
        addedClusters.isEmpty && removedClusters.isEmpty && changedClusters.isEmpty && addedNodes.isEmpty && drainingNodes.isEmpty
    }

    public var description: String {
        guard !isEmpty else { return "no changes" }
        var parts: [String] = []
        if !addedClusters.isEmpty { parts.append("added clusters \(addedClusters.joined(separator: ", "))") }
        if !removedClusters.isEmpty { parts.append("stopping removed clusters \(removedClusters.joined(separator: ", "))") }
        if !changedClusters.isEmpty { parts.append("changed clusters \(changedClusters.joined(separator: ", "))") }
        if !addedNodes.isEmpty { parts.append("added nodes \(addedNodes.joined(separator: ", "))") }
        if !drainingNodes.isEmpty { parts.append("draining removed nodes \(drainingNodes.joined(separator: ", "))") }
        return parts.joined(separator: "; ")
    }
}
