import Foundation
import Glibc
import IPVS
import IPVSTesting

/// The kernel side of `brother-bench fake-kernel`: `FakeIPVS` (this host has no ip_vs), with every
/// batch brother applies printed on standard output as `KERNEL <CLOCK_MONOTONIC seconds> <change>; …`,
/// so that a script on the same machine can tell when brother's first round reached the kernel
/// against its own monotonic clock (Python's `time.monotonic()` reads the same clock).
actor StampedKernel: IPVSControlling {
    private let kernel = FakeIPVS()

    func info() async throws -> IPVSInfo { try await kernel.info() }
    func timeouts() async throws -> IPVSTimeouts { try await kernel.timeouts() }
    func setTimeouts(_ timeouts: IPVSTimeouts) async throws { try await kernel.setTimeouts(timeouts) }
    func flush() async throws { try await kernel.flush() }
    func services() async throws -> [VirtualServiceStatus] { try await kernel.services() }
    func service(_ id: VirtualService.ID) async throws -> VirtualServiceStatus { try await kernel.service(id) }
    func destinations(of service: VirtualService.ID) async throws -> [DestinationStatus] { try await kernel.destinations(of: service) }
    func serviceListing() async throws -> IPVSListing<VirtualServiceStatus> { try await kernel.serviceListing() }
    func destinationListing(of service: VirtualService.ID) async throws -> IPVSListing<DestinationStatus> {
        try await kernel.destinationListing(of: service)
    }
    func syncDaemons() async throws -> [IPVSSyncDaemon] { try await kernel.syncDaemons() }
    func startSyncDaemon(_ daemon: IPVSSyncDaemon) async throws { try await kernel.startSyncDaemon(daemon) }
    func stopSyncDaemon(_ role: IPVSSyncDaemon.Role) async throws { try await kernel.stopSyncDaemon(role) }

    func apply(_ changes: [IPVSChange]) async throws -> IPVSBatchReport {
        let report = try await kernel.apply(changes)
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
        return report
    }
}
