import IPVS
import IPVSTesting
import NetworkAddress
import Testing

@Suite struct IPVSPlanTests {
    static let id = Fixtures.mark7
    static func node(_ last: UInt8, weight: Int) -> Destination {
        Destination(id: .init(address: IPAddress(bytes: [192, 0, 2, last])!, port: 0), forwarding: .directRouting, weight: weight)
    }

    @Test func emptyKernelGetsServiceThenDestinations() {
        let desired = IPVSDesiredState([
            .init(service: VirtualService(id: Self.id), destinations: [Self.node(2, weight: 5), Self.node(1, weight: 3)])
        ])
        let plan = IPVSPlan(desired: desired, actual: IPVSTable(), owned: [Self.id])
        #expect(
            plan.changes == [
                .addService(VirtualService(id: Self.id)),
                .addDestination(Self.node(1, weight: 3), service: Self.id),
                .addDestination(Self.node(2, weight: 5), service: Self.id),
            ])
    }

    @Test func matchingKernelNeedsNothing() async throws {
        let fake = FakeIPVS()
        let desired = IPVSDesiredState([.init(service: VirtualService(id: Self.id), destinations: [Self.node(1, weight: 3)])])
        _ = try await fake.apply(desired: desired)
        await fake.resetRecording()
        let report = try await fake.apply(desired: desired)
        #expect(report.plan.changes.isEmpty)
        #expect(await fake.batchCount == 0, "no write at all when the kernel already matches")
    }

    @Test func onlyChangedWeightsAreWritten() async throws {
        let fake = FakeIPVS()
        let nodes = (1...5).map { Self.node(UInt8($0), weight: 10) }
        _ = try await fake.apply(desired: IPVSDesiredState([.init(service: VirtualService(id: Self.id), destinations: nodes)]))
        await fake.resetRecording()
        var changed = nodes
        changed[3].weight = 0
        let report = try await fake.apply(desired: IPVSDesiredState([.init(service: VirtualService(id: Self.id), destinations: changed)]))
        #expect(report.batch.isSuccess)
        #expect(await fake.appliedChanges == [.updateDestination(changed[3], service: Self.id)])
        #expect(await fake.batchCount == 1)
    }

    @Test func staleDestinationsGoAndServiceSettingsAreUpdated() {
        var actual = IPVSTable()
        actual.entries[Self.id] = .init(
            status: VirtualServiceStatus(service: VirtualService(id: Self.id, scheduler: .roundRobin)),
            destinations: [DestinationStatus(destination: Self.node(1, weight: 1)), DestinationStatus(destination: Self.node(9, weight: 1))])
        let wanted = VirtualService(id: Self.id, scheduler: .weightedRoundRobin)
        let plan = IPVSPlan(desired: IPVSDesiredState([.init(service: wanted, destinations: [Self.node(1, weight: 1)])]), actual: actual, owned: [])
        #expect(plan.changes == [.updateService(wanted), .removeDestination(Self.node(9, weight: 1).id, service: Self.id)])
    }

    @Test func servicesNotOwnedAreNeverTouched() {
        var actual = IPVSTable()
        let foreign = Fixtures.web
        let formerlyOurs = Fixtures.mark9v6
        actual.entries[foreign] = .init(status: VirtualServiceStatus(service: VirtualService(id: foreign)), destinations: [])
        actual.entries[formerlyOurs] = .init(status: VirtualServiceStatus(service: VirtualService(id: formerlyOurs)), destinations: [])
        let plan = IPVSPlan(desired: IPVSDesiredState(), actual: actual, owned: [formerlyOurs])
        #expect(plan.changes == [.removeService(formerlyOurs)])
    }

    @Test func fakeReportsKernelStyleFailuresAndKeepsGoing() async throws {
        let fake = FakeIPVS()
        let ghost = Self.node(77, weight: 1)
        let report = try await fake.apply([
            .addService(VirtualService(id: Self.id)),
            .updateDestination(ghost, service: Self.id),
            .addService(VirtualService(id: Self.id)),
            .addDestination(ghost, service: Self.id),
        ])
        #expect(report.failures.map(\.index) == [1, 2])
        #expect(report.failures.map(\.error) == [.destinationNotFound(ghost.id, service: Self.id), .serviceExists(Self.id)])
        #expect(try await fake.destinations(of: Self.id).map(\.destination) == [ghost])
    }

    static func undecodable(_ last: UInt8, of service: VirtualService.ID) -> IPVSUndecodable {
        IPVSUndecodable(
            kind: .destination, service: service, destination: .init(address: IPAddress(bytes: [192, 0, 2, last])!, port: 0),
            reason: "unknown forwarding method 7", attributes: "3=07000000")
    }

    @Test func anUndecodableDestinationIsNeitherWrittenNorDeleted() {
        var actual = IPVSTable()
        actual.entries[Self.id] = .init(
            status: VirtualServiceStatus(service: VirtualService(id: Self.id)),
            destinations: [DestinationStatus(destination: Self.node(3, weight: 1))])
        // 192.0.2.1 is wanted but the kernel holds it in a form the codec cannot read; 192.0.2.9 is not wanted.
        actual.undecodable = [Self.undecodable(1, of: Self.id), Self.undecodable(9, of: Self.id)]
        let desired = IPVSDesiredState([
            .init(service: VirtualService(id: Self.id), destinations: [Self.node(1, weight: 5), Self.node(2, weight: 5)])
        ])
        let plan = IPVSPlan(desired: desired, actual: actual, owned: [Self.id])
        #expect(
            plan.changes == [
                .removeDestination(Self.node(3, weight: 1).id, service: Self.id),
                .addDestination(Self.node(2, weight: 5), service: Self.id),
            ])
        let untouchable = Set(actual.undecodable.compactMap(\.destination))
        #expect(plan.changes.allSatisfy { $0.destinationID.map { !untouchable.contains($0) } ?? true })
    }

    @Test func anOwnedServiceHoldingAnUndecodableDestinationIsEmptiedNotRemoved() {
        var actual = IPVSTable()
        actual.entries[Self.id] = .init(
            status: VirtualServiceStatus(service: VirtualService(id: Self.id)),
            destinations: [DestinationStatus(destination: Self.node(3, weight: 1))])
        actual.undecodable = [Self.undecodable(1, of: Self.id)]
        let plan = IPVSPlan(desired: IPVSDesiredState(), actual: actual, owned: [Self.id])
        #expect(plan.changes == [.removeDestination(Self.node(3, weight: 1).id, service: Self.id)], "removing the service would delete it")
    }

    @Test func anUndecodableServiceIsLeftWhole() {
        let unreadable = IPVSUndecodable(kind: .service, service: Self.id, reason: "FWM 7 has no scheduler name", attributes: "1=0200 5=07000000")
        let actual = IPVSTable(undecodable: [unreadable])
        let desired = IPVSDesiredState([.init(service: VirtualService(id: Self.id), destinations: [Self.node(1, weight: 5)])])
        #expect(IPVSPlan(desired: desired, actual: actual, owned: [Self.id]).changes.isEmpty)
        #expect(IPVSPlan(desired: IPVSDesiredState(), actual: actual, owned: [Self.id]).changes.isEmpty)
    }
}
