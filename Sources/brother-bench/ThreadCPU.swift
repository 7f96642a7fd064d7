import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU time per thread of this process, from /proc/self/task/*/stat, grouped by what the thread
/// does: where brother's time goes, without a profiler. Poll loops are named brother-poll,
/// brother-poll-1…; Swift's task threads (the monitor actor, policy, kernel plan, state file) keep
/// the process's name; SwiftNIO's are NIO-ELT-….
struct ThreadCPU {
    /// Seconds of CPU (user + system) by thread ID, with the thread's name.
    var threads: [Int: (name: String, seconds: Double)] = [:]

    static func now() -> ThreadCPU {
        var sample = ThreadCPU()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return sample }
        for task in tasks {
            guard let id = Int(task), let handle = FileHandle(forReadingAtPath: "/proc/self/task/\(task)/stat"),
                let data = try? handle.readToEnd()
            else { continue }
            try? handle.close()
            let text = String(decoding: data, as: UTF8.self)
            // "tid (name) state ppid …": the name may hold spaces and parentheses; it ends at the last ')'.
            guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { continue }
            let name = String(text[text.index(after: open)..<close])
            let fields = text[text.index(after: close)...].split(separator: " ")
            // After the name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            sample.threads[id] = (name, (user + system) / ticks)
        }
        return sample
    }

    /// CPU seconds used since `earlier`, by group (a thread that started since counts from zero).
    func since(_ earlier: ThreadCPU) -> [(group: String, seconds: Double)] {
        var groups: [String: Double] = [:]
        for (id, thread) in threads {
            let used = thread.seconds - (earlier.threads[id]?.seconds ?? 0)
            groups[Self.group(of: thread.name), default: 0] += max(0, used)
        }
        return groups.map { ($0.key, $0.value) }.sorted { $0.seconds > $1.seconds }
    }

    static func group(of name: String) -> String {
        if name.hasPrefix("brother-poll") { return "poll loop \(name)" }
        if name.hasPrefix("NIO-") { return "SwiftNIO threads" }
        return "Swift task threads (monitor: policy, kernel plan, state file; the bench's timers)"
    }
}
