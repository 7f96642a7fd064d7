import BrotherCore
import Foundation

/// big_brother's cluster force files: `<data-dir>/up/<cluster>` sets every node to 100 and
/// `<data-dir>/down/<cluster>` every node to 0. Their presence is read on every round, so an
/// operator can `touch` and `rm` them as with big_brother.
///
/// Unlike big_brother (where up wins), down wins when both exist: the safe reading of a
/// contradiction is "take it out of service".
public struct ClusterForceFiles: Hashable, Sendable {
    public var dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public func path(_ force: WeightForce, cluster: String) -> String { "\(dataDirectory)/\(force.rawValue)/\(cluster)" }

    /// The cluster's force from the files, if any.
    public func force(of cluster: String) -> WeightForce? {
        if FileManager.default.fileExists(atPath: path(.down, cluster: cluster)) { return .down }
        if FileManager.default.fileExists(atPath: path(.up, cluster: cluster)) { return .up }
        return nil
    }
}
