import NetworkAddress

/// A YAML node plus where it sits (file and YAML path), so every error can say exactly where it is.
struct YAMLCursor {
    let node: YAMLNode
    let file: String
    let path: String

    var line: Int? { node.line }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, path: path, line: line, message: message)
    }

    func child(_ key: String, _ value: YAMLNode) -> YAMLCursor {
        YAMLCursor(node: value, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    func element(_ index: Int, _ value: YAMLNode) -> YAMLCursor {
        YAMLCursor(node: value, file: file, path: "\(path)[\(index)]")
    }

    /// The entries of a mapping, in file order, with string keys.
    func mapping() throws(ConfigError) -> [(key: String, value: YAMLCursor)] {
        guard let pairs = node.mapping else { throw error("expected a mapping (key: value pairs), found \(kind)") }
        var result: [(key: String, value: YAMLCursor)] = []
        for pair in pairs {
            guard let name = pair.key.scalar?.text else { throw error("keys must be plain strings") }
            result.append((name, child(name, pair.value)))
        }
        return result
    }

    func sequence() throws(ConfigError) -> [YAMLCursor] {
        guard let items = node.sequence else { throw error("expected a list, found \(kind)") }
        return items.enumerated().map { element($0.offset, $0.element) }
    }

    var isNull: Bool { node.isNull }

    func string() throws(ConfigError) -> String {
        guard let scalar = node.scalar, !scalar.isNull else { throw error("expected a string, found \(kind)") }
        return scalar.text
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let value = try string()
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let value = node.scalar?.int else { throw error("expected an integer, found \(describe)") }
        guard range.contains(value) else { throw error("must be \(range.lowerBound)...\(range.upperBound), got \(value)") }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        guard let value = node.scalar?.bool else { throw error("expected true or false, found \(describe)") }
        return value
    }

    /// Seconds, integer or fractional, > 0 and at most `maximum`.
    func seconds(maximum: Double = 3600) throws(ConfigError) -> Duration {
        guard let scalar = node.scalar, let value = scalar.double ?? scalar.int.map(Double.init) else {
            throw error("expected a number of seconds, found \(describe)")
        }
        guard value > 0, value <= maximum else { throw error("must be more than 0 and at most \(Int(maximum)) seconds, got \(value)") }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    func port() throws(ConfigError) -> Int { try int(in: 1...65535) }

    func hostAndPort() throws(ConfigError) -> HostAndPort {
        let text = try string()
        guard let value = HostAndPort(parsing: text) else { throw error("expected host:port or [ipv6]:port, got \"\(text)\"") }
        return value
    }

    func regex() throws(ConfigError) -> String {
        let pattern = try string()
        do {
            _ = try Regex(pattern)
        } catch {
            throw self.error("not a valid regular expression \"\(pattern)\": \(error)")
        }
        return pattern
    }

    var kind: String {
        switch node.content {
        case .scalar(let scalar): scalar.isNull ? "nothing (null)" : "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    var describe: String {
        if let scalar = node.scalar, !scalar.isNull { return "\"\(scalar.text)\"" }
        return kind
    }
}

/// Reads a mapping's keys once each and reports unknown or missing ones by path.
struct YAMLObject {
    let cursor: YAMLCursor
    private var entries: [String: YAMLCursor] = [:]
    private var order: [String] = []
    private var used: Set<String> = []

    init(_ cursor: YAMLCursor) throws(ConfigError) {
        self.cursor = cursor
        for (key, value) in try cursor.mapping() {
            if entries[key] != nil { throw value.error("duplicate key") }
            entries[key] = value
            order.append(key)
        }
    }

    mutating func optional(_ keys: String...) -> YAMLCursor? {
        for key in keys {
            used.insert(key)
            if let value = entries[key], !value.isNull { return value }
        }
        return nil
    }

    mutating func required(_ key: String, _ aliases: String...) throws(ConfigError) -> YAMLCursor {
        for name in [key] + aliases {
            used.insert(name)
            if let value = entries[name], !value.isNull { return value }
        }
        throw cursor.child(key, cursor.node).error("is required")
    }

    /// Keys nobody asked for: almost always a typo, so they are errors.
    func unknownKeys() -> [ConfigError] {
        order.filter { !used.contains($0) }.map { key in
            entries[key]!.error("unknown key; known keys here: \(used.sorted().joined(separator: ", "))")
        }
    }
}
