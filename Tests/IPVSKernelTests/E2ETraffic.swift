import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Real client traffic for the end-to-end tests: a client host (and optionally a sorry-server host)
/// in network namespaces of their own behind the balancer, routes back through the balancer for the
/// nodes, and TCP servers created by this process inside the node namespaces. A connection through
/// a VIP is accepted by exactly one of the listeners, so a test knows which server IPVS chose.
final class E2ETraffic {
    /// A host on its own /30 link to the balancer (this test's namespace).
    struct Host {
        var namespace: String
        var link: String
        var balancerSide: String
        var address: String
    }

    static let client = Host(namespace: "e2e-c", link: "v-e2ec", balancerSide: "192.0.2.13", address: "192.0.2.14")
    static let sorryHost = Host(namespace: "e2e-s", link: "v-e2es", balancerSide: "192.0.2.17", address: "192.0.2.18")

    private var hosts: [Host] = []
    private var vips: [String] = []
    private var cleanups: [[String]] = []
    private var listeners: [TCPSocket] = []
    private let savedSysctls: [String: String]

    /// Sets the balancer up as a router (IPVS masquerading answers on the forward path), gives each
    /// node namespace a default route back through it, and adds the client host.
    init(stack: E2EStack) throws {
        // Tunnelled nodes answer from the VIP, which the balancer holds too: it forwards those
        // replies only with accept_local (a local source address arriving from outside).
        let sysctls = ["net.ipv4.ip_forward", "net.ipv4.conf.all.accept_local"]
        var saved: [String: String] = [:]
        for name in sysctls { saved[name] = try Command.check(["sysctl", "-n", name]).trimmingCharacters(in: .whitespacesAndNewlines) }
        savedSysctls = saved
        for name in sysctls { try Command.check(["sysctl", "-qw", "\(name)=1"]) }
        for node in E2EStack.nodes {
            try Command.check(["ip", "-n", node.namespace, "route", "replace", "default", "via", node.balancerSide])
        }
        try addHost(Self.client)
    }

