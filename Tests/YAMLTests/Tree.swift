import YAML
import Yams

/// A parsed document reduced to what a config reader sees: the tree, and each scalar's value after
/// resolution (null, boolean, integer, float or string), so two YAML implementations can be compared.
indirect enum Tree: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case sequence([Tree])
    case mapping([(Tree, Tree)])

    static func == (lhs: Tree, rhs: Tree) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.float(let a), .float(let b)): a == b || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)): a == b
        case (.sequence(let a), .sequence(let b)): a == b
        case (.mapping(let a), .mapping(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "bool(\(value))"
        case .int(let value): "int(\(value))"
        case .float(let value): "float(\(value))"
        case .string(let value): "\"\(value.replacing("\n", with: "\\n"))\""
        case .sequence(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let pairs): "{" + pairs.map { "\($0): \($1)" }.joined(separator: ", ") + "}"
        }
    }

    /// Ours: the YAML module's parser and scalar rule.
    init(_ node: YAMLNode) {
        switch node.content {
        case .scalar(let scalar):
            switch scalar.resolved {
            case .null: self = .null
            case .bool(let value): self = .bool(value)
            case .int(let value): self = .int(value)
            case .float(let value): self = .float(value)
            case .string(let value): self = .string(value)
            }
        case .sequence(let items): self = .sequence(items.map(Tree.init))
        case .mapping(let pairs): self = .mapping(pairs.map { (Tree($0.key), Tree($0.value)) })
        }
    }

    /// The oracle's: libyaml's parse (through Yams) and Yams's YAML 1.1 tag resolution. A timestamp is
    /// text to us (brother reads `shift.start` from the text), so it is compared as its text.
    init(yams node: Node) {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: self = .null
            case .bool: self = Bool.construct(from: scalar).map(Tree.bool) ?? .string(scalar.string)
            case .int: self = Int.construct(from: scalar).map(Tree.int) ?? .string(scalar.string)
            case .float: self = Double.construct(from: scalar).map(Tree.float) ?? .string(scalar.string)
            default: self = .string(scalar.string)
            }
        case .sequence(let sequence): self = .sequence(sequence.map { Tree(yams: $0) })
        case .mapping(let mapping): self = .mapping(mapping.map { (Tree(yams: $0.key), Tree(yams: $0.value)) })
        case .alias: self = .string("<unresolved alias>")
        }
    }
}
