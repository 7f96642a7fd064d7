import Foundation
import IPVS
import IPVSViews
import NetworkAddress
import Posix
import Testing

/// `brother ipvs` with brother's API: health, ramp and reason per destination from a given answer,
/// the one line when the API is down, and the answer's HTTP framing.
@Suite struct BrotherAPIViewTests {
    /// brother's JSON index as `GET /` answers it (BrotherServer's ClusterView; extra keys ignored).
    static let index = """
        {"version":"1.0","clusters":[{"name":"web","service":"TCP 198.51.100.10:80","phase":"running","combinedWeight":127,
        "nodes":[{"node":"192.0.2.2:8080","address":"192.0.2.2","port":8080,"weight":40,"capacity":1,"kernelWeight":40,
        "reason":"ramping 50% of 80","health":80,"isUp":true,"rampPercent":50,"activeConnections":7},
        {"node":"192.0.2.6:8080","address":"192.0.2.6","port":8080,"weight":0,"capacity":1,"kernelWeight":0,
        "reason":"forced down","isUp":false}],"events":[]},
        {"name":"mail","service":"FWM 7","nodes":[]}]}
        """

    static func answer() throws -> BrotherAPIAnswer {
        try BrotherAPIAnswer(source: "unix:/run/brother/brother.sock", indexJSON: Data(index.utf8))
    }

    @Test func textShowsHealthRampAndReasonPerDestination() throws {
        let view = IPVSTableView(info: nil, table: IPVSTableViewTests.sampleTable(), brother: .answered(try Self.answer()))
        let lines = view.text().split(separator: "\n").map(String.init)
        #expect(lines[0].hasSuffix("OPTIONS              HEALTH  RAMP  BROTHER"))
        #expect(lines[1].hasSuffix("persistent 300s /24                cluster web"))
        #expect(lines[2].hasPrefix("  -> 192.0.2.2:8080") && lines[2].hasSuffix("    80   50%  ramping 50% of 80"))
        #expect(lines[3].hasPrefix("  -> 192.0.2.6:8080") && lines[3].hasSuffix("     -     -  forced down"))
        // The kernel's columns are where they were without brother.
        let plain = IPVSTableView(info: nil, table: IPVSTableViewTests.sampleTable()).text().split(separator: "\n").map(String.init)
        #expect(lines[2].hasPrefix(plain[2]))
    }

    @Test func aDestinationBrotherDoesNotManageShowsDashes() throws {
        var answer = try Self.answer()
        answer.destinations = [:]
        answer.clusters = [:]
        let lines = IPVSTableView(info: nil, table: IPVSTableViewTests.sampleTable(), brother: .answered(answer)).text()
            .split(separator: "\n").map(String.init)
        #expect(lines[1].hasSuffix("not brother's"))
        #expect(lines[2].hasSuffix("  -     -  -"))
    }

    @Test func jsonCarriesBrothersFields() throws {
        let json = try IPVSTableView(info: nil, table: IPVSTableViewTests.sampleTable(), brother: .answered(try Self.answer())).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let api = try #require(object["brother_api"] as? [String: Any])
        #expect(api["reachable"] as? Bool == true && api["source"] as? String == "unix:/run/brother/brother.sock")
        let service = try #require((object["services"] as? [[String: Any]])?.first)
        #expect(service["cluster"] as? String == "web")
        let destinations = try #require(service["destinations"] as? [[String: Any]])
        let ramping = try #require(destinations.first?["brother"] as? [String: Any])
        #expect(ramping["health"] as? Int == 80 && ramping["ramp_percent"] as? Int == 50 && ramping["policy_weight"] as? Int == 40)
        #expect(ramping["reason"] as? String == "ramping 50% of 80" && ramping["cluster"] as? String == "web")
        let down = try #require(destinations.last?["brother"] as? [String: Any])
        #expect(down["health"] == nil && down["reason"] as? String == "forced down")
    }

