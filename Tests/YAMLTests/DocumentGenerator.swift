import DeterministicRandom

/// Writes random YAML documents of the supported subset: block and flow collections, every scalar style,
/// multi-line scalars, comments, anchors and aliases, and the typed plain scalars the scalar rule reads
/// (numbers in every notation, booleans, nulls). The same seed writes the same document.
struct DocumentGenerator {
    private var random: SplitMix64
    private var anchors: [String] = []
    private var nextAnchor = 0

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// Plain scalars where YAML 1.1 (the oracle's resolution) and the scalar rule agree on the value.
    /// Left out on purpose: leading-zero integers (`010`, refused as ambiguous) and mixed-case words
    /// such as `tRUE` (read as booleans here, as Psych does, but as text by a strict YAML 1.1 resolver).
    static let plainScalars = [
        "web", "a b c", "x:y", "http://h:80/p?q=1", "a#b", "café ☕", "-dash", "?q", ":colon", "it's", "say \"hi\"", "back\\slash",
        "a, b", "[not]", "1.5", "42", "-7", "+5", "0", "0x1F90", "0o17", "0b101", "1_000", "1:30", "12:30:45", "3.25e2", ".5", "1.",
        "-0.25", "1e3", ".inf", "-.Inf", ".nan", "true", "False", "TRUE", "yes", "No", "on", "OFF", "~", "null", "Null", "NULL",
        "2026-11-22", "2026-11-22T10:00:00Z", "y", "n", "=", "10.0.1.11", "192.0.2.2:8080", "/app/status", "step:4", "TCP 198.51.100.10:80",
        "v1.2.3", "1.2.3", "0x", "0b2", "++1", "1e", "e3", "--", "null value", "true story",
    ]

    static let words = ["web", "port", "a b", "x", "nodes", "ключ", "k_1", "path", "on", "yes", "1", "null", "0x10"]

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    private mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
    private mutating func count(_ upTo: Int) -> Int { Int(random.next() % UInt64(upTo + 1)) }

    /// One document; its root is a block mapping, a block sequence or a flow collection.
    mutating func document() -> String {
        anchors = []
        var lines: [String] = []
        if chance(15) { lines.append("# generated") }
        if chance(10) { lines.append("---") }
        switch count(4) {
        case 0: lines += blockSequence(indent: 0, depth: 0)
        case 1: lines.append(flow(indent: 0, depth: 0))
        default: lines += blockMapping(indent: 0, depth: 0)
        }
        if chance(10) { lines.append("...") }
        return lines.joined(separator: "\n") + (chance(80) ? "\n" : "")
    }

    // MARK: Block

    private mutating func blockMapping(indent: Int, depth: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var used: Set<String> = []
        for _ in 0..<(1 + count(3)) {
            guard let key = key(unlike: &used) else { continue }
            if chance(10) { lines.append(pad + "# a comment line") }
            if chance(5) { lines.append("") }
            lines += entry(head: "\(pad)\(key):", indent: indent, depth: depth, sequenceAtParent: true)
        }
        return lines
    }

    private mutating func blockSequence(indent: Int, depth: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        for _ in 0..<(1 + count(3)) {
            if depth < 3, chance(25) {
                // `- key: value` with the mapping's further keys under the first.
                var mapping = blockMapping(indent: indent + 2, depth: depth + 1)
                let first = mapping.firstIndex { !$0.isEmpty && !$0.drop { $0 == " " }.hasPrefix("#") }!
                mapping[first] = pad + "- " + mapping[first].dropFirst(indent + 2)
                lines += mapping
            } else {
                lines += entry(head: "\(pad)-", indent: indent, depth: depth, sequenceAtParent: false)
            }
        }
        return lines
    }

    /// `head` (a key with its colon, or a dash) and its value: on the same line, or below it.
    private mutating func entry(head: String, indent: Int, depth: Int, sequenceAtParent: Bool) -> [String] {
        var head = head
        if chance(8), depth < 3 {
            let name = "a\(nextAnchor)"
            nextAnchor += 1
            head += " &\(name)"
            defer { anchors.append(name) }
            return valueLines(head: head, indent: indent, depth: depth, sequenceAtParent: sequenceAtParent)
        }
        if !anchors.isEmpty, chance(6) { return ["\(head) *\(pick(anchors))" + comment()] }
        return valueLines(head: head, indent: indent, depth: depth, sequenceAtParent: sequenceAtParent)
    }

