import LitmusWire
import Testing

/// The registration contract from both ends: what the agent sends is what brother reads.
@Suite struct MemberRegistrationTests {
    @Test func whatTheAgentSendsIsWhatBrotherReads() throws {
        let sent = MemberRegistration(ttl: 45, agentPort: 9393, path: "/web/status", maxWeight: 60, priority: -3, group: "rack a", capacity: 4)
        let read = try MemberRegistration(fields: FormFields(parsing: sent.formBody))
        #expect(read == sent)
    }

    @Test func theAgentsBodyIsTheOneBrotherHasAlwaysRead() {
        // The bytes litmus sent before the contract moved here: a brother of that time reads them.
        let body = MemberRegistration(ttl: 30, agentPort: 9292, path: "/web/status").formBody
        #expect(body == "ttl=30&agent_port=9292&path=%2Fweb%2Fstatus")
    }

    @Test func missingFieldsTakeTheDefaults() throws {
        let read = try MemberRegistration(fields: FormFields())
        #expect(read.ttl == MemberRegistration.defaultTTL)
        #expect(read.agentPort == 9292)
        #expect(read.path == nil)
        #expect(read.statusPath(cluster: "web") == "/web/status")
        #expect(read.maxWeight == nil)
        #expect(read.priority == 0)
        #expect(read.group == nil)
        #expect(read.capacity == nil, "brother takes a missing capacity as 1")
        #expect(try MemberRegistration(fields: FormFields(["group": ""])).group == nil, "an empty group is no group")
    }

    @Test(arguments: [
        ("ttl", "0", "ttl must be an integer in 1...86400, not \"0\""),
        ("ttl", "86401", "ttl must be an integer in 1...86400, not \"86401\""),
        ("agent_port", "65536", "agent_port must be an integer in 1...65535, not \"65536\""),
        ("agent_port", "http", "agent_port must be an integer in 1...65535, not \"http\""),
        ("max_weight", "0", "max_weight must be an integer in 1...100, not \"0\""),
        ("priority", "2000000", "priority must be an integer in -1000000...1000000, not \"2000000\""),
        ("capacity", "0", "capacity must be an integer in 1...21474836, not \"0\""),
        ("capacity", "21474837", "capacity must be an integer in 1...21474836, not \"21474837\""),
    ])
    func outOfRangeFieldsAreNamed(field: String, value: String, message: String) {
        #expect(throws: MemberRegistrationError(field: field, description: message)) {
            try MemberRegistration(fields: FormFields([field: value]))
        }
    }

    @Test(arguments: ["status", "/with space", "/tab\there", "/" + String(repeating: "p", count: 1024)])
    func badPathsAreRefused(path: String) {
        #expect(throws: MemberRegistrationError.self) { try MemberRegistration(fields: FormFields(["path": path])) }
    }

    @Test func theResourceKeepsEachNameOneSegment() {
        #expect(MemberRegistration.resourcePath(cluster: "web", node: "192.0.2.2:8080") == "/cluster/web/members/192.0.2.2:8080")
        #expect(MemberRegistration.resourcePath(cluster: "web", node: "[fd00::2]:80") == "/cluster/web/members/%5Bfd00::2%5D:80")
        #expect(MemberRegistration.resourcePath(cluster: "a/b", node: "x") == "/cluster/a%2Fb/members/x")
    }
}
