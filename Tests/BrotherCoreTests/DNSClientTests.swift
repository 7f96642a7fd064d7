import BrotherCore
import BrotherDiscovery
import Foundation
import IPVS
import NetworkAddress
import Testing

/// The DNS client against a scripted UDP server (IDs, retries, error codes) and against a real
/// dnsmasq on loopback (A, AAAA, CNAME, SRV with and without additional records, NXDOMAIN,
/// REFUSED, truncation and TCP, records that change).
@Suite(.serialized) struct DNSClientTests {
    static let web = DNSQuestion(name: "web.test", type: .a)
    static func a(_ text: String, _ name: String = "web.test") -> DNSResourceRecord {
        DNSResourceRecord(name: name, type: .a, ttl: 5, data: .address(IPAddress(text)!))
    }

    // MARK: scripted server

    @Test func anAnswerWithAnotherIDIsIgnoredAndTheRightOneTaken() async throws {
        // Both answers are sent at once: an attempt of 60 s never runs out first, even on a loaded
        // machine (with 3 s one did, the client asked again and the count below was 2).
        try await ScriptedDNSServer.with(
            timeout: .seconds(60),
            answer: { query, _ in
                [
                    ScriptedDNSServer.reply(to: query, id: query.id &+ 1, answers: [Self.a("192.0.2.66")]),
                    ScriptedDNSServer.reply(to: query, answers: [Self.a("192.0.2.1")]),
                ]
            }
        ) { server, client async throws in
            #expect(try await client.addresses(of: "web.test", type: .a) == [IPAddress("192.0.2.1")!])
            #expect(server.queries.count == 1)
        }
    }

    @Test func queryIDsAreRandomAndASilentServerIsAskedAgain() async throws {
        // Each answer must arrive within one attempt (the default, 3 s; attempts of 0.3 s missed one in
        // a thread-sanitizer run). Only the first query waits its attempt out.
        try await ScriptedDNSServer.with(answer: { query, number in
            number == 0 ? [] : [ScriptedDNSServer.reply(to: query, answers: [Self.a("192.0.2.2")])]
        }) { server, client in
            #expect(try await client.addresses(of: "web.test", type: .a) == [IPAddress("192.0.2.2")!])
            #expect(server.queries.count == 2)
            #expect(server.queries[0].questions == [Self.web] && server.queries[0].recursionDesired)
            // A fixed or counting ID would show here; 8 random IDs collide about once in 1000 runs, so allow one.
            for _ in 0..<6 { _ = try await client.addresses(of: "web.test", type: .a) }
            #expect(Set(server.queries.map(\.id)).count >= 7)
        }
    }

    @Test func silenceOnEveryAttemptIsATimeoutNamingServerAndName() async throws {
        try await ScriptedDNSServer.with(timeout: .milliseconds(300), answer: { _, _ in [] }) { server, client in
            let error = try await #require(throws: DNSError.self) { try await client.addresses(of: "web.test", type: .a) }
            #expect(error.reason == .timedOut(attempts: 2, timeout: .milliseconds(300)))
            #expect("\(error)".hasPrefix("DNS server 127.0.0.1:\(server.port): web.test A: no answer after 2 attempts"))
            #expect(server.queries.count == 2)
        }
    }

    @Test(arguments: [DNSResponseCode.serverFailure, .refused, .formatError])
    func errorCodesAreErrorsButNXDOMAINIsAnEmptyAnswer(_ code: DNSResponseCode) async throws {
        try await ScriptedDNSServer.with(answer: { query, _ in
            [ScriptedDNSServer.reply(to: query, code: query.questions.first?.name == "gone.test" ? .nameError : code)]
        }) { server, client in
            let error = try await #require(throws: DNSError.self) { try await client.services("web.test") }
            #expect(error.reason == .responseCode(code))
            #expect("\(error)" == "DNS server 127.0.0.1:\(server.port): web.test SRV: the server answered \(code)")
            #expect(try await client.addresses(of: "gone.test", type: .a) == [])
        }
    }