    private mutating func valueLines(head: String, indent: Int, depth: Int, sequenceAtParent: Bool) -> [String] {
        let choice = depth >= 3 ? count(2) : count(9)
        switch choice {
        case 0: return ["\(head) \(inlineScalar())" + comment()]
        case 1: return ["\(head)" + comment()]  // null
        case 2: return ["\(head) \(flow(indent: indent + 2, depth: depth + 1))" + comment()]
        case 3: return blockScalar(head: head, indent: indent)
        case 4: return multiLinePlain(head: head, indent: indent)
        case 5, 6:
            let inner = sequenceAtParent && chance(40) ? indent : indent + 2
            return [head + comment()] + blockSequence(indent: inner, depth: depth + 1)
        default:
            return [head + comment()] + blockMapping(indent: indent + 2, depth: depth + 1)
        }
    }

    private mutating func comment() -> String { chance(15) ? "  # note: x" : "" }

    private mutating func blockScalar(head: String, indent: Int) -> [String] {
        let indicator = pick(["|", ">", "|-", ">-", "|+", ">+"])
        let pad = String(repeating: " ", count: indent + 2)
        var lines = ["\(head) \(indicator)"]
        // The first line sets the indentation; later ones may be blank or indented more.
        lines.append(pad + pick(Self.plainScalars))
        for _ in 0..<count(3) {
            switch count(5) {
            case 0: lines.append("")
            case 1: lines.append(pad + "  more indented " + pick(Self.words))
            default: lines.append(pad + pick(Self.plainScalars))
            }
        }
        if lines.last == "" { lines.append(pad + "end") }
        if chance(30) { lines.append("") }
        return lines
    }

    private mutating func multiLinePlain(head: String, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent + 2)
        var lines = ["\(head) first words"]
        for _ in 0..<(1 + count(2)) {
            lines.append(chance(20) ? "" : pad + pick(["more", "x#y", "last-1", "café", "1.5"]))
        }
        if lines.last == "" { lines.append(pad + "end") }
        return lines
    }

    // MARK: Scalars

    /// A key whose word is not in `used` yet (keys of one mapping must differ), or `nil` if none is left.
    private mutating func key(unlike used: inout Set<String>) -> String? {
        let word = pick(Self.words)
        guard used.insert(word).inserted else { return nil }
        switch count(5) {
        case 0: return singleQuoted(word)
        case 1: return doubleQuoted(word + pick(["", " \t", "\n", "é"]))
        default: return word
        }
    }

    private mutating func inlineScalar() -> String {
        switch count(6) {
        case 0: return singleQuoted(pick(Self.plainScalars))
        case 1: return doubleQuoted(pick(Self.plainScalars) + pick(["", "\n", "\t", "\u{e9}", "\\", "\"", "\u{1F600}"]))
        default: return pick(Self.plainScalars)
        }
    }

    private func singleQuoted(_ text: String) -> String { "'" + text.replacing("'", with: "''") + "'" }

    private mutating func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += chance(50) ? "\\t" : "\\x09"
            default:
                if scalar.value > 0x7F, chance(50) {
                    out += scalar.value > 0xFFFF ? "\\U" + hex(scalar.value, 8) : "\\u" + hex(scalar.value, 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private func hex(_ value: UInt32, _ digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    // MARK: Flow

    /// Plain scalars that are safe inside `[...]` and `{...}` (no `,`, brackets or `: `).
    private static let flowPlain = plainScalars.filter { text in
        !text.contains(",") && !text.contains("[") && !text.contains("]") && !text.contains("{") && !text.contains("}")
            && !text.contains(": ") && !text.hasSuffix(":") && !text.hasPrefix("?") && !text.hasPrefix(":") && !text.contains("#")
            && !text.contains("http")
    }

    private mutating func flowScalar() -> String {
        switch count(4) {
        case 0: return singleQuoted(pick(Self.plainScalars))
        case 1: return doubleQuoted(pick(Self.plainScalars))
        default: return pick(Self.flowPlain)
        }
    }

    /// A flow collection; lines after its first are indented by `indent`, deeper than the block around it.
    private mutating func flow(indent: Int, depth: Int) -> String {
        let separator = chance(20) ? ",\n" + String(repeating: " ", count: indent + 2) : ", "
        if chance(50) {
            let items = (0..<count(3)).map { _ in depth < 3 && chance(25) ? flow(indent: indent, depth: depth + 1) : flowScalar() }
            return "[" + items.joined(separator: separator) + (chance(10) && !items.isEmpty ? "," : "") + "]"
        }
        var used: Set<String> = []
        var pairs: [String] = []
        for _ in 0..<count(3) {
            guard let key = key(unlike: &used) else { continue }
            let value = depth < 3 && chance(25) ? flow(indent: indent, depth: depth + 1) : flowScalar()
            pairs.append("\(key): \(value)")
        }
        return "{" + pairs.joined(separator: separator) + "}"
    }
}
