import Testing

@testable import BrotherPolling

/// The poll thread's idle sweep compares clock readings taken at different moments of one pass: a
/// connection checked in by a last look at a poll on its deadline carries a reading later than the
/// pass's own. That must read as "not idle yet", never as an unsigned underflow (a trap that took
/// brother down while it polled 10,000 agents in User-Mode Linux).
@Suite struct AgentPollLoopElapsedTests {
    @Test func aReadingLaterThanNowIsNoTimeAtAll() {
        #expect(AgentPollLoop.elapsed(since: 5_000_000_001, now: 5_000_000_000) == 0)
        #expect(AgentPollLoop.elapsed(since: .max, now: 0) == 0)
    }

    @Test func anEarlierReadingIsTheTimeBetween() {
        #expect(AgentPollLoop.elapsed(since: 1_000_000_000, now: 61_000_000_000) == 60_000_000_000)
        #expect(AgentPollLoop.elapsed(since: 7, now: 7) == 0)
    }
}
