import NetworkAddress
import Posix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A listener's load as raindrops (used by litmus_paper) reports it: connections being served and waiting.
public struct ListenerStats: Sendable, Equatable {
    /// Established connections on the listening address.
    public var active: Int
    /// Connections in the accept queue that the server has not accepted yet.
    public var queued: Int

    public init(active: Int, queued: Int) {
        self.active = active
        self.queued = queued
    }

    /// litmus_paper's socket utilisation formula: full weight when nothing queues, else reduced, floor 1.
    public func contribution(weight: Int, maxConnections: Int) -> Double {
        guard queued > 0 else { return Double(weight) }
        let w = Double(weight)
        let m = Double(maxConnections)
        return max(w - (w * Double(active) / (3 * m) + 2 * w * Double(queued) / (3 * m)), 1)
    }

    /// `round(100 × queued / maxconn)`, the `socket_utilization` stat.
    public func utilization(maxConnections: Int) -> Int {
        Int((100 * Double(queued) / Double(maxConnections)).rounded())
    }
}

/// Reads listener statistics from the kernel's `/proc/net` tables.
public enum ListenerStatsReader {
    /// TCP: the LISTEN row's receive queue is the accept backlog (queued); ESTABLISHED rows on the same
    /// local address and port are active. Reads `/proc/net/tcp` and `/proc/net/tcp6`.
    public static func tcp(_ address: HostAndPort, procRoot: String = "/proc") throws -> ListenerStats {
        guard let wanted = address.address?.bytes else {
            throw SocketError(peer: address.description, operation: "read listener stats for", reason: "address must be an IP literal")
        }
        var stats = ListenerStats(active: 0, queued: 0)
        var found = false
        for table in ["tcp", "tcp6"] {
            guard let text = ProcFile.read("\(procRoot)/net/\(table)") else { continue }
            for row in parseTCPTable(text) where row.port == address.port && matches(row.address, wanted) {
                if row.state == 0x0A {
                    stats.queued += row.receiveQueue
                    found = true
                } else if row.state == 0x01 {
                    stats.active += 1
                }
            }
        }
        guard found else {
            throw SocketError(peer: address.description, operation: "read listener stats for", reason: "no socket is listening there")
        }
        return stats
    }

    struct TCPRow {
        var address: [UInt8]
        var port: Int
        var state: Int
        var receiveQueue: Int
    }

    /// Parses rows like `0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 …`.
    static func parseTCPTable(_ text: String) -> [TCPRow] {
        var rows: [TCPRow] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 4 else { continue }
            let local = fields[1].split(separator: ":")
            let queues = fields[4].split(separator: ":")
            guard local.count == 2, queues.count == 2, let port = Int(local[1], radix: 16), let state = Int(fields[3], radix: 16),
                let receiveQueue = Int(queues[1], radix: 16), let address = kernelAddress(local[0])
            else { continue }
            rows.append(TCPRow(address: address, port: port, state: state, receiveQueue: receiveQueue))
        }
        return rows
    }

    /// The kernel prints addresses as host-order 32-bit words in hex.
    static func kernelAddress(_ hex: Substring) -> [UInt8]? {
        guard hex.count == 8 || hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let end = hex.index(index, offsetBy: 8)
            guard let word = UInt32(hex[index..<end], radix: 16) else { return nil }
            let little = word.littleEndian
            bytes += [UInt8(little & 0xff), UInt8((little >> 8) & 0xff), UInt8((little >> 16) & 0xff), UInt8(little >> 24)]
            index = end
        }
        return bytes
    }

    /// Exact match, a wildcard listener, or the IPv4-mapped form of the wanted address.
    static func matches(_ row: [UInt8], _ wanted: [UInt8]) -> Bool {
        if row == wanted { return true }
        if row.allSatisfy({ $0 == 0 }) && row.count == wanted.count { return false }
        if row.count == 16, wanted.count == 4 { return IPAddress(bytes: row)?.unmappedIPv4?.bytes == wanted }
        return false
    }

    /// Unix sockets, raindrops' way: rows for `path` that are not the listener itself count as queued while
    /// connecting (state 02: not accepted yet) and active once connected (state 03).
    public static func unix(path: String, procRoot: String = "/proc") throws -> ListenerStats {
        guard let text = ProcFile.read("\(procRoot)/net/unix") else {
            throw SocketError(peer: path, operation: "read listener stats for", reason: "cannot read \(procRoot)/net/unix")
        }
        var stats = ListenerStats(active: 0, queued: 0)
        var listening = false
        for line in text.split(separator: "\n").dropFirst() {
            // Num RefCount Protocol Flags Type St Inode Path
            // Not maxSplits: runs of padding spaces would use up splits and leak into the path.
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8, fields[7...].joined(separator: " ") == path else { continue }
            let flags = fields[3]
            if flags != "00000000" {
                listening = true
                continue
            }
            switch fields[5] {
            case "02": stats.queued += 1
            case "03": stats.active += 1
            default: break
            }
        }
        guard listening else { throw SocketError(peer: path, operation: "read listener stats for", reason: "no socket is listening there") }
        return stats
    }
}
