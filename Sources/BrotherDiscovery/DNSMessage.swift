import IPVS
import NetworkAddress

/// A DNS record type (RFC 1035 §3.2.2, RFC 3596, RFC 2782); unknown types keep their number.
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)

    public var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A response code (RFC 1035 §4.1.1): 4 bits in the header.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist.
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}

/// One question: name, type and class (IN).
public struct DNSQuestion: Hashable, Sendable {
    /// Dotted, without the trailing dot; the root is "".
    public var name: String
    public var type: DNSRecordType
    public var recordClass: UInt16

    public init(name: String, type: DNSRecordType, recordClass: UInt16 = DNSMessage.classIN) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// An SRV record's data (RFC 2782).
public struct DNSServiceRecord: Hashable, Sendable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    /// The host offering the service; "" (the root, ".") means the service is not available there.
    public var target: String

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// The data of a resource record, decoded for the types discovery uses and kept raw otherwise.
public enum DNSRecordData: Hashable, Sendable {
    /// A (4 bytes) or AAAA (16 bytes).
    case address(IPAddress)
    /// CNAME's canonical name.
    case canonicalName(String)
    case service(DNSServiceRecord)
    case raw([UInt8])
}

/// A resource record of the answer, authority or additional section.
public struct DNSResourceRecord: Hashable, Sendable {
    public var name: String
    public var type: DNSRecordType
    public var recordClass: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: String, type: DNSRecordType, recordClass: UInt16 = DNSMessage.classIN, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }
}

/// Why bytes are not a DNS message, or a message cannot be encoded. Says where in the message.
public enum DNSMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    case truncatedMessage(offset: Int)
    case badNamePointer(offset: Int)
    case badLabel(offset: Int)
    /// A label holding a dot: as text it would read as two labels, so the name could not be asked for again.
    case dotInLabel(offset: Int)
    case nameTooLong(offset: Int)
    case badRecordData(type: DNSRecordType, offset: Int)
    case invalidName(String, reason: String)
    case tooManyRecords

    public var description: String {
        switch self {
        case .truncatedMessage(let offset): "the message ends early (at byte \(offset))"
        case .badNamePointer(let offset): "a name's compression pointer at byte \(offset) does not point back into the message"
        case .badLabel(let offset): "a name has a label of an unknown kind at byte \(offset)"
        case .dotInLabel(let offset): "a name has a label containing \".\" at byte \(offset), which no host name has"
        case .nameTooLong(let offset): "a name at byte \(offset) is longer than 255 bytes"
        case .badRecordData(let type, let offset): "a \(type) record's data at byte \(offset) has the wrong length"
        case .invalidName(let name, let reason): "\"\(name)\" is not a DNS name: \(reason)"
        case .tooManyRecords: "more than 65535 records in a section"
        }
    }
}

/// A DNS message (RFC 1035 §4): the header's fields and the four sections. `encoded()` compresses
/// names (§4.1.4); `init(bytes:)` follows compression pointers, only backwards, so no input loops.
public struct DNSMessage: Hashable, Sendable {
    public static let classIN: UInt16 = 1

    public var id: UInt16
    public var isResponse: Bool
    public var opcode: UInt8
    public var isAuthoritative: Bool
    /// TC: the answer did not fit (UDP's 512 bytes); ask again over TCP.
    public var isTruncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    public var responseCode: DNSResponseCode
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    public init(
        id: UInt16, isResponse: Bool = false, opcode: UInt8 = 0, isAuthoritative: Bool = false, isTruncated: Bool = false,
        recursionDesired: Bool = true, recursionAvailable: Bool = false, responseCode: DNSResponseCode = .noError, questions: [DNSQuestion] = [],
        answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []
    ) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode & 0x0F
        self.isAuthoritative = isAuthoritative
        self.isTruncated = isTruncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.responseCode = responseCode
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A standard query with recursion desired, one question.
    public static func query(id: UInt16, name: String, type: DNSRecordType) -> DNSMessage {
        DNSMessage(id: id, questions: [DNSQuestion(name: name, type: type)])
    }

    // MARK: encoding

