import Glibc

/// What a program started on a thread of its own (``ProcessRunner/runOnOwnThread(_:environment:input:deadline:capabilities:)``)
/// keeps of this process's capabilities.
public enum ChildCapabilities: Sendable, Hashable {
    /// What exec(2) passes on from the starting thread: the ambient set (systemd's
    /// `AmbientCapabilities=`, `setpriv --ambient-caps`), and for root every capability of the
    /// bounding set.
    case inherited
    /// None. The starting thread, which ends with the run, first empties its bounding set where it
    /// may (CAP_SETPCAP, which root has), then its ambient set, then its effective, permitted and
    /// inheritable sets: the program runs with none, even as root. Without CAP_SETPCAP the bounding
    /// set stays as the daemon's (brother's: CAP_NET_ADMIN only), which only a file given
    /// capabilities with setcap(8) could reach.
    case none

    /// Drops the calling thread's capabilities as ``none`` describes. Capabilities are per thread:
    /// call it only on a thread that runs nothing else afterwards.
    func apply() throws(SystemCallError) {
        guard self == .none else { return }
        var capability: Int32 = 0
        bounding: while true {
            do {
                try SystemCall.dropBoundingCapability(capability)
            } catch let error {
                switch error.errno {
                // Past the kernel's last capability: the bounding set is empty.
                case EINVAL: break bounding
                // No CAP_SETPCAP: the bounding set stays; nothing below depends on it.
                case EPERM: break bounding
                default: throw error
                }
            }
            capability += 1
        }
        do {
            try SystemCall.clearAmbientCapabilities()
        } catch let error {
            // Kernels before 4.3 have no ambient set to clear.
            guard error.errno == EINVAL else { throw error }
        }
        try SystemCall.clearCapabilities()
    }
}
