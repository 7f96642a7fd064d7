import NIOCore
import Testing

@testable import HTTPServing

/// Whose turn it is on a connection, and its deadline, through a connection's life.
@Suite struct ConnectionTurnTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static func at(_ milliseconds: Int64) -> NIODeadline { t0 + .milliseconds(milliseconds) }

    static func turn() -> ConnectionTurn {
        ConnectionTurn(openedAt: t0, readTimeout: .seconds(10), idleTimeout: .seconds(75))
    }

    @Test func aNewConnectionHasTheReadTimeoutFromItsOpening() {
        var turn = Self.turn()
        #expect(turn.phase == .reading(since: Self.t0))
        #expect(turn.deadline == Self.t0 + .seconds(10))
        let changedByBytes = turn.bytesArrived(now: Self.at(9000))
        #expect(!changedByBytes, "half a head gets no more time than silence")
        #expect(turn.deadline == Self.t0 + .seconds(10))
    }

    @Test func aRequestIsAnsweredThenTheConnectionIdles() {
        var turn = Self.turn()
        _ = turn.bytesArrived(now: Self.at(5))
        let changedByHead = turn.headRead(now: Self.at(6))
        #expect(!changedByHead)
        let changedByEnd = turn.requestEndRead(now: Self.at(6))
        #expect(changedByEnd)
        #expect(turn.phase == .answering && turn.deadline == nil, "no deadline while the daemon answers")
        let changedByAnswer = turn.responseWritten(now: Self.at(7))
        #expect(changedByAnswer)
        #expect(turn.phase == .idle(since: Self.at(7)))
        #expect(turn.deadline == Self.at(7) + .seconds(75))
        // The next request's first bytes start the read timeout.
        let changedByNextRequest = turn.bytesArrived(now: Self.at(1000))
        #expect(changedByNextRequest)
        #expect(turn.deadline == Self.at(1000) + .seconds(10))
    }

    @Test func aBodyStillComingIsTheClientsTurn() {
        var turn = Self.turn()
        _ = turn.bytesArrived(now: Self.at(1))
        _ = turn.headRead(now: Self.at(1))
        #expect(turn.phase == .reading(since: Self.t0), "the head and the body share one read timeout")
        _ = turn.bytesArrived(now: Self.at(2))
        #expect(turn.phase == .reading(since: Self.t0))
        // Answered before its body was read: still reading until the end arrives, then idle.
        _ = turn.responseWritten(now: Self.at(3))
        #expect(turn.phase == .reading(since: Self.t0))
        _ = turn.requestEndRead(now: Self.at(4))
        #expect(turn.phase == .idle(since: Self.at(4)))
    }

    @Test func aPipelinedRequestBegunDuringAnAnswerIsReadFromWhenTheAnswerIsWritten() {
        var turn = Self.turn()
        _ = turn.headRead(now: Self.at(1))
        _ = turn.requestEndRead(now: Self.at(1))
        _ = turn.bytesArrived(now: Self.at(2))
        #expect(turn.phase == .answering)
        _ = turn.responseWritten(now: Self.at(3))
        #expect(turn.phase == .reading(since: Self.at(3)))
    }
}
