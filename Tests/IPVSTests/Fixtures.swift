import IPVS
import Netlink
import NetworkAddress

/// Shared test values: TEST-NET addresses only.
enum Fixtures {
    static let vip4 = IPAddress("198.51.100.10")!
    static let vip6 = IPAddress("2001:db8::1")!
    static let real4a = IPAddress("192.0.2.2")!
    static let real4b = IPAddress("192.0.2.6")!
    static let real6 = IPAddress("2001:db8::5")!

    static let web = VirtualService.ID.address(vip4, port: 80, protocol: .tcp)
    static let dns6 = VirtualService.ID.address(vip6, port: 53, protocol: .udp)
    static let mark7 = VirtualService.ID.firewallMark(7, family: .ipv4)
    static let mark9v6 = VirtualService.ID.firewallMark(9, family: .ipv6)

    /// The bytes libnl builds for a request, with a fixed family id and zero sequence and port.
    static func wire(_ request: GenericNetlinkRequest, family: Int32 = 28) throws -> [UInt8] {
        try NetlinkMessage(request, family: family).bytes
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