    @Test func anUnreachableAPIIsOneLineAndTheKernelViewStands() throws {
        let failure = BrotherAPIError(source: "http://127.0.0.1:9292", reason: "connect: Connection refused")
        let view = IPVSTableView(info: nil, table: IPVSTableViewTests.sampleTable(), brother: .unreachable([failure]))
        let lines = view.text().split(separator: "\n").map(String.init)
        #expect(lines[0] == "brother's API was not reachable (http://127.0.0.1:9292: connect: Connection refused): the kernel's table only")
        #expect(
            Array(lines.dropFirst())
                == IPVSTableView(info: nil, table: IPVSTableViewTests.sampleTable()).text().split(separator: "\n").map(String.init))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try view.json().utf8)) as? [String: Any])
        let api = try #require(object["brother_api"] as? [String: Any])
        #expect(api["reachable"] as? Bool == false)
        #expect(api["errors"] as? [String] == ["http://127.0.0.1:9292: connect: Connection refused"])
        let destination = try #require(((object["services"] as? [[String: Any]])?.first?["destinations"] as? [[String: Any]])?.first)
        #expect(destination["brother"] == nil)
    }

    @Test func aClosedPortAndAMissingSocketAreUnreachableNotErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ipvs-api-\(UUID().uuidString)").path
        // No socket file there, and nothing listens on port 1 of loopback.
        let reader = BrotherAPIReader(endpoints: [.unixSocket("\(directory)/brother.sock"), .tcp(host: "127.0.0.1", port: 1)], timeout: .seconds(5))
        guard case .unreachable(let failures) = reader.read() else {
            Issue.record("nothing listens, yet brother's API answered")
            return
        }
        #expect(failures.map(\.source) == ["unix:\(directory)/brother.sock", "http://127.0.0.1:1"])
        #expect(failures.allSatisfy { !$0.reason.isEmpty })
    }

    @Test func chunkedAndPlainBodiesAreRead() throws {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n"
        #expect(try BrotherAPIReader.body(of: chunked, source: "x") == Data("{\"a\":1}".utf8))
        #expect(try BrotherAPIReader.body(of: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", source: "x") == Data("{}".utf8))
        let refused = #expect(throws: BrotherAPIError.self) {
            try BrotherAPIReader.body(of: "HTTP/1.1 503 Service Unavailable\r\n\r\n", source: "x")
        }
        #expect(refused?.reason == "answered HTTP 503 Service Unavailable")
        #expect(throws: BrotherAPIError.self) { try BrotherAPIReader.body(of: chunked.replacingOccurrences(of: "0\r\n\r\n", with: ""), source: "x") }
    }

    /// Found by the fuzz target: a signed chunk size ("-5") once cut a range backwards and trapped.
    @Test func signedOrEmptyChunkSizesAreRefused() {
        for size in ["-5", "+5", "", " "] {
            let answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\n{\"a\":1}\r\n0\r\n\r\n"
            let refused = #expect(throws: BrotherAPIError.self, "chunk size \"\(size)\"") { try BrotherAPIReader.body(of: answer, source: "x") }
            #expect(refused?.reason == "a chunk of the answer has no size")
        }
    }

    @Test func garbageIsNotAnAnswer() {
        #expect(throws: BrotherAPIError.self) { try BrotherAPIAnswer(source: "x", indexJSON: Data("<html>".utf8)) }
    }

    @Test(arguments: [
        ("http://127.0.0.1:9292", BrotherAPIReader.Endpoint.tcp(host: "127.0.0.1", port: 9292)),
        ("http://[::1]:9292/", .tcp(host: "::1", port: 9292)),
    ])
    func apiURLsAreRead(_ url: String, _ expected: BrotherAPIReader.Endpoint) {
        #expect(BrotherAPIReader.Endpoint(url: url) == expected)
        #expect(BrotherAPIReader.Endpoint(url: "127.0.0.1:9292") == nil)
    }
}
