import Posix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// CPU load as litmus_paper reads it: the 1-minute load average over the number of processors.
public enum LoadAverage {
    public static func read(procRoot: String = "/proc") throws -> (load: Double, processors: Int) {
        let loadText = ProcFile.read("\(procRoot)/loadavg") ?? ""
        guard let first = loadText.split(separator: " ").first, let load = Double(first) else {
            throw SocketError(peer: "\(procRoot)/loadavg", operation: "parse", reason: "unexpected contents")
        }
        let cpuinfo = ProcFile.read("\(procRoot)/cpuinfo") ?? ""
        let processors = cpuinfo.split(separator: "\n").filter { $0.hasPrefix("processor") }.count
        return (load, max(processors, 1))
    }

    /// max(weight − weight × load / processors, 1): CPU alone never takes a node out (litmus_paper 0.9.1).
    public static func contribution(weight: Int, load: Double, processors: Int) -> Double {
        max(Double(weight) - Double(weight) * load / Double(max(processors, 1)), 1)
    }
}
