import Testing

@testable import VIPSets

@Suite struct VIPSetErrorTests {
    static let member = try! VIPSetMember(parsing: "198.51.100.10,tcp:80")

    /// libipset's report sentences (lib/errcode.c, ipset 7.17), as the `ipset` tool prints them after "ipset v7.17: ".
    @Test(arguments: [
        ("Kernel error received: Operation not permitted\n", "permission"),
        ("Cannot open session to kernel.\n", "kernel"),
        ("Kernel error received: set type not supported\n", "kernel"),
        ("The set with the given name does not exist\n", "noSuchSet"),
        ("Set cannot be created: set with the same name already exists\n", "setExists"),
        ("Set cannot be destroyed: it is in use by a kernel component\n", "setInUse"),
        ("Element cannot be added to the set: it's already added\n", "memberExists"),
        ("Element cannot be deleted from the set: it's not added\n", "memberMissing"),
        ("Hash is full, cannot add more elements\n", "other"),
    ])
    func mapsReportSentences(_ message: String, _ expected: String) {
        let error = VIPSetError.fromReport(call: "ipset_cmd(add)", message: message, subject: .member(Self.member, set: "vips"))
        switch (error, expected) {
        case (.permissionDenied(let call, let text), "permission"):
            #expect(call == "ipset_cmd(add)")
            #expect(text == "Kernel error received: Operation not permitted")
        case (.kernelLacksIPSet, "kernel"), (.noSuchSet("vips"), "noSuchSet"), (.setExists("vips"), "setExists"),
            (.setInUse("vips"), "setInUse"), (.memberExists(Self.member, "vips"), "memberExists"),
            (.memberMissing(Self.member, "vips"), "memberMissing"):
            break
        case (.libipset(let call, let text, let set), "other"):
            #expect(call == "ipset_cmd(add)")
            #expect(text == "Hash is full, cannot add more elements")
            #expect(set == "vips")
        default:
            Issue.record("\(message) mapped to \(error), expected \(expected)")
        }
    }

    /// nfnetlink without ip_set answers libipset's first command (the protocol check) with EINVAL.
    @Test func invalidArgumentOnFirstContactMeansNoIPSet() {
        let message = "Kernel error received: Invalid argument\n"
        #expect(
            VIPSetError.fromReport(call: "ipset_cmd(list -n)", message: message, subject: .none, firstContact: true)
                == .kernelLacksIPSet(call: "ipset_cmd(list -n)", message: "Kernel error received: Invalid argument"))
        #expect(
            VIPSetError.fromReport(call: "ipset_cmd(add)", message: message, subject: .set("s"), firstContact: false)
                == .libipset(call: "ipset_cmd(add)", message: "Kernel error received: Invalid argument", set: "s"))
    }

    @Test func memberSentencesNeedAMemberSubject() {
        let error = VIPSetError.fromReport(
            call: "ipset_cmd(list)", message: "Element cannot be added to the set: it's already added", subject: .set("vips"))
        #expect(error == .libipset(call: "ipset_cmd(list)", message: "Element cannot be added to the set: it's already added", set: "vips"))
    }

    @Test func descriptionsNameTheObjectAndTheRemedy() {
        let cases: [(VIPSetError, [String])] = [
            (.noSuchSet("vips"), ["'vips'", "create it first"]),
            (.setExists("vips"), ["'vips'", "destroy it first"]),
            (.setInUse("vips"), ["'vips'", "--match-set vips"]),
            (.memberExists(Self.member, set: "vips"), ["198.51.100.10,tcp:80", "'vips'", "sync"]),
            (.memberMissing(Self.member, set: "vips"), ["198.51.100.10,tcp:80", "'vips'"]),
            (
                .kernelLacksIPSet(call: "ipset_cmd(list)", message: "Cannot open session to kernel."),
                ["ipset_cmd(list)", "modprobe ip_set ip_set_hash_ipport"]
            ),
            (
                .permissionDenied(call: "ipset_cmd(add)", message: "Kernel error received: Operation not permitted"),
                ["ipset_cmd(add)", "CAP_NET_ADMIN"]
            ),
            (.wrongSetType(set: "other", type: "hash:ip"), ["'other'", "hash:ip", "hash:ip,port"]),
            (.familyMismatch(Self.member, set: "v6", setFamily: .ipv6), ["198.51.100.10,tcp:80", "IPv4", "'v6'", "IPv6"]),
            (.unsupportedEntry("192.0.2.1,icmp:echo-request", set: "s"), ["ipset del s 192.0.2.1,icmp:echo-request"]),
            (.libipset(call: "ipset_cmd(add)", message: "Hash is full", set: "vips"), ["ipset_cmd(add)", "'vips'", "Hash is full"]),
        ]
        for (error, fragments) in cases {
            for fragment in fragments {
                #expect(error.description.contains(fragment), "\(error.description) lacks \(fragment)")
            }
        }
    }
}
