import BrotherCore
import IPVS
import NetworkAddress
import Testing

/// brother.yml's `sync:` section: read, defaults, and every bad value refused at its line and column.
@Suite struct BrotherSyncSettingsTests {
    static func yaml(_ sync: String) -> String {
        """
        clusters:
          - {cluster_name: web, fwmark: 1, nodes: []}
        \(sync)
        """
    }

    @Test func aFullSectionIsRead() throws {
        let configuration = try BrotherConfiguration(
            yaml: Self.yaml(
                """
                sync:
                  interface: eth1
                  sync_id: 7
                  max_length: 1400
                  group: 239.1.2.3
                  port: 8900
                  ttl: 2
                """), source: "brother.yml")
        let sync = try #require(configuration.sync)
        #expect(sync == BrotherSyncSettings(interface: "eth1", syncID: 7, maxLength: 1400, group: IPAddress("239.1.2.3"), port: 8900, ttl: 2))
        #expect(
            sync.daemon(.master)
                == IPVSSyncDaemon(role: .master, interface: "eth1", syncID: 7, maxLength: 1400, group: IPAddress("239.1.2.3"), port: 8900, ttl: 2))
    }

    @Test func onlyTheInterfaceIsRequiredAndTheRestIsLeftToTheKernel() throws {
        let configuration = try BrotherConfiguration(yaml: Self.yaml("sync: {interface: bond0}"), source: "brother.yml")
        #expect(configuration.sync == BrotherSyncSettings(interface: "bond0"))
        #expect(configuration.sync?.daemon(.backup) == IPVSSyncDaemon(role: .backup, interface: "bond0", syncID: 0))
        #expect(try BrotherConfiguration(yaml: Self.yaml(""), source: "brother.yml").sync == nil)
    }

    @Test func anIPv6GroupIsAccepted() throws {
        let configuration = try BrotherConfiguration(yaml: Self.yaml("sync: {interface: eth1, group: 'ff02::1:3'}"), source: "brother.yml")
        #expect(configuration.sync?.group == IPAddress("ff02::1:3"))
    }

    @Test(arguments: [
        ("sync: {interface: eth1, sync_id: 256}", "3:34: sync.sync_id: must be 0...255, not 256"),
        (
            "sync: {interface: a-very-long-interface}",
            "3:19: sync.interface: interface name \"a-very-long-interface\" is 21 bytes; interface names are at most 15"
        ),
        ("sync: {interface: 'eth0:1'}", "3:19: sync.interface: \"eth0:1\" is not an interface name (no /, :, spaces, and not . or ..)"),
        ("sync: {sync_id: 1}", "3:7: sync.interface: required: the interface the sync daemons multicast on, e.g. eth1"),
        ("sync: {interface: eth1, ttl: 0}", "3:30: sync.ttl: must be 1...255, not 0"),
        ("sync: {interface: eth1, port: 0}", "3:31: sync.port: must be 1...65535, not 0"),
        ("sync: {interface: eth1, max_length: 512}", "3:37: sync.max_length: must be 1024...65507, not 512"),
        ("sync: {interface: eth1, group: 10.0.0.1}", "3:32: sync.group: group 10.0.0.1 is not a multicast address (224.0.0.0/4 or ff00::/8)"),
        ("sync: {interface: eth1, group: nowhere}", "3:32: sync.group: must be a multicast IP address, e.g. 239.1.2.3 or ff02::1:3, not \"nowhere\""),
        ("sync: {interface: eth1, syncid: 3}", "3:25: sync.syncid: unknown key; write `sync_id`"),
        ("sync: eth1", "3:7: sync: must be a mapping of `interface`, `sync_id`, `max_length`, `group`, `port` and `ttl`"),
    ])
    func badValuesAreRefusedWhereTheyAre(_ sync: String, _ expected: String) {
        #expect(BrotherConfiguration.validate(yaml: Self.yaml(sync)).map(\.description) == [expected])
    }
}
