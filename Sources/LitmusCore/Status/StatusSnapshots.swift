import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A service's status rendered once per change (evaluation, force, reload), for the status hot path.
public struct RenderedStatus: Sendable {
    public let status: ServiceStatus
    /// litmus_paper's status body, already encoded.
    public let body: ByteBuffer
    /// After this the snapshot may be wrong (the result turns stale or a force expires): ask the state instead.
    public let validUntil: Date
}

/// The latest rendered status per service, readable without an actor hop.
///
/// `AgentState` is the only writer and republishes after every change; readers that find no valid snapshot
/// fall back to the actor, so the cache can be stale only in ways that it detects itself.
public final class StatusSnapshots: Sendable {
    private let snapshots = Mutex<[String: RenderedStatus]>([:])

    public init() {}

    /// The snapshot for `service` if it is still valid at `now`.
    public func lookup(_ service: String, now: Date) -> RenderedStatus? {
        guard let snapshot = snapshots.withLock({ $0[service] }), now < snapshot.validUntil else { return nil }
        return snapshot
    }

    func publish(_ statuses: [ServiceStatus], stalenessLimit: Duration) {
        var rendered: [String: RenderedStatus] = [:]
        for status in statuses {
            var validUntil = status.evaluatedAt.map { $0.addingTimeInterval(stalenessLimit.seconds) } ?? .distantFuture
            for force in [status.forced].compactMap({ $0 }) + status.otherForces {
                if let expiry = force.expiresAt { validUntil = min(validUntil, expiry) }
            }
            rendered[status.service] = RenderedStatus(status: status, body: ByteBuffer(string: StatusText.status(status)), validUntil: validUntil)
        }
        snapshots.withLock { $0 = rendered }
    }
}
