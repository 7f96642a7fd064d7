import BrotherCore
import BrotherDiscovery
import IPVS
import NetworkAddress
import PropertyBased
import Testing

/// The DNS codec: golden bytes both ways (with name compression), malformed input that is
/// reported, random messages that round-trip and random or mutated bytes that never trap.
@Suite struct DNSMessageTests {
    /// `web.test A?`, ID 0x1234, recursion desired.
    static let queryBytes: [UInt8] = [
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x03, 0x77, 0x65, 0x62, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
    ]

    /// `alias.test A?` answered with a CNAME to web.test and two A records; every name after the
    /// first is compressed (the CNAME's data points into the question, the A records into the CNAME).
    static let cnameAnswerBytes: [UInt8] = [
        0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
        // 12: alias.test A IN ("test" at 18)
        0x05, 0x61, 0x6C, 0x69, 0x61, 0x73, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
        // 28: alias.test CNAME 60 web.test (web at 40, then a pointer to 18)
        0xC0, 0x0C, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x06, 0x03, 0x77, 0x65, 0x62, 0xC0, 0x12,
        // 46: web.test A 60 127.0.0.1
        0xC0, 0x28, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04, 0x7F, 0x00, 0x00, 0x01,
        // 62: web.test A 60 127.0.0.2
        0xC0, 0x28, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04, 0x7F, 0x00, 0x00, 0x02,
    ]

    static let cnameAnswer = DNSMessage(
        id: 0x1234, isResponse: true, recursionAvailable: true, questions: [DNSQuestion(name: "alias.test", type: .a)],
        answers: [
            DNSResourceRecord(name: "alias.test", type: .cname, ttl: 60, data: .canonicalName("web.test")),
            DNSResourceRecord(name: "web.test", type: .a, ttl: 60, data: .address(IPAddress("127.0.0.1")!)),
            DNSResourceRecord(name: "web.test", type: .a, ttl: 60, data: .address(IPAddress("127.0.0.2")!)),
        ])

    /// Consul's shape: `web.service.consul SRV?` answered authoritatively, the target's A record in
    /// the additional section; the SRV target is compressed into the question's name.
    static let srvAnswerBytes: [UInt8] = [
        0xAB, 0xCD, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
        // 12: web(12) service(16) consul(24) SRV IN
        0x03, 0x77, 0x65, 0x62, 0x07, 0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x06, 0x63, 0x6F, 0x6E, 0x73, 0x75, 0x6C, 0x00,
        0x00, 0x21, 0x00, 0x01,
        // 36: SRV 0 priority 1 weight 5 port 8081 node1.service.consul (node1 at 54, pointer to 16)
        0xC0, 0x0C, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0E,
        0x00, 0x01, 0x00, 0x05, 0x1F, 0x91, 0x05, 0x6E, 0x6F, 0x64, 0x65, 0x31, 0xC0, 0x10,
        // 62: node1.service.consul A 0 10.0.0.7
        0xC0, 0x36, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0A, 0x00, 0x00, 0x07,
    ]

    static let srvAnswer = DNSMessage(
        id: 0xABCD, isResponse: true, isAuthoritative: true, recursionDesired: false,
        questions: [DNSQuestion(name: "web.service.consul", type: .srv)],
        answers: [
            DNSResourceRecord(
                name: "web.service.consul", type: .srv, ttl: 0,
                data: .service(DNSServiceRecord(priority: 1, weight: 5, port: 8081, target: "node1.service.consul")))
        ],
        additionals: [DNSResourceRecord(name: "node1.service.consul", type: .a, ttl: 0, data: .address(IPAddress("10.0.0.7")!))])

    @Test func aQueryEncodesToGoldenBytes() throws {
        #expect(try DNSMessage.query(id: 0x1234, name: "web.test", type: .a).encoded() == Self.queryBytes)
        #expect(try DNSMessage.query(id: 0x1234, name: "web.test.", type: .a).encoded() == Self.queryBytes, "a trailing dot is the same name")
        let parsed = try DNSMessage(bytes: Self.queryBytes)
        #expect(parsed.questions == [DNSQuestion(name: "web.test", type: .a)])
        #expect(parsed.recursionDesired && !parsed.isResponse)
    }

    @Test func aCNAMEChainAnswerDecodesAndEncodesWithTheSameCompression() throws {
        #expect(try DNSMessage(bytes: Self.cnameAnswerBytes) == Self.cnameAnswer)
        #expect(try Self.cnameAnswer.encoded() == Self.cnameAnswerBytes)
    }

    @Test func anSRVAnswerWithAnAdditionalRecordDecodesAndEncodes() throws {
        #expect(try DNSMessage(bytes: Self.srvAnswerBytes) == Self.srvAnswer)
        #expect(try Self.srvAnswer.encoded() == Self.srvAnswerBytes)
    }

