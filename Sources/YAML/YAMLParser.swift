/// Parses one YAML document into `YAMLNode`s: the YAML subset that configuration files use, without Foundation.
///
/// Supported: block mappings and sequences (including `- key: value` entries and a sequence at its key's
/// indentation), flow `[...]` and `{...}` over several lines, plain, single- and double-quoted scalars (all
/// escapes), `|` and `>` block scalars with chomping and indentation indicators, multi-line plain scalars,
/// comments, `---`/`...` and directives, anchors and aliases (both readers this one replaced accepted them).
/// Refused, each with its line, column and what to write instead: tags (`!`), complex keys (`?`),
/// collections as keys, merge keys (`<<`), more than one document, more than one anchor on a node, and
/// anything beyond `YAMLLimits` (collections nested too deep, aliases that stand for too many nodes).
///
/// The work is linear in the text's size: every look back at bytes already passed (the column of a node,
/// whether a tab is in the indentation) is cached per line, so each byte is examined a bounded number of
/// times whatever the text holds.
///
/// Written for the litmus agent so it needs neither Yams nor Foundation (whose ICU data cost the agent
/// about 9 MB of memory); the syntax follows the YAML 1.2 spec. The parser only keeps each scalar's text and
/// style; what a scalar means is `YAMLScalar`'s one rule.
public struct YAMLParser {
    private let bytes: [UInt8]
    private let file: String
    private var position = 0
    /// Offsets where each line starts, for line and column numbers.
    private let lineStarts: [Int]
    private let limits: YAMLLimits
    /// Each anchor's node, and how many nodes it stands for (its own, and what aliases inside it stand for).
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    /// Collections open around the position.
    private var depth = 0
    /// Nodes started so far, plus what aliases stood for: an anchor's size is the difference across it.
    private var nodeCount = 0
    /// What the aliases so far stood for, against `limits.maximumAliasedNodes`.
    private var aliasedNodes = 0
    /// The line whose indentation was last measured: where it starts and where its first non-blank byte is.
    private var indentationCache: (lineStart: Int, contentStart: Int) = (-1, -1)
    /// The last mark computed: its offset, its line's start and its column, so the next mark on the same
    /// line counts characters from there instead of from the line's start.
    private var markCache: (lineStart: Int, offset: Int, column: Int) = (-1, -1, 0)
    /// Bytes examined besides the one pass over the text: looking back (from a line's start to a tab or a
    /// node) or ahead (over blanks the parser then takes or goes over again). The work a quadratic re-scan
    /// would multiply; tests read it to prove the parser linear without timing it.
    private(set) var bytesRescanned = 0

    /// Where a node starts, which decides what it may be.
    private enum Placement {
        /// On a line of its own (or after `---`): anything, a block collection indented at its column.
        case ownLine
        /// After `- ` on the entry's line: anything, as `- name: web` starts a mapping.
        case afterDash
        /// After `key: ` on the key's line: a scalar or flow collection, never a block collection.
        case afterKey
    }

    /// - Parameter file: names the text in problems (usually its path).
    /// - Returns: the document's root node, or `nil` if the text holds no node (empty, or only comments).
    /// - Throws: `YAMLProblem` with the file, line and column of the first problem (its path is empty).
    public static func parse(_ text: String, file: String = "", limits: YAMLLimits = .standard) throws(YAMLProblem) -> YAMLNode? {
        var parser = YAMLParser(text.utf8, file: file, limits: limits)
        return try parser.document()
    }

    /// The same for raw bytes (UTF-8; invalid sequences in scalars become U+FFFD), as a file or a fuzzer
    /// hands them over.
    public static func parse(utf8 bytes: some Collection<UInt8>, file: String = "", limits: YAMLLimits = .standard) throws(YAMLProblem)
        -> YAMLNode?
    {
        var parser = YAMLParser(bytes, file: file, limits: limits)
        return try parser.document()
    }

    /// `parse`, and the bytes it examined more than once (see `bytesRescanned`); for tests.
    static func parseCountingRescans(_ text: String, limits: YAMLLimits = .standard) -> (result: Result<YAMLNode?, YAMLProblem>, rescanned: Int) {
        var parser = YAMLParser(text.utf8, file: "", limits: limits)
        let result = Result { () throws(YAMLProblem) in try parser.document() }
        return (result, parser.bytesRescanned)
    }

