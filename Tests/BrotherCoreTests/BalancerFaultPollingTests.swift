import BrotherCore
import BrotherMonitor
import BrotherServer
import Clocks
import Eventually
import Foundation
import Glibc
import IPVS
import IPVSTesting
import Logging
import NetworkAddress
import Synchronization
import Testing

@testable import BrotherPolling

/// brother's own faults, from the poll thread to the monitor: polls that failed on brother's side
/// are no observation, so no weight moves; the fault is counted, shown and alerted.
@Suite(.serialized) struct BalancerFaultPollingTests {
    static let timeout = Duration.seconds(1)

    /// Opens connections as brother does until `failure` is set, then fails as an exhausted host would.
    final class FailingOpener: Sendable {
        let failure = Mutex<AgentExchangeError?>(nil)

        func open(_ key: AgentKey) throws(AgentExchangeError) -> (fd: Int32, connected: Bool) {
            if let error = failure.withLock({ $0 }) { throw error }
            return try AgentSocket.open(to: key)
        }
    }

    static func fetcher(_ opener: FailingOpener, clock: AgentPollClock = .monotonic) -> HTTPAgentFetcher {
        HTTPAgentFetcher(idleTimeout: .seconds(60), clock: clock, openSocket: { key throws(AgentExchangeError) in try opener.open(key) })
    }

