import HTTPServing
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
///
/// Connections count against a ``ConnectionTable``, in litmus the one its HTTP listeners share: a
/// client that opens agent-check connections and sends nothing holds slots only until newer
/// connections (HTTP or agent-check) take them back, and never the descriptors the checks need.
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
    /// Admission and the caps on connections.
    let table: ConnectionTable

    /// - Parameter table: the caps; by default HTTPServing's default caps, for these listeners alone.
    public init(
        listeners: [Listener], state: AgentState, logger: Logger, readTimeout: TimeAmount = .seconds(5),
        table: ConnectionTable = ConnectionTable(tcp: ConnectionLimits()),
        onListening: @escaping @Sendable (Listener, Int) -> Void = { _, _ in }
    ) {
        self.listeners = listeners
        self.state = state
        self.logger = logger
        self.readTimeout = readTimeout
        self.table = table
        self.onListening = onListening
    }

    /// Listeners for the configured agent-check ports.
    public static func listeners(for settings: AgentCheckSettings) -> [Listener] {
        var result = settings.ports.sorted { $0.key < $1.key }.map { Listener(host: settings.address, port: $0.value, mode: .service($0.key)) }
        if let port = settings.singlePort { result.append(Listener(host: settings.address, port: port, mode: .named)) }
        return result
    }

    /// Binds every port, serves until graceful shutdown or cancellation, then closes the listening sockets.
    public func run() async throws {
        var channels: [any Channel] = []
        defer { channels.forEach { $0.close(promise: nil) } }
        let state = self.state
        let lookup: @Sendable (String) async -> AgentCheckReply = { name in
            guard let status = await state.status(of: name) else { return .fail(reason: "NOT_FOUND") }
            return status.agentCheckReply
        }
        let (table, logger) = (self.table, self.logger)
        for listener in listeners {
            let timeout = readTimeout
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 256)
                // HAProxy half-closes its side when it has nothing to send (multi-port mode); the reply,
                // computed asynchronously, must still go out, so EOF must not close the channel.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { child in
                    switch table.admitOrClose(child, now: .now(), kind: "agent-check", logger: logger) {
                    case .failure(let refused):
                        return child.eventLoop.makeFailedFuture(refused)
                    case .success(let id):
                        return child.eventLoop.makeCompletedFuture {
                            let handler = AgentCheckHandler(mode: listener.mode, readTimeout: timeout, table: table, id: id, lookup: lookup)
                            try child.pipeline.syncOperations.addHandler(handler)
                        }
                    }
                }
                .bind(host: listener.host, port: listener.port)
                .get()
            channels.append(channel)
            let port = channel.localAddress?.port ?? listener.port
            logger.info("agent-check listening", metadata: ["address": "\(listener.host):\(port)", "mode": "\(listener.mode)"])
            onListening(listener, port)
        }
        // Serving happens on the event loops; this task only waits for the signal to stop.
        try? await gracefulShutdown()
    }
}

/// Answers one agent-check connection. Lives on its channel's event loop.
final class AgentCheckHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let mode: AgentCheckServer.Mode
    let readTimeout: TimeAmount
    let table: ConnectionTable
    let id: ConnectionTable.ID
    let lookup: @Sendable (String) async -> AgentCheckReply
    private var received: [UInt8] = []
    private var answered = false
    private var timeoutTask: Scheduled<Void>?

    init(
        mode: AgentCheckServer.Mode, readTimeout: TimeAmount, table: ConnectionTable, id: ConnectionTable.ID,
        lookup: @escaping @Sendable (String) async -> AgentCheckReply
    ) {
        self.mode = mode
        self.readTimeout = readTimeout
        self.table = table
        self.id = id
        self.lookup = lookup
    }

    func channelActive(context: ChannelHandlerContext) {
        switch mode {
        case .service(let name):
            answer(context: context, name: name)
        case .named:
            let channel = context.channel
            timeoutTask = context.eventLoop.scheduleTask(in: readTimeout) {
                AgentCheckHandler.send(.fail(reason: "BAD_INPUT"), on: channel)
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .named = mode, !answered else { return }
        var buffer = unwrapInboundIn(data)
        received += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let end = received.firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) ?? (received.count > 256 ? 256 : nil)
        else { return }
        let name = String(decoding: received[..<end], as: UTF8.self).filter { $0 != " " && $0 != "\t" }
        guard ServiceName.isValid(name) else {
            answered = true
            timeoutTask?.cancel()
            AgentCheckHandler.send(.fail(reason: "BAD_INPUT"), on: context.channel)
            return
        }
        answer(context: context, name: name)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // End of input: single-port mode answers with what it has; multi-port mode is already answering.
        if case .some(.inputClosed) = event as? ChannelEvent, case .named = mode, !answered {
            received.append(UInt8(ascii: "\n"))
            channelRead(context: context, data: NIOAny(ByteBuffer()))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(context: ChannelHandlerContext, name: String) {
        answered = true
        // Being answered: a new connection at a cap no longer takes this one's place.
        table.answering(id)
        timeoutTask?.cancel()
        let channel = context.channel
        let promise = context.eventLoop.makePromise(of: AgentCheckReply.self)
        let lookup = self.lookup
        promise.completeWithTask { await lookup(name) }
        promise.futureResult.whenSuccess { reply in AgentCheckHandler.send(reply, on: channel) }
    }

    static func send(_ reply: AgentCheckReply, on channel: any Channel) {
        channel.writeAndFlush(ByteBuffer(string: reply.line)).whenComplete { _ in channel.close(promise: nil) }
    }
}
