/// A generic netlink request as a value: command, version, flags and attributes.
public struct GenericNetlinkRequest: Hashable, Sendable {
    public var command: UInt8
    public var version: UInt8
    public var flags: NetlinkMessageFlags
    public var attributes: [NetlinkAttribute]

    public init(command: UInt8, version: UInt8, flags: NetlinkMessageFlags, attributes: [NetlinkAttribute] = []) {
        self.command = command
        self.version = version
        self.flags = flags
        self.attributes = attributes
    }
}

/// `nlmsghdr.nlmsg_flags`. The corresponding kernel constants are `NLM_F_*`.
public struct NetlinkMessageFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `NLM_F_REQUEST`
    public static let request = Self(rawValue: 0x1)
    /// `NLM_F_MULTI`
    public static let multi = Self(rawValue: 0x2)
    /// `NLM_F_ACK`
    public static let ack = Self(rawValue: 0x4)
    /// `NLM_F_DUMP_INTR`: the dump changed while it was read.
    public static let dumpInterrupted = Self(rawValue: 0x10)
    /// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`)
    public static let dump = Self(rawValue: 0x300)
    /// `NLM_F_CAPPED` on an acknowledgement: the request was not echoed.
    public static let capped = Self(rawValue: 0x100)
    /// `NLM_F_ACK_TLVS` on an acknowledgement: extended-ack attributes follow.
    public static let ackTLVs = Self(rawValue: 0x200)
}
