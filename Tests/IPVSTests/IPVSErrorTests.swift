import Glibc
import IPVS
import Netlink
import Testing

@Suite struct IPVSErrorTests {
    static let destination = Destination(id: .init(address: Fixtures.real4a, port: 80))

    @Test func batchFailuresAreMappedToTheirObjects() async throws {
        // The fake answers as the kernel does; the client maps kernel errnos the same way, pinned
        // against the real kernel in IPVSKernelTests.kernelErrorsAreTyped.
        #expect(IPVSError.serviceExists(Fixtures.web).description.contains("TCP 198.51.100.10:80 already exists"))
        #expect(
            IPVSError.destinationNotFound(Self.destination.id, service: Fixtures.web).description
                == "destination 192.0.2.2:80 of TCP 198.51.100.10:80 does not exist")
        #expect(IPVSError.moduleNotLoaded.description.contains("modprobe ip_vs"))
        #expect(IPVSError.permissionDenied(operation: "list virtual services").description.contains("CAP_NET_ADMIN"))
        #expect(IPVSError.unknownScheduler("foo", service: Fixtures.mark7).description.contains("ip_vs_foo"))
    }

    @Test func netlinkErrorsNameTheCallAndTheKernelText() {
        let error = NetlinkError(operation: "genl IPVS command 5", code: .kernel(errno: EEXIST), kernelMessage: "already there")
        #expect(error.description == "netlink genl IPVS command 5: kernel: File exists (already there)")
        #expect(error.errno == EEXIST)
        #expect(
            NetlinkError(operation: "genl_ctrl_resolve(IPVS)", code: .libnl(12)).description == "netlink genl_ctrl_resolve(IPVS): Object not found")
    }
}
