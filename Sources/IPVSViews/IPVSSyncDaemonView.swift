import Foundation
import IPVS

/// The operator's view of the kernel's sync daemons (`brother sync status`): the lines of
/// `ipvsadm --list --daemon`, or JSON.
public struct IPVSSyncDaemonView: Sendable {
    public var daemons: [IPVSSyncDaemon]

    public init(daemons: [IPVSSyncDaemon]) { self.daemons = daemons }

    /// One line per daemon, master first; `no sync daemon runs` when none does.
    public func text() -> String {
        guard !daemons.isEmpty else { return "no sync daemon runs\n" }
        return daemons.map { "\($0)\n" }.joined()
    }

    /// `{"daemons": [{"role": "master", "interface": "eth1", "sync_id": 0, "max_length": 1472,
    /// "group": "224.0.0.81", "port": 8848, "ttl": 1}]}`; a parameter the kernel does not list is left out.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(Document(daemons: daemons)), as: UTF8.self) + "\n"
    }

    struct Document: Encodable {
        var daemons: [IPVSSyncDaemon]
    }
}
