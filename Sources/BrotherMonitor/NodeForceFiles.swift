import BrotherCore
import Foundation
import IPVS

/// Per-node force files, after ldirectord's `maintenancedir`: in `<data-dir>/nodes/<cluster>/`, a
/// file `<node>.down` takes the node to weight 0 and `<node>.up` to 100; deleting it lifts the
/// force (a node lifted from 0 ramps, as after an API force). `<node>` is the node as the API names
/// it, `ADDRESS:PORT` (`10.0.0.1:80`, `[2001:db8::1]:80`: brackets and colons are valid in a file
/// name), or `ADDRESS` alone for every port of that address in the cluster (ldirectord's `<ip>`).
///
/// Not `down/<cluster>/<node>`: `down/<cluster>` is big_brother's file for the whole cluster and
/// ``ClusterForceFiles`` asks only whether it exists, so a directory there would force every node
/// of the cluster down.
///
/// A round lists the cluster's directory once (no stat per node), and skips it when it does not
/// exist. Entries that force nothing (another suffix, a name that is no node of the cluster) and a
/// directory that cannot be listed are returned as problems; names starting with `.` (editors'
/// temporary files) are passed over.
public struct NodeForceFiles: Hashable, Sendable {
    public var dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    /// What one round found in a cluster's directory.
    public struct Reading: Hashable, Sendable {
        /// Per node, its force; where several files name a node, the strongest (down wins over up).
        public var forces: [Destination.ID: FileForce] = [:]
        /// Why entries force nothing, one line each, the same every round while the entry stays.
        public var problems: [String] = []

        public init(forces: [Destination.ID: FileForce] = [:], problems: [String] = []) {
            self.forces = forces
            self.problems = problems
        }
    }

    public func directory(of cluster: String) -> String { "\(dataDirectory)/nodes/\(cluster)" }

    /// The file that sets `force` (up or down) on `node` (`ADDRESS:PORT` or `ADDRESS`).
    public func path(_ force: WeightForce, node: String, cluster: String) -> String { "\(directory(of: cluster))/\(node).\(force.rawValue)" }

    /// The forces the cluster's files set on `nodes` this round.
    public func read(cluster: String, nodes: [Destination.ID]) -> Reading {
        let directory = directory(of: cluster)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { return Reading() }
        guard isDirectory.boolValue else {
            return Reading(problems: ["\(directory) is not a directory: no node force file of cluster \(cluster) is read; make it a directory"])
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            return Reading(problems: [
                "cannot list \(directory) (\(error)): the node force files of cluster \(cluster) are ignored until brother can read it"
            ])
        }
        var byName: [String: [Destination.ID]] = [:]
        for id in nodes {
            byName["\(id)", default: []].append(id)
            byName["\(id.address)", default: []].append(id)
        }
        var reading = Reading()
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = "\(directory)/\(name)"
            guard let dot = name.lastIndex(of: "."), let force = WeightForce(rawValue: String(name[name.index(after: dot)...])),
                force != .drain
            else {
                reading.problems.append(
                    "\(path) is ignored: a node force file is named ADDRESS:PORT.down, ADDRESS:PORT.up, ADDRESS.down or ADDRESS.up")
                continue
            }
            let node = name[..<dot]
            guard let ids = byName[String(node)] else {
                reading.problems.append(
                    "\(path) is ignored: \(node) is no node of cluster \(cluster) (name it ADDRESS:PORT or ADDRESS as the API shows the node)")
                continue
            }
            for id in ids where force.strength > (reading.forces[id]?.force.strength ?? -1) {
                reading.forces[id] = FileForce(force: force, path: path)
            }
        }
        return reading
    }
}
