import BrotherCore
import Foundation
import IPVS
import NetworkAddress
import Testing
import YAML

@Suite struct BrotherConfigurationTests {
    /// anchors §3.2's schema-valid big_brother file, as big_brother users have it.
    static let bigBrotherExample = """
        ---
        _big_brother:
          offset: 10000
          check_interval: 1
          ramp_up_time: 120
          nagios:
            server: nsca.example.net
            host: lb-prod
        clusters:
          - cluster_name: app
            fwmark: 101
            scheduler: wrr
            backend_mode: active_active
            has_downpage: true
            nagios:
              check: app_status
            nodes:
              - address: 10.0.1.11
                port: 9293
                path: /app/status
              - address: 10.0.1.12
                port: 9293
                path: /app/status
                max_weight: 50
              - address: 10.9.0.5        # remote-DC aggregator, polled at /fwmark/<fwmark>
                port: 9292
                path: /fwmark
                interpol: true
            max_down_ticks: 30
            non_egress_locations: ['dc-west']
          - cluster_name: db
            fwmark: 102
            scheduler: wrr
            backend_mode: active_passive
            nodes:
              - {address: 10.0.2.21, port: 9293, path: /db/status, priority: 0}
              - {address: 10.0.2.22, port: 9293, path: /db/status, priority: 1}
        """

    static func ip(_ text: String) -> IPAddress { IPAddress(text)! }

    @Test func aBigBrotherConfigurationLoadsUnchanged() throws {
        let configuration = try BrotherConfiguration(yaml: Self.bigBrotherExample, source: "big_brother.yml")
        #expect(configuration.clusters.map(\.name) == ["app", "db"])
        let app = try #require(configuration.cluster(named: "app"))
        #expect(app.serviceID == .firewallMark(101, family: .ipv4))
        #expect(app.scheduler == .weightedRoundRobin)
        #expect(app.forwarding == .ipip)
        #expect(app.backendMode == .activeActive)
        #expect(app.rampUpTime == .seconds(120))
        #expect(app.checkInterval == .seconds(1))
        #expect(app.maxDownTicks == 30)
        #expect(app.offset == 10000)
        #expect(app.nonEgressLocations == ["dc-west"])
        #expect(app.sorryServer == Destination.ID(address: Self.ip("169.254.254.254"), port: 0))
        #expect(app.nagios == .init(server: "nsca.example.net", check: "app_status", host: "lb-prod"))
        #expect(app.nodes.map(\.address) == [Self.ip("10.0.1.11"), Self.ip("10.0.1.12"), Self.ip("10.9.0.5")])
        #expect(app.nodes.map(\.port) == [9293, 9293, 9292])
        #expect(app.nodes.map(\.path) == ["/app/status", "/app/status", "/fwmark"])
        #expect(app.nodes.map(\.maxWeight) == [nil, 50, nil])
        #expect(app.nodes.map(\.interpol) == [false, false, true])
        #expect(app.nodes.map(\.realPort) == [0, 0, 0])

        let db = try #require(configuration.cluster(named: "db"))
        #expect(db.backendMode == .activePassive)
        #expect(db.nodes.map(\.priority) == [0, 1])
        #expect(db.sorryServer == nil)
        #expect(db.rampUpTime == .seconds(120))
        #expect(db.nagios == .init(server: "nsca.example.net", check: nil, host: "lb-prod"))
    }

    @Test func omittedKeysTakeBigBrothersDefaultsAndOursAreTheSafeOnes() throws {
        let yaml = "clusters:\n  - cluster_name: a\n    fwmark: 1\n    nodes:\n      - address: 192.0.2.1\n"
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        #expect(cluster.scheduler == .weightedRoundRobin)
        #expect(cluster.checkInterval == .seconds(1))
        #expect(cluster.rampUpTime == .seconds(60))
        #expect(cluster.backendMode == .activeActive)
        #expect(cluster.maxDownTicks == 0)
        #expect(cluster.sorryServer == nil)
        #expect(cluster.nagios == nil)
        #expect(cluster.offset == 10000)
        #expect(cluster.forwarding == .ipip)
        #expect(cluster.vips.isEmpty)
        #expect(cluster.rampCurve == .linear)
        #expect(cluster.minimumWeight == 1)
        #expect(cluster.rise == 1 && cluster.fall == 1)
        // Safe defaults (man brother.yml): a blip of an up node's agent is held 2 s; the panic guard
        // holds weights when more than half of the nodes drop at once.
        #expect(cluster.unreachableHold == .seconds(2))
        #expect(cluster.deadBand == 0)
        #expect(cluster.panicThreshold == 0.5)
        #expect(cluster.drainTimeout == .seconds(30))
        #expect(cluster.pollTimeout == .seconds(2))
        #expect(cluster.pollJitter == .zero)
        let node = try #require(cluster.nodes.first)
        #expect(node.port == 80 && node.path == "/" && node.priority == 0 && node.maxWeight == nil && !node.interpol && node.realPort == 0)
        #expect(node.capacity == 1)
    }

