import YAML

/// A YAML node and the path that names it in errors: the YAML module's cursor, which litmus's reader
/// walks too. A value merged in from `_big_brother` keeps its own path, so an error in a default points
/// at the default, not at every cluster.
typealias LocatedNode = YAMLCursor

/// Reads typed values by the YAML module's one scalar rule and collects every problem instead of
/// stopping at the first. The wording of brother's messages is its own (`must be a whole number`), so
/// `brother check` reads as it always has; the values and the places are the YAML module's.
struct ConfigReader {
    /// The file (or whatever the text came from), for each problem.
    let file: String
    private(set) var problems: [YAMLProblem] = []
    /// The same problems, to say each once: a search of the list per report made 20,000 bad clusters
    /// take over a minute; the list keeps document order, this only answers "seen before?".
    private var reported: Set<YAMLProblem> = []
    /// Keys accepted but not acted on (``ClusterKeys/ignored``), at their paths, in the order read.
    private(set) var warnings: [YAMLProblem] = []
    /// Where each path read so far starts. Problems are reported by path (`clusters[0].nodes[1].port`, or
    /// a missing key's `clusters[0].nodes`); the longest read prefix of that path gives the line and column.
    private var marks: [String: YAMLMark] = [:]

    init(file: String) { self.file = file }

    mutating func warn(_ path: String, _ message: String) {
        warnings.append(problem(path, message, at: nil))
    }

    /// - Parameter mark: where the problem is, when the path alone does not say (a duplicate key).
    mutating func report(_ path: String, _ message: String, at mark: YAMLMark? = nil) {
        let problem = problem(path, message, at: mark)
        // A bad `_big_brother` value is read once per cluster; say so once.
        if reported.insert(problem).inserted { problems.append(problem) }
    }

    /// Records where the node at `path` starts, for problems reported by path later.
    mutating func visit(_ node: YAMLNode, at path: String) {
        if marks[path] == nil { marks[path] = node.mark }
    }

    private func problem(_ path: String, _ message: String, at mark: YAMLMark?) -> YAMLProblem {
        let mark = mark ?? self.mark(of: path)
        return YAMLProblem(file: file, path: path, line: mark?.line, column: mark?.column, message: message)
    }

    /// The mark of `path`, or of its nearest visited ancestor (`a.b[2].c` → `a.b[2]` → `a.b` → `a` → root).
    private func mark(of path: String) -> YAMLMark? {
        var path = Substring(path)
        while true {
            if let mark = marks[String(path)] { return mark }
            if path.isEmpty { return nil }
            if path.last == "]", let open = path.lastIndex(of: "[") {
                path = path[..<open]
            } else if let dot = path.lastIndex(of: ".") {
                path = path[..<dot]
            } else {
                path = ""
            }
        }
    }

    /// The mapping's entries by key, in document order; reports duplicate keys and every key outside
    /// `known` ("unknown key": typos must not pass silently). A null value (`key:`, `key: ~`) is no
    /// entry: by the scalar rule the key is absent and its default applies.
    /// - Parameter instead: for a key people bring from another tool, what to write instead.
    mutating func entries(
        of node: YAMLNode, at path: String, known: Set<String>, hint: String, instead: [String: String] = [:]
    ) -> [(String, LocatedNode)]? {
        visit(node, at: path)
        guard let mapping = node.mapping else {
            report(path, "must be a mapping of \(hint)")
            return nil
        }
        var result: [(String, LocatedNode)] = []
        var seen: Set<String> = []
        for pair in mapping {
            guard let key = pair.key.scalar?.text else {
                report(path, "keys must be strings", at: pair.key.mark)
                continue
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard known.contains(key) else {
                report(childPath, instead[key].map { "unknown key; \($0)" } ?? "unknown key", at: pair.key.mark)
                continue
            }
            guard seen.insert(key).inserted else {
                report(childPath, "given twice", at: pair.key.mark)
                continue
            }
            visit(pair.value, at: childPath)
            guard !pair.value.isNull else { continue }
            result.append((key, YAMLCursor(node: pair.value, file: file, path: childPath)))
        }
        return result
    }

    mutating func string(_ value: LocatedNode?) -> String? {
        guard let value else { return nil }
        guard let scalar = value.node.scalar, !scalar.isNull else {
            report(value.path, "must be a string")
            return nil
        }
        return scalar.text
    }

    mutating func integer(_ value: LocatedNode?, in range: ClosedRange<Int>) -> Int? {
        guard let value else { return nil }
        if let ambiguity = value.node.scalar?.leadingZeroAmbiguity {
            report(value.path, ambiguity)
            return nil
        }
        guard let number = value.node.scalar?.int else {
            report(value.path, "must be a whole number")
            return nil
        }
        guard range.contains(number) else {
            report(value.path, "must be \(range.lowerBound)...\(range.upperBound), not \(number)")
            return nil
        }
        return number
    }

    mutating func bool(_ value: LocatedNode?) -> Bool? {
        guard let value else { return nil }
        guard let flag = value.node.scalar?.bool else {
            report(value.path, "must be true or false")
            return nil
        }
        return flag
    }

    /// Seconds as a whole or decimal number (big_brother writes whole seconds).
    mutating func seconds(_ value: LocatedNode?, allowZero: Bool) -> Duration? {
        guard let value else { return nil }
        if let ambiguity = value.node.scalar?.leadingZeroAmbiguity {
            report(value.path, ambiguity)
            return nil
        }
        guard let text = value.node.scalar?.text, let number = value.node.scalar?.double, number.isFinite else {
            report(value.path, "must be a number of seconds")
            return nil
        }
        guard allowZero ? number >= 0 : number > 0 else {
            report(value.path, allowZero ? "must be 0 or more seconds, not \(text)" : "must be more than 0 seconds, not \(text)")
            return nil
        }
        guard number <= 86_400 else {
            report(value.path, "must be at most 86400 seconds (a day), not \(text)")
            return nil
        }
        return .milliseconds(Int64((number * 1000).rounded()))
    }

    mutating func fraction(_ value: LocatedNode?) -> Double? {
        guard let value else { return nil }
        guard let number = value.node.scalar?.double, number > 0, number < 1 else {
            report(value.path, "must be a fraction between 0 and 1 (exclusive), e.g. 0.5")
            return nil
        }
        return number
    }

    mutating func list(_ value: LocatedNode?) -> [LocatedNode]? {
        guard let value else { return nil }
        guard let sequence = value.node.sequence else {
            report(value.path, "must be a list")
            return nil
        }
        return sequence.enumerated().map { index, node in
            visit(node, at: "\(value.path)[\(index)]")
            return value.element(index, node)
        }
    }
}