    @Test(arguments: [
        (EMFILE, BalancerFault.fileDescriptors), (ENFILE, .fileDescriptors), (ENOBUFS, .memory), (ENOMEM, .memory),
    ])
    func aSocketBrotherCannotOpenIsABalancerFaultNotUnreachable(_ code: Int32, _ fault: BalancerFault) async throws {
        let server = try await ScriptedAgentServer()
        let opener = FailingOpener()
        // idle timeout 0 path not needed: a fresh fetcher has no kept-alive connection to reuse.
        opener.failure.withLock { $0 = .socket(call: "socket", errno: code) }
        let fetcher = Self.fetcher(opener)
        let poll = await fetcher.poll(AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: "/ok/status"), timeout: Self.timeout)
        #expect(poll.observation == .balancerFault(fault))
        #expect(poll.problem == "socket: \(String(cString: strerror(code)))")
        #expect(server.acceptedConnections == 0)
        try await fetcher.shutdown()
        await server.stop()
    }

    /// A real EMFILE, not a seam: in a child process (an exit test, so this process's limit and
    /// descriptors are untouched), the descriptor limit is lowered to what is open and every free
    /// number below it taken; the poll loop's own socket() then fails as it would in brother.
    @Test func aRealEMFILEInAChildProcessIsABalancerFault() async {
        await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            // The poll thread, its epoll set and its wake-up exist before the limit falls, as in a
            // brother that has been running for a while.
            let fetcher = HTTPAgentFetcher()
            let anchor = open("/dev/null", O_RDONLY)
            let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
            var limit = rlimit()
            guard anchor >= 0, let highest = open.max(), getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(3) }
            limit.rlim_cur = rlim_t(highest + 1)
            guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(4) }
            while dup(anchor) >= 0 {}
            guard errno == EMFILE else { exit(5) }
            let poll = await fetcher.poll(AgentTarget(address: IPAddress("127.0.0.1")!, port: 9, path: "/"), timeout: .seconds(1))
            FileHandle.standardError.write(Data("\(poll)\n".utf8))
            exit(poll.observation == .balancerFault(.fileDescriptors) && poll.problem == "socket: Too many open files" ? 0 : 1)
        }
    }

    /// The poll thread that cannot start, for real: in a child process with no descriptor left,
    /// the fetcher's epoll set cannot be made, and every poll of a round says so as brother's
    /// fault, where it used to say every node was unreachable.
    @Test func aPollThreadThatCouldNotStartIsABalancerFaultForEveryNode() async {
        await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            let anchor = open("/dev/null", O_RDONLY)
            let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
            var limit = rlimit()
            guard anchor >= 0, let highest = open.max(), getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(3) }
            limit.rlim_cur = rlim_t(highest + 1)
            guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(4) }
            while dup(anchor) >= 0 {}
            guard errno == EMFILE else { exit(5) }
            let fetcher = HTTPAgentFetcher()
            let target = AgentTarget(address: IPAddress("127.0.0.1")!, port: 9, path: "/")
            let polls = await fetcher.pollAll(["a": target, "b": target], timeout: .seconds(1), jitter: .zero)
            FileHandle.standardError.write(Data("\(polls)\n".utf8))
            let allFaults = polls.count == 2 && polls.values.allSatisfy { $0.observation == .balancerFault(.pollThread) }
            exit(allFaults && polls["a"]?.problem?.hasPrefix("brother's poll loop could not start: ") == true ? 0 : 1)
        }
    }

    @Test func theAgentsOwnFailuresStayTheNodes() {
        #expect(HTTPAgentFetcher.balancerFault(AgentExchangeError.socket(call: "connect", errno: ECONNREFUSED)) == nil)
        #expect(HTTPAgentFetcher.balancerFault(AgentExchangeError.socket(call: "connect", errno: EHOSTUNREACH)) == nil)
        #expect(HTTPAgentFetcher.balancerFault(AgentExchangeError.socket(call: "read", errno: ECONNRESET)) == nil)
        #expect(HTTPAgentFetcher.balancerFault(AgentExchangeError.timedOut) == nil)
        #expect(HTTPAgentFetcher.balancerFault(AgentExchangeError.socket(call: "epoll_ctl", errno: ENOSPC)) == .pollThread)
    }

    /// The overrun rule: a deadline the poll thread sees more than max(timeout / 2, 1 s) late is
    /// brother's lateness; at the deadline or within that, the agent's silence.
    @Test(arguments: [(Duration.zero, false), (.seconds(1), false), (.milliseconds(1001), true), (.seconds(30), true)])
    func aDeadlineTheLoopSeesLateIsAnOverrun(_ late: Duration, _ isOverrun: Bool) async throws {
        let server = try await ScriptedAgentServer()
        let clock = ManualClock()
        let fetcher = HTTPAgentFetcher(clock: .manual(clock))
        async let polled = fetcher.poll(
            AgentTarget(address: IPAddress("127.0.0.1")!, port: server.port, path: "/hung/status"), timeout: Self.timeout)
        await server.requestsArrived(1)
        // One step: the poll thread wakes only now, `late` after the deadline.
        clock.advance(by: Self.timeout + late)
        let poll = await polled
        #expect(poll.observation == (isOverrun ? .balancerFault(.overrun) : .unreachable), "\(poll)")
        try await fetcher.shutdown()
        await server.stop()
    }

    // MARK: the monitor

    static let service = VirtualService.ID.address(IPAddress("198.51.100.10")!, port: 80, protocol: .tcp)

    static func configuration(agentPort: UInt16) throws -> BrotherConfiguration {
        try BrotherConfiguration(
            yaml: """
                clusters:
                  - cluster_name: web
                    service: "TCP 198.51.100.10:80"
                    forwarding: masq
                    ramp_up_time: 0
                    poll_timeout: 2
                    panic_threshold: off
                    unreachable_hold: 0
                    notify: {command: [/bin/true], min_interval: 0}
                    nodes:
                      - {address: 127.0.0.1, port: \(agentPort), path: /ok/status, real_port: 8081}
                      - {address: 127.0.0.1, port: \(agentPort), path: /body/status, real_port: 8082}
                """, source: "test.yml")
    }

    static func weights(_ fake: FakeIPVS) async throws -> [Int] {
        try await fake.destinations(of: service).map(\.destination.weight).sorted()
    }

    @Test func outOfDescriptorsForEveryNodeKeepsEveryWeightAndIsCountedShownAndAlerted() async throws {
        let server = try await ScriptedAgentServer()
        let opener = FailingOpener()
        let fetcher = Self.fetcher(opener)
        let fake = FakeIPVS()
        let recorded = RecordedCommands()
        let notifier = AlertNotifier(logger: Logger(label: "test")) { argv, environment, _ in await recorded.add(argv, environment) }
        let monitor = try ClusterMonitor(
            configuration: try Self.configuration(agentPort: server.port), ipvs: fake, fetcher: fetcher, store: nil, logger: Logger(label: "test"),
            notifier: notifier)
        try await AlertNotifierTests.running(notifier) {
            await monitor.runRound(cluster: "web")
            #expect(try await Self.weights(fake) == [42, 87])
            // Kept-alive connections would carry the next polls without a socket(): close them.
            try await fetcher.shutdown()
            await fake.resetRecording()

            // brother runs out of descriptors: with rise = fall = 1, no panic guard and no hold,
            // counting that as unreachable would zero both nodes in this round.
            opener.failure.withLock { $0 = .socket(call: "socket", errno: EMFILE) }
            await monitor.runRound(cluster: "web")
            await monitor.runRound(cluster: "web")
            #expect(try await Self.weights(fake) == [42, 87])
            #expect(await fake.appliedChanges.isEmpty, "not one write")
            let status = try #require(await monitor.status(of: "web"))
            #expect(status.lastPolls.values.allSatisfy { $0.observation == .balancerFault(.fileDescriptors) })
            #expect(status.faults.map(\.kind) == [.balancerFault])
            #expect(ClusterView(status).faults.first?.hasPrefix("balancer_fault: ") == true)
            let counters = await monitor.counters
            #expect(counters.clusters["web"]?.balancerFaults["file_descriptors"] == 2)
            #expect(counters.clusters["web"]?.pollFailures["unreachable"] == nil)
            let metrics = PrometheusText.render(statuses: [status], counters: counters)
            #expect(metrics.contains("brother_balancer_faults_total{cluster=\"web\",kind=\"file_descriptors\"} 2\n"))
            #expect(metrics.contains("brother_poll_failures_total{cluster=\"web\",cause=\"unreachable\"} 0\n"))

            // Descriptors are back: the end is told, and the agents are heard again.
            opener.failure.withLock { $0 = nil }
            await monitor.runRound(cluster: "web")
            #expect(await monitor.status(of: "web")?.faults.isEmpty == true)
            await eventually("the notifier runs the command for the fault's end") {
                await recorded.environments.contains { $0["BROTHER_EVENT"] == "balancer_fault_cleared" }
            }
        }
        let events = await recorded.environments.map { $0["BROTHER_EVENT"] ?? "" }
        #expect(events.filter { $0 == "balancer_fault" }.count == 1, "once when it starts, not per round or node: \(events)")
        #expect(!events.contains("node_down"))
        try await fetcher.shutdown()
        await server.stop()
    }

    @Test func aFailedKernelWriteFreezesNodeStatesAndRaisesKernelWrite() async throws {
        let server = try await ScriptedAgentServer()
        let fetcher = HTTPAgentFetcher()
        let fake = FakeIPVS()
        let monitor = try ClusterMonitor(
            configuration: try Self.configuration(agentPort: server.port), ipvs: fake, fetcher: fetcher, store: nil, logger: Logger(label: "test"))
        await monitor.runRound(cluster: "web")
        let settled = try #require(await monitor.status(of: "web"))
        #expect(try await Self.weights(fake) == [42, 87])

        // The kernel refuses the whole apply, and meanwhile the agents die (refused: weight 0 at
        // once when committed). The round's fall must not be committed: the kernel never took it.
        await fake.setFailure(.permissionDenied(operation: "apply"))
        await server.stop()
        await monitor.runRound(cluster: "web")
        let failed = try #require(await monitor.status(of: "web"))
        #expect(failed.states == settled.states, "no policy step committed")
        #expect(failed.lastDecision == settled.lastDecision)
        #expect(failed.lastRound == settled.lastRound)
        #expect(failed.faults.map(\.kind) == [.kernelWrite])
        #expect(failed.lastError != nil)
        #expect(await monitor.counters.clusters["web"]?.balancerFaults["kernel_write"] == 1)

        // The kernel takes writes again: the next round steps from the frozen states.
        await fake.setFailure(nil)
        await monitor.runRound(cluster: "web")
        let recovered = try #require(await monitor.status(of: "web"))
        #expect(recovered.faults.isEmpty)
        #expect(recovered.lastError == nil)
        #expect(recovered.events.events.contains { $0.message.hasPrefix("kernel_write cleared") })
        #expect(try await Self.weights(fake) == [0, 0])
        try await fetcher.shutdown()
    }
}
