import Foundation
import IPVS
import IPVSViews
import NetworkAddress
import Testing

/// `brother sync status`: ipvsadm's lines, and JSON in brother.yml's key names (what the OCF resource reads).
@Suite struct IPVSSyncDaemonViewTests {
    static let daemons = [
        IPVSSyncDaemon(role: .master, interface: "eth1", syncID: 7, maxLength: 1472, group: IPAddress("224.0.0.81"), port: 8848, ttl: 1),
        IPVSSyncDaemon(role: .backup, interface: "eth1", syncID: 7),
    ]

    @Test func textIsIpvsadmsLines() {
        #expect(
            IPVSSyncDaemonView(daemons: Self.daemons).text()
                == "master sync daemon (mcast=eth1, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n"
                + "backup sync daemon (mcast=eth1, syncid=7)\n")
        #expect(IPVSSyncDaemonView(daemons: []).text() == "no sync daemon runs\n")
    }

    @Test func jsonUsesTheConfigurationsKeysAndLeavesOutWhatTheKernelDidNotList() throws {
        let json = try IPVSSyncDaemonView(daemons: Self.daemons).json()
        #expect(
            json == """
                {
                  "daemons" : [
                    {
                      "group" : "224.0.0.81",
                      "interface" : "eth1",
                      "max_length" : 1472,
                      "port" : 8848,
                      "role" : "master",
                      "sync_id" : 7,
                      "ttl" : 1
                    },
                    {
                      "interface" : "eth1",
                      "role" : "backup",
                      "sync_id" : 7
                    }
                  ]
                }

                """)
        struct Document: Decodable { var daemons: [IPVSSyncDaemon] }
        #expect(try JSONDecoder().decode(Document.self, from: Data(json.utf8)).daemons == Self.daemons)
    }
}
