import CIPSet
import Synchronization

/// Serializes every use of libipset in the process.
///
/// libipset keeps its registered set types and its set-name cache in C globals (lib/types.c), which are not
/// thread-safe, so every session, in every ``VIPSetClient``, takes this lock around each use. This is the one
/// process-wide value in the module, and it exists only because the C library is process-wide.
enum LibIPSet {
    static let lock = Mutex(())

    /// Runs `body` with the lock held.
    static func locked<Result: ~Copyable>(_ body: () throws(VIPSetError) -> sending Result) throws(VIPSetError) -> sending Result {
        try lock.withLock { (_: inout sending ()) throws(VIPSetError) -> sending Result in try body() }
    }
}

/// One libipset session: a netlink socket to the kernel's ip_set subsystem plus the session's data blob,
/// report buffer and captured output.
///
/// The corresponding libipset functions are `ipset_session_init` and `ipset_session_fini`. Not Sendable: it is
/// owned by exactly one ``VIPSetClient`` actor, and used only with ``LibIPSet/lock`` held. The netlink socket is
/// opened by the first command and stays in the network namespace the process was in at that moment.
final class LibIPSetSession {
    private var raw: OpaquePointer
    private let output: UnsafeMutablePointer<cipset_output>
    /// The last warning or notice libipset reported on a successful call.
    private(set) var lastWarning: String?
    /// Set when a kernel command failed: a failed dump can leave replies queued on the netlink socket, which the next
    /// command would read as a sequence mismatch ("Internal protocol error"), so the next command gets a fresh session.
    private var needsReopen = false
    /// Whether a kernel command has succeeded on this object: until then, EINVAL means the kernel has no ip_set.
    private var kernelReached = false

    /// Registers libipset's set types and opens a session whose `list` output is captured in save format.
    /// Call with ``LibIPSet/lock`` held.
    init() throws(VIPSetError) {
        ipset_load_types()
        output = .allocate(capacity: 1)
        output.initialize(to: cipset_output(bytes: nil, length: 0, capacity: 0))
        guard let session = cipset_session_init(output) else {
            output.deallocate()
            throw .libipset(call: "ipset_session_init", message: "could not allocate a session (out of memory)", set: nil)
        }
        raw = session
        _ = ipset_session_output(raw, IPSET_LIST_SAVE)
    }

    /// Replaces the session (and its netlink socket) with a fresh one. Call with ``LibIPSet/lock`` held.
    private func reopen() throws(VIPSetError) {
        guard let fresh = cipset_session_init(output) else {
            throw .libipset(call: "ipset_session_init", message: "could not allocate a session (out of memory)", set: nil)
        }
        _ = ipset_session_fini(raw)
        raw = fresh
        _ = ipset_session_output(raw, IPSET_LIST_SAVE)
        needsReopen = false
    }

    deinit {
        LibIPSet.lock.withLock { _ in _ = ipset_session_fini(raw) }
        cipset_output_free(output)
        output.deallocate()
    }

    /// Starts a command: clears the data blob, the report and the captured output (reopening the session after a failed command).
    func begin() throws(VIPSetError) {
        if needsReopen { try reopen() }
        ipset_session_report_reset(raw)
        ipset_data_reset(ipset_session_data(raw))
        cipset_output_reset(output)
    }

    /// Abandons a half-built command: clears the data blob and the report.
    func discard() {
        ipset_session_report_reset(raw)
        ipset_data_reset(ipset_session_data(raw))
    }

    // MARK: The seam

    /// Runs one libipset call that returns an `int` (negative on failure) and throws its report as a typed error.
    ///
    /// Every libipset call of the module goes through here or ``pointer(_:_:_:)``.
    /// - Parameters:
    ///   - call: the C function (and command) for the error, such as `ipset_cmd(add)`.
    ///   - subject: the set or member the call works on, for the error.
    func status(_ call: String, _ subject: VIPSetError.Subject, _ body: (OpaquePointer) -> Int32) throws(VIPSetError) {
        let result = body(raw)
        try checkReport(call, subject, failed: result < 0)
    }

    /// Runs one libipset call that returns a pointer (`NULL` on failure) and throws its report as a typed error.
    func pointer<T>(_ call: String, _ subject: VIPSetError.Subject, _ body: (OpaquePointer) -> T?) throws(VIPSetError) -> T {
        let result = body(raw)
        try checkReport(call, subject, failed: result == nil)
        return result!
    }

    /// Runs a libipset call that cannot fail (setters of session options, getters of the data blob).
    func infallible<T>(_ body: (OpaquePointer) -> T) -> T {
        body(raw)
    }

    private func checkReport(_ call: String, _ subject: VIPSetError.Subject, failed: Bool) throws(VIPSetError) {
        let type = ipset_session_report_type(raw)
        let message = ipset_session_report_msg(raw).map { String(cString: $0).trimmingSpaces() } ?? ""
        if failed || type == IPSET_ERROR {
            if call.hasPrefix("ipset_cmd") || call.hasPrefix("ipset_type_get") { needsReopen = true }
            ipset_session_report_reset(raw)
            ipset_data_reset(ipset_session_data(raw))
            throw VIPSetError.fromReport(
                call: call,
                message: message.isEmpty ? "failed without a report message" : message,
                subject: subject,
                firstContact: !kernelReached
            )
        }
        if call.hasPrefix("ipset_cmd") || call.hasPrefix("ipset_type_get") { kernelReached = true }
        if type != IPSET_NO_ERROR {
            lastWarning = message
            ipset_session_report_reset(raw)
        }
    }

    /// The text libipset printed since ``begin()``.
    func takeOutput() -> String {
        let captured = output.pointee
        guard let bytes = captured.bytes, captured.length > 0 else { return "" }
        let text = String(decoding: UnsafeRawBufferPointer(start: bytes, count: captured.length), as: UTF8.self)
        cipset_output_reset(output)
        return text
    }
}
