extension VIPSetError {
    /// What a failed libipset call was working on, so its error can name it.
    enum Subject: Sendable {
        case none
        case set(String)
        case member(VIPSetMember, set: String)

        var setName: String? {
            switch self {
            case .none: nil
            case .set(let name), .member(_, let name): name
            }
        }
    }

    /// Maps a libipset report message (`ipset_session_report_msg`) to a typed error.
    ///
    /// libipset turns kernel error codes into fixed English sentences (lib/errcode.c) and exposes no errno,
    /// so the mapping matches those sentences; anything unknown stays ``libipset(call:message:set:)``.
    ///
    /// - Parameter firstContact: true when the session has not yet completed a kernel command. Its first command is
    ///   libipset's protocol check, and a kernel with nfnetlink but no ip_set answers that with EINVAL
    ///   ("Kernel error received: Invalid argument", seen in UML with only nfnetlink loaded).
    static func fromReport(call: String, message rawMessage: String, subject: Subject, firstContact: Bool = false) -> VIPSetError {
        let message = rawMessage.trimmingSpaces()
        func has(_ fragment: String) -> Bool { message.contains(fragment) }
        if has("Operation not permitted") || has("Permission denied") {
            return .permissionDenied(call: call, message: message)
        }
        if firstContact && has("Kernel error received: Invalid argument") {
            return .kernelLacksIPSet(call: call, message: message)
        }
        if has("Cannot open session to kernel") || has("set type not supported") || has("Kernel support protocol versions")
            || has("Protocol not supported") || has("Address family not supported")
        {
            return .kernelLacksIPSet(call: call, message: message)
        }
        if has("The set with the given name does not exist"), let set = subject.setName {
            return .noSuchSet(set)
        }
        if has("set with the same name already exists"), let set = subject.setName {
            return .setExists(set)
        }
        if has("it is in use by a kernel component"), let set = subject.setName {
            return .setInUse(set)
        }
        if case .member(let member, let set) = subject {
            if has("it's already added") { return .memberExists(member, set: set) }
            if has("it's not added") { return .memberMissing(member, set: set) }
        }
        return .libipset(call: call, message: message, set: subject.setName)
    }
}

extension String {
    /// The string without leading and trailing spaces and newlines (libipset ends reports with "\n").
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
