import Foundation
import IPVS
import NetworkAddress
import YAML

/// Which keys may appear where.
enum ClusterKeys {
    /// In a cluster or in `_big_brother` (big_brother's shared keys, then ours).
    static let shared: Set<String> = [
        "check_interval", "ramp_up_time", "backend_mode", "max_down_ticks", "has_downpage", "nagios", "scheduler",
        "forwarding", "ramp_curve", "min_weight", "rise", "fall", "unreachable_hold", "dead_band", "panic_threshold",
        "sorry_server", "drain_timeout", "poll_timeout", "poll_jitter", "notify", "join_token", "join_token_file", "drain_report_token",
        "drain_report_token_file", "check_tls",
    ]
    /// Only in `_big_brother`.
    static let defaultsOnly: Set<String> = ["offset", "poll_threads"]
    /// `_big_brother.poll_threads`' ceiling: more poll threads than cores only take turns.
    static let maximumPollThreads = 64
    /// Only in a cluster.
    static let clusterOnly: Set<String> = [
        "cluster_name", "fwmark", "service", "address_family", "vips", "non_egress_locations", "nodes", "shift", "discovery",
        "persistence", "persistence_engine", "flags",
    ]
    static let persistence: Set<String> = ["timeout", "netmask"]
    static let node: Set<String> = ["address", "port", "path", "priority", "max_weight", "interpol", "real_port", "group", "capacity"]
    /// keepalived's and ldirectord's per-real-server `weight` is a static weight; brother's weights
    /// follow health, and the static part is `capacity`.
    static let nodeInstead: [String: String] = [
        "weight": "for keepalived's per-server weight use capacity (the IPVS weight is health 0-100 times capacity)"
    ]
    static let shift: Set<String> = ["from", "to", "start", "duration"]
    static let discovery: Set<String> = [
        "dns", "type", "nameserver", "interval", "agent_port", "path", "real_port", "group", "remove_after", "max_removal_share", "max_nodes",
    ]
    static let notify: Set<String> = ["command", "min_interval"]
    static let checkTLS: Set<String> = ["ca_file", "certificate", "key", "server_name", "verify"]
    static let nagios: Set<String> = ["server", "check", "host"]
    /// big_brother's keys that brother accepts (a big_brother file loads unchanged) but does not act
    /// on, with what brother does instead; `brother check` and `brother run` warn about each.
    static let ignored: [String: String] = [
        "max_down_ticks":
            "ignored (big_brother's down polls before a node leaves IPVS): brother never removes a node for being down; it stays at weight 0 until its agent reports health again (see rise, fall and unreachable_hold)",
        "nagios":
            "ignored (big_brother's Nagios passive alerts): brother sends no Nagios checks; use notify to run a command on node and cluster state changes",
        "offset":
            "ignored (big_brother's relay fwmark offset for remote datacenters): brother relays no traffic to other datacenters, so it makes no relay fwmarks",
        "non_egress_locations":
            "ignored (big_brother's locations that send no traffic to remote datacenters): brother relays no traffic to other datacenters",
    ]
    /// A node's `interpol: true` (big_brother's remote-datacenter aggregator).
    static let ignoredInterpol =
        "ignored (big_brother's remote-datacenter aggregator): brother neither polls this node nor makes it an IPVS destination; remote datacenters are not supported"
}

