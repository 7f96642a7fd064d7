/// An IPVS scheduler, named as the kernel names it (`ip_vs_<name>` modules).
///
/// Any name the kernel knows is accepted; the constants are the schedulers Linux ships.
public struct Scheduler: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let roundRobin: Scheduler = "rr"
    public static let weightedRoundRobin: Scheduler = "wrr"
    public static let leastConnection: Scheduler = "lc"
    public static let weightedLeastConnection: Scheduler = "wlc"
    public static let localityBasedLeastConnection: Scheduler = "lblc"
    public static let localityBasedLeastConnectionWithReplication: Scheduler = "lblcr"
    public static let destinationHashing: Scheduler = "dh"
    public static let sourceHashing: Scheduler = "sh"
    public static let shortestExpectedDelay: Scheduler = "sed"
    public static let neverQueue: Scheduler = "nq"
    public static let weightedFailover: Scheduler = "fo"
    public static let weightedOverflow: Scheduler = "ovf"
    public static let maglevHashing: Scheduler = "mh"

    /// The schedulers shipped with Linux 6.1.
    public static let linuxSchedulers: [Scheduler] = [
        .roundRobin, .weightedRoundRobin, .leastConnection, .weightedLeastConnection, .localityBasedLeastConnection,
        .localityBasedLeastConnectionWithReplication, .destinationHashing, .sourceHashing, .shortestExpectedDelay,
        .neverQueue, .weightedFailover, .weightedOverflow, .maglevHashing,
    ]

    /// The kernel's limit on scheduler names (`IP_VS_SCHEDNAME_MAXLEN`, NUL included).
    public static let maximumNameLength = 15
}
