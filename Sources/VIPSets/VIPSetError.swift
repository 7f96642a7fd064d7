/// Everything that can go wrong with VIP sets; each case names the set or member involved and its
/// description says what to do.
public enum VIPSetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A set name the library refuses (see ``VIPSet/validate(name:)``).
    case invalidSetName(String, reason: String)
    /// Member text that is not a `hash:ip,port` VIP (see ``VIPSetMember/init(parsing:)``).
    case invalidMember(String, reason: String)
    /// A create option the kernel would refuse.
    case invalidOption(set: String, option: String, reason: String)
    /// The set exists already (create without `existOK`, or with `existOK` but a different type or options).
    case setExists(String)
    /// No set has this name.
    case noSuchSet(String)
    /// The set is referenced by a kernel component (an iptables `-m set` rule) and cannot be destroyed.
    case setInUse(String)
    /// The set is not of type `hash:ip,port`, so it cannot hold VIPs.
    case wrongSetType(set: String, type: String)
    /// The member's address family differs from the set's.
    case familyMismatch(VIPSetMember, set: String, setFamily: VIPSet.Family)
    /// The member is in the set already.
    case memberExists(VIPSetMember, set: String)
    /// The member is not in the set.
    case memberMissing(VIPSetMember, set: String)
    /// The set holds an entry that is not a tcp/udp/sctp VIP (for example `icmp:ping`).
    case unsupportedEntry(String, set: String)
    /// The kernel has no IP set support (or not for `hash:ip,port`).
    case kernelLacksIPSet(call: String, message: String)
    /// The kernel refused because the process lacks CAP_NET_ADMIN.
    case permissionDenied(call: String, message: String)
    /// Any other libipset failure: the libipset call and its report message.
    case libipset(call: String, message: String, set: String?)

    public var description: String {
        switch self {
        case .invalidSetName(let name, let reason):
            "invalid VIP set name '\(name)': \(reason)"
        case .invalidMember(let text, let reason):
            "invalid VIP set member '\(text)': \(reason)"
        case .invalidOption(let set, let option, let reason):
            "invalid option \(option) for VIP set '\(set)': \(reason)"
        case .setExists(let set):
            "VIP set '\(set)' already exists (with other type or options if exist-ok was asked): "
                + "use it, destroy it first, or pick another name"
        case .noSuchSet(let set):
            "VIP set '\(set)' does not exist: create it first, or check the name (ipset list -n)"
        case .setInUse(let set):
            "VIP set '\(set)' cannot be destroyed while a kernel component uses it: "
                + "delete the firewall rule that matches it (-m set --match-set \(set)) first"
        case .wrongSetType(let set, let type):
            "set '\(set)' has type \(type), not \(VIPSet.setType): it cannot hold VIPs; use another set or recreate it"
        case .familyMismatch(let member, let set, let setFamily):
            "VIP \(member) is \(member.family) but set '\(set)' holds \(setFamily) members: use the set of the member's family"
        case .memberExists(let member, let set):
            "VIP \(member) is already in set '\(set)': nothing to add (use sync to converge without this error)"
        case .memberMissing(let member, let set):
            "VIP \(member) is not in set '\(set)': nothing to remove (use sync to converge without this error)"
        case .unsupportedEntry(let entry, let set):
            "set '\(set)' holds entry '\(entry)', which is not a tcp/udp/sctp VIP: remove it (ipset del \(set) \(entry))"
        case .kernelLacksIPSet(let call, let message):
            "libipset \(call) failed (\(message)): the kernel has no IP set support for \(VIPSet.setType); "
                + "load it with 'modprobe ip_set ip_set_hash_ipport' (and xt_set for the firewall rule)"
        case .permissionDenied(let call, let message):
            "libipset \(call) was refused (\(message)): managing IP sets needs root or CAP_NET_ADMIN in this network namespace"
        case .libipset(let call, let message, let set):
            "libipset \(call) failed\(set.map { " on set '\($0)'" } ?? ""): \(message)"
        }
    }
}
