import Foundation
import Glibc
import IPVS
import IPVSTesting

/// The kernel side of `brother-bench fake-kernel`: `FakeIPVS` (this host has no ip_vs), with every
/// batch brother applies printed on standard output as `KERNEL <CLOCK_MONOTONIC seconds> <change>; …`,
/// so that a script on the same machine can tell when brother's first round reached the kernel
/// against its own monotonic clock (Python's `time.monotonic()` reads the same clock).
enum StampedKernel {
    static func make() -> FakeIPVS {
        FakeIPVS { changes, _ in
            // Stamped after the fake applied the batch: the moment a real kernel's answer would arrive.
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let stamp = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
            let described = changes.map { change in
                switch change {
                case .addDestination(let destination, _), .updateDestination(let destination, _): "\(change) weight \(destination.weight)"
                default: "\(change)"
                }
            }
            print("KERNEL \(String(format: "%.6f", stamp)) \(described.joined(separator: "; "))")
            fflush(nil)
        }
    }
}
