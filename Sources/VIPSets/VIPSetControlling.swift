/// The operations on VIP sets, behind a protocol so callers can be tested against a fake.
///
/// ``VIPSetClient`` is the real implementation over libipset.
public protocol VIPSetControlling: Sendable {
    /// Creates a set; with `existOK`, an existing set of the same type, family and `maxelem` is not an error.
    func create(_ set: VIPSet, existOK: Bool) async throws
    /// Destroys a set.
    func destroy(_ set: String) async throws
    /// Adds one member to a set.
    func add(_ member: VIPSetMember, to set: String) async throws
    /// Removes one member from a set.
    func remove(_ member: VIPSetMember, from set: String) async throws
    /// The members of a set, sorted.
    func members(of set: String) async throws -> [VIPSetMember]
    /// The names of all sets in this network namespace, of every type.
    func sets() async throws -> [String]
    /// Makes a set hold exactly `members`, adding and removing only the differences.
    @discardableResult
    func sync(_ set: String, members: Set<VIPSetMember>) async throws -> VIPSetChanges
}
