/// One set as the kernel lists it in `ipset save` format: its header and its entries.
///
/// ```
/// create plimsoll-fwm-7 hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x5b0e3f8a
/// add plimsoll-fwm-7 198.51.100.10,tcp:80
/// ```
public struct VIPSetListing: Hashable, Sendable {
    /// The set's name.
    public var name: String
    /// The set's type, such as `hash:ip,port`.
    public var type: String
    /// The `family` option, when the listing has one.
    public var family: VIPSet.Family?
    /// The `hashsize` option, when the listing has one.
    public var hashSize: UInt32?
    /// The `maxelem` option, when the listing has one.
    public var maxElements: UInt32?
    /// The element text of every entry, as listed (`198.51.100.10,tcp:80`), without per-entry options.
    public var entries: [String]

    public init(name: String, type: String, family: VIPSet.Family? = nil, hashSize: UInt32? = nil, maxElements: UInt32? = nil, entries: [String] = [])
    {
        self.name = name
        self.type = type
        self.family = family
        self.hashSize = hashSize
        self.maxElements = maxElements
        self.entries = entries
    }

    /// The entries as VIPs.
    /// - Throws: ``VIPSetError/wrongSetType(set:type:)`` unless the set is `hash:ip,port`;
    ///   ``VIPSetError/unsupportedEntry(_:set:)`` for an entry that is not a tcp/udp/sctp VIP.
    public func members() throws(VIPSetError) -> [VIPSetMember] {
        guard type == VIPSet.setType else { throw .wrongSetType(set: name, type: type) }
        var members: [VIPSetMember] = []
        members.reserveCapacity(entries.count)
        for entry in entries {
            guard let member = try? VIPSetMember(parsing: entry) else { throw .unsupportedEntry(entry, set: name) }
            members.append(member)
        }
        return members
    }

    /// Parses `ipset save` / `ipset list -o save` output: `create` lines start a set, `add` lines add an entry to it.
    /// - Throws: ``VIPSetError/libipset(call:message:set:)`` naming the line that is not save format.
    public static func parseSaveFormat(_ text: String) throws(VIPSetError) -> [VIPSetListing] {
        var listings: [VIPSetListing] = []
        var index: [String: Int] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let keyword = words.first else { continue }
            func malformed(_ why: String) -> VIPSetError {
                .libipset(call: "ipset_cmd(list)", message: "save format line \(number + 1) '\(line)': \(why)", set: words.count > 1 ? words[1] : nil)
            }
            switch keyword {
            case "create":
                guard words.count >= 3 else { throw malformed("expected 'create NAME TYPE [OPTIONS]'") }
                var listing = VIPSetListing(name: words[1], type: words[2])
                var option = 3
                while option < words.count {
                    let value: String? = option + 1 < words.count ? words[option + 1] : nil
                    switch words[option] {
                    case "family": listing.family = value.flatMap(VIPSet.Family.init(rawValue:))
                    case "hashsize": listing.hashSize = value.flatMap { UInt32($0) }
                    case "maxelem": listing.maxElements = value.flatMap { UInt32($0) }
                    default: break
                    }
                    option += 1
                }
                index[listing.name] = listings.count
                listings.append(listing)
            case "add":
                guard words.count >= 3 else { throw malformed("expected 'add NAME ENTRY [OPTIONS]'") }
                guard let at = index[words[1]] else { throw malformed("entry for a set without a 'create' line") }
                listings[at].entries.append(words[2])
            default:
                throw malformed("unknown keyword '\(keyword)'")
            }
        }
        return listings
    }
}