/// Turns one `clusters[i]` entry, merged over `_big_brother`, into a ``ClusterConfiguration``.
enum ClusterParser {
    static func parse(_ item: LocatedNode, defaults: [String: LocatedNode], reader: inout ConfigReader) -> ClusterConfiguration? {
        let path = item.path
        guard let own = reader.entries(of: item.node, at: path, known: ClusterKeys.shared.union(ClusterKeys.clusterOnly), hint: "cluster keys")
        else { return nil }
        var fields = defaults
        for (key, value) in own { fields[key] = value }
        let problemsBefore = reader.problems.count
        // The cluster's own keys; those of `_big_brother` are warned about where it is read.
        for (key, value) in own {
            if let instead = ClusterKeys.ignored[key] { reader.warn(value.path, instead) }
        }

        let name = reader.string(fields["cluster_name"])
        if fields["cluster_name"] == nil {
            reader.report("\(path).cluster_name", "required: the cluster's name")
        } else if let name, !isValidName(name) {
            reader.report("\(path).cluster_name", "must be non-empty, without spaces or `/` (it is part of API URLs)")
        } else if let name, name == "." || name == ".." {
            // A URL path segment of `.` or `..` is removed by clients (curl, browsers) before sending.
            reader.report(
                "\(path).cluster_name", "\"\(name)\" cannot be a cluster's name: clients drop it from the URL /cluster/\(name); choose another")
        } else if let name, let odd = unusualCharacters(in: name) {
            reader.warn(
                "\(path).cluster_name",
                "\"\(name)\" has \(odd): accepted, but URLs must percent-encode it (ocf/brother-cluster does); letters, digits and . _ ~ - need no encoding"
            )
        }

        // Identity: big_brother's fwmark, or our address service; exactly one.
        var serviceID: VirtualService.ID?
        switch (fields["fwmark"], fields["service"]) {
        case (nil, nil):
            reader.report(path, "needs `fwmark: N` or `service: \"TCP 198.51.100.10:80\"`")
        case (.some, .some):
            reader.report("\(path).service", "give either `fwmark` or `service`, not both")
        case (let mark?, nil):
            var family = AddressFamily.ipv4
            if let familyNode = fields["address_family"], let text = reader.string(familyNode) {
                switch text.lowercased() {
                case "ipv4", "inet": family = .ipv4
                case "ipv6", "inet6": family = .ipv6
                default: reader.report(familyNode.path, "must be ipv4 or ipv6")
                }
            }
            if let number = reader.integer(mark, in: 1...Int(UInt32.max)) { serviceID = .firewallMark(UInt32(number), family: family) }
        case (nil, let service?):
            if let familyNode = fields["address_family"] {
                reader.report(familyNode.path, "only for fwmark clusters; a service's address gives its family")
            }
            if let text = reader.string(service) {
                if let id = VirtualService.ID(parsing: text), case .address = id {
                    serviceID = id
                } else {
                    reader.report(
                        service.path, "\"\(text)\" is not a service; write \"TCP 198.51.100.10:80\", \"UDP [2001:db8::1]:53\" or \"SCTP …\"")
                }
            }
        }

        var scheduler = Scheduler.weightedRoundRobin
        if let node = fields["scheduler"], let text = reader.string(node) {
            if Scheduler.linuxSchedulers.contains(Scheduler(rawValue: text)) {
                scheduler = Scheduler(rawValue: text)
            } else {
                reader.report(
                    node.path, "unknown scheduler \"\(text)\"; use one of \(Scheduler.linuxSchedulers.map(\.rawValue).joined(separator: ", "))")
            }
        }

        var forwarding = ForwardingMethod.ipip
        if let node = fields["forwarding"], let text = reader.string(node) {
            if let parsed = ForwardingMethod(parsing: text), parsed != .bypass {
                forwarding = parsed
            } else {
                reader.report(node.path, "use tunnel (ipip, the default), route, masq, local, gue:PORT or gre (+ \",csum\", \",remcsum\")")
            }
        }

        var backendMode = ClusterConfiguration.BackendMode.activeActive
        if let node = fields["backend_mode"], let text = reader.string(node) {
            if let mode = ClusterConfiguration.BackendMode(rawValue: text) {
                backendMode = mode
            } else {
                reader.report(node.path, "must be active_active or active_passive")
            }
        }

        var rampCurve = RampCurve.linear
        if let node = fields["ramp_curve"], let text = reader.string(node) {
            if let curve = RampCurve(parsing: text) {
                rampCurve = curve
            } else {
                reader.report(node.path, "must be linear, quadratic or step:N (N = 2...100)")
            }
        }

        let checkInterval = reader.seconds(fields["check_interval"], allowZero: false) ?? .seconds(1)
        let rampUpTime = reader.seconds(fields["ramp_up_time"], allowZero: true) ?? .seconds(60)
        let minimumWeight = reader.integer(fields["min_weight"], in: 1...Destination.maximumWeight) ?? 1
        let maxDownTicks = reader.integer(fields["max_down_ticks"], in: 0...Int(Int32.max)) ?? 0
        let rise = reader.integer(fields["rise"], in: 1...1000) ?? 1
        let fall = reader.integer(fields["fall"], in: 1...1000) ?? 1
        // Default 2 s: a blip (a dropped SYN, a reset) of an up node's agent is held, not a drop to 0;
        // a refused connection (the agent is not running) is never held, so a killed agent still
        // goes to 0 on the next poll.
        let unreachableHold = reader.seconds(fields["unreachable_hold"], allowZero: true) ?? .seconds(2)
        let deadBand = reader.integer(fields["dead_band"], in: 0...100) ?? 0
        let panicSetting = fields["panic_threshold"]
        let isPanicGuardOff = panicSetting?.node.scalar.map { $0.text.lowercased() == "off" } ?? false
        let panicThreshold = isPanicGuardOff ? nil : reader.fraction(panicSetting)
        let drainTimeout = reader.seconds(fields["drain_timeout"], allowZero: true) ?? .seconds(30)
        let pollTimeout = reader.seconds(fields["poll_timeout"], allowZero: false) ?? .seconds(2)
        let pollJitter = reader.seconds(fields["poll_jitter"], allowZero: true) ?? .zero
        if let node = fields["poll_jitter"], pollJitter >= checkInterval {
            reader.report(node.path, "must be less than check_interval (\(checkInterval.inSeconds)s)")
        }
        let offset = reader.integer(fields["offset"], in: 0...Int(UInt32.max)) ?? 10000
        let hasDownpage = reader.bool(fields["has_downpage"]) ?? false

        let nagios = parseNagios(defaults["nagios"], own: own.first { $0.0 == "nagios" }?.1, reader: &reader)

        var nonEgress: [String] = []
        for entry in reader.list(fields["non_egress_locations"]) ?? [] {
            if let text = reader.string(entry) { nonEgress.append(text) }
        }

        // Sorry server: ours by address, or big_brother's down page. A cluster's own key beats a
        // default; both at the same level is ambiguous.
        var sorryServer: Destination.ID?
        let defaultRealPort: UInt16 = if case .address(_, let port, _) = serviceID { port } else { 0 }
        let downpage = Destination.ID(address: ClusterConfiguration.downpageAddress, port: defaultRealPort)
        if let node = fields["sorry_server"], let text = reader.string(node) {
            let sorryIsOwn = node.path.hasPrefix("\(path).")
            let downpageIsOwn = fields["has_downpage"]?.path.hasPrefix("\(path).") ?? false
            if hasDownpage, sorryIsOwn == downpageIsOwn {
                reader.report(node.path, "give either sorry_server or has_downpage: true, not both")
            } else if hasDownpage, downpageIsOwn {
                sorryServer = downpage
            } else if let id = Destination.ID(parsing: text) {
                sorryServer = id.port == 0 ? Destination.ID(address: id.address, port: defaultRealPort) : id
                checkFamily(id.address, of: serviceID, forwarding: forwarding, at: node.path, reader: &reader)
            } else {
                reader.report(node.path, "\"\(text)\" is not an address; write 192.0.2.50, 192.0.2.50:8080 or [2001:db8::50]:8080")
            }
        } else if hasDownpage {
            sorryServer = downpage
        }

        // The panic guard is on by default (0.5): more than half of the nodes dropping at once is
        // more likely a fault between brother and the agents than half the servers dying. Not with
        // a sorry server (or down page) unless asked for: there, all-down must reach the sorry page.
        let effectivePanicThreshold = panicSetting == nil ? (sorryServer == nil ? 0.5 : nil) : panicThreshold

        var vips: [ClusterVIP] = []
        if let node = fields["vips"] {
            if serviceID != nil, case .address = serviceID {
                reader.report(node.path, "only for fwmark clusters; an address service is its own VIP")
            }
            var seen: Set<ClusterVIP> = []
            for entry in reader.list(node) ?? [] {
                guard let text = reader.string(entry) else { continue }
                guard let vip = ClusterVIP(parsing: text) else {
                    reader.report(
                        entry.path, "\"\(text)\" is not a VIP; write ADDRESS:PORT/PROTO, e.g. 198.51.100.10:443/tcp or [2001:db8::10]:53/udp")
                    continue
                }
                if let id = serviceID, vip.address.family != id.family {
                    reader.report(entry.path, "is \(vip.address.family) but the cluster is \(id.family) (set address_family)")
                }
                if !seen.insert(vip).inserted { reader.report(entry.path, "\(vip) is listed twice") }
                vips.append(vip)
            }
        }

        var nodes: [NodeConfiguration] = []
        if let list = fields["nodes"] {
            var seen: [Destination.ID: Int] = [:]
            for entry in reader.list(list) ?? [] {
                guard
                    let node = parseNode(
                        entry, serviceID: serviceID, forwarding: forwarding, defaultRealPort: defaultRealPort, minimumWeight: minimumWeight,
                        reader: &reader)
                else { continue }
                if let first = seen[node.destinationID] {
                    reader.report(entry.path, "\(node.destinationID) is already \(list.path)[\(first)]")
                } else {
                    seen[node.destinationID] = nodes.count
                }
                nodes.append(node)
            }
            if let sorryServer, seen[sorryServer] != nil {
                reader.report(fields["sorry_server"]?.path ?? "\(path).has_downpage", "\(sorryServer) is also a node")
            }
        } else if fields["discovery"] == nil {
            reader.report("\(path).nodes", "required: a list of nodes (it may be empty when discovery is set)")
        }

        let shift = parseShift(fields["shift"], nodes: nodes, reader: &reader)
        let discovery = parseDiscovery(fields["discovery"], cluster: name ?? "cluster", defaultRealPort: defaultRealPort, reader: &reader)
        let notify = parseNotify(fields["notify"], reader: &reader)
        let checkTLS = parseCheckTLS(fields["check_tls"], reader: &reader)

        let settings = parseServiceSettings(fields, serviceID: serviceID, scheduler: scheduler, reader: &reader)
        let joinToken = parseToken("join_token", fields: fields, own: own, reader: &reader)
        let drainReportToken = parseToken("drain_report_token", fields: fields, own: own, reader: &reader)

        guard reader.problems.count == problemsBefore, let name, let serviceID else { return nil }
        var cluster = ClusterConfiguration(
            name: name, serviceID: serviceID, scheduler: scheduler, forwarding: forwarding, vips: vips, checkInterval: checkInterval,
            rampUpTime: rampUpTime, rampCurve: rampCurve, minimumWeight: minimumWeight, backendMode: backendMode, maxDownTicks: maxDownTicks,
            rise: rise, fall: fall, unreachableHold: unreachableHold, deadBand: deadBand, panicThreshold: effectivePanicThreshold,
            sorryServer: sorryServer, drainTimeout: drainTimeout, pollTimeout: pollTimeout, pollJitter: pollJitter, nagios: nagios,
            offset: offset, nonEgressLocations: nonEgress, nodes: nodes, shift: shift, discovery: discovery, notify: notify)
        cluster.joinToken = joinToken
        cluster.drainReportToken = drainReportToken
        cluster.persistence = settings.persistence
        cluster.persistenceEngine = settings.persistenceEngine
        cluster.serviceFlags = settings.flags
        cluster.checkTLS = checkTLS
        return cluster
    }