    @Test func aNodesCapacityIsAWholeNumberUpToWhatTheKernelTakesTimesAHundred() throws {
        let yaml = """
            clusters:
              - cluster_name: a
                fwmark: 1
                nodes:
                  - {address: 192.0.2.1, capacity: 4, max_weight: 50}
                  - {address: 192.0.2.2}
                  - {address: 192.0.2.3, capacity: 21474836}

            """
        let nodes = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first).nodes
        #expect(nodes.map(\.capacity) == [4, 1, 21_474_836])
        #expect(nodes[0].maxWeight == 50, "max_weight still caps the 0-100 weight, before the capacity")
        #expect(nodes[2].kernelWeight(100) <= Destination.maximumWeight)
    }

    @Test func aJoinedNodeSavedBeforeCapacityExistedLoadsWithCapacityOne() throws {
        var node = NodeConfiguration(address: IPAddress("192.0.2.1")!, port: 9292, realPort: 8080, capacity: 3)
        node.group = "blue"
        let encoded = try JSONEncoder().encode(node)
        #expect(try JSONDecoder().decode(NodeConfiguration.self, from: encoded) == node)
        var object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object.removeValue(forKey: "capacity") != nil)
        let old = try JSONSerialization.data(withJSONObject: object)
        let decoded = try JSONDecoder().decode(NodeConfiguration.self, from: old)
        #expect(decoded.capacity == 1)
        #expect(decoded.group == "blue" && decoded.realPort == 8080 && decoded.port == 9292)
    }

    @Test(
        arguments: [
            ("", 0.5),
            ("    panic_threshold: off\n", nil),
            ("    panic_threshold: 0.3\n", 0.3),
            // With a sorry server, all-down must reach it: no guard unless asked for.
            ("    sorry_server: 192.0.2.50\n", nil),
            ("    has_downpage: true\n", nil),
            ("    has_downpage: true\n    panic_threshold: 0.75\n", 0.75),
        ] as [(String, Double?)])
    func thePanicGuardIsOnByDefaultOffWhenAskedAndOffWithASorryServer(_ extra: String, _ expected: Double?) throws {
        let yaml = "clusters:\n  - cluster_name: a\n    fwmark: 1\n\(extra)    nodes:\n      - address: 192.0.2.1\n"
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        #expect(cluster.panicThreshold == expected, "\(extra)")
    }

    @Test func defaultsMergeUnderEveryClusterAndClusterKeysWin() throws {
        let yaml = """
            _big_brother:
              check_interval: 5
              ramp_up_time: 30
              rise: 3
              panic_threshold: 0.5
              forwarding: route
            clusters:
              - cluster_name: a
                fwmark: 1
                ramp_up_time: 10
                nodes: [{address: 192.0.2.1}]
              - cluster_name: b
                fwmark: 2
                forwarding: masq
                nodes: [{address: 192.0.2.2}]
            """
        let configuration = try BrotherConfiguration(yaml: yaml, source: "t.yml")
        #expect(configuration.clusters.map(\.checkInterval) == [.seconds(5), .seconds(5)])
        #expect(configuration.clusters.map(\.rampUpTime) == [.seconds(10), .seconds(30)])
        #expect(configuration.clusters.map(\.rise) == [3, 3])
        #expect(configuration.clusters.map(\.panicThreshold) == [0.5, 0.5])
        #expect(configuration.clusters.map(\.forwarding) == [.directRouting, .masquerade])
    }

    @Test func anAddressServiceClusterTakesProtocolFamilyAndPortFromTheService() throws {
        let yaml = """
            clusters:
              - cluster_name: web6
                service: "TCP [2001:db8::10]:443"
                forwarding: route
                sorry_server: "[2001:db8::99]"
                nodes:
                  - {address: "2001:db8::1", port: 9293, path: /web/status}
                  - {address: "2001:db8::2", port: 9293, path: /web/status, real_port: 8443}
            """
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        #expect(cluster.serviceID == .address(Self.ip("2001:db8::10"), port: 443, protocol: .tcp))
        #expect(cluster.serviceID.family == .ipv6)
        #expect(cluster.fwmark == nil)
        #expect(cluster.nodes.map(\.realPort) == [443, 8443])
        #expect(cluster.sorryServer == Destination.ID(address: Self.ip("2001:db8::99"), port: 443))
    }

    @Test func aFirewallMarkClusterListsItsVIPs() throws {
        let yaml = """
            clusters:
              - cluster_name: v6
                fwmark: 7
                address_family: ipv6
                vips: ["[2001:db8::10]:443/tcp", "[2001:db8::10]:53/udp"]
                nodes: [{address: "2001:db8::1"}, {address: 192.0.2.1}]
            """
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        #expect(cluster.serviceID == .firewallMark(7, family: .ipv6))
        #expect(
            cluster.vips == [
                ClusterVIP(address: Self.ip("2001:db8::10"), port: 443, transportProtocol: .tcp),
                ClusterVIP(address: Self.ip("2001:db8::10"), port: 53, transportProtocol: .udp),
            ])
        // The tunnel default lets an IPv6 service reach an IPv4 real server.
        #expect(cluster.nodes.map(\.address.family) == [.ipv6, .ipv4])
    }

    @Test(arguments: [
        ("linear", RampCurve.linear), ("quadratic", .quadratic), ("step:4", .steps(4)), ("step:100", .steps(100)),
    ])
    func rampCurvesParse(_ text: String, _ curve: RampCurve) throws {
        let yaml = "clusters:\n  - {cluster_name: a, fwmark: 1, ramp_curve: \"\(text)\", nodes: [{address: 192.0.2.1}]}\n"
        #expect(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first?.rampCurve == curve)
        #expect(curve.description == text)
    }

    @Test func decimalSecondsAreAccepted() throws {
        let yaml = "clusters:\n  - {cluster_name: a, fwmark: 1, check_interval: 0.5, poll_timeout: 0.25, poll_jitter: 0.1, nodes: []}\n"
        let cluster = try #require(try BrotherConfiguration(yaml: yaml, source: "t.yml").clusters.first)
        #expect(cluster.checkInterval == .milliseconds(500))
        #expect(cluster.pollTimeout == .milliseconds(250))
        #expect(cluster.pollJitter == .milliseconds(100))
    }

    /// Each kind of mistake, and exactly where it is reported.
    static let errorCases: [(String, String)] = [
        ("clusters: 3", "clusters: must be a list"),
        ("clusterz: []", "clusterz: unknown key"),
        ("_big_brother: {}", "clusters: required: a list of clusters"),
        ("_big_brother: {check_intervall: 1}\nclusters: []", "_big_brother.check_intervall: unknown key"),
        ("_big_brother: {cluster_name: x}\nclusters: []", "_big_brother.cluster_name: unknown key"),
        (
            "_big_brother: {check_interval: 0}\nclusters:\n  - {cluster_name: a, fwmark: 1, nodes: []}",
            "_big_brother.check_interval: must be more than 0 seconds"
        ),
        ("clusters:\n  - {fwmark: 1, nodes: []}", "clusters[0].cluster_name: required"),
        ("clusters:\n  - {cluster_name: 'a b', fwmark: 1, nodes: []}", "clusters[0].cluster_name: must be non-empty, without spaces"),
        ("clusters:\n  - {cluster_name: '', fwmark: 1, nodes: []}", "clusters[0].cluster_name: must be non-empty, without spaces"),
        ("clusters:\n  - {cluster_name: '.', fwmark: 1, nodes: []}", "clusters[0].cluster_name: \".\" cannot be a cluster's name"),
        ("clusters:\n  - {cluster_name: '..', fwmark: 1, nodes: []}", "clusters[0].cluster_name: \"..\" cannot be a cluster's name"),
        ("clusters:\n  - {cluster_name: a, nodes: []}", "clusters[0]: needs `fwmark: N` or `service:"),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, service: 'TCP 192.0.2.9:80', nodes: []}",
            "clusters[0].service: give either `fwmark` or `service`"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 0, nodes: []}", "clusters[0].fwmark: must be 1...4294967295, not 0"),
        ("clusters:\n  - {cluster_name: a, fwmark: x, nodes: []}", "clusters[0].fwmark: must be a whole number"),
        ("clusters:\n  - {cluster_name: a, service: 'TCP 192.0.2.9', nodes: []}", "clusters[0].service: \"TCP 192.0.2.9\" is not a service"),
        ("clusters:\n  - {cluster_name: a, service: 'FWM 7', nodes: []}", "clusters[0].service: \"FWM 7\" is not a service"),
        (
            "clusters:\n  - {cluster_name: a, service: 'TCP 192.0.2.9:80', address_family: ipv6, nodes: []}",
            "clusters[0].address_family: only for fwmark clusters"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, scheduler: fifo, nodes: []}", "clusters[0].scheduler: unknown scheduler \"fifo\""),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, backend_mode: active, nodes: []}",
            "clusters[0].backend_mode: must be active_active or active_passive"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, forwarding: warp, nodes: []}", "clusters[0].forwarding: use tunnel"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, ramp_curve: cubic, nodes: []}", "clusters[0].ramp_curve: must be linear, quadratic or step:N"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, ramp_curve: 'step:1', nodes: []}", "clusters[0].ramp_curve: must be linear"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, ramp_up_time: -1, nodes: []}", "clusters[0].ramp_up_time: must be 0 or more seconds"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, min_weight: 0, nodes: []}", "clusters[0].min_weight: must be 1..."),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, rise: 0, nodes: []}", "clusters[0].rise: must be 1...1000, not 0"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, fall: 1001, nodes: []}", "clusters[0].fall: must be 1...1000, not 1001"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, dead_band: 101, nodes: []}", "clusters[0].dead_band: must be 0...100, not 101"),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, panic_threshold: 1.5, nodes: []}",
            "clusters[0].panic_threshold: must be a fraction between 0 and 1"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, has_downpage: maybe, nodes: []}", "clusters[0].has_downpage: must be true or false"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, poll_jitter: 2, nodes: []}", "clusters[0].poll_jitter: must be less than check_interval"),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, unreachable_hold: soon, nodes: []}",
            "clusters[0].unreachable_hold: must be a number of seconds"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, sorry_server: nowhere, nodes: []}", "clusters[0].sorry_server: \"nowhere\" is not an address"),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, sorry_server: 192.0.2.50, has_downpage: true, nodes: []}",
            "clusters[0].sorry_server: give either sorry_server or has_downpage"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, nagios: {server: x, pager: y}, nodes: []}", "clusters[0].nagios.pager: unknown key"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, non_egress_locations: dc-west, nodes: []}", "clusters[0].non_egress_locations: must be a list"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, vips: ['192.0.2.10:443'], nodes: []}", "clusters[0].vips[0]: \"192.0.2.10:443\" is not a VIP"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, vips: ['192.0.2.10/tcp'], nodes: []}", "clusters[0].vips[0]: \"192.0.2.10/tcp\" is not a VIP"),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, vips: ['[2001:db8::1]:443/tcp'], nodes: []}",
            "clusters[0].vips[0]: is ipv6 but the cluster is ipv4"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, vips: ['192.0.2.10:443/tcp', '192.0.2.10:443/tcp'], nodes: []}",
            "clusters[0].vips[1]: 192.0.2.10:443/tcp is listed twice"
        ),
        (
            "clusters:\n  - {cluster_name: a, service: 'TCP 192.0.2.9:80', vips: ['192.0.2.10:443/tcp'], nodes: []}",
            "clusters[0].vips: only for fwmark clusters"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 1}", "clusters[0].nodes: required: a list of nodes"),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{port: 9293}]}", "clusters[0].nodes[0].address: required"),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 10.0.0.300}]}",
            "clusters[0].nodes[0].address: \"10.0.0.300\" is not an IP address"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, port: 0}]}",
            "clusters[0].nodes[0].port: must be 1...65535, not 0"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, port: 65536}]}",
            "clusters[0].nodes[0].port: must be 1...65535, not 65536"
        ),
        ("clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, path: status}]}", "clusters[0].nodes[0].path: must start with /"),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, weight: 3}]}",
            "clusters[0].nodes[0].weight: unknown key; for keepalived's per-server weight use capacity"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, capacity: 0}]}",
            "clusters[0].nodes[0].capacity: must be 1...21474836, not 0: the IPVS weight is the node's weight (up to 100) times its capacity, at most 2147483647"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, capacity: 21474837}]}",
            "clusters[0].nodes[0].capacity: must be 1...21474836, not 21474837"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, capacity: 1.5}]}",
            "clusters[0].nodes[0].capacity: must be a whole number"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, min_weight: 1000, nodes: [{address: 192.0.2.1, capacity: 3000000}]}",
            "clusters[0].nodes[0].capacity: must be 1...2147483, not 3000000: the IPVS weight is the node's weight (up to 1000)"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, interpol: 2}]}",
            "clusters[0].nodes[0].interpol: must be true or false"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, real_port: -1}]}",
            "clusters[0].nodes[0].real_port: must be 0...65535, not -1"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: [{address: 192.0.2.1, port: 1}, {address: 192.0.2.1, port: 2}]}",
            "clusters[0].nodes[1]: 192.0.2.1:0 is already clusters[0].nodes[0]"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, forwarding: route, nodes: [{address: '2001:db8::1'}]}",
            "clusters[0].nodes[0].address: is ipv6 but the service is ipv4"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, sorry_server: 192.0.2.1, nodes: [{address: 192.0.2.1}]}",
            "clusters[0].sorry_server: 192.0.2.1:0 is also a node"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: []}\n  - {cluster_name: a, fwmark: 2, nodes: []}",
            "clusters[1].cluster_name: \"a\" is already the name of clusters[0]"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, nodes: []}\n  - {cluster_name: b, fwmark: 1, nodes: []}",
            "clusters[1].fwmark: FWM 1 is already used by clusters[0] (a)"
        ),
        (
            "clusters:\n  - {cluster_name: a, service: 'TCP 192.0.2.9:80', nodes: []}\n  - {cluster_name: b, service: 'TCP 192.0.2.9:80', nodes: []}",
            "clusters[1].service: TCP 192.0.2.9:80 is already used by clusters[0] (a)"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, vips: ['192.0.2.9:80/tcp'], nodes: []}\n  - {cluster_name: b, fwmark: 2, vips: ['192.0.2.9:80/tcp'], nodes: []}",
            "clusters[1].vips[0]: 192.0.2.9:80/tcp is already a VIP of clusters[0] (a)"
        ),
        (
            "clusters:\n  - {cluster_name: a, fwmark: 1, fwmark: 2, nodes: []}",
            "clusters[0].fwmark: given twice"
        ),
        ("clusters: [", "not valid YAML"),
        ("", "is empty"),
    ]

    @Test(arguments: errorCases)
    func eachMistakeIsReportedWithTheFileAndItsPath(_ yaml: String, _ expected: String) {
        do {
            _ = try BrotherConfiguration(yaml: yaml, source: "brother.yml")
            Issue.record("accepted bad input: \(yaml)")
        } catch let error as BrotherConfigurationError {
            #expect(error.source == "brother.yml")
            // `brother.yml:LINE:COLUMN: PATH: MESSAGE`; an empty file has no line to point at.
            #expect(error.problems.contains { $0.description.contains(": \(expected)") }, "\(error)")
            #expect(error.description.split(separator: "\n").allSatisfy { $0.hasPrefix("brother.yml:") }, "\(error)")
            #expect(error.problems.allSatisfy { ($0.line != nil && $0.column != nil) || yaml.isEmpty }, "\(error)")
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test func validateReportsEveryProblemNotOnlyTheFirst() {
        let yaml = """
            _big_brother: {ramp_up_time: -5}
            clusters:
              - cluster_name: a
                fwmark: 1
                nodes:
                  - {address: 192.0.2.1, port: 0}
                  - {address: bogus}
              - cluster_name: b
                fwmark: 1
                scheduler: fifo
                nodes: []
            """
        let problems = BrotherConfiguration.validate(yaml: yaml).map(\.path)
        #expect(
            problems == [
                "_big_brother.ramp_up_time", "clusters[0].nodes[0].port", "clusters[0].nodes[1].address", "clusters[1].scheduler",
            ])
    }

    @Test func aBadDefaultIsReportedOnceNotOncePerCluster() {
        let yaml = "_big_brother: {rise: 0}\nclusters:\n  - {cluster_name: a, fwmark: 1, nodes: []}\n  - {cluster_name: b, fwmark: 2, nodes: []}\n"
        #expect(BrotherConfiguration.validate(yaml: yaml).map(\.description) == ["1:22: _big_brother.rise: must be 1...1000, not 0"])
    }

    /// 20,000 bad clusters, each read with the bad default: every problem once, in document order. Each
    /// report searched the list of those before it (2e8 comparisons, over a minute); a set answers at once.
    @Test func twentyThousandBadClustersAreEachReportedOnceInOrder() {
        let clusters = (0..<20_000).map { "  - {cluster_name: c\($0), fwmark: \($0 + 1), nodes: [{address: bogus\($0)}]}" }
        let yaml = "_big_brother: {rise: 0}\nclusters:\n" + clusters.joined(separator: "\n") + "\n"
        let problems = BrotherConfiguration.validate(yaml: yaml)
        #expect(problems.count == 20_001)
        #expect(problems.first?.description == "1:22: _big_brother.rise: must be 1...1000, not 0")
        #expect(problems.dropFirst().map(\.path) == (0..<20_000).map { "clusters[\($0)].nodes[0].address" })
        #expect(problems.last?.line == 20_002)
    }

    @Test func discoveryRemovalLimitsHaveSafeDefaultsAndBadValuesAreReportedWithTheirPlace() throws {
        func yaml(_ extra: String) -> String {
            "clusters:\n  - cluster_name: a\n    fwmark: 1\n    discovery:\n      dns: a.test\n\(extra)"
        }
        let defaults = try #require(try BrotherConfiguration(yaml: yaml(""), source: "brother.yml").clusters[0].discovery)
        #expect(defaults.removeAfter == 3 && defaults.maxRemovalShare == 0.25 && defaults.maxNodes == 256)
        let set = try #require(
            try BrotherConfiguration(yaml: yaml("      remove_after: 1\n      max_removal_share: 1\n      max_nodes: 8\n"), source: "brother.yml")
                .clusters[0].discovery)
        #expect(set.removeAfter == 1 && set.maxRemovalShare == 1 && set.maxNodes == 8)
        let bad = "      remove_after: 0\n      max_removal_share: 1.5\n      max_nodes: 0\n      max_node: 3\n"
        #expect(
            BrotherConfiguration.validate(yaml: yaml(bad)).map(\.description) == [
                "9:7: clusters[0].discovery.max_node: unknown key",
                "6:21: clusters[0].discovery.remove_after: must be 1...100, not 0",
                "7:26: clusters[0].discovery.max_removal_share: must be a share of the discovered nodes above 0 and at most 1, e.g. 0.25",
                "8:18: clusters[0].discovery.max_nodes: must be 1...65535, not 0",
            ])
        let error = #expect(throws: BrotherConfigurationError.self) { try BrotherConfiguration(yaml: yaml(bad), source: "brother.yml") }
        #expect(error?.description.contains("brother.yml:6:21: clusters[0].discovery.remove_after: must be 1...100, not 0") == true)
    }

    @Test func aValidConfigurationHasNoProblems() {
        #expect(BrotherConfiguration.validate(yaml: Self.bigBrotherExample).isEmpty)
    }

    @Test func aMissingFileIsAnErrorNamingIt() {
        let error = #expect(throws: BrotherConfigurationError.self) {
            _ = try BrotherConfiguration.load(path: "/nonexistent/brother.yml")
        }
        #expect(error?.description.hasPrefix("/nonexistent/brother.yml: cannot read the file") == true, "\(String(describing: error))")
    }

    @Test func theExampleFileLoadsAndUsesEveryKey() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/brother.yml").standardized
        let configuration = try BrotherConfiguration.load(path: url.path)
        let text = try String(contentsOf: url, encoding: .utf8)
        // Every key brother knows appears in the example (the man page documents the same list).
        let keys = [
            "_big_brother", "clusters", "offset", "check_interval", "ramp_up_time", "backend_mode", "max_down_ticks", "has_downpage", "nagios",
            "server", "check", "host", "scheduler", "forwarding", "ramp_curve", "min_weight", "rise", "fall", "unreachable_hold", "dead_band",
            "panic_threshold", "sorry_server", "drain_timeout", "poll_timeout", "poll_jitter", "cluster_name", "fwmark", "service",
            "address_family", "vips", "non_egress_locations", "nodes", "address", "port", "path", "priority", "max_weight", "interpol",
            "real_port", "group", "capacity", "shift", "from", "to", "start", "duration", "notify", "command", "min_interval", "discovery",
            "dns", "type", "nameserver", "interval", "agent_port", "remove_after", "max_removal_share", "max_nodes", "admin", "trust_loopback",
            "socket_group", "server_names", "join_token", "drain_report_token",
        ]
        for key in keys { #expect(text.contains("\(key):"), "examples/brother.yml lacks \(key)") }
        let manual = try String(
            contentsOf: url.deletingLastPathComponent().appendingPathComponent("../man/brother.yml.5").standardized, encoding: .utf8)
        let subKeys = [
            "server", "check", "host", "from", "to", "start", "duration", "command", "min_interval", "dns", "type", "nameserver", "interval",
            "agent_port", "group", "remove_after", "max_removal_share", "max_nodes",
        ]
        // `admin` is a section of the page of its own (ADMIN); its keys are listed there.
        for key in keys where key != "clusters" && key != "_big_brother" && key != "admin" && !subKeys.contains(key) {
            #expect(manual.contains(".It Ic \(key)"), "man/brother.yml.5 does not document \(key)")
        }
        #expect(configuration.clusters.count >= 3)
        #expect(configuration.clusters.contains { $0.fwmark == nil })
        #expect(configuration.clusters.contains { $0.backendMode == .activePassive })
        #expect(configuration.clusters.contains { !$0.vips.isEmpty })
        #expect(configuration.clusters.contains { $0.panicThreshold != nil && $0.sorryServer != nil })
    }

    @Test func theExampleFileSaysWhatItMeans() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/brother.yml").standardized
        let configuration = try BrotherConfiguration.load(path: url.path)
        #expect(configuration.clusters.map(\.name) == ["app", "db", "web", "dns6", "api", "sip"])
        #expect(configuration.cluster(named: "dns6")?.nodes.map(\.capacity) == [1, 4], "the bigger DNS server takes 4 times the traffic")
        for cluster in configuration.clusters {
            // From `_big_brother`, unless the cluster says otherwise.
            #expect(cluster.rise == 2 && cluster.fall == 2)
            #expect(cluster.unreachableHold == .seconds(10))
            #expect(cluster.deadBand == 2)
            #expect(cluster.pollTimeout == .seconds(3))
            #expect(cluster.pollJitter == .milliseconds(100))
            #expect(cluster.drainTimeout == .seconds(45))
            #expect(cluster.maxDownTicks == 30)
            #expect(cluster.nagios?.server == "nsca.example.net")
        }
        let app = try #require(configuration.cluster(named: "app"))
        #expect(app.vips.map(\.description) == ["198.51.100.10:80/tcp", "198.51.100.10:443/tcp"])
        #expect(app.sorryServer?.address == ClusterConfiguration.downpageAddress)
        #expect(app.realServers.count == 2)
        let db = try #require(configuration.cluster(named: "db"))
        #expect(db.rampUpTime == .zero)
        let web = try #require(configuration.cluster(named: "web"))
        #expect(web.serviceID.description == "TCP 198.51.100.20:443")
        #expect(web.scheduler == .weightedLeastConnection)
        #expect(web.forwarding == .masquerade)
        #expect(web.rampUpTime == .seconds(120) && web.rampCurve == .quadratic && web.minimumWeight == 2)
        #expect(web.panicThreshold == 0.5)
        #expect(web.sorryServer?.description == "192.0.2.50:8443")
        #expect(web.nodes.map(\.realPort) == [8443, 8443, 8443])
        let dns = try #require(configuration.cluster(named: "dns6"))
        #expect(dns.serviceID == .firewallMark(103, family: .ipv6))
        #expect(dns.scheduler == .sourceHashing && dns.forwarding == .ipip && dns.rampCurve == .steps(4))
        #expect(dns.nodes.map(\.address.family) == [.ipv4, .ipv4])
        let api = try #require(configuration.cluster(named: "api"))
        #expect(api.nodes.isEmpty)
        #expect(
            api.discovery
                == DNSDiscoveryConfiguration(
                    name: "api.service.consul", type: .srv, nameserver: "127.0.0.1:8600", interval: .seconds(10), agentPort: 9293,
                    path: "/api/status",
                    realPort: 80, group: "blue", removeAfter: 3, maxRemovalShare: 0.25, maxNodes: 256))
        #expect(api.discovery?.sourceName == "dns:api.service.consul")
    }
}
