/// A kernel IP set of type `hash:ip,port` that holds the VIPs (address, protocol, port) of one
/// IPVS firewall-mark service.
///
/// One static firewall rule marks every packet addressed to a member of the set, so the fwmark
/// service follows the set's contents without touching iptables again:
///
/// ```
/// iptables -t mangle -A PREROUTING -m set --match-set plimsoll-fwm-7 dst,dst -j MARK --set-mark 7
/// ipvsadm -A -f 7 -s wrr                      # the fwmark service the marked packets reach
/// ```
///
/// `dst,dst` matches the packet's destination address against the first dimension of the set and
/// its destination protocol and port against the second. For an IPv6 set use `ip6tables` and an
/// IPv6 fwmark service. The rule needs the `xt_set` module; the set needs `ip_set` and
/// `ip_set_hash_ipport`. ``firewallRuleArguments(mark:)`` builds the rule's arguments.
///
/// The corresponding ipset command is `ipset create NAME hash:ip,port family inet|inet6
/// [hashsize N] [maxelem N]`.
public struct VIPSet: Hashable, Sendable {
    /// The kernel set type every VIP set has.
    public static let setType = "hash:ip,port"

    /// The prefix of conventional set names, as in `plimsoll-fwm-7`.
    public static let defaultNamePrefix = "plimsoll-fwm-"

    /// The set's name (1...31 characters: letters, digits, `-`, `_`, `.`; starts with a letter or digit).
    public let name: String
    /// The address family of every member.
    public var family: Family
    /// The initial hash size (`hashsize`); `nil` leaves the kernel default (1024). The kernel rounds it up to a power of two.
    public var hashSize: UInt32?
    /// The most members the set may hold (`maxelem`); `nil` leaves the kernel default (65536).
    public var maxElements: UInt32?

    /// A VIP set with an explicit name.
    /// - Throws: ``VIPSetError/invalidSetName(_:reason:)`` for a name the kernel or the firewall rule would not take,
    ///   ``VIPSetError/invalidOption(set:option:reason:)`` for a zero `hashSize` or `maxElements`.
    public init(name: String, family: Family = .ipv4, hashSize: UInt32? = nil, maxElements: UInt32? = nil) throws(VIPSetError) {
        try Self.validate(name: name)
        if hashSize == 0 { throw .invalidOption(set: name, option: "hashsize", reason: "must be at least 1 (the kernel rounds it up to 64 or more)") }
        if maxElements == 0 { throw .invalidOption(set: name, option: "maxelem", reason: "must be at least 1") }
        self.name = name
        self.family = family
        self.hashSize = hashSize
        self.maxElements = maxElements
    }

    /// The conventional VIP set of one firewall mark: `plimsoll-fwm-<mark>` for IPv4, `plimsoll-fwm-<mark>-v6` for IPv6.
    /// - Throws: ``VIPSetError/invalidSetName(_:reason:)`` when `prefix` makes the name invalid or too long.
    public init(
        firewallMark: UInt32,
        family: Family = .ipv4,
        prefix: String = VIPSet.defaultNamePrefix,
        hashSize: UInt32? = nil,
        maxElements: UInt32? = nil
    ) throws(VIPSetError) {
        try self.init(
            name: Self.name(firewallMark: firewallMark, family: family, prefix: prefix),
            family: family,
            hashSize: hashSize,
            maxElements: maxElements
        )
    }

    /// The conventional set name for a firewall mark and family.
    ///
    /// Not validated here; ``init(firewallMark:family:prefix:hashSize:maxElements:)`` validates it.
    public static func name(firewallMark: UInt32, family: Family, prefix: String = VIPSet.defaultNamePrefix) -> String {
        switch family {
        case .ipv4: "\(prefix)\(firewallMark)"
        case .ipv6: "\(prefix)\(firewallMark)-v6"
        }
    }

    /// The arguments (after `iptables` or `ip6tables`) of the rule that marks this set's VIPs with `mark`:
    /// `-t mangle -A PREROUTING -m set --match-set NAME dst,dst -j MARK --set-mark MARK`.
    public func firewallRuleArguments(mark: UInt32, chain: String = "PREROUTING") -> [String] {
        ["-t", "mangle", "-A", chain, "-m", "set", "--match-set", name, "dst,dst", "-j", "MARK", "--set-mark", String(mark)]
    }
}
