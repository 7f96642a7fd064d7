import Yams

/// A YAML node and the path that names it in errors. A value merged in from `_big_brother` keeps
/// its own path, so an error in a default points at the default, not at every cluster.
struct LocatedNode {
    var node: Node
    var path: String
}

/// Reads typed values and collects every problem instead of stopping at the first.
struct ConfigReader {
    private(set) var problems: [BrotherConfigurationError.Problem] = []
    /// Keys accepted but not acted on (``ClusterKeys/ignored``), at their paths, in the order read.
    private(set) var warnings: [BrotherConfigurationError.Problem] = []

    mutating func warn(_ path: String, _ message: String) {
        warnings.append(BrotherConfigurationError.Problem(path: path, message: message))
    }

    mutating func report(_ path: String, _ message: String) {
        let problem = BrotherConfigurationError.Problem(path: path, message: message)
        // A bad `_big_brother` value is read once per cluster; say so once.
        if !problems.contains(problem) { problems.append(problem) }
    }

    /// The mapping's entries by key, in document order; reports non-string and duplicate keys
    /// and every key outside `known` ("unknown key": typos must not pass silently).
    mutating func entries(of node: Node, at path: String, known: Set<String>, hint: String) -> [(String, LocatedNode)]? {
        guard let mapping = node.mapping else {
            report(path, "must be a mapping of \(hint)")
            return nil
        }
        var result: [(String, LocatedNode)] = []
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                report(path, "keys must be strings")
                continue
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard known.contains(key) else {
                report(childPath, "unknown key")
                continue
            }
            guard seen.insert(key).inserted else {
                report(childPath, "given twice")
                continue
            }
            result.append((key, LocatedNode(node: value, path: childPath)))
        }
        return result
    }

    mutating func string(_ value: LocatedNode?) -> String? {
        guard let value else { return nil }
        guard let text = value.node.scalar?.string else {
            report(value.path, "must be a string")
            return nil
        }
        return text
    }

    mutating func integer(_ value: LocatedNode?, in range: ClosedRange<Int>) -> Int? {
        guard let value else { return nil }
        guard let text = value.node.scalar?.string, let number = Int(text) else {
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
        guard value.node.scalar != nil, let flag = value.node.bool else {
            report(value.path, "must be true or false")
            return nil
        }
        return flag
    }

    /// Seconds as a whole or decimal number (big_brother writes whole seconds).
    mutating func seconds(_ value: LocatedNode?, allowZero: Bool) -> Duration? {
        guard let value else { return nil }
        guard let text = value.node.scalar?.string, let number = Double(text), number.isFinite else {
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
        guard let text = value.node.scalar?.string, let number = Double(text), number > 0, number < 1 else {
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
        return sequence.enumerated().map { LocatedNode(node: $1, path: "\(value.path)[\($0)]") }
    }
}