    /// A token given as `KEY` or as `KEY_file` (a file holding it); the cluster's own key wins over
    /// the other one from `_big_brother`. Tokens travel in HTTP headers: visible ASCII, no spaces.
    private static func parseToken(_ key: String, fields: [String: LocatedNode], own: [(String, LocatedNode)], reader: inout ConfigReader)
        -> String?
    {
        let fileKey = "\(key)_file"
        var inline = fields[key]
        var file = fields[fileKey]
        if let inlineNode = inline, let fileNode = file {
            let ownInline = own.contains(where: { $0.0 == key })
            let ownFile = own.contains(where: { $0.0 == fileKey })
            switch (ownInline, ownFile) {
            case (true, false): file = nil
            case (false, true): inline = nil
            default:
                reader.report(fileNode.path, "give \(key) or \(fileKey), not both (\(key) is at \(inlineNode.path))")
                return nil
            }
        }
        let token: String
        let path: String
        if let inline {
            guard let text = reader.string(inline) else { return nil }
            token = text
            path = inline.path
        } else if let file {
            guard let location = reader.string(file) else { return nil }
            guard let text = try? String(contentsOfFile: location, encoding: .utf8) else {
                reader.report(file.path, "cannot read the token file \(location)")
                return nil
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            path = file.path
        } else {
            return nil
        }
        guard !token.isEmpty, token.utf8.count <= 1024, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            reader.report(path, "a token must be 1 to 1024 bytes of visible ASCII without spaces (it is sent in an HTTP header)")
            return nil
        }
        return token
    }

