import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// This process's own resources: CPU time, and memory from /proc.
enum ProcessResources {
    /// User and system CPU time used so far, in seconds.
    static func cpuTime() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return (seconds(usage.ru_utime), seconds(usage.ru_stime))
    }

    /// A `kB` field of /proc/self/status (`VmRSS`, `VmHWM`, `RssAnon`…), in megabytes.
    static func statusMegabytes(_ field: String) -> Double {
        // /proc files report size 0, so read until end of file rather than trusting a size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status"), let data = try? handle.readToEnd() else { return .nan }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let number = line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) }
            return (number ?? .nan) / 1024
        }
        return .nan
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
