import Foundation
import IPVS
import NetworkAddress

/// The operator's view of the kernel table (`brother ipvs`): a readable text table and JSON.
public struct IPVSTableView: Sendable {
    public var info: IPVSInfo?
    public var table: IPVSTable
    /// What brother's API said, when it was asked: its health, ramp and reason per destination,
    /// or why it could not be read (the table is then the kernel's alone).
    public var brother: BrotherAPIStatus?

    public init(info: IPVSInfo?, table: IPVSTable, brother: BrotherAPIStatus? = nil) {
        self.info = info
        self.table = table
        self.brother = brother
    }

    /// The answer, when brother's API gave one.
    var answer: BrotherAPIAnswer? {
        if case .answered(let answer)? = brother { return answer }
        return nil
    }

    // MARK: text

    /// Columns: service or destination, scheduler or forwarding, weight, connection counts, stats.
    public func text() -> String {
        let entries = table.sorted
        let destinationCount = entries.reduce(0) { $0 + $1.destinations.count }
        var lines: [String] = []
        if let info {
            lines.append(
                "\(info) — \(entries.count) service\(entries.count == 1 ? "" : "s"), \(destinationCount) destination\(destinationCount == 1 ? "" : "s")"
            )
        }
        if case .unreachable(let failures)? = brother {
            let reasons = failures.map(\.description).joined(separator: "; ")
            lines.append("brother's API was not reachable (\(reasons.isEmpty ? "nowhere to ask" : reasons)): the kernel's table only")
        }
        let answer = answer
        // With brother's answer: its health, ramp and reason per destination, its cluster per service.
        let brotherHeader = answer == nil ? [] : ["HEALTH", "RAMP", "BROTHER"]
        var rows: [[String]] = [
            [
                "SERVICE / -> DESTINATION", "SCHED/FORWARD", "WEIGHT", "ACTIVE", "INACTIVE", "PERSIST", "CONNS", "CPS", "IN PPS", "OUT PPS", "IN BPS",
                "OUT BPS", "OPTIONS",
            ] + brotherHeader
        ]
        for entry in entries {
            let service = entry.status.service
            let active = entry.destinations.reduce(UInt64(0)) { $0 + UInt64($1.activeConnections) }
            let inactive = entry.destinations.reduce(UInt64(0)) { $0 + UInt64($1.inactiveConnections) }
            let persistent = entry.destinations.reduce(UInt64(0)) { $0 + UInt64($1.persistentConnections) }
            let weight = entry.destinations.reduce(0) { $0 + $1.destination.weight }
            var options: [String] = service.flags.names
            if let persistence = service.persistence { options.append("persistent \(persistence.timeout)s /\(persistence.netmaskPrefixLength)") }
            if let engine = service.persistenceEngine { options.append("pe \(engine)") }
            rows.append(
                [service.id.description, service.scheduler.rawValue, "\(weight)", "\(active)", "\(inactive)", "\(persistent)"]
                    + Self.statsColumns(entry.status.stats) + [options.joined(separator: ", ")]
                    + (answer == nil ? [] : ["", "", answer?.clusters[service.id].map { "cluster \($0)" } ?? "not brother's"]))
            for status in entry.destinations.sorted(by: { $0.destination.id < $1.destination.id }) {
                let destination = status.destination
                var destinationOptions: [String] = []
                if destination.upperThreshold != 0 { destinationOptions.append("upper \(destination.upperThreshold)") }
                if destination.lowerThreshold != 0 { destinationOptions.append("lower \(destination.lowerThreshold)") }
                rows.append(
                    [
                        "  -> \(destination.id)", destination.forwarding.description, "\(destination.weight)", "\(status.activeConnections)",
                        "\(status.inactiveConnections)", "\(status.persistentConnections)",
                    ]
                        + Self.statsColumns(status.stats) + [destinationOptions.joined(separator: ", ")]
                        + (answer == nil ? [] : Self.brotherColumns(answer?.state(of: destination.id, in: service.id))))
            }
        }
        // What the kernel holds that brother cannot read: shown, and left alone by every plan.
        let unreadable = table.undecodable.map { "cannot read (left alone): \($0)" }
        if entries.isEmpty {
            lines.append("(no virtual services)")
            return (lines + unreadable).joined(separator: "\n") + "\n"
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                // Text columns left-aligned, numbers right-aligned.
                column <= 1 || column == Self.optionsColumn || column == row.count - 1
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(cells.joined(separator: "  ").trimmingTrailingSpaces())
        }
        return (lines + unreadable).joined(separator: "\n") + "\n"
    }

    /// OPTIONS: the last column of the kernel's view.
    static let optionsColumn = 12

    /// HEALTH, RAMP and brother's reason for one destination; "-" where brother does not manage it.
    static func brotherColumns(_ state: BrotherAPIAnswer.DestinationState?) -> [String] {
        guard let state else { return ["-", "-", "-"] }
        return [state.health.map(String.init) ?? "-", state.rampPercent.map { "\($0)%" } ?? "-", state.reason]
    }