    private static func parseShift(_ value: LocatedNode?, nodes: [NodeConfiguration], reader: inout ConfigReader) -> GroupShift? {
        guard let value, let fields = reader.entries(of: value.node, at: value.path, known: ClusterKeys.shift, hint: "from, to, start, duration")
        else {
            return nil
        }
        let map = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        let before = reader.problems.count
        let from = reader.string(map["from"])
        let to = reader.string(map["to"])
        if map["from"] == nil { reader.report("\(value.path).from", "required: the group that has the traffic at the start") }
        if map["to"] == nil { reader.report("\(value.path).to", "required: the group that gets the traffic") }
        if let from, let to, from == to { reader.report("\(value.path).to", "must differ from `from`") }
        var start: Date?
        if let node = map["start"], let text = reader.string(node) {
            if let seconds = Double(text) {
                start = Date(timeIntervalSince1970: seconds)
            } else if let date = try? Date(text, strategy: .iso8601) {
                start = date
            } else {
                reader.report(node.path, "\"\(text)\" is not a time; write 2026-11-22T10:00:00Z or Unix seconds")
            }
        } else if map["start"] == nil {
            reader.report("\(value.path).start", "required: when the shift begins (2026-11-22T10:00:00Z)")
        }
        let duration = reader.seconds(map["duration"], allowZero: true)
        if map["duration"] == nil { reader.report("\(value.path).duration", "required: seconds the shift takes") }
        let groups = Set(nodes.compactMap(\.group))
        for (key, group) in [("from", from), ("to", to)] {
            if let group, !nodes.isEmpty, !groups.contains(group) {
                reader.report("\(value.path).\(key)", "no node has group \"\(group)\" (groups: \(groups.sorted().joined(separator: ", ")))")
            }
        }
        guard reader.problems.count == before, let from, let to, let start, let duration else { return nil }
        return GroupShift(from: from, to: to, start: start, duration: duration)
    }