    @Test func aTruncatedAnswerWithoutTCPIsReportedClearly() async throws {
        try await ScriptedDNSServer.with(answer: { query, _ in [ScriptedDNSServer.reply(to: query, truncated: true)] }) { _, client in
            let error = try await #require(throws: DNSError.self) { try await client.addresses(of: "web.test", type: .a) }
            guard case .truncated(let tcpError) = error.reason else {
                Issue.record("expected a truncation error, got \(error)")
                return
            }
            #expect("\(error)".contains("truncated (TC) and asking again over TCP failed"))
            #expect(!tcpError.isEmpty)
        }
    }

    @Test func aCNAMELoopIsAnError() async throws {
        try await ScriptedDNSServer.with(answer: { query, _ in
            [
                ScriptedDNSServer.reply(
                    to: query,
                    answers: [
                        DNSResourceRecord(name: "a.test", type: .cname, ttl: 1, data: .canonicalName("b.test")),
                        DNSResourceRecord(name: "b.test", type: .cname, ttl: 1, data: .canonicalName("a.test")),
                    ])
            ]
        }) { _, client in
            let error = try await #require(throws: DNSError.self) { try await client.addresses(of: "a.test", type: .a) }
            #expect(error.reason == .aliasChain(["a.test", "b.test", "a.test"]))
        }
    }

