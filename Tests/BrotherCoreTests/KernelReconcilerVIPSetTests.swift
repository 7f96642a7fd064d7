import BrotherCore
import BrotherMonitor
import Foundation
import IPVSTesting
import Logging
import Testing
import VIPSets

/// The reconciler keeps each fwmark cluster's VIP sets holding exactly its configured VIPs, also
/// when a reload takes a family's last VIP away (the kernel run is BrotherTrafficKernelTests).
@Suite struct KernelReconcilerVIPSetTests {
    /// Sets by name, as the kernel would hold them.
    actor RecordingVIPSets: VIPSetControlling {
        var sets: [String: Set<VIPSetMember>] = [:]

        func create(_ set: VIPSet, existOK: Bool) async throws {
            guard sets[set.name] == nil else {
                if existOK { return }
                throw VIPSetError.setExists(set.name)
            }
            sets[set.name] = []
        }

        func destroy(_ set: String) async throws {
            guard sets.removeValue(forKey: set) != nil else { throw VIPSetError.noSuchSet(set) }
        }

        func add(_ member: VIPSetMember, to set: String) async throws {
            guard sets[set] != nil else { throw VIPSetError.noSuchSet(set) }
            sets[set]?.insert(member)
        }

        func remove(_ member: VIPSetMember, from set: String) async throws {
            guard sets[set] != nil else { throw VIPSetError.noSuchSet(set) }
            sets[set]?.remove(member)
        }

        func members(of set: String) async throws -> [VIPSetMember] {
            guard let members = sets[set] else { throw VIPSetError.noSuchSet(set) }
            return members.sorted()
        }

        func sets() async throws -> [String] { sets.keys.sorted() }

        func sync(_ set: String, members: Set<VIPSetMember>) async throws -> VIPSetChanges {
            guard let current = sets[set] else { throw VIPSetError.noSuchSet(set) }
            sets[set] = members
            return VIPSetChanges(from: current, to: members)
        }

        func members(_ set: String) -> [String]? { sets[set].map { $0.map(\.description).sorted() } }
    }

    static func cluster(_ keys: String) throws -> ClusterConfiguration {
        try BrotherConfiguration(yaml: "clusters:\n  - {cluster_name: marked, \(keys), nodes: []}\n", source: "t.yml").clusters[0]
    }

    @Test func aReloadThatRemovesAFamilysLastVIPEmptiesItsSet() async throws {
        let sets = RecordingVIPSets()
        let reconciler = KernelReconciler(ipvs: FakeIPVS(), vipSets: { sets }, logger: Logger(label: "test"))
        let both = try Self.cluster(#"fwmark: 7, vips: ["198.51.100.20:80/tcp", "198.51.100.21:80/tcp"]"#)
        #expect(await reconciler.syncVIPSets(of: both, empty: false) == nil)
        #expect(await sets.members("plimsoll-fwm-7") == ["198.51.100.20,tcp:80", "198.51.100.21,tcp:80"])

        let one = try Self.cluster(#"fwmark: 7, vips: ["198.51.100.20:80/tcp"]"#)
        #expect(await reconciler.syncVIPSets(of: one, empty: false) == nil)
        #expect(await sets.members("plimsoll-fwm-7") == ["198.51.100.20,tcp:80"])

        // The last VIP goes: before the fix the set kept it, and its traffic stayed marked and served.
        let none = try Self.cluster("fwmark: 7")
        #expect(await reconciler.syncVIPSets(of: none, empty: false) == nil)
        #expect(await sets.members("plimsoll-fwm-7") == [])
        // Emptied once; later rounds leave the set alone (nothing filled any more).
        try await sets.add(try VIPSetMember(parsing: "198.51.100.99,tcp:80"), to: "plimsoll-fwm-7")
        #expect(await reconciler.syncVIPSets(of: none, empty: false) == nil)
        #expect(await sets.members("plimsoll-fwm-7") == ["198.51.100.99,tcp:80"], "a set the cluster no longer uses is not brother's to keep")
    }

    @Test func aChangedFwmarkEmptiesTheOldSetAndAnIPv6SetGoesWithItsLastVIP() async throws {
        let sets = RecordingVIPSets()
        let reconciler = KernelReconciler(ipvs: FakeIPVS(), vipSets: { sets }, logger: Logger(label: "test"))
        let before = try Self.cluster(#"fwmark: 7, address_family: ipv6, vips: ["[2001:db8::10]:53/udp"]"#)
        #expect(await reconciler.syncVIPSets(of: before, empty: false) == nil)
        #expect(await sets.members("plimsoll-fwm-7-v6") == ["2001:db8::10,udp:53"])

        let moved = try Self.cluster(#"fwmark: 8, address_family: ipv6, vips: ["[2001:db8::10]:53/udp"]"#)
        #expect(await reconciler.syncVIPSets(of: moved, empty: false) == nil)
        #expect(await sets.members("plimsoll-fwm-7-v6") == [])
        #expect(await sets.members("plimsoll-fwm-8-v6") == ["2001:db8::10,udp:53"])

        // A stale set someone destroyed meanwhile is no error.
        try await sets.destroy("plimsoll-fwm-8-v6")
        let none = try Self.cluster("fwmark: 8, address_family: ipv6")
        #expect(await reconciler.syncVIPSets(of: none, empty: false) == nil)
    }
}