    /// The message on the wire (without TCP's length prefix).
    /// - Throws: ``DNSMessageError/invalidName(_:reason:)`` for a name with an empty or long label, or longer than 255 bytes.
    public func encoded() throws(DNSMessageError) -> [UInt8] {
        var writer = Writer()
        writer.u16(id)
        var flags: UInt16 = 0
        if isResponse { flags |= 0x8000 }
        flags |= UInt16(opcode & 0x0F) << 11
        if isAuthoritative { flags |= 0x0400 }
        if isTruncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        flags |= UInt16(responseCode.rawValue & 0x0F)
        writer.u16(flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard count <= 0xFFFF else { throw .tooManyRecords }
            writer.u16(UInt16(count))
        }
        for question in questions {
            try writer.name(question.name)
            writer.u16(question.type.rawValue)
            writer.u16(question.recordClass)
        }
        for record in answers + authorities + additionals { try writer.record(record) }
        return writer.bytes
    }

    /// Splits a dotted name into labels, checking RFC 1035's limits.
    static func labels(of name: String) throws(DNSMessageError) -> [[UInt8]] {
        // Split on the byte, not on Characters: a combining mark after a dot makes one Character of
        // the two, and the name would then lose a label (found by scripts/fuzz).
        var text = Array(name.utf8)
        if text.last == UInt8(ascii: ".") { text.removeLast() }
        guard !text.isEmpty else { return [] }
        let labels = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map { Array($0) }
        for label in labels {
            if label.isEmpty { throw .invalidName(name, reason: "an empty label") }
            if label.count > 63 { throw .invalidName(name, reason: "a label longer than 63 bytes") }
        }
        guard labels.reduce(1, { $0 + $1.count + 1 }) <= 255 else { throw .invalidName(name, reason: "longer than 255 bytes") }
        return labels
    }

    private struct Writer {
        var bytes: [UInt8] = []
        /// Offsets of names already written, by their suffix (exact case, so names read back as written), for compression.
        var offsets: [String: Int] = [:]

        mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
        mutating func u32(_ value: UInt32) { u16(UInt16(value >> 16)); u16(UInt16(value & 0xFFFF)) }

        mutating func name(_ name: String) throws(DNSMessageError) {
            let labels = try DNSMessage.labels(of: name)
            for index in labels.indices {
                let suffix = labels[index...].map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
                if let offset = offsets[suffix] {
                    u16(0xC000 | UInt16(offset))
                    return
                }
                if bytes.count < 0x4000 { offsets[suffix] = bytes.count }
                bytes.append(UInt8(labels[index].count))
                bytes += labels[index]
            }
            bytes.append(0)
        }

        mutating func record(_ record: DNSResourceRecord) throws(DNSMessageError) {
            try name(record.name)
            u16(record.type.rawValue)
            u16(record.recordClass)
            u32(record.ttl)
            let lengthAt = bytes.count
            u16(0)
            switch record.data {
            case .address(let address): bytes += address.bytes
            case .canonicalName(let target): try name(target)
            case .service(let service):
                u16(service.priority)
                u16(service.weight)
                u16(service.port)
                try name(service.target)
            case .raw(let raw): bytes += raw
            }
            let length = bytes.count - lengthAt - 2
            guard length <= 0xFFFF else { throw .badRecordData(type: record.type, offset: lengthAt) }
            bytes[lengthAt] = UInt8(length >> 8)
            bytes[lengthAt + 1] = UInt8(length & 0xFF)
        }
    }

    // MARK: decoding