    private static func parseDiscovery(_ value: LocatedNode?, cluster: String, defaultRealPort: UInt16, reader: inout ConfigReader)
        -> DNSDiscoveryConfiguration?
    {
        guard let value,
            let fields = reader.entries(
                of: value.node, at: value.path, known: ClusterKeys.discovery,
                hint: "dns, type, nameserver, interval, agent_port, path, real_port, group, remove_after, max_removal_share, max_nodes")
        else { return nil }
        let map = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        let before = reader.problems.count
        let name = reader.string(map["dns"])
        if map["dns"] == nil { reader.report("\(value.path).dns", "required: the DNS name to resolve") }
        var type = DNSDiscoveryConfiguration.RecordType.a
        if let node = map["type"], let text = reader.string(node) {
            if let parsed = DNSDiscoveryConfiguration.RecordType(rawValue: text.lowercased()) {
                type = parsed
            } else {
                reader.report(node.path, "must be a, aaaa or srv")
            }
        }
        var nameserver: String?
        if let node = map["nameserver"], let text = reader.string(node) {
            if let id = Destination.ID(
                parsing: text.contains(":") && !text.hasPrefix("[") && text.filter({ $0 == ":" }).count > 1 ? "[\(text)]:53" : text)
            {
                nameserver = id.address.description(port: id.port == 0 ? 53 : id.port)
            } else {
                reader.report(node.path, "\"\(text)\" is not ADDRESS[:PORT]")
            }
        }
        let interval = reader.seconds(map["interval"], allowZero: false) ?? .seconds(10)
        let agentPort = reader.integer(map["agent_port"], in: 1...65535) ?? 9292
        let path = reader.string(map["path"]) ?? "/\(cluster)/status"
        if let node = map["path"], !path.hasPrefix("/") { reader.report(node.path, "must start with /") }
        let realPort = reader.integer(map["real_port"], in: 0...65535).map { UInt16($0) } ?? defaultRealPort
        let group = reader.string(map["group"])
        let removeAfter = reader.integer(map["remove_after"], in: 1...100) ?? 3
        var maxRemovalShare = 0.25
        if let node = map["max_removal_share"] {
            if let share = node.node.scalar?.double, share > 0, share <= 1 {
                maxRemovalShare = share
            } else {
                reader.report(node.path, "must be a share of the discovered nodes above 0 and at most 1, e.g. 0.25")
            }
        }
        let maxNodes = reader.integer(map["max_nodes"], in: 1...65535) ?? 256
        guard reader.problems.count == before, let name else { return nil }
        return DNSDiscoveryConfiguration(
            name: name, type: type, nameserver: nameserver, interval: interval, agentPort: UInt16(agentPort), path: path, realPort: realPort,
            group: group, removeAfter: removeAfter, maxRemovalShare: maxRemovalShare, maxNodes: maxNodes)
    }