    @Test func anSRVTargetMissingFromTheAdditionalSectionIsAskedFor() async throws {
        try await ScriptedDNSServer.with(answer: { query, _ in
            guard let question = query.questions.first else { return [] }
            switch (question.name, question.type) {
            case ("web.service.consul", .srv):
                return [
                    ScriptedDNSServer.reply(
                        to: query,
                        answers: [
                            DNSResourceRecord(
                                name: "web.service.consul", type: .srv, ttl: 0,
                                data: .service(DNSServiceRecord(priority: 0, weight: 1, port: 8081, target: "node1.node.consul."))),
                            DNSResourceRecord(
                                name: "web.service.consul", type: .srv, ttl: 0,
                                data: .service(DNSServiceRecord(priority: 0, weight: 1, port: 1, target: ""))),
                        ])
                ]
            case ("node1.node.consul.", .a), ("node1.node.consul", .a):
                return [ScriptedDNSServer.reply(to: query, answers: [Self.a("10.1.2.3", "node1.node.consul")])]
            default:
                return [ScriptedDNSServer.reply(to: query)]
            }
        }) { server, client in
            let services = try await client.services("web.service.consul", families: [.ipv4])
            #expect(
                services == [
                    DNSServiceInstance(
                        record: DNSServiceRecord(priority: 0, weight: 1, port: 8081, target: "node1.node.consul"), addresses: [IPAddress("10.1.2.3")!]
                    )
                ], "the \".\" target (not available) is left out")
            #expect(server.queries.map { $0.questions.first?.type } == [.srv, .a])
        }
    }

    // MARK: dnsmasq

    @Test func dnsmasqAnswersAAAAACNAMEAndNXDOMAINAndRecordsChangeOnSIGHUP() async throws {
        try await Dnsmasq.with { dns in
            try dns.writeHosts(["127.0.0.1 web.test", "127.0.0.2 web.test", "::1 web.test", "127.0.0.9 only4.test"])
            try await dns.start(["--cname=alias.test,web.test"])
            let client = DNSClient(server: dns.server, timeout: .seconds(1))
            #expect(try await Set(client.addresses(of: "web.test", type: .a)) == [IPAddress("127.0.0.1")!, IPAddress("127.0.0.2")!])
            #expect(try await client.addresses(of: "web.test", type: .aaaa) == [IPAddress("::1")!])
            #expect(try await client.addresses(of: "only4.test", type: .aaaa) == [], "no AAAA record: an empty answer")
            #expect(try await client.addresses(of: "nope.test", type: .a) == [], "NXDOMAIN")
            #expect(try await client.query("nope.test", type: .a).responseCode == .nameError)
            let alias = try await client.query("alias.test", type: .a)
            #expect(alias.answers.first?.type == .cname, "dnsmasq answers with the CNAME chain")
            #expect(try await Set(client.addresses(of: "alias.test", type: .a)) == [IPAddress("127.0.0.1")!, IPAddress("127.0.0.2")!])

            try dns.writeHosts(["127.0.0.3 web.test"])
            try await dns.reload()
            #expect(try await client.addresses(of: "web.test", type: .a) == [IPAddress("127.0.0.3")!])
        }
    }

    @Test func dnsmasqRefusesNamesItDoesNotServe() async throws {
        try await Dnsmasq.with { dns in
            try await dns.start()
            let client = DNSClient(server: dns.server, timeout: .seconds(1))
            let error = try await #require(throws: DNSError.self) { try await client.addresses(of: "web.example", type: .a) }
            #expect(error.reason == .responseCode(.refused))
            #expect("\(error)" == "DNS server 127.0.0.1:\(dns.port): web.example A: the server answered REFUSED")
        }
    }

    @Test func aLargeAnswerIsTruncatedOverUDPAndFetchedOverTCP() async throws {
        try await Dnsmasq.with { dns in
            try dns.writeHosts((1...60).map { "127.0.1.\($0) big.test" })
            try await dns.start()
            let client = DNSClient(server: dns.server, timeout: .seconds(1))
            let addresses = try await client.addresses(of: "big.test", type: .a)
            #expect(Set(addresses) == Set((1...60).map { IPAddress("127.0.1.\($0)")! }), "all 60 records: more than UDP's 512 bytes hold")
            let log = try String(contentsOfFile: dns.logFile, encoding: .utf8)
            #expect(log.components(separatedBy: "query[A] big.test").count - 1 >= 2, "asked over UDP, then again over TCP")
        }
    }

    @Test func srvTargetsComeFromTheAdditionalSectionOrAFollowUpQuery() async throws {
        try await Dnsmasq.with { dns in
            try dns.writeHosts(["127.0.0.1 node1.test", "127.0.0.2 node2.test", "::1 node2.test"])
            try await dns.start([
                "--local=/service.consul/", "--srv-host=web.service.consul,node1.test,8081,1,5", "--srv-host=web.service.consul,node2.test,8082,2,10",
                "--srv-host=web.service.consul,gone.test,8083,3",
            ])
            let client = DNSClient(server: dns.server, timeout: .seconds(1))
            let answer = try await client.query("web.service.consul", type: .srv)
            #expect(answer.answers.count == 3)
            let services = try await client.services("web.service.consul", families: [.ipv4])
            #expect(
                services == [
                    DNSServiceInstance(
                        record: DNSServiceRecord(priority: 1, weight: 5, port: 8081, target: "node1.test"), addresses: [IPAddress("127.0.0.1")!]),
                    DNSServiceInstance(
                        record: DNSServiceRecord(priority: 2, weight: 10, port: 8082, target: "node2.test"), addresses: [IPAddress("127.0.0.2")!]),
                    DNSServiceInstance(record: DNSServiceRecord(priority: 3, weight: 0, port: 8083, target: "gone.test"), addresses: []),
                ])
            let both = try await client.services("web.service.consul", families: [.ipv4, .ipv6])
            #expect(both[1].addresses == [IPAddress("127.0.0.2")!, IPAddress("::1")!])
            #expect(try await client.services("nothing.service.consul") == [], "no SRV records")
        }
    }

    @Test func aStoppedServerIsReportedNotWaitedForever() async throws {
        try await Dnsmasq.with { dns in
            try await dns.start()
            dns.stop()
            let client = DNSClient(server: dns.server, timeout: .milliseconds(300), attempts: 2)
            let started = ContinuousClock.now
            let error = try await #require(throws: DNSError.self) { try await client.addresses(of: "web.test", type: .a) }
            // Not forever: two attempts of 300 ms, or less when the port is refused. The bound is
            // generous (a loaded machine) and only tells an end from a hang.
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect("\(error)".hasPrefix("DNS server 127.0.0.1:\(dns.port): web.test A: "))
            switch error.reason {
            case .unreachable, .timedOut: break
            default: Issue.record("expected unreachable or a timeout, got \(error)")
            }
        }
    }
}
