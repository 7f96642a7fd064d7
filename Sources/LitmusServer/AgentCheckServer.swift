import LitmusCore
import LitmusWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The HAProxy agent-check protocol on TCP: one reply line (CRLF), then close.
///
/// Multi-port mode: the port names the service. Single-port mode: HAProxy's `agent-send "svc\n"` names it.
/// Replies come from the latest evaluation, so a slow check never delays HAProxy.
public struct AgentCheckServer: ServiceLifecycle.Service {
    public enum Mode: Sendable, Hashable {
        case service(String)
        case named
    }

    public struct Listener: Sendable, Hashable {
        public var host: String
        public var port: Int
        public var mode: Mode

        public init(host: String, port: Int, mode: Mode) {
            self.host = host
            self.port = port
            self.mode = mode
        }
    }

    let listeners: [Listener]
    let state: AgentState
    let logger: Logger
    /// Called with each listener and the port it actually bound (useful with port 0).
    let onListening: @Sendable (Listener, Int) -> Void
    /// How long single-port mode waits for the service name.
    let readTimeout: TimeAmount

    public init(
        listeners: [Listener], state: AgentState, logger: Logger, readTimeout: TimeAmount = .seconds(5),
        onListening: @escaping @Sendable (Listener, Int) -> Void = { _, _ in }
    ) {
        self.listeners = listeners
        self.state = state
        self.logger = logger
        self.readTimeout = readTimeout
        self.onListening = onListening
    }

    /// Listeners for the configured agent-check ports.
    public static func listeners(for settings: AgentCheckSettings) -> [Listener] {
        var result = settings.ports.sorted { $0.key < $1.key }.map { Listener(host: settings.address, port: $0.value, mode: .service($0.key)) }
        if let port = settings.singlePort { result.append(Listener(host: settings.address, port: port, mode: .named)) }
        return result
    }

    public func run() async throws {
        var channels: [(Listener, NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>)] = []
        for listener in listeners {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 256)
                .bind(host: listener.host, port: listener.port) { child in
                    child.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                    }
                }
            let port = channel.channel.localAddress?.port ?? listener.port
            logger.info("agent-check listening", metadata: ["address": "\(listener.host):\(port)", "mode": "\(listener.mode)"])
            onListening(listener, port)
            channels.append((listener, channel))
        }
        let serving = channels
        try await withThrowingDiscardingTaskGroup { group in
            for (listener, channel) in serving {
                group.addTask {
                    try await cancelWhenGracefulShutdown {
                        try await channel.executeThenClose { inbound in
                            try await withThrowingDiscardingTaskGroup { connections in
                                for try await connection in inbound {
                                    connections.addTask { await self.handle(connection, mode: listener.mode) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func handle(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, mode: Mode) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                let reply: AgentCheckReply
                switch mode {
                case .service(let name):
                    reply = await self.reply(for: name)
                case .named:
                    if let name = try await self.readName(inbound) {
                        reply = await self.reply(for: name)
                    } else {
                        reply = .fail(reason: "BAD_INPUT")
                    }
                }
                try await outbound.write(ByteBuffer(string: reply.line))
            }
        } catch {
            logger.debug("agent-check connection ended", metadata: ["error": "\(error)"])
        }
    }

    func reply(for service: String) async -> AgentCheckReply {
        guard let status = await state.status(of: service) else { return .fail(reason: "NOT_FOUND") }
        return status.agentCheckReply
    }

    /// Reads up to the first newline (at most 256 bytes, within the read timeout); `nil` if it is not a valid name.
    func readName(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) async throws -> String? {
        let timeout = readTimeout
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                var collected: [UInt8] = []
                for try await var buffer in inbound {
                    collected += buffer.readBytes(length: buffer.readableBytes) ?? []
                    if collected.contains(UInt8(ascii: "\n")) || collected.count > 256 { break }
                }
                let line = collected.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
                let name = String(decoding: line, as: UTF8.self).filter { $0 != " " && $0 != "\t" }
                return ServiceName.isValid(name) ? name : nil
            }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

