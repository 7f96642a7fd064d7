import IPVS
import IPVSViews
import NetworkAddress
import Testing

/// Table files read flags by ipvsadm's names and checks (``ServiceFlags/init(name:scheduler:service:)``),
/// the same ones brother.yml's clusters use.
@Suite struct IPVSTableFileFlagTests {
    @Test func eachSchedulersNamesSetItsFlags() throws {
        let yaml = """
            services:
              - {service: "TCP 198.51.100.10:80", scheduler: sh, flags: [sh-fallback, sh-port]}
              - {service: "FWM 7", scheduler: mh, flags: [mh-port, ops]}
              - {service: "UDP 198.51.100.10:53", scheduler: wrr, flags: [ops, flag-3]}
            """
        let file = try IPVSTableFile(yaml: yaml, source: "table.yml")
        let flags = file.desired.services.mapValues(\.service.flags)
        #expect(flags[.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)] == [.schedulerFlag1, .schedulerFlag2])
        #expect(flags[.firewallMark(7, family: .ipv4)] == [.schedulerFlag2, .onePacket])
        #expect(flags[.address(IPAddress("198.51.100.10")!, port: 53, protocol: .udp)] == [.onePacket, .schedulerFlag3])
    }

    @Test(arguments: [
        (
            "services:\n  - {service: \"TCP 198.51.100.10:80\", scheduler: wrr, flags: [sh-port]}",
            "services[0].flags[0]: sh-port is a flag of scheduler sh, not of wrr"
        ),
        (
            "services:\n  - {service: \"FWM 7\", scheduler: sh, flags: [mh-fallback]}",
            "services[0].flags[0]: mh-fallback is a flag of scheduler mh, not of sh"
        ),
        ("services:\n  - {service: \"TCP 198.51.100.10:80\", flags: [ops]}", "services[0].flags[0]: ops (one-packet scheduling) is only for UDP"),
        ("services:\n  - {service: \"FWM 7\", flags: [fast]}", "services[0].flags[0]: unknown flag \"fast\""),
        ("services:\n  - {service: \"FWM 7\", persistence: {timeout: 2678401}}", "services[0].persistence.timeout: 2678401 is outside 1...2678400"),
    ])
    func whatIpvsadmRefusesIsRefusedWithItsPlace(_ yaml: String, _ expected: String) {
        do {
            _ = try IPVSTableFile(yaml: yaml, source: "table.yml")
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect("\(error)".hasPrefix("table.yml:2:"), "\(error)")
            #expect("\(error)".contains(expected), "\(error)")
        }
    }
}