    /// Another host behind the balancer (the sorry server's).
    func addHost(_ host: Host) throws {
        _ = try? Command.run(["ip", "netns", "del", host.namespace])
        try Command.check(["ip", "netns", "add", host.namespace])
        hosts.append(host)
        try Command.check(["ip", "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
        try Command.check(["ip", "addr", "add", "\(host.balancerSide)/30", "dev", host.link])
        try Command.check(["ip", "link", "set", host.link, "up"])
        try Command.check(["ip", "-n", host.namespace, "addr", "add", "\(host.address)/30", "dev", "eth0"])
        try Command.check(["ip", "-n", host.namespace, "link", "set", "eth0", "up"])
        try Command.check(["ip", "-n", host.namespace, "link", "set", "lo", "up"])
        try Command.check(["ip", "-n", host.namespace, "route", "add", "default", "via", host.balancerSide])
    }

    /// A VIP on the balancer's loopback: IPVS takes packets on the local-input path.
    func addVIP(_ address: String) throws {
        try Command.check(["ip", "addr", "replace", "\(address)/32", "dev", "lo"])
        vips.append(address)
    }

    /// A command undone by ``tearDown()`` (run in reverse order, failures ignored).
    func onTearDown(_ arguments: [String]) { cleanups.append(arguments) }

    /// A TCP server inside `namespace`: the socket belongs to the namespace it was created in, so
    /// this thread enters it only to create the socket.
    func listen(in namespace: String, address: String, port: UInt16) throws -> TCPSocket {
        let socket = try NetworkNamespace.run(in: namespace) { try TCPSocket.listen(address: address, port: port) }
        listeners.append(socket)
        return socket
    }

    /// One request from the client host to `vip:port`: connects, finds which of `servers` accepted
    /// it, and checks that a line goes there and the server's answer comes back.
    /// - Returns: the name of the server that answered.
    func exchange(_ vip: String, _ port: UInt16, servers: [String: TCPSocket]) throws -> String {
        let client = try NetworkNamespace.run(in: Self.client.namespace) { try TCPSocket.connect(address: vip, port: port) }
        defer { client.close() }
        let (name, accepted) = try Self.acceptOne(servers)
        defer { accepted.close() }
        try client.send("hello \(vip)\n")
        let request = try accepted.receiveLine()
        guard request == "hello \(vip)" else { throw TCPSocket.Failure(operation: "server \(name) read '\(request)'", code: EPROTO) }
        try accepted.send("answer from \(name)\n")
        let answer = try client.receiveLine()
        guard answer == "answer from \(name)" else { throw TCPSocket.Failure(operation: "client read '\(answer)'", code: EPROTO) }
        return name
    }

    /// A connection from the client host to `vip:port` that stays open, with the server's end.
    func openConnection(_ vip: String, _ port: UInt16, servers: [String: TCPSocket]) throws -> (client: TCPSocket, server: TCPSocket, name: String) {
        let client = try NetworkNamespace.run(in: Self.client.namespace) { try TCPSocket.connect(address: vip, port: port) }
        do {
            let (name, accepted) = try Self.acceptOne(servers)
            try client.send("hold\n")
            guard try accepted.receiveLine() == "hold" else { throw TCPSocket.Failure(operation: "held connection", code: EPROTO) }
            return (client, accepted, name)
        } catch {
            client.close()
            throw error
        }
    }

    /// Whether a connection from the client host to `vip:port` is refused (reset or ICMP unreachable),
    /// which is how the balancer answers a VIP nothing serves.
    func isRefused(_ vip: String, _ port: UInt16) throws -> Bool {
        do {
            let client = try NetworkNamespace.run(in: Self.client.namespace) { try TCPSocket.connect(address: vip, port: port) }
            client.close()
            return false
        } catch let failure as TCPSocket.Failure where failure.code == ECONNREFUSED {
            return true
        }
    }

    /// Waits (up to 10 s, a hang guard) for one of the listeners to have a connection, and accepts it.
    private static func acceptOne(_ servers: [String: TCPSocket]) throws -> (String, TCPSocket) {
        let named = servers.sorted { $0.key < $1.key }
        var descriptors = named.map { pollfd(fd: $0.value.descriptor, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&descriptors, nfds_t(descriptors.count), 10_000)
        guard ready > 0, let index = descriptors.firstIndex(where: { $0.revents & Int16(POLLIN) != 0 }) else {
            throw TCPSocket.Failure(operation: "no server of \(named.map(\.key)) got the connection", code: ready == 0 ? ETIMEDOUT : errno)
        }
        return (named[index].key, try named[index].value.accept())
    }

    func tearDown() {
        for socket in listeners { socket.close() }
        for arguments in cleanups.reversed() { _ = try? Command.run(arguments) }
        for vip in vips { _ = try? Command.run(["ip", "addr", "del", "\(vip)/32", "dev", "lo"]) }
        for host in hosts {
            _ = try? Command.run(["ip", "link", "del", host.link])
            _ = try? Command.run(["ip", "netns", "del", host.namespace])
        }
        for (name, value) in savedSysctls { _ = try? Command.run(["sysctl", "-qw", "\(name)=\(value)"]) }
    }

    /// Destination → (forwarding, weight, active connections) of one IPVS service, as ipvsadm lists
    /// it (`service`: `-t ADDRESS:PORT` or `-f MARK`); empty when the service is not there.
    static func destinations(_ service: [String]) throws -> [String: (forwarding: String, weight: Int, active: Int)] {
        let output = try Command.run(["ipvsadm", "-Ln"] + service)
        guard output.status == 0 else { return [:] }
        var result: [String: (forwarding: String, weight: Int, active: Int)] = [:]
        for line in output.stdout.split(separator: "\n") where line.contains("->") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 5, fields[1] != "RemoteAddress:Port", let weight = Int(fields[3]), let active = Int(fields[4]) else { continue }
            result[fields[1]] = (fields[2], weight, active)
        }
        return result
    }

    /// Destination → weight.
    static func weights(_ service: [String]) throws -> [String: Int] { try destinations(service).mapValues(\.weight) }
}

/// Entering a network namespace on the calling thread for the length of a synchronous closure.
enum NetworkNamespace {
    /// `setns(2)` is not in Swift's Glibc module (glibc declares it only under _GNU_SOURCE): look it
    /// up in the C library at run time rather than add a product shim for a test-only call.
    private typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
    private static let newNetworkNamespace: Int32 = 0x4000_0000  // CLONE_NEWNET

    static func run<T>(in namespace: String, _ body: () throws -> T) throws -> T {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setns") else {
            throw TCPSocket.Failure(operation: "find setns in the C library", code: ENOSYS)
        }
        let setNamespace = unsafeBitCast(symbol, to: SetNamespace.self)
        let own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard own >= 0 else { throw TCPSocket.Failure(operation: "open this thread's network namespace", code: errno) }
        defer { close(own) }
        let target = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw TCPSocket.Failure(operation: "open network namespace \(namespace)", code: errno) }
        defer { close(target) }
        guard setNamespace(target, newNetworkNamespace) == 0 else { throw TCPSocket.Failure(operation: "enter \(namespace)", code: errno) }
        // No suspension point until the thread is back: it belongs to the cooperative pool.
        defer { precondition(setNamespace(own, newNetworkNamespace) == 0, "cannot return this thread to its network namespace") }
        return try body()
    }
}

extension TCPSocket {
    /// Reads up to a newline (which is dropped), one byte at a time so nothing after it is consumed,
    /// within the socket's receive timeout (5 s, set when it was made).
    func receiveLine() throws -> String {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = recv(descriptor, &byte, 1, 0)
            guard count > 0 else {
                throw TCPSocket.Failure(operation: "receive (\(count == 0 ? "closed by the peer" : "error"))", code: count == 0 ? ECONNRESET : errno)
            }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }
}
