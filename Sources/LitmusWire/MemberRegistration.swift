/// The contract between an agent that registers its node and brother's dynamic membership: one
/// definition for both ends, so the fields, their ranges and their defaults cannot drift apart.
///
/// - Join or refresh: `PUT /cluster/<cluster>/members/<ADDRESS:PORT>` with these fields as an
///   `application/x-www-form-urlencoded` body. `ADDRESS:PORT` is the real server as IPVS sees it.
///   brother answers 201 for a new member and 200 for a refresh.
/// - Leave: `DELETE` on the same path (the node drains at once instead of when its TTL lapses).
/// - Beyond loopback and brother's Unix socket, brother needs `Authorization: Bearer <token>`:
///   the cluster's join token (`join_token` in brother.yml), which grants only these two routes.
///   The admin token also works, but it grants every change and a registration repeats it in
///   every refresh: agents should not carry it.
public struct MemberRegistration: Sendable, Hashable {
    public static let ttlRange = 1...86_400
    public static let agentPortRange = 1...65_535
    public static let maxWeightRange = 1...100
    public static let priorityRange = -1_000_000...1_000_000
    /// brother's node `capacity`: health 100 times it must fit the kernel's signed 32-bit weight.
    public static let capacityRange = 1...21_474_836
    public static let defaultTTL = 30
    /// litmus's (and litmus_paper's) default port.
    public static let defaultAgentPort = 9292
    /// Bounds what brother keeps and sends in every poll's request line.
    public static let maximumPathLength = 1024

    /// How long brother keeps the member without a refresh, in seconds.
    public var ttl: Int
    /// The port brother polls the agent on (the real server's port may differ).
    public var agentPort: Int
    /// The status path brother polls; `nil` means `/<cluster>/status`.
    public var path: String?
    public var maxWeight: Int?
    public var priority: Int
    /// big_brother's node group (rules such as `active_passive` act per group).
    public var group: String?
    /// brother's node `capacity` (its IPVS weight is health times this); nil means 1 and is not
    /// sent, so a join without it is the bytes it always was.
    public var capacity: Int?

    public init(
        ttl: Int = defaultTTL, agentPort: Int = defaultAgentPort, path: String? = nil, maxWeight: Int? = nil, priority: Int = 0, group: String? = nil,
        capacity: Int? = nil
    ) {
        self.ttl = ttl
        self.agentPort = agentPort
        self.path = path
        self.maxWeight = maxWeight
        self.priority = priority
        self.group = group
        self.capacity = capacity
    }

    /// The path brother polls for a member of `cluster`.
    public func statusPath(cluster: String) -> String { path ?? "/\(cluster)/status" }

    /// The member's resource: `/cluster/<cluster>/members/<node>`, each name one encoded segment
    /// (an IPv6 member such as `[fd00::2]:80` stays one segment).
    public static func resourcePath(cluster: String, node: String) -> String {
        "/cluster/\(cluster.percentEncodedPathSegment())/members/\(node.percentEncodedPathSegment())"
    }

    /// The join's form fields, in a stable order; defaults are sent too, so a brother with other
    /// defaults still polls what the agent meant.
    public var formFields: [(String, String)] {
        var fields = [("ttl", String(ttl)), ("agent_port", String(agentPort))]
        if let path { fields.append(("path", path)) }
        if let maxWeight { fields.append(("max_weight", String(maxWeight))) }
        if priority != 0 { fields.append(("priority", String(priority))) }
        if let group { fields.append(("group", group)) }
        if let capacity { fields.append(("capacity", String(capacity))) }
        return fields
    }

    /// The join's body.
    public var formBody: String { FormFields.encode(formFields) }

    /// Reads a join's fields; a missing field takes its default, and an empty `group` means none.
    /// - Throws: ``MemberRegistrationError`` naming the field and its allowed values.
    public init(fields: FormFields) throws(MemberRegistrationError) {
        func integer(_ key: String, _ range: ClosedRange<Int>) throws(MemberRegistrationError) -> Int? {
            guard let raw = fields[key] else { return nil }
            guard let number = Int(raw), range.contains(number) else {
                throw MemberRegistrationError(
                    field: key, description: "\(key) must be an integer in \(range.lowerBound)...\(range.upperBound), not \"\(raw)\"")
            }
            return number
        }
        ttl = try integer("ttl", Self.ttlRange) ?? Self.defaultTTL
        agentPort = try integer("agent_port", Self.agentPortRange) ?? Self.defaultAgentPort
        maxWeight = try integer("max_weight", Self.maxWeightRange)
        priority = try integer("priority", Self.priorityRange) ?? 0
        capacity = try integer("capacity", Self.capacityRange)
        if let path = fields["path"] {
            guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace || $0.isNewline }), path.utf8.count <= Self.maximumPathLength else {
                throw MemberRegistrationError(
                    field: "path", description: "path must start with / and hold no spaces (at most \(Self.maximumPathLength) bytes)")
            }
            self.path = path
        } else {
            path = nil
        }
        group = fields["group"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A join whose fields brother cannot take; the description names the field and what it allows.
public struct MemberRegistrationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var description: String

    public init(field: String, description: String) {
        self.field = field
        self.description = description
    }
}
