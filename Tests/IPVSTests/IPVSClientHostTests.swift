import Foundation
import IPVS
import Testing

/// Tier 2: on a kernel without ip_vs (the build machines'), the client says so clearly.
@Suite struct IPVSClientHostTests {
    static let kernelHasIPVS = FileManager.default.fileExists(atPath: "/proc/net/ip_vs")

    @Test(.enabled(if: !kernelHasIPVS, "this kernel has ip_vs; the kernel tests cover it"))
    func withoutIPVSTheClientSaysLoadTheModule() {
        #expect(throws: IPVSError.moduleNotLoaded) { try IPVSClient() }
    }
}