    @Test func anAAAARecordAndResponseCodesDecode() throws {
        let nxdomain: [UInt8] = [0x00, 0x07, 0x81, 0x83, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        #expect(try DNSMessage(bytes: nxdomain).responseCode == .nameError)
        #expect(DNSResponseCode.nameError.description == "NXDOMAIN")
        #expect(DNSResponseCode.serverFailure.description == "SERVFAIL")
        #expect(DNSResponseCode.refused.description == "REFUSED")
        let truncated: [UInt8] = [0x00, 0x07, 0x83, 0x80, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00]
        let message = try DNSMessage(bytes: truncated)
        #expect(message.isTruncated && message.answers.isEmpty, "a TC answer that stops early keeps what is whole")

        let six = DNSMessage(
            id: 9, isResponse: true, questions: [DNSQuestion(name: "web.test", type: .aaaa)],
            answers: [DNSResourceRecord(name: "web.test", type: .aaaa, ttl: 5, data: .address(IPAddress("2001:db8::1")!))])
        let bytes = try six.encoded()
        #expect(Array(bytes.suffix(16)) == [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01])
        #expect(try DNSMessage(bytes: bytes) == six)
    }

    @Test(
        arguments: [
            // A pointer to itself.
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1], DNSMessageError.badNamePointer(offset: 12)),
            // A pointer forwards.
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0E, 0x00, 0, 1, 0, 1], .badNamePointer(offset: 12)),
            // Two pointers that point at each other.
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x01, 0x61, 0xC0, 0x10, 0xC0, 0x0C, 0, 1, 0, 1], .badNamePointer(offset: 14)),
            // The 0x40 label kind (extended labels) is not DNS today.
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0x61, 0x00, 0, 1, 0, 1], .badLabel(offset: 12)),
            // A label holding a dot (found by scripts/fuzz): "a.b" would read back as two labels.
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x03, 0x61, 0x2E, 0x62, 0x00, 0, 1, 0, 1], .dotInLabel(offset: 12)),
            // A header cut short.
            ([0, 1, 0x81], .truncatedMessage(offset: 3)),
            // A label running past the end.
            ([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x05, 0x61], .truncatedMessage(offset: 12)),
            // An A record whose data is 3 bytes.
            ([0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3], .badRecordData(type: .a, offset: 23)),
            // An SRV record whose target runs past its declared length.
            (
                [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0x00, 0, 0x21, 0, 1, 0, 0, 0, 0, 0, 7, 0, 1, 0, 2, 0, 3, 0x01, 0x61, 0x00],
                .badRecordData(type: .srv, offset: 23)
            ),
        ] as [([UInt8], DNSMessageError)])
    func malformedMessagesAreReportedWithTheirOffset(_ bytes: [UInt8], _ expected: DNSMessageError) {
        #expect(throws: expected) { try DNSMessage(bytes: bytes) }
    }

    @Test func namesOutsideRFC1035sLimitsAreNotEncoded() {
        #expect(throws: DNSMessageError.invalidName("a..b", reason: "an empty label")) {
            try DNSMessage.query(id: 1, name: "a..b", type: .a).encoded()
        }
        let long = String(repeating: "x", count: 64)
        #expect(throws: DNSMessageError.invalidName(long, reason: "a label longer than 63 bytes")) {
            try DNSMessage.query(id: 1, name: long, type: .a).encoded()
        }
        let huge = Array(repeating: String(repeating: "x", count: 60), count: 5).joined(separator: ".")
        #expect(throws: DNSMessageError.invalidName(huge, reason: "longer than 255 bytes")) {
            try DNSMessage.query(id: 1, name: huge, type: .a).encoded()
        }
    }

    @Test func resolvConfsFirstNameserverAndServerAddresses() {
        let text = """
            # comment
            search example.com
            ;nameserver 192.0.2.9
            nameserver fe80::1%eth0
            nameserver 10.255.255.53
            """
        #expect(DNSServer.firstNameserver(inResolvConf: text) == DNSServer(address: IPAddress("fe80::1")!))
        #expect(DNSServer.firstNameserver(inResolvConf: "nameserver\tbogus\nnameserver 192.0.2.1\n") == DNSServer(address: IPAddress("192.0.2.1")!))
        #expect(DNSServer.firstNameserver(inResolvConf: "search x\n") == nil)
        #expect(DNSServer(parsing: "127.0.0.1:8600") == DNSServer(address: IPAddress("127.0.0.1")!, port: 8600))
        #expect(DNSServer(parsing: "127.0.0.1") == DNSServer(address: IPAddress("127.0.0.1")!, port: 53))
        #expect(DNSServer(parsing: "[::1]:8600") == DNSServer(address: IPAddress("::1")!, port: 8600))
        #expect(DNSServer(parsing: "::1") == DNSServer(address: IPAddress("::1")!, port: 53))
        #expect(DNSServer(parsing: "consul:8600") == nil)
        #expect(throws: DNSError.self) { try DNSServer.system(resolvConf: "/nonexistent/resolv.conf", for: "web.test", type: .a) }
    }

    @Test func errorsNameTheServerTheNameAndWhatWentWrong() {
        let error = DNSError(server: "127.0.0.1:8600", name: "web.service.consul", type: .srv, reason: .responseCode(.serverFailure))
        #expect("\(error)" == "DNS server 127.0.0.1:8600: web.service.consul SRV: the server answered SERVFAIL")
        let timeout = DNSError(server: "10.0.0.2:53", name: "web.test", type: .a, reason: .timedOut(attempts: 2, timeout: .seconds(2)))
        #expect("\(timeout)" == "DNS server 10.0.0.2:53: web.test A: no answer after 2 attempts of 2.0 seconds each")
    }

    // MARK: properties

    static let labels = ["a", "web", "service", "consul", "node-1", "Test", "x0"]

    static func name(_ r: Int) -> String {
        (0..<(r % 5)).map { labels[(r >> (3 * $0 + 3)) % labels.count] }.joined(separator: ".")
    }

    static func record(_ r: [Int], _ index: Int) -> DNSResourceRecord {
        let pick = r[index % r.count]
        let seed = r[(index + 1) % r.count]
        let data: DNSRecordData
        let type: DNSRecordType
        switch pick % 5 {
        case 0:
            type = .a
            data = .address(IPAddress(bytes: (0..<4).map { UInt8((seed >> ($0 * 7)) & 0xFF) })!)
        case 1:
            type = .aaaa
            data = .address(IPAddress(bytes: (0..<16).map { UInt8((seed >> (($0 * 5) % 28)) & 0xFF) })!)
        case 2:
            type = .cname
            data = .canonicalName(name(seed))
        case 3:
            type = .srv
            data = .service(
                DNSServiceRecord(
                    priority: UInt16(seed & 0xFFFF), weight: UInt16((seed >> 8) & 0xFFFF), port: UInt16((seed >> 3) & 0xFFFF), target: name(seed >> 2)
                ))
        default:
            type = DNSRecordType(rawValue: 16)  // TXT, kept raw
            data = .raw((0..<(seed % 20)).map { UInt8(($0 * 31 + seed) & 0xFF) })
        }
        return DNSResourceRecord(name: name(pick >> 3), type: type, ttl: UInt32(seed % 100_000), data: data)
    }

    static func message(_ r: [Int]) -> DNSMessage {
        let counts = (r[0] % 3, r[1] % 5, r[2] % 3, r[3] % 4)
        var offset = 4
        func records(_ count: Int) -> [DNSResourceRecord] {
            (0..<count).map { _ in
                offset += 2
                return record(r, offset)
            }
        }
        let questions = (0..<counts.0).map { DNSQuestion(name: name(r[4 + $0]), type: [.a, .aaaa, .srv][r[7 + $0] % 3]) }
        return DNSMessage(
            id: UInt16(r[10] & 0xFFFF), isResponse: r[11] % 2 == 0, opcode: UInt8(r[12] % 16), isAuthoritative: r[13] % 2 == 0,
            isTruncated: r[14] % 5 == 0, recursionDesired: r[15] % 2 == 0, recursionAvailable: r[16] % 2 == 0,
            responseCode: DNSResponseCode(rawValue: UInt8(r[17] % 16)), questions: questions, answers: records(counts.1),
            authorities: records(counts.2), additionals: records(counts.3))
    }

    static let numbers = Gen.int(in: 0...Int(Int32.max)).array(of: 48)

    @Test func randomMessagesRoundTrip() async {
        await propertyCheck(count: 1000, input: Self.numbers) { numbers in
            let message = Self.message(numbers)
            let bytes = try message.encoded()
            #expect(try DNSMessage(bytes: bytes) == message)
            #expect(try DNSMessage(bytes: bytes).encoded() == bytes, "re-encoding gives the same bytes")
        }
    }

    @Test func randomBytesNeverTrap() async {
        await propertyCheck(count: 2000, input: Gen.int(in: 0...255).array(of: 0...300)) { values in
            _ = try? DNSMessage(bytes: values.map { UInt8($0) })
        }
    }

    @Test func mutatedAndCutAnswersNeverTrap() async {
        let goldens = [Self.cnameAnswerBytes, Self.srvAnswerBytes, Self.queryBytes]
        await propertyCheck(count: 2000, input: Gen.int(in: 0...Int(Int32.max)).array(of: 8)) { r in
            var bytes = goldens[r[0] % goldens.count]
            for k in 1...(1 + r[1] % 3) { bytes[r[1 + k] % bytes.count] = UInt8(r[4 + k] & 0xFF) }
            _ = try? DNSMessage(bytes: bytes)
            _ = try? DNSMessage(bytes: Array(bytes.prefix(r[7] % (bytes.count + 1))))
        }
    }
}
