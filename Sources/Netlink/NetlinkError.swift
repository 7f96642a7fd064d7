import CNetlink

#if canImport(Glibc)
    import Glibc
#endif

/// A failed netlink operation: which call failed, the error it returned, and the kernel's own
/// explanation when it sent one (extended acknowledgement).
///
/// libnl reports its own negative `NLE_*` codes; the kernel reports a negative errno inside an
/// `NLMSG_ERROR` acknowledgement. Both are kept apart so callers can map kernel errnos exactly.
public struct NetlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where the error code came from.
    public enum Code: Hashable, Sendable {
        /// A libnl error (`NLE_*`, positive value), rendered with `nl_geterror`.
        case libnl(Int32)
        /// An errno the kernel put in an `NLMSG_ERROR` acknowledgement (positive value).
        case kernel(errno: Int32)
        /// An errno from a system call made on the netlink socket (positive value).
        case system(errno: Int32)
        /// The kernel flagged a dump `NLM_F_DUMP_INTR`: the table changed while it was read; read again.
        case dumpInterrupted
    }

    /// The libnl call or netlink step that failed, e.g. `genl_ctrl_resolve` or `IPVS_CMD_NEW_DEST`.
    public var operation: String
    public var code: Code
    /// The kernel's extended-ack message, when it sent one.
    public var kernelMessage: String?

    public init(operation: String, code: Code, kernelMessage: String? = nil) {
        self.operation = operation
        self.code = code
        self.kernelMessage = kernelMessage
    }

    /// The errno this error stands for, when it has one (kernel or system errors, and the libnl
    /// codes that translate one to one).
    public var errno: Int32? {
        switch code {
        case .kernel(let value), .system(let value): return value
        case .libnl(let value):
            switch value {
            case NLE_PERM: return EPERM
            case NLE_NOACCESS: return EACCES
            case NLE_AGAIN: return EAGAIN
            case NLE_NOMEM: return ENOMEM
            case NLE_EXIST: return EEXIST
            case NLE_INVAL: return EINVAL
            case NLE_RANGE: return ERANGE
            case NLE_OBJ_NOTFOUND: return ENOENT
            case NLE_BUSY: return EBUSY
            case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT
            default: return nil
            }
        case .dumpInterrupted: return EINTR
        }
    }

    public var description: String {
        let reason: String
        switch code {
        case .libnl(let value): reason = String(cString: nl_geterror(value))
        case .kernel(let value): reason = "kernel: \(String(cString: strerror(value)))"
        case .system(let value): reason = String(cString: strerror(value))
        case .dumpInterrupted: reason = "dump interrupted (NLM_F_DUMP_INTR): the table changed while it was read"
        }
        if let kernelMessage, !kernelMessage.isEmpty {
            return "netlink \(operation): \(reason) (\(kernelMessage))"
        }
        return "netlink \(operation): \(reason)"
    }
}
