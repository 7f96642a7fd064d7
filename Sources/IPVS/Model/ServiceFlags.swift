/// Virtual service flags that callers set. The corresponding kernel constants are `IP_VS_SVC_F_*`.
///
/// Persistence is not a flag here: ``VirtualService/persistence`` sets `IP_VS_SVC_F_PERSISTENT`,
/// and the kernel-internal `IP_VS_SVC_F_HASHED` is dropped when reading.
public struct ServiceFlags: OptionSet, Hashable, Sendable, Codable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// One-packet scheduling: every UDP datagram is scheduled on its own (`IP_VS_SVC_F_ONEPACKET`, ipvsadm `-o`).
    public static let onePacket = ServiceFlags(rawValue: 0x0004)
    /// Scheduler flag 1: `sh-fallback` / `mh-fallback` (`IP_VS_SVC_F_SCHED1`).
    public static let schedulerFlag1 = ServiceFlags(rawValue: 0x0008)
    /// Scheduler flag 2: `sh-port` / `mh-port` (`IP_VS_SVC_F_SCHED2`).
    public static let schedulerFlag2 = ServiceFlags(rawValue: 0x0010)
    /// Scheduler flag 3 (`IP_VS_SVC_F_SCHED3`).
    public static let schedulerFlag3 = ServiceFlags(rawValue: 0x0020)

    static let persistent: UInt32 = 0x0001
    static let hashed: UInt32 = 0x0002
    /// The bits callers control.
    static let settable: UInt32 = 0x003C

    /// ipvsadm's names for the flags (`-b`), for display.
    public var names: [String] {
        var names: [String] = []
        if contains(.onePacket) { names.append("ops") }
        if contains(.schedulerFlag1) { names.append("flag-1") }
        if contains(.schedulerFlag2) { names.append("flag-2") }
        if contains(.schedulerFlag3) { names.append("flag-3") }
        return names
    }
}