    static func statsColumns(_ stats: Stats) -> [String] {
        [stats.connections, stats.connectionRate, stats.incomingPacketRate, stats.outgoingPacketRate, stats.incomingByteRate, stats.outgoingByteRate]
            .map(Self.compact)
    }

    /// 1234567 → "1.2M": wide counters stay readable.
    static func compact(_ value: UInt64) -> String {
        switch value {
        case ..<10_000: return "\(value)"
        case ..<10_000_000: return String(format: "%.1fK", Double(value) / 1_000)
        case ..<10_000_000_000: return String(format: "%.1fM", Double(value) / 1_000_000)
        default: return String(format: "%.1fG", Double(value) / 1_000_000_000)
        }
    }

    // MARK: JSON

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let answer = answer
        let document = Document(
            version: info?.versionString, connectionTableSize: info?.connectionTableSize,
            services: table.sorted.map { Document.Service($0, answer: answer) },
            undecodable: table.undecodable.isEmpty ? nil : table.undecodable.map(Document.Undecodable.init),
            brotherApi: brother.map(Document.BrotherAPI.init))
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }

    struct Document: Encodable {
        var version: String?
        var connectionTableSize: UInt32?
        var services: [Service]
        /// Left out when the kernel holds nothing brother cannot read.
        var undecodable: [Undecodable]?
        /// Whether brother's API answered, and where; left out when it was not asked.
        var brotherApi: BrotherAPI?

        struct BrotherAPI: Encodable {
            var reachable: Bool
            var source: String?
            var errors: [String]?

            init(_ status: BrotherAPIStatus) {
                switch status {
                case .answered(let answer):
                    reachable = true
                    source = answer.source
                case .unreachable(let failures):
                    reachable = false
                    errors = failures.map(\.description)
                }
            }
        }

        /// brother's view of one destination (left out where brother does not manage it).
        struct BrotherState: Encodable {
            var cluster: String
            var health: Int?
            var rampPercent: Int?
            var reason: String
            /// The policy's 0-100 weight; the kernel's is this times the node's capacity.
            var policyWeight: Int

            init(_ state: BrotherAPIAnswer.DestinationState) {
                cluster = state.cluster
                health = state.health
                rampPercent = state.rampPercent
                reason = state.reason
                policyWeight = state.weight
            }
        }

        struct Undecodable: Encodable {
            var kind: String
            var service: String?
            var destination: String?
            var reason: String
            var attributes: String

            init(_ item: IPVSUndecodable) {
                kind = item.kind.rawValue
                service = item.service?.description
                destination = item.destination?.description
                reason = item.reason
                attributes = item.attributes
            }
        }

        struct Service: Encodable {
            var id: String
            var family: String
            var `protocol`: String?
            var address: String?
            var port: UInt16?
            var firewallMark: UInt32?
            var scheduler: String
            var flags: [String]
            var persistence: VirtualService.Persistence?
            var persistenceEngine: String?
            var stats: Stats
            var destinations: [DestinationRow]
            /// brother's cluster for this service, when brother's API answered and manages it.
            var cluster: String?

            init(_ entry: IPVSTable.Entry, answer: BrotherAPIAnswer? = nil) {
                let service = entry.status.service
                id = service.id.description
                family = service.id.family.description
                switch service.id {
                case .firewallMark(let mark, _): firewallMark = mark
                case .address(let address, let port, let proto):
                    self.protocol = proto.description
                    self.address = address.description
                    self.port = port
                }
                scheduler = service.scheduler.rawValue
                flags = service.flags.names
                persistence = service.persistence
                persistenceEngine = service.persistenceEngine
                stats = entry.status.stats
                cluster = answer?.clusters[service.id]
                destinations = entry.destinations.sorted { $0.destination.id < $1.destination.id }.map {
                    DestinationRow($0, brother: answer?.state(of: $0.destination.id, in: service.id))
                }
            }
        }

        struct DestinationRow: Encodable {
            var address: String
            var port: UInt16
            var family: String
            var forwarding: String
            var tunnel: TunnelEncapsulation?
            var weight: Int
            var upperThreshold: UInt32
            var lowerThreshold: UInt32
            var activeConnections: UInt32
            var inactiveConnections: UInt32
            var persistentConnections: UInt32
            var stats: Stats
            var brother: BrotherState?

            init(_ status: DestinationStatus, brother: BrotherAPIAnswer.DestinationState? = nil) {
                let destination = status.destination
                address = destination.id.address.description
                port = destination.id.port
                family = destination.family.description
                switch destination.forwarding {
                case .masquerade: forwarding = "masq"
                case .local: forwarding = "local"
                case .directRouting: forwarding = "route"
                case .bypass: forwarding = "bypass"
                case .tunnel(let encapsulation):
                    forwarding = "tunnel"
                    tunnel = encapsulation
                }
                weight = destination.weight
                upperThreshold = destination.upperThreshold
                lowerThreshold = destination.lowerThreshold
                activeConnections = status.activeConnections
                inactiveConnections = status.inactiveConnections
                persistentConnections = status.persistentConnections
                stats = status.stats
                self.brother = brother.map(BrotherState.init)
            }
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
