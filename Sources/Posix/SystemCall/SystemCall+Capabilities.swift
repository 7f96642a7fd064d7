import CEpoll
import Glibc

/// The calling thread's capabilities (capabilities(7)). Linux keeps them per thread, not per
/// process: these change the thread that calls them and what it starts, never the process's other
/// threads. See ``ThreadCapabilities`` for the one place that uses them.
extension SystemCall {
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`: the ambient set, which an exec'd program
    /// keeps even when it is not root (systemd's `AmbientCapabilities=`, `setpriv --ambient-caps`).
    public static func clearAmbientCapabilities() throws(SystemCallError) {
        _ = try run("prctl") { cepoll_clear_ambient_capabilities() }
    }

    /// `prctl(PR_CAPBSET_DROP, capability)`: takes `capability` out of the bounding set, the most an
    /// exec'd program (root's or a set-user-ID one) can ever gain. Needs CAP_SETPCAP (EPERM without
    /// it); EINVAL names a capability past the kernel's last.
    public static func dropBoundingCapability(_ capability: Int32) throws(SystemCallError) {
        _ = try run("prctl") { cepoll_drop_bounding_capability(capability) }
    }

    /// `capset(2)` with empty effective, permitted and inheritable sets. Lowering never needs a privilege.
    public static func clearCapabilities() throws(SystemCallError) {
        _ = try run("capset") { cepoll_clear_capabilities() }
    }
}