    /// Parses a message.
    /// - Throws: ``DNSMessageError`` naming the offset where the bytes stop making sense; never traps.
    public init(bytes: [UInt8]) throws(DNSMessageError) {
        var reader = Reader(bytes: bytes)
        id = try reader.u16()
        let flags = try reader.u16()
        isResponse = flags & 0x8000 != 0
        opcode = UInt8((flags >> 11) & 0x0F)
        isAuthoritative = flags & 0x0400 != 0
        isTruncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        responseCode = DNSResponseCode(rawValue: UInt8(flags & 0x0F))
        let questionCount = Int(try reader.u16())
        let answerCount = Int(try reader.u16())
        let authorityCount = Int(try reader.u16())
        let additionalCount = Int(try reader.u16())
        questions = []
        answers = []
        authorities = []
        additionals = []
        do {
            for _ in 0..<questionCount {
                let name = try reader.name()
                questions.append(DNSQuestion(name: name, type: DNSRecordType(rawValue: try reader.u16()), recordClass: try reader.u16()))
            }
            for _ in 0..<answerCount { answers.append(try reader.record()) }
            for _ in 0..<authorityCount { authorities.append(try reader.record()) }
            for _ in 0..<additionalCount { additionals.append(try reader.record()) }
        } catch {
            // A truncated (TC) answer may stop anywhere; what is whole is kept, and the caller asks again over TCP.
            guard isTruncated else { throw error }
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func u8() throws(DNSMessageError) -> UInt8 {
            guard offset < bytes.count else { throw .truncatedMessage(offset: offset) }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func u16() throws(DNSMessageError) -> UInt16 {
            let high = try u8()
            return UInt16(high) << 8 | UInt16(try u8())
        }

        mutating func u32() throws(DNSMessageError) -> UInt32 {
            let high = try u16()
            return UInt32(high) << 16 | UInt32(try u16())
        }

        mutating func take(_ count: Int) throws(DNSMessageError) -> [UInt8] {
            guard count >= 0, bytes.count - offset >= count else { throw .truncatedMessage(offset: offset) }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }

        /// A name at the current offset; pointers may only go backwards, which ends every loop.
        mutating func name() throws(DNSMessageError) -> String {
            var labels: [String] = []
            var length = 1
            var position = offset
            var jumped = false
            var lowest = offset
            while true {
                guard position < bytes.count else { throw .truncatedMessage(offset: position) }
                let count = bytes[position]
                switch count & 0xC0 {
                case 0x00:
                    if count == 0 {
                        if !jumped { offset = position + 1 }
                        return labels.joined(separator: ".")
                    }
                    let start = position + 1
                    let end = start + Int(count)
                    guard end <= bytes.count else { throw .truncatedMessage(offset: position) }
                    guard !bytes[start..<end].contains(UInt8(ascii: ".")) else { throw .dotInLabel(offset: position) }
                    length += Int(count) + 1
                    guard length <= 255 else { throw .nameTooLong(offset: position) }
                    labels.append(String(decoding: bytes[start..<end], as: UTF8.self))
                    position = end
                case 0xC0:
                    guard position + 1 < bytes.count else { throw .truncatedMessage(offset: position) }
                    let target = Int(count & 0x3F) << 8 | Int(bytes[position + 1])
                    guard target < lowest else { throw .badNamePointer(offset: position) }
                    if !jumped { offset = position + 2 }
                    jumped = true
                    lowest = target
                    position = target
                default:
                    throw .badLabel(offset: position)
                }
            }
        }

        mutating func record() throws(DNSMessageError) -> DNSResourceRecord {
            let owner = try name()
            let type = DNSRecordType(rawValue: try u16())
            let recordClass = try u16()
            let ttl = try u32()
            let length = Int(try u16())
            let start = offset
            guard bytes.count - start >= length else { throw .truncatedMessage(offset: start) }
            let data: DNSRecordData
            switch type {
            case .a, .aaaa:
                guard length == (type == .a ? 4 : 16), let address = IPAddress(bytes: try take(length)) else {
                    throw .badRecordData(type: type, offset: start)
                }
                data = .address(address)
            case .cname:
                data = .canonicalName(try name())
            case .srv:
                guard length >= 7 else { throw .badRecordData(type: type, offset: start) }
                let priority = try u16()
                let weight = try u16()
                let port = try u16()
                data = .service(DNSServiceRecord(priority: priority, weight: weight, port: port, target: try name()))
            default:
                data = .raw(try take(length))
            }
            guard offset == start + length else { throw .badRecordData(type: type, offset: start) }
            return DNSResourceRecord(name: owner, type: type, recordClass: recordClass, ttl: ttl, data: data)
        }
    }
}
