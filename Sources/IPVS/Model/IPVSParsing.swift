import NetworkAddress

/// Text forms of identities, the same ones ``VirtualService/ID/description`` and ipvsadm print:
/// `TCP 192.0.2.1:80`, `UDP [2001:db8::1]:53`, `SCTP 192.0.2.1:9`, `FWM 7`, `FWM 7 IPv6`.
extension VirtualService.ID {
    public init?(parsing text: String) {
        let words = text.split(separator: " ").map(String.init)
        guard let kind = words.first?.lowercased() else { return nil }
        if kind == "fwm" || kind == "fwmark" {
            guard words.count == 2 || words.count == 3, let mark = UInt32(words[1]), mark > 0 else { return nil }
            if words.count == 3 {
                guard words[2].lowercased() == "ipv6" || words[2].lowercased() == "ipv4" else { return nil }
                self = .firewallMark(mark, family: words[2].lowercased() == "ipv6" ? .ipv6 : .ipv4)
            } else {
                self = .firewallMark(mark, family: .ipv4)
            }
            return
        }
        // A service always names its port: "TCP 198.51.100.10:80", never a bare address.
        guard words.count == 2, let proto = TransportProtocol(name: kind), let endpoint = Destination.ID(parsing: words[1]),
            words[1].hasSuffix(":\(endpoint.port)")
        else { return nil }
        self = .address(endpoint.address, port: endpoint.port, protocol: proto)
    }
}

extension Destination.ID {
    /// `192.0.2.1:80`, `[2001:db8::1]:80`; a bare address means port 0.
    public init?(parsing text: String) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), let address = IPAddress(String(text[text.index(after: text.startIndex)..<close])),
                address.family == .ipv6
            else { return nil }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                self.init(address: address, port: 0)
                return
            }
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()) else { return nil }
            self.init(address: address, port: port)
            return
        }
        if let address = IPAddress(text) {
            self.init(address: address, port: 0)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let address = IPAddress(String(text[..<colon])), address.family == .ipv4,
            let port = UInt16(text[text.index(after: colon)...])
        else { return nil }
        self.init(address: address, port: port)
    }
}

extension ForwardingMethod {
    /// `masq` (or `nat`), `route` (or `dr`, `gate`), `local`, `bypass`, `tunnel`/`ipip`, `gue:PORT`,
    /// `gre`, optionally followed by `,csum` and `,remcsum` for tunnels.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: ",").map(String.init)
        guard let head = parts.first else { return nil }
        var flags: TunnelEncapsulation.Flags = []
        for flag in parts.dropFirst() {
            switch flag {
            case "csum": flags.insert(.checksum)
            case "remcsum": flags.insert(.remoteChecksum)
            default: return nil
            }
        }
        switch head {
        case "masq", "masquerade", "nat": self = .masquerade
        case "route", "dr", "gate", "direct", "droute": self = .directRouting
        case "local": self = .local
        case "bypass": self = .bypass
        case "tunnel", "ipip": self = .tunnel(TunnelEncapsulation(kind: .ipip, flags: flags))
        case "gre": self = .tunnel(TunnelEncapsulation(kind: .gre, flags: flags))
        default:
            guard head.hasPrefix("gue:"), let port = UInt16(head.dropFirst(4)), port > 0 else { return nil }
            self = .tunnel(TunnelEncapsulation(kind: .gue, port: port, flags: flags))
            return
        }
        if !flags.isEmpty, case .tunnel = self {} else if !flags.isEmpty { return nil }
    }
}

extension ServiceFlags {
    /// Why a flag name cannot be set on a service: the checks ipvsadm makes before sending (`-o`, `-b`).
    public enum NameProblem: Error, Hashable, Sendable, CustomStringConvertible {
        case unknown(String)
        /// `sh-port` on a service whose scheduler is not sh (ipvsadm: "incompatible scheduler flag").
        case otherScheduler(String, needs: Scheduler, has: Scheduler)
        /// `ops` on a TCP or SCTP service (ipvsadm: "One-Packet Scheduling is only for UDP virtual services").
        case onePacketNotUDP(VirtualService.ID)

        public var description: String {
            switch self {
            case .unknown(let name):
                "unknown flag \"\(name)\"; use ops, sh-fallback, sh-port (scheduler sh), mh-fallback, mh-port (scheduler mh), flag-1, flag-2 or flag-3"
            case .otherScheduler(let name, let needs, let has):
                "\(name) is a flag of scheduler \(needs), not of \(has) (ipvsadm refuses it too)"
            case .onePacketNotUDP(let id):
                "ops (one-packet scheduling) is only for UDP and firewall-mark services, not \(id) (ipvsadm refuses it too)"
            }
        }
    }

    /// One flag by the name ipvsadm gives it (`-o` is `ops`; `-b` takes the rest), checked as ipvsadm
    /// checks it: the scheduler's own names only with that scheduler, `ops` only where UDP can arrive
    /// (a UDP service or a firewall mark). `flag-1`…`flag-3` are the generic names of the bits.
    /// Both `brother ipvs apply`'s table files and brother.yml's clusters read flags through this.
    /// - Throws: ``NameProblem`` saying what is wrong.
    public init(name: String, scheduler: Scheduler, service: VirtualService.ID) throws(NameProblem) {
        let flag: ServiceFlags
        var owner: Scheduler?
        switch name {
        case "ops": flag = .onePacket
        case "flag-1": flag = .schedulerFlag1
        case "flag-2": flag = .schedulerFlag2
        case "flag-3": flag = .schedulerFlag3
        case "sh-fallback": (flag, owner) = (.schedulerFlag1, .sourceHashing)
        case "sh-port": (flag, owner) = (.schedulerFlag2, .sourceHashing)
        case "mh-fallback": (flag, owner) = (.schedulerFlag1, .maglevHashing)
        case "mh-port": (flag, owner) = (.schedulerFlag2, .maglevHashing)
        default: throw .unknown(name)
        }
        if let owner, owner != scheduler { throw .otherScheduler(name, needs: owner, has: scheduler) }
        if flag == .onePacket, case .address(_, _, let proto) = service, proto != .udp { throw .onePacketNotUDP(service) }
        self = flag
    }
}

extension VirtualService.Persistence {
    /// The persistence timeouts ipvsadm accepts (`-p`, 1 s to 31 days): the kernel keeps the timeout in
    /// jiffies in 32 bits, so a larger one would wrap.
    public static let timeoutRange: ClosedRange<Int> = 1...2_678_400
}

extension VirtualService {
    /// The persistence engines Linux ships (`ip_vs_pe_<name>` modules): only SIP, which groups UDP
    /// datagrams by their Call-ID.
    public static let linuxPersistenceEngines: [String] = ["sip"]
}