    private init(_ text: some Collection<UInt8>, file: String, limits: YAMLLimits) {
        self.file = file
        self.limits = limits
        // Line breaks become \n (CRLF and lone CR are line breaks in YAML too); a byte order mark is skipped.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count)
        var previousWasCR = false
        for byte in text {
            if byte == .lf, previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = byte == .cr
            bytes.append(byte == .cr ? .lf : byte)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        self.bytes = bytes
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == .lf { starts.append(offset + 1) }
        lineStarts = starts
    }

    // MARK: Document

    private mutating func document() throws(YAMLProblem) -> YAMLNode? {
        try skipToContent()
        // Directives (%YAML, %TAG) only matter for tags, which are not supported; they are skipped.
        while !atEnd, column(of: position) == 0, peek() == UInt8(ascii: "%") {
            skipRestOfLine()
            try skipToContent()
        }
        var root: YAMLNode?
        if atDocumentMarker("---") {
            position += 3
            try skipToContent()
        }
        if !atEnd, !atDocumentMarker("...") {
            if atDocumentMarker("---") {
                throw error("more than one YAML document (---) in one file; keep one document per file")
            }
            root = try node(parentIndent: -1, placement: .ownLine)
            try skipToContent()
        }
        if atDocumentMarker("...") {
            position += 3
            try skipToContent()
        }
        guard atEnd else {
            if atDocumentMarker("---") { throw error("more than one YAML document (---) in one file; keep one document per file") }
            throw error("unexpected text; check the indentation of this line against the lines above")
        }
        return root
    }

    // MARK: Block structure

    /// A node on the lines after its key or dash (or nothing if the next content is not indented deeper).
    ///
    /// `sequenceAtParent` allows a block sequence at the key's own indentation (`key:\n- a\n- b`).
    /// `anchored`: the node already has an anchor (`&a` before it), so it may not have another.
    private mutating func nodeOnFollowingLines(parentIndent: Int, at mark: YAMLMark, sequenceAtParent: Bool, anchored: Bool = false)
        throws(YAMLProblem)
        -> YAMLNode
    {
        try skipToContent()
        guard !atEnd, !atDocumentMarker("---"), !atDocumentMarker("...") else { return .null(at: mark) }
        let indent = column(of: position)
        if indent > parentIndent || (sequenceAtParent && indent == parentIndent && atSequenceEntry) {
            return try node(parentIndent: parentIndent, placement: .ownLine, anchored: anchored)
        }
        return .null(at: mark)
    }

    /// The node that starts at the current position; `anchored` as in `nodeOnFollowingLines`.
    private mutating func node(parentIndent: Int, placement: Placement, anchored: Bool = false) throws(YAMLProblem) -> YAMLNode {
        let start = position
        let mark = markAt(start)
        nodeCount += 1
        switch peek() {
        case UInt8(ascii: "&"):
            // One anchor per node (YAML's rule); `&a &b &c …` would otherwise recurse once per anchor.
            if anchored { throw error("a node can have only one anchor") }
            let countBefore = nodeCount
            let name = try anchorName()
            skipSpaces()
            let node: YAMLNode
            if atLineEnd {
                node = try nodeOnFollowingLines(parentIndent: parentIndent, at: mark, sequenceAtParent: placement == .afterKey, anchored: true)
            } else {
                node = try self.node(parentIndent: parentIndent, placement: placement, anchored: true)
            }
            anchors[name] = (node, max(nodeCount - countBefore, 1))
            return node
        case UInt8(ascii: "*"):
            let aliasStart = position
            let name = try anchorName()
            let target = try alias(name, at: aliasStart)
            skipSpaces()
            if atMappingIndicator(flow: false) { throw error("an alias cannot be a mapping key here", at: aliasStart) }
            guard atLineEnd else { throw error("unexpected text after the alias") }
            return target
        case UInt8(ascii: "!"):
            throw error("YAML tags (!...) are not supported; write the value without a tag")
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let collection = try flowCollection()
            skipSpaces()
            if atMappingIndicator(flow: false) { throw error("a flow collection cannot be a mapping key", at: start) }
            guard atLineEnd else { throw error("unexpected text after the closing bracket") }
            return collection
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            return try blockScalar(parentIndent: parentIndent)
        case UInt8(ascii: "-") where isBlankOrEnd(at: position + 1):
            guard placement != .afterKey else {
                throw error("a block sequence cannot start on its key's line; put each \"- item\" on its own line below the key")
            }
            return try blockSequence(indent: column(of: start))
        case UInt8(ascii: "?") where isBlankOrEnd(at: position + 1):
            throw error("complex mapping keys (?) are not supported")
        default:
            let scalar = try scalarOrKey(parentIndent: parentIndent)
            guard atMappingIndicator(flow: false) else { return YAMLNode(content: .scalar(scalar), mark: mark) }
            guard placement != .afterKey else {
                throw error("a mapping cannot start on its key's line (is a quote missing around a value with \": \" in it?)")
            }
            if lineNumber(of: position) != mark.line {
                throw error("a mapping key must fit on one line", at: start)
            }
            return try blockMapping(indent: column(of: start), firstKey: YAMLNode(content: .scalar(scalar), mark: mark))
        }
    }

    /// Entries `key: value` at column `indent`; the position is at the first key's `:`.
    private mutating func blockMapping(indent: Int, firstKey: YAMLNode) throws(YAMLProblem) -> YAMLNode {
        try enterCollection(at: firstKey.mark)
        defer { depth -= 1 }
        var pairs: [YAMLPair] = []
        var key = firstKey
        while true {
            try refuseMergeKey(key)
            position += 1  // the ':'
            skipSpaces()
            let value: YAMLNode
            if atLineEnd {
                value = try nodeOnFollowingLines(parentIndent: indent, at: key.mark, sequenceAtParent: true)
            } else {
                value = try node(parentIndent: indent, placement: .afterKey)
            }
            pairs.append(YAMLPair(key: key, value: value))
            try skipToContent()
            guard !atEnd, !atDocumentMarker("---"), !atDocumentMarker("..."), column(of: position) >= indent else { break }
            guard column(of: position) == indent else {
                throw error("bad indentation: expected a key at column \(indent + 1), like the keys above")
            }
            let keyStart = position
            if atSequenceEntry { throw error("expected \"key: value\" here (a \"- \" entry belongs under a key)") }
            if peek() == UInt8(ascii: "?"), isBlankOrEnd(at: position + 1) { throw error("complex mapping keys (?) are not supported") }
            if peek() == UInt8(ascii: "[") || peek() == UInt8(ascii: "{") { throw error("a flow collection cannot be a mapping key") }
            if peek() == UInt8(ascii: "&") || peek() == UInt8(ascii: "*") || peek() == UInt8(ascii: "!") {
                throw error("anchors, aliases and tags are not supported on mapping keys")
            }
            let scalar = try scalarOrKey(parentIndent: indent)
            guard atMappingIndicator(flow: false), lineNumber(of: position) == lineNumber(of: keyStart) else {
                throw error("expected \"key: value\" (a key followed by a colon and a space)", at: keyStart)
            }
            key = YAMLNode(content: .scalar(scalar), mark: markAt(keyStart))
        }
        return YAMLNode(content: .mapping(pairs), mark: firstKey.mark)
    }

    /// Entries `- item` at column `indent`; the position is at the first `-`.
    private mutating func blockSequence(indent: Int) throws(YAMLProblem) -> YAMLNode {
        let mark = markAt(position)
        try enterCollection(at: mark)
        defer { depth -= 1 }
        var items: [YAMLNode] = []
        while true {
            let entryMark = markAt(position)
            position += 1  // the '-'
            skipSpaces()
            if atLineEnd {
                items.append(try nodeOnFollowingLines(parentIndent: indent, at: entryMark, sequenceAtParent: false))
            } else {
                items.append(try node(parentIndent: indent, placement: .afterDash))
            }
            try skipToContent()
            guard !atEnd, !atDocumentMarker("---"), !atDocumentMarker("..."), column(of: position) >= indent else { break }
            guard column(of: position) == indent else {
                throw error("bad indentation: expected \"- \" at column \(indent + 1), like the entries above")
            }
            // Same column but no dash: the sequence was a mapping value at its key's indentation; the mapping goes on.
            guard atSequenceEntry else { break }
        }
        return YAMLNode(content: .sequence(items), mark: mark)
    }

    // MARK: Scalars in block context

    /// A quoted or plain scalar; stops before a `: ` that makes it a key (the caller checks for one).
    private mutating func scalarOrKey(parentIndent: Int) throws(YAMLProblem) -> YAMLScalar {
        switch peek() {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            let scalar = try quotedScalar()
            skipSpaces()
            guard atLineEnd || atMappingIndicator(flow: false) else {
                throw error("unexpected text after the closing quote")
            }
            return scalar
        default:
            return try plainScalar(parentIndent: parentIndent, flow: false)
        }
    }

    /// A plain scalar; in block context it continues on following lines indented deeper than `parentIndent`.
    private mutating func plainScalar(parentIndent: Int, flow: Bool) throws(YAMLProblem) -> YAMLScalar {
        let start = position
        if let byte = peek(), Self.indicators.contains(byte) {
            let nextIsSafe = !isBlankOrEnd(at: position + 1) && !(flow && Self.flowIndicators.contains(bytes[position + 1]))
            guard (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: ":")) && nextIsSafe else {
                throw error("a plain value cannot start with '\(Character(Unicode.Scalar(byte)))'; put the value in quotes")
            }
        }
        var text = plainLine(flow: flow)
        guard text.count > 0 else { throw error("expected a value", at: start) }
        // Continuation lines: folded into one line, with blank lines kept as line breaks.
        while !atEnd, peek() == .lf, !atMappingIndicator(flow: flow) {
            var probe = position
            var breaks = 0
            var indent = 0
            while probe < bytes.count {
                if bytes[probe] == .lf {
                    breaks += 1
                    indent = 0
                } else if bytes[probe] == .space || bytes[probe] == .tab {
                    indent += 1
                } else {
                    break
                }
                probe += 1
            }
            bytesRescanned += probe - position
            guard probe < bytes.count else { break }
            let next = bytes[probe]
            if next == UInt8(ascii: "#") { break }
            if flow {
                if Self.flowIndicators.contains(next) { break }
                if next == UInt8(ascii: ":"), isBlankOrEnd(at: probe + 1) || Self.flowIndicators.contains(bytes[probe + 1]) { break }
            } else {
                let lineStart = lineStarts[lineNumber(of: probe) - 1]
                guard probe - lineStart > parentIndent, !isDocumentMarker("---", at: lineStart), !isDocumentMarker("...", at: lineStart)
                else { break }
                if bytes[lineStart..<probe].contains(.tab) { break }
            }
            position = probe
            let continuation = plainLine(flow: flow)
            text += breaks > 1 ? String(repeating: "\n", count: breaks - 1) : " "
            text += continuation
            if !flow, atMappingIndicator(flow: false) {
                throw error("a mapping cannot start inside a multi-line value (is the indentation of this key right?)")
            }
        }
        return YAMLScalar(text: text, style: .plain)
    }

