/// A node force read from a file in brother's data directory (the monitor's `NodeForceFiles`,
/// after ldirectord's maintenance directory): the force, and the file that set it, so an operator
/// sees which file to delete to lift it.
public struct FileForce: Hashable, Sendable {
    public var force: WeightForce
    /// The file's full path.
    public var path: String

    public init(force: WeightForce, path: String) {
        self.force = force
        self.path = path
    }
}