    /// `check_tls:`; every file named must be readable and hold what its key says (PEM), so
    /// `brother check` catches a wrong path before the first poll fails.
    private static func parseCheckTLS(_ value: LocatedNode?, reader: inout ConfigReader) -> AgentTLSConfiguration? {
        guard let value,
            let fields = reader.entries(
                of: value.node, at: value.path, known: ClusterKeys.checkTLS, hint: "ca_file, certificate, key, server_name, verify")
        else { return nil }
        let map = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        let before = reader.problems.count
        func pemFile(_ key: String, holding marker: String, what: String) -> String? {
            guard let node = map[key], let path = reader.string(node) else { return nil }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                reader.report(node.path, "cannot read \(path) (\(what))")
                return nil
            }
            if !text.contains(marker) { reader.report(node.path, "\(path) holds no PEM \(what) (no \"\(marker)\" line)") }
            return path
        }
        var tls = AgentTLSConfiguration()
        tls.caFile = pemFile("ca_file", holding: "-----BEGIN CERTIFICATE-----", what: "CA certificate")
        tls.certificateFile = pemFile("certificate", holding: "-----BEGIN CERTIFICATE-----", what: "client certificate")
        tls.keyFile = pemFile("key", holding: "PRIVATE KEY-----", what: "private key")
        if (map["certificate"] == nil) != (map["key"] == nil) {
            reader.report(
                "\(value.path).\(map["key"] == nil ? "key" : "certificate")",
                "required with \(map["key"] == nil ? "certificate" : "key"): a client certificate needs its key")
        }
        if let node = map["server_name"], let name = reader.string(node) {
            if name.isEmpty || name.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
                reader.report(node.path, "must be a host name (visible ASCII, no spaces)")
            }
            tls.serverName = name
        }
        tls.verify = reader.bool(map["verify"]) ?? true
        guard reader.problems.count == before else { return nil }
        return tls
    }

    private static func parseNotify(_ value: LocatedNode?, reader: inout ConfigReader) -> NotifyConfiguration? {
        guard let value, let fields = reader.entries(of: value.node, at: value.path, known: ClusterKeys.notify, hint: "command, min_interval") else {
            return nil
        }
        let map = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        let before = reader.problems.count
        var command: [String] = []
        if let node = map["command"] {
            for entry in reader.list(node) ?? [] {
                if let text = reader.string(entry) { command.append(text) }
            }
            if command.isEmpty {
                reader.report(node.path, "must be a non-empty list: the program and its arguments (no shell)")
            } else if !command[0].hasPrefix("/") {
                reader.report("\(node.path)[0]", "must be an absolute path to the program")
            }
        } else {
            reader.report("\(value.path).command", "required: the program and its arguments, as a list")
        }
        let interval = reader.seconds(map["min_interval"], allowZero: true) ?? .seconds(60)
        guard reader.problems.count == before else { return nil }
        return NotifyConfiguration(command: command, minimumInterval: interval)
    }

    private static func parseNode(
        _ entry: LocatedNode, serviceID: VirtualService.ID?, forwarding: ForwardingMethod, defaultRealPort: UInt16, minimumWeight: Int,
        reader: inout ConfigReader
    ) -> NodeConfiguration? {
        let known = ClusterKeys.node
        guard let fields = reader.entries(of: entry.node, at: entry.path, known: known, hint: "node keys", instead: ClusterKeys.nodeInstead) else {
            return nil
        }
        let map = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        let before = reader.problems.count
        var address: IPAddress?
        if let node = map["address"], let text = reader.string(node) {
            address = IPAddress(text)
            if let address {
                checkFamily(address, of: serviceID, forwarding: forwarding, at: node.path, reader: &reader)
            } else {
                reader.report(node.path, "\"\(text)\" is not an IP address")
            }
        } else if map["address"] == nil {
            reader.report("\(entry.path).address", "required: the real server's IP address")
        }
        let port = reader.integer(map["port"], in: 1...65535) ?? 80
        let path = reader.string(map["path"]) ?? "/"
        if let node = map["path"], !path.hasPrefix("/") { reader.report(node.path, "must start with /") }
        let priority = reader.integer(map["priority"], in: Int(Int32.min)...Int(Int32.max)) ?? 0
        let maxWeight = reader.integer(map["max_weight"], in: Int(Int32.min)...Destination.maximumWeight)
        let interpol = reader.bool(map["interpol"]) ?? false
        if interpol, let node = map["interpol"] { reader.warn(node.path, ClusterKeys.ignoredInterpol) }
        let realPort = reader.integer(map["real_port"], in: 0...65535).map { UInt16($0) } ?? defaultRealPort
        let group = reader.string(map["group"])
        let capacity = parseCapacity(map["capacity"], minimumWeight: minimumWeight, reader: &reader)
        guard reader.problems.count == before, let address else { return nil }
        // big_brother caps only with a positive max_weight; 0 and below mean "no cap".
        var node = NodeConfiguration(
            address: address, port: UInt16(port), path: path, priority: priority, maxWeight: (maxWeight ?? 0) > 0 ? maxWeight : nil,
            interpol: interpol, realPort: realPort, capacity: capacity)
        node.group = group
        return node
    }

    /// A node's `capacity`: a whole number, because IPVS weights are integers and a fraction would
    /// be rounded differently at every health (a ratio like 1.5 : 1 is capacity 3 and 2). It is
    /// refused, not clipped, when the largest weight it multiplies (100, or a larger `min_weight`)
    /// would pass the kernel's maximum: a silently clipped node would take less than its share.
    private static func parseCapacity(_ value: LocatedNode?, minimumWeight: Int, reader: inout ConfigReader) -> Int {
        guard let value else { return 1 }
        guard let capacity = reader.integer(value, in: Int.min...Int.max) else { return 1 }
        let largest = max(100, minimumWeight)
        let limit = Destination.maximumWeight / largest
        if capacity < 1 || capacity > limit {
            reader.report(
                value.path,
                "must be 1...\(limit), not \(capacity): the IPVS weight is the node's weight (up to \(largest)) times its capacity, "
                    + "at most \(Destination.maximumWeight)")
        }
        return capacity
    }

    /// Only tunnels may cross address families (IPv6 service over IPv4 tunnel endpoints).
    private static func checkFamily(
        _ address: IPAddress, of serviceID: VirtualService.ID?, forwarding: ForwardingMethod, at path: String, reader: inout ConfigReader
    ) {
        guard let serviceID, address.family != serviceID.family else { return }
        if case .tunnel = forwarding { return }
        reader.report(path, "is \(address.family) but the service is \(serviceID.family); only tunnel forwarding crosses families")
    }

    /// big_brother deep-merges `nagios` key by key: the cluster's fields win.
    private static func parseNagios(_ defaults: LocatedNode?, own: LocatedNode?, reader: inout ConfigReader) -> ClusterConfiguration.Nagios? {
        guard defaults != nil || own != nil else { return nil }
        var nagios = ClusterConfiguration.Nagios()
        for block in [defaults, own].compactMap({ $0 }) {
            for (key, value) in reader.entries(of: block.node, at: block.path, known: ClusterKeys.nagios, hint: "server, check and host") ?? [] {
                let text = reader.string(value)
                switch key {
                case "server": nagios.server = text ?? nagios.server
                case "check": nagios.check = text ?? nagios.check
                default: nagios.host = text ?? nagios.host
                }
            }
        }
        return nagios
    }

    /// The characters of a name outside RFC 3986's unreserved set, as `"x", "y"`; nil when there are none.
    static func unusualCharacters(in name: String) -> String? {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-")
        var seen: [Character] = []
        for character in name where !unreserved.contains(character) && !seen.contains(character) { seen.append(character) }
        guard !seen.isEmpty else { return nil }
        return (seen.count == 1 ? "the character " : "the characters ") + seen.map { "\"\($0)\"" }.joined(separator: ", ")
    }

    private static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 }
    }
}
