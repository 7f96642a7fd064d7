import CIPSet
import Posix

/// Creates, fills, lists and destroys VIP sets in the kernel through libipset (not the `ipset` binary).
///
/// The actor owns one libipset session (one netlink socket, opened by the first command in the network namespace
/// the process is in at that moment). All methods need CAP_NET_ADMIN and a kernel with `ip_set` and
/// `ip_set_hash_ipport`; see ``VIPSet`` for the firewall rule that goes with a set.
///
/// Every method throws only ``VIPSetError``. libipset's calls block in the kernel, so the actor
/// runs on a thread of its own (``ThreadExecutor``), never on one of Swift's cooperative threads.
public actor VIPSetClient: VIPSetControlling {
    private let session: LibIPSetSession
    private let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Whether the calling code runs on the client's own thread.
    public nonisolated var isOnItsThread: Bool { executor.isCurrent }

    /// Opens a libipset session. No kernel call happens until the first command.
    /// - Throws: ``VIPSetError/libipset(call:message:set:)`` when the session cannot be allocated.
    public init() throws(VIPSetError) {
        do {
            executor = try ThreadExecutor(named: "ipset-netlink")
        } catch {
            throw .libipset(call: "pthread_create", message: "cannot start the VIP-set client's thread: \(error)", set: nil)
        }
        session = try LibIPSet.locked { () throws(VIPSetError) -> sending LibIPSetSession in try LibIPSetSession() }
    }

    deinit {
        executor.shutdown()
    }

    /// The last warning libipset reported on a successful call (for example about protocol versions), if any.
    public var lastWarning: String? { session.lastWarning }

    /// Creates a `hash:ip,port` set. The corresponding command is `ipset create NAME hash:ip,port family F [hashsize N] [maxelem N] [-exist]`.
    /// - Parameter existOK: when true, an existing `hash:ip,port` set of the same family and `maxelem` is not an error
    ///   (the kernel does not compare `hashsize`; the existing set is kept as it is).
    /// - Throws: ``VIPSetError/setExists(_:)``, ``VIPSetError/kernelLacksIPSet(call:message:)``,
    ///   ``VIPSetError/permissionDenied(call:message:)``, ``VIPSetError/libipset(call:message:set:)``.
    public func create(_ set: VIPSet, existOK: Bool = false) throws(VIPSetError) {
        let subject = VIPSetError.Subject.set(set.name)
        let session = self.session
        try LibIPSet.locked { () throws(VIPSetError) in
            try session.begin()
            try session.status("ipset_parse_setname", subject) { ipset_parse_setname($0, IPSET_SETNAME, set.name) }
            try session.status("ipset_parse_typename", subject) { ipset_parse_typename($0, IPSET_OPT_TYPENAME, VIPSet.setType) }
            _ = try session.pointer("ipset_type_get(create)", subject) { ipset_type_get($0, IPSET_CMD_CREATE) }
            try session.status("ipset_parse_family", subject) { ipset_parse_family($0, IPSET_OPT_FAMILY, set.family.rawValue) }
            if var hashSize = set.hashSize {
                try session.status("ipset_data_set(hashsize)", subject) { cipset_session_data_set($0, IPSET_OPT_HASHSIZE, &hashSize) }
            }
            if var maxElements = set.maxElements {
                try session.status("ipset_data_set(maxelem)", subject) { cipset_session_data_set($0, IPSET_OPT_MAXELEM, &maxElements) }
            }
            // -exist: libipset then sends the create without NLM_F_EXCL, and the kernel accepts an identical set.
            if existOK { session.infallible { ipset_envopt_set($0, IPSET_ENV_EXIST) } }
            defer { if existOK { session.infallible { ipset_envopt_unset($0, IPSET_ENV_EXIST) } } }
            try session.status("ipset_cmd(create)", subject) { ipset_cmd($0, IPSET_CMD_CREATE, 0) }
        }
        // The kernel's -exist check compares type name and maxelem but not the set's family (seen on Linux 6.1 and 6.18):
        // an IPv4 set would silently stand in for an IPv6 one, so check the family the kernel reports.
        if existOK, let family = try listing(of: set.name).family, family != set.family {
            throw .setExists(set.name)
        }
    }

    /// Destroys a set. The corresponding command is `ipset destroy NAME`.
    /// - Throws: ``VIPSetError/noSuchSet(_:)``, ``VIPSetError/setInUse(_:)`` while a firewall rule references it,
    ///   ``VIPSetError/permissionDenied(call:message:)``, ``VIPSetError/kernelLacksIPSet(call:message:)``.
    public func destroy(_ set: String) throws(VIPSetError) {
        try Self.checkReference(set)
        let subject = VIPSetError.Subject.set(set)
        let session = self.session
        try LibIPSet.locked { () throws(VIPSetError) in
            try session.begin()
            try session.status("ipset_parse_setname", subject) { ipset_parse_setname($0, IPSET_SETNAME, set) }
            try session.status("ipset_cmd(destroy)", subject) { ipset_cmd($0, IPSET_CMD_DESTROY, 0) }
            _ = session.infallible { _ in ipset_cache_del(set) }
        }
    }

    /// Adds a member. The corresponding command is `ipset add NAME ADDRESS,PROTOCOL:PORT`.
    /// - Throws: ``VIPSetError/memberExists(_:set:)``, ``VIPSetError/noSuchSet(_:)``, ``VIPSetError/wrongSetType(set:type:)``,
    ///   ``VIPSetError/familyMismatch(_:set:setFamily:)``, ``VIPSetError/permissionDenied(call:message:)``.
    public func add(_ member: VIPSetMember, to set: String) throws(VIPSetError) {
        try element(IPSET_CMD_ADD, "add", member, set)
    }

    /// Removes a member. The corresponding command is `ipset del NAME ADDRESS,PROTOCOL:PORT`.
    /// - Throws: ``VIPSetError/memberMissing(_:set:)``, ``VIPSetError/noSuchSet(_:)``, ``VIPSetError/wrongSetType(set:type:)``,
    ///   ``VIPSetError/familyMismatch(_:set:setFamily:)``, ``VIPSetError/permissionDenied(call:message:)``.
    public func remove(_ member: VIPSetMember, from set: String) throws(VIPSetError) {
        try element(IPSET_CMD_DEL, "del", member, set)
    }

    /// The members of a set, sorted. The corresponding command is `ipset list -o save NAME`.
    /// - Throws: ``VIPSetError/noSuchSet(_:)``, ``VIPSetError/wrongSetType(set:type:)``, ``VIPSetError/unsupportedEntry(_:set:)``.
    public func members(of set: String) throws(VIPSetError) -> [VIPSetMember] {
        try listing(of: set).members().sorted()
    }

    /// A set's header and entries as the kernel lists them, for a set of any type.
    /// - Throws: ``VIPSetError/noSuchSet(_:)``, ``VIPSetError/permissionDenied(call:message:)``.
    public func listing(of set: String) throws(VIPSetError) -> VIPSetListing {
        try Self.checkReference(set)
        let text = try list(set, namesOnly: false)
        let listings = try VIPSetListing.parseSaveFormat(text)
        guard let listing = listings.first(where: { $0.name == set }) else {
            throw .libipset(call: "ipset_cmd(list)", message: "the kernel listed no set of this name: '\(text.prefix(200))'", set: set)
        }
        return listing
    }

    /// The names of all sets in this network namespace, of every type, in kernel order. The corresponding command is `ipset list -n`.
    /// - Throws: ``VIPSetError/permissionDenied(call:message:)``, ``VIPSetError/kernelLacksIPSet(call:message:)``.
    public func sets() throws(VIPSetError) -> [String] {
        try list(nil, namesOnly: true).split(separator: "\n").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
    }

    /// Makes a set hold exactly `members`: adds the missing ones, then removes the extra ones; members in both are not touched.
    /// - Returns: the changes made (empty when the set already matched).
    /// - Throws: as ``members(of:)``, ``add(_:to:)`` and ``remove(_:from:)``; changes made before a failure stay made.
    @discardableResult
    public func sync(_ set: String, members wanted: Set<VIPSetMember>) throws(VIPSetError) -> VIPSetChanges {
        let changes = VIPSetChanges(from: try members(of: set), to: wanted)
        for member in changes.added { try add(member, to: set) }
        for member in changes.removed { try remove(member, from: set) }
        return changes
    }

    // MARK: Helpers

    /// Names of existing sets are checked only for what libipset needs (1...31 bytes); ``VIPSet/validate(name:)`` is for new sets.
    private static func checkReference(_ set: String) throws(VIPSetError) {
        guard !set.isEmpty else { throw .invalidSetName(set, reason: "the name is empty") }
        guard set.utf8.count <= VIPSet.maximumNameLength else {
            throw .invalidSetName(set, reason: "the name has \(set.utf8.count) bytes, the kernel takes at most \(VIPSet.maximumNameLength)")
        }
    }

    private func element(_ command: ipset_cmd, _ verb: String, _ member: VIPSetMember, _ set: String) throws(VIPSetError) {
        try Self.checkReference(set)
        let subject = VIPSetError.Subject.member(member, set: set)
        let session = self.session
        try LibIPSet.locked { () throws(VIPSetError) in
            try session.begin()
            // The cached type of a set can be stale when another program destroyed and recreated it: ask the kernel.
            _ = session.infallible { _ in ipset_cache_del(set) }
            try session.status("ipset_parse_setname", subject) { ipset_parse_setname($0, IPSET_SETNAME, set) }
            let type = try session.pointer("ipset_type_get(\(verb))", subject) { ipset_type_get($0, command) }
            let typeName = String(cString: cipset_type_name(type))
            guard typeName == VIPSet.setType else {
                session.discard()
                throw .wrongSetType(set: set, type: typeName)
            }
            let familyNumber = session.infallible { ipset_data_family(ipset_session_data($0)) }
            if let setFamily = VIPSet.Family(netfilterFamily: familyNumber), setFamily != member.family {
                session.discard()
                throw .familyMismatch(member, set: set, setFamily: setFamily)
            }
            try session.status("ipset_parse_elem", subject) {
                ipset_parse_elem($0, cipset_type_last_elem_optional(type), member.description)
            }
            try session.status("ipset_cmd(\(verb))", subject) { ipset_cmd($0, command, 0) }
        }
    }

    private func list(_ set: String?, namesOnly: Bool) throws(VIPSetError) -> String {
        let subject: VIPSetError.Subject = set.map { .set($0) } ?? .none
        let session = self.session
        return try LibIPSet.locked { () throws(VIPSetError) -> sending String in
            try session.begin()
            if let set {
                try session.status("ipset_parse_setname", subject) { ipset_parse_setname($0, IPSET_SETNAME, set) }
            }
            // Names only (list -n): libipset prints names in plain mode only, not in save mode.
            if namesOnly {
                session.infallible {
                    ipset_envopt_set($0, IPSET_ENV_LIST_SETNAME)
                    _ = ipset_session_output($0, IPSET_LIST_PLAIN)
                }
            }
            defer {
                if namesOnly {
                    session.infallible {
                        ipset_envopt_unset($0, IPSET_ENV_LIST_SETNAME)
                        _ = ipset_session_output($0, IPSET_LIST_SAVE)
                    }
                }
            }
            try session.status(namesOnly ? "ipset_cmd(list -n)" : "ipset_cmd(list)", subject) { ipset_cmd($0, IPSET_CMD_LIST, 0) }
            return session.takeOutput()
        }
    }
}