    /// The rest of one line of a plain scalar, without trailing blanks; stops at ` #`, `: `, the line end,
    /// and in flow context at `,[]{}`.
    private mutating func plainLine(flow: Bool) -> String {
        let start = position
        var end = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte == .lf { break }
            if byte == UInt8(ascii: "#"), position > start, bytes[position - 1] == .space || bytes[position - 1] == .tab { break }
            if atMappingIndicator(flow: flow) { break }
            if flow, Self.flowIndicators.contains(byte) { break }
            position += 1
            if byte != .space, byte != .tab { end = position }
        }
        let text = String(decoding: bytes[start..<end], as: UTF8.self)
        // Trailing blanks go; a comment after them ends the scalar (the loop in plainScalar sees no line break).
        position = end
        skipSpaces()
        return text
    }

    /// `|` or `>` with optional chomping (`-`, `+`) and indentation (1-9) indicators, then the indented lines.
    private mutating func blockScalar(parentIndent: Int) throws(YAMLProblem) -> YAMLNode {
        let mark = markAt(position)
        let folded = peek() == UInt8(ascii: ">")
        position += 1
        var chomping: UInt8?
        var explicitIndent: Int?
        while let byte = peek(), !isBlankOrEnd(at: position) {
            if (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")), chomping == nil {
                chomping = byte
            } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(byte), explicitIndent == nil {
                explicitIndent = Int(byte - UInt8(ascii: "0"))
            } else {
                throw error("expected only -, + or a digit 1-9 after the block scalar indicator")
            }
            position += 1
        }
        skipSpaces()
        if peek() == UInt8(ascii: "#") { skipRestOfLine() }
        guard atEnd || peek() == .lf else { throw error("a block scalar's text starts on the next line") }
        if !atEnd { position += 1 }

        let base = max(parentIndent, 0)
        var contentIndent = explicitIndent.map { parentIndent < 0 ? $0 : base + $0 }
        var lines: [String] = []
        // Whether each line ends with a line break: the text's last line may not (a file without a final newline).
        var breaks: [Bool] = []
        while position < bytes.count {
            let lineStart = position
            var spaces = 0
            while position < bytes.count, bytes[position] == .space { position += 1; spaces += 1 }
            let onlySpaces = position == bytes.count || bytes[position] == .lf
            if contentIndent == nil, !onlySpaces {
                guard spaces > parentIndent else {
                    position = lineStart
                    break
                }
                contentIndent = spaces
            }
            if onlySpaces, spaces <= (contentIndent ?? Int.max) {
                lines.append("")
            } else if let indent = contentIndent, spaces >= indent {
                var end = position
                while end < bytes.count, bytes[end] != .lf { end += 1 }
                lines.append(String(decoding: bytes[(lineStart + indent)..<end], as: UTF8.self))
                position = end
            } else {
                position = lineStart
                break
            }
            breaks.append(position < bytes.count)
            if position < bytes.count { position += 1 }
        }
        // Do not consume the line that ended the scalar (the caller reads it); keep at its start.
        var trailingBreaks = 0
        while let last = lines.last, last.isEmpty {
            if breaks.removeLast() { trailingBreaks += 1 }
            lines.removeLast()
        }
        var text = folded ? Self.fold(lines) : lines.joined(separator: "\n")
        // Clip and keep end with the last line's break, if it has one.
        let finalBreak = !lines.isEmpty && breaks.last == true
        switch chomping {
        case UInt8(ascii: "-"): break
        case UInt8(ascii: "+"):
            if finalBreak { text += "\n" }
            text += String(repeating: "\n", count: trailingBreaks)
        default:
            if finalBreak { text += "\n" }
        }
        return YAMLNode(content: .scalar(YAMLScalar(text: text, style: folded ? .folded : .literal)), mark: mark)
    }

    /// `>` folding: a break between two ordinary lines becomes a space; blank lines and lines indented
    /// more than the rest keep their breaks.
    private static func fold(_ lines: [String]) -> String {
        var text = ""
        var pendingBlank = 0
        var previousOrdinary = false
        var first = true
        for line in lines {
            if line.isEmpty {
                pendingBlank += 1
                continue
            }
            let ordinary = !(line.hasPrefix(" ") || line.hasPrefix("\t"))
            if first {
                text += String(repeating: "\n", count: pendingBlank)
            } else if previousOrdinary && ordinary {
                text += pendingBlank == 0 ? " " : String(repeating: "\n", count: pendingBlank)
            } else {
                text += String(repeating: "\n", count: pendingBlank + 1)
            }
            text += line
            pendingBlank = 0
            previousOrdinary = ordinary
            first = false
        }
        return text
    }

    // MARK: Quoted scalars

    private mutating func quotedScalar() throws(YAMLProblem) -> YAMLScalar {
        let open = position
        let quote = bytes[position]
        let double = quote == UInt8(ascii: "\"")
        position += 1
        var text: [UInt8] = []
        while true {
            guard position < bytes.count else {
                throw error("the \(double ? "double" : "single")-quoted string opened here is never closed", at: open)
            }
            let byte = bytes[position]
            if byte == quote {
                if !double, peek(1) == quote {
                    text.append(quote)
                    position += 2
                    continue
                }
                position += 1
                break
            }
            if double, byte == UInt8(ascii: "\\") {
                if peek(1) == .lf {
                    // An escaped line break: the lines join with nothing between them.
                    position += 2
                    while let next = peek(), next == .space || next == .tab { position += 1 }
                    continue
                }
                try escape(into: &text)
                continue
            }
            if byte == .space || byte == .tab {
                // A run of blanks: kept if text follows on the line, folded below if a line break does.
                // Looked at once as a run (asking at each blank whether a break follows was quadratic).
                let runEnd = endOfBlanks()
                if runEnd >= bytes.count || bytes[runEnd] != .lf {
                    text += bytes[position..<runEnd]
                    position = runEnd
                    continue
                }
            }
            if byte == .lf || byte == .space || byte == .tab {
                // Folding: trailing blanks go, the next line's leading blanks go, one break is a space.
                while let next = peek(), next == .space || next == .tab { position += 1 }
                var breaks = 0
                while let next = peek(), next == .lf || next == .space || next == .tab {
                    if next == .lf { breaks += 1 }
                    position += 1
                }
                if position < bytes.count, isDocumentMarker("---", at: position) || isDocumentMarker("...", at: position),
                    column(of: position) == 0
                {
                    throw error("the quoted string opened here is never closed", at: open)
                }
                text += breaks > 1 ? Array(repeating: .lf, count: breaks - 1) : [.space]
                continue
            }
            text.append(byte)
            position += 1
        }
        return YAMLScalar(text: String(decoding: text, as: UTF8.self), style: double ? .doubleQuoted : .singleQuoted)
    }

    /// Where the run of spaces and tabs that starts at the position ends.
    private mutating func endOfBlanks() -> Int {
        var probe = position
        while probe < bytes.count, bytes[probe] == .space || bytes[probe] == .tab { probe += 1 }
        bytesRescanned += probe - position
        return probe
    }

    /// The one-character escapes and the characters they stand for; built once, not once per escape.
    private static let simpleEscapes: [UInt8: UInt32] = [
        UInt8(ascii: "0"): 0, UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "t"): 9, UInt8(ascii: "\t"): 9,
        UInt8(ascii: "n"): 10, UInt8(ascii: "v"): 11, UInt8(ascii: "f"): 12, UInt8(ascii: "r"): 13, UInt8(ascii: "e"): 27,
        UInt8(ascii: " "): 32, UInt8(ascii: "\""): 34, UInt8(ascii: "/"): 47, UInt8(ascii: "\\"): 92,
        UInt8(ascii: "N"): 0x85, UInt8(ascii: "_"): 0xA0, UInt8(ascii: "L"): 0x2028, UInt8(ascii: "P"): 0x2029,
    ]

    /// One `\` escape of a double-quoted string; the position is at the backslash.
    private mutating func escape(into text: inout [UInt8]) throws(YAMLProblem) {
        let start = position
        guard let code = peek(1) else { throw error("a backslash at the end of the text", at: start) }
        position += 2
        let value: UInt32
        if let known = Self.simpleEscapes[code] {
            value = known
        } else {
            let digits: Int
            switch code {
            case UInt8(ascii: "x"): digits = 2
            case UInt8(ascii: "u"): digits = 4
            case UInt8(ascii: "U"): digits = 8
            default: throw error("unknown escape \\\(Character(Unicode.Scalar(code))) in a double-quoted string", at: start)
            }
            guard position + digits <= bytes.count,
                let parsed = UInt32(String(decoding: bytes[position..<(position + digits)], as: UTF8.self), radix: 16)
            else { throw error("\\\(Character(Unicode.Scalar(code))) needs \(digits) hexadecimal digits", at: start) }
            value = parsed
            position += digits
        }
        guard let scalar = Unicode.Scalar(value) else { throw error("\\\(Character(Unicode.Scalar(code))) names no Unicode character", at: start) }
        text += Array(String(Character(scalar)).utf8)
    }

    // MARK: Flow collections

    private mutating func flowCollection() throws(YAMLProblem) -> YAMLNode {
        let open = position
        let line = lineNumber(of: open)
        let mark = markAt(open)
        try enterCollection(at: mark)
        defer { depth -= 1 }
        let isSequence = peek() == UInt8(ascii: "[")
        let close = isSequence ? UInt8(ascii: "]") : UInt8(ascii: "}")
        let name = isSequence ? "flow sequence ([...])" : "flow mapping ({...})"
        position += 1
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        while true {
            try skipFlowSpace(open: open, name: name)
            if peek() == close {
                position += 1
                break
            }
            if peek() == UInt8(ascii: ",") { throw error("an empty entry in a \(name)") }
            if peek() == UInt8(ascii: "?"), isBlankOrEnd(at: position + 1) { throw error("complex mapping keys (?) are not supported") }
            let first = try flowNode(open: open, name: name)
            try skipFlowSpace(open: open, name: name)
            // `key: value`; after a quoted key the colon may follow directly (`{"a":1}`).
            let keyIsQuoted = first.scalar.map { $0.style == .singleQuoted || $0.style == .doubleQuoted } ?? false
            if peek() == UInt8(ascii: ":"), keyIsQuoted || atMappingIndicator(flow: true) {
                guard first.scalar != nil else { throw error("a flow collection cannot be a mapping key") }
                try refuseMergeKey(first)
                // In a sequence, `a: 1` is a one-pair mapping: a level of its own around its value.
                if isSequence { try enterCollection(at: first.mark) }
                position += 1
                try skipFlowSpace(open: open, name: name)
                let value: YAMLNode
                if peek() == UInt8(ascii: ",") || peek() == close {
                    value = .null(at: markAt(position))
                } else {
                    value = try flowNode(open: open, name: name)
                }
                if isSequence {
                    depth -= 1
                    items.append(YAMLNode(content: .mapping([YAMLPair(key: first, value: value)]), mark: first.mark))
                } else {
                    pairs.append(YAMLPair(key: first, value: value))
                }
            } else if isSequence {
                items.append(first)
            } else {
                guard first.scalar != nil else { throw error("a flow collection cannot be a mapping key") }
                pairs.append(YAMLPair(key: first, value: .null(at: first.mark)))
            }
            try skipFlowSpace(open: open, name: name)
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if peek() == close {
                position += 1
                break
            }
            throw error("expected ',' or '\(Character(Unicode.Scalar(close)))' in the \(name) opened at line \(line)")
        }
        return YAMLNode(content: isSequence ? .sequence(items) : .mapping(pairs), mark: mark)
    }

    private mutating func flowNode(open: Int, name: String, anchored: Bool = false) throws(YAMLProblem) -> YAMLNode {
        let mark = markAt(position)
        nodeCount += 1
        switch peek() {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            return try flowCollection()
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return YAMLNode(content: .scalar(try quotedScalar()), mark: mark)
        case UInt8(ascii: "&"):
            if anchored { throw error("a node can have only one anchor") }
            let countBefore = nodeCount
            let anchorName = try anchorName()
            try skipFlowSpace(open: open, name: name)
            let node = try flowNode(open: open, name: name, anchored: true)
            anchors[anchorName] = (node, max(nodeCount - countBefore, 1))
            return node
        case UInt8(ascii: "*"):
            let start = position
            return try alias(try anchorName(), at: start)
        case UInt8(ascii: "!"):
            throw error("YAML tags (!...) are not supported; write the value without a tag")
        default:
            return YAMLNode(content: .scalar(try plainScalar(parentIndent: -1, flow: true)), mark: mark)
        }
    }

    /// Blanks, line breaks and comments inside a flow collection.
    private mutating func skipFlowSpace(open: Int, name: String) throws(YAMLProblem) {
        while let byte = peek() {
            if byte == .space || byte == .tab || byte == .lf {
                position += 1
            } else if byte == UInt8(ascii: "#"), position == 0 || [.space, .tab, .lf].contains(bytes[position - 1]) {
                skipRestOfLine()
            } else {
                if column(of: position) == 0, atDocumentMarker("---") || atDocumentMarker("...") {
                    throw error("the \(name) opened here is never closed", at: open)
                }
                return
            }
        }
        throw error("the \(name) opened here is never closed", at: open)
    }

    // MARK: Anchors and limits

    /// The node an alias names, counted against `limits.maximumAliasedNodes`: the nodes are shared, not
    /// copied, but every reader that walks the tree walks each alias's copy in full.
    private mutating func alias(_ name: String, at start: Int) throws(YAMLProblem) -> YAMLNode {
        guard let anchor = anchors[name] else { throw error("unknown alias *\(name); define the anchor &\(name) before it", at: start) }
        let size = anchor.size
        aliasedNodes += size
        nodeCount += size
        guard aliasedNodes <= limits.maximumAliasedNodes else {
            throw error(
                "the aliases up to here stand for more than \(limits.maximumAliasedNodes) nodes (*\(name) alone for \(size)); "
                    + "aliases that expand this much are refused, write the values out or use fewer levels of aliases",
                at: start)
        }
        return anchor.node
    }

    /// One more collection open; refused beyond `limits.maximumDepth`, before the parser recurses further.
    /// The caller closes it (`depth -= 1`) when the collection ends.
    private mutating func enterCollection(at mark: YAMLMark) throws(YAMLProblem) {
        depth += 1
        guard depth <= limits.maximumDepth else {
            throw YAMLProblem(
                file: file, path: "", line: mark.line, column: mark.column,
                message: "collections nested more than \(limits.maximumDepth) levels deep; a configuration needs only a few levels")
        }
    }

    /// `&name` or `*name`: the name runs to a blank or a flow indicator.
    private mutating func anchorName() throws(YAMLProblem) -> String {
        let sigil = position
        position += 1
        let start = position
        while position < bytes.count, !isBlankOrEnd(at: position), !Self.flowIndicators.contains(bytes[position]) { position += 1 }
        guard position > start else { throw error("an anchor or alias needs a name", at: sigil) }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    // MARK: Scanning

    private static let indicators: Set<UInt8> = Set("-?:,[]{}#&*!|>'\"%@`".utf8)
    private static let flowIndicators: Set<UInt8> = Set(",[]{}".utf8)

    private var atEnd: Bool { position >= bytes.count }

    private func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private func isBlankOrEnd(at offset: Int) -> Bool {
        offset >= bytes.count || bytes[offset] == .space || bytes[offset] == .tab || bytes[offset] == .lf
    }

    /// At the end of the line's content: a line break, the end, or a comment.
    private var atLineEnd: Bool {
        guard let byte = peek() else { return true }
        return byte == .lf || byte == UInt8(ascii: "#")
    }

    private var atSequenceEntry: Bool { peek() == UInt8(ascii: "-") && isBlankOrEnd(at: position + 1) }

    /// `:` followed by a blank (or, in flow context, by a flow indicator).
    private func atMappingIndicator(flow: Bool) -> Bool {
        guard peek() == UInt8(ascii: ":") else { return false }
        return isBlankOrEnd(at: position + 1) || (flow && Self.flowIndicators.contains(bytes[position + 1]))
    }

    private func atDocumentMarker(_ marker: String) -> Bool {
        column(of: position) == 0 && isDocumentMarker(marker, at: position)
    }

    private func isDocumentMarker(_ marker: String, at offset: Int) -> Bool {
        let marker = Array(marker.utf8)
        guard offset + marker.count <= bytes.count, Array(bytes[offset..<(offset + marker.count)]) == marker else { return false }
        return isBlankOrEnd(at: offset + marker.count)
    }

    private mutating func skipSpaces() {
        while let byte = peek(), byte == .space || byte == .tab { position += 1 }
    }

    private mutating func skipRestOfLine() {
        while let byte = peek(), byte != .lf { position += 1 }
    }

    /// Skips blanks, comments and empty lines up to the next content; a tab in the indentation of a
    /// content line is an error, since YAML indents with spaces only.
    private mutating func skipToContent() throws(YAMLProblem) {
        var tabInIndentation = false
        while let byte = peek() {
            switch byte {
            case .lf:
                tabInIndentation = false
                position += 1
            case .space:
                position += 1
            case .tab:
                if position < indentationEnd(ofLineAt: position) { tabInIndentation = true }
                position += 1
            case UInt8(ascii: "#"):
                skipRestOfLine()
            default:
                if tabInIndentation { throw error("a tab in the indentation; YAML indents with spaces only") }
                return
            }
        }
    }

    // MARK: Positions

    /// Where the first byte that is not a space or a tab is, on the line holding `offset` (its line break,
    /// or the end, for a blank line). Measured once per line: asking again for each of a line's tabs
    /// re-scanned the line each time (80,000 tabs took 2.2 s).
    private mutating func indentationEnd(ofLineAt offset: Int) -> Int {
        let lineStart = lineStarts[lineNumber(of: offset) - 1]
        if indentationCache.lineStart != lineStart {
            var end = lineStart
            while end < bytes.count, bytes[end] == .space || bytes[end] == .tab { end += 1 }
            bytesRescanned += end - lineStart
            indentationCache = (lineStart, end)
        }
        return indentationCache.contentStart
    }

    private func lineNumber(of offset: Int) -> Int {
        // The last line start at or before `offset`, by binary search.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low + 1
    }

    private func column(of offset: Int) -> Int {
        offset - lineStarts[lineNumber(of: offset) - 1]
    }

    /// YAML 1.1's merge key (`<<: *defaults`) is not part of the subset: both readers this parser replaced
    /// took `<<` for an ordinary key, so a file with one never worked; say so instead of "unknown key".
    private func refuseMergeKey(_ key: YAMLNode) throws(YAMLProblem) {
        guard key.scalar == YAMLScalar(text: "<<", style: .plain) else { return }
        throw YAMLProblem(
            file: file, path: "", line: key.line, column: key.column,
            message: "merge keys (<<) are not supported; write the keys out in full")
    }

    /// Where `offset` is, as people count: 1-based line, and 1-based column in Unicode scalars.
    ///
    /// Nodes are marked in text order, so the characters are counted on from the previous mark on the same
    /// line: a flow sequence of 100,000 entries on one line is counted once, not once per entry.
    private mutating func markAt(_ offset: Int) -> YAMLMark {
        let line = lineNumber(of: offset)
        let start = lineStarts[line - 1]
        let end = min(offset, bytes.count)
        var (from, column) = (start, 1)
        if markCache.lineStart == start, markCache.offset <= end { (from, column) = (markCache.offset, markCache.column) }
        column += Self.scalarCount(bytes[from..<end])
        bytesRescanned += end - from
        markCache = (start, end, column)
        return YAMLMark(line: line, column: column)
    }

    /// UTF-8 continuation bytes (10xxxxxx) do not start a scalar.
    private static func scalarCount(_ slice: ArraySlice<UInt8>) -> Int {
        slice.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }

    /// A problem at `offset` (or the position); counted afresh, as it ends the parse.
    private func error(_ message: String, at offset: Int? = nil) -> YAMLProblem {
        let end = min(offset ?? position, bytes.count)
        let line = lineNumber(of: end)
        let column = Self.scalarCount(bytes[lineStarts[line - 1]..<end]) + 1
        return YAMLProblem(file: file, path: "", line: line, column: column, message: message)
    }
}

extension UInt8 {
    fileprivate static let lf = UInt8(ascii: "\n")
    fileprivate static let cr = UInt8(ascii: "\r")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let tab = UInt8(ascii: "\t")
}
