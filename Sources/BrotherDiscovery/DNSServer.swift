import Foundation
import IPVS
import NetworkAddress

/// A DNS server to ask: an address and a port (53, or Consul's 8600).
public struct DNSServer: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16 = 53) {
        self.address = address
        self.port = port
    }

    /// `ADDRESS[:PORT]`, `[IPV6]:PORT` or a bare IPv6 address; port 53 unless given.
    public init?(parsing text: String) {
        if let address = IPAddress(text) {
            self.init(address: address)
        } else if let id = Destination.ID(parsing: text) {
            self.init(address: id.address, port: id.port == 0 ? 53 : id.port)
        } else {
            return nil
        }
    }

    public var description: String { address.description(port: port) }

    /// The first `nameserver` line of a resolv.conf(5) text (an IPv6 zone, `%eth0`, is dropped).
    public static func firstNameserver(inResolvConf text: String) -> DNSServer? {
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { continue }
            let text = words[1].split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
            if let address = IPAddress(text) { return DNSServer(address: address) }
        }
        return nil
    }

    /// The system's resolver: the first `nameserver` of `path` (read on every call, so edits count).
    /// - Throws: ``DNSError`` (`noNameserver`) when the file cannot be read or lists none.
    public static func system(resolvConf path: String = "/etc/resolv.conf", for name: String, type: DNSRecordType) throws -> DNSServer {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DNSError(
                server: path, name: name, type: type, reason: .noNameserver("\(path) cannot be read; set the cluster's discovery.nameserver"))
        }
        guard let server = firstNameserver(inResolvConf: text) else {
            throw DNSError(
                server: path, name: name, type: type, reason: .noNameserver("\(path) has no nameserver line; set the cluster's discovery.nameserver"))
        }
        return server
    }
}

/// A DNS lookup failed: which server, which name and type, and what went wrong.
public struct DNSError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// No answer with our query ID within the timeout, on every attempt.
        case timedOut(attempts: Int, timeout: Duration)
        /// The server could not be reached (e.g. connection refused: nothing listens there).
        case unreachable(String)
        /// The server answered with an error code (SERVFAIL, REFUSED, …); NXDOMAIN is not an error.
        case responseCode(DNSResponseCode)
        /// The answer had TC set and asking again over TCP failed.
        case truncated(tcpError: String)
        case malformedAnswer(DNSMessageError)
        case invalidName(String)
        /// CNAMEs that loop or chain longer than the limit.
        case aliasChain([String])
        case noNameserver(String)
    }

    /// The server as `ADDRESS:PORT` (or the resolv.conf path when there was none).
    public var server: String
    public var name: String
    public var type: DNSRecordType
    public var reason: Reason

    public init(server: String, name: String, type: DNSRecordType, reason: Reason) {
        self.server = server
        self.name = name
        self.type = type
        self.reason = reason
    }

    public var description: String {
        let what: String
        switch reason {
        case .timedOut(let attempts, let timeout):
            what = "no answer after \(attempts) attempt\(attempts == 1 ? "" : "s") of \(timeout) each"
        case .unreachable(let detail): what = "cannot reach the server: \(detail)"
        case .responseCode(let code): what = "the server answered \(code)"
        case .truncated(let tcpError): what = "the answer was truncated (TC) and asking again over TCP failed: \(tcpError)"
        case .malformedAnswer(let error): what = "malformed answer: \(error)"
        case .invalidName(let detail): what = detail
        case .aliasChain(let names): what = "CNAMEs loop or chain too long: \(names.joined(separator: " → "))"
        case .noNameserver(let detail): return "DNS \(name) \(type): no DNS server: \(detail)"
        }
        return "DNS server \(server): \(name) \(type): \(what)"
    }
}
