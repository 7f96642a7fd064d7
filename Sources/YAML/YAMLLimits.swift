/// How much one YAML text may ask of the parser: how deep its collections nest, and how many nodes its
/// aliases may stand for.
///
/// A configuration file is trusted more than network input, but a running daemon reloads it on SIGHUP
/// and must refuse a bad one while the old one keeps serving: a file that overflows the parser's stack
/// (thousands of nested `[`) or whose aliases expand to a billion nodes for the readers to walk (the
/// "billion laughs") would instead kill it or stall it. The parser's own work is linear in the text's
/// size; these bound what is not.
public struct YAMLLimits: Sendable, Hashable {
    /// Collections (block or flow, mappings or sequences) nested inside each other, the document's root
    /// collection being level 1.
    public var maximumDepth: Int
    /// Nodes that the document's aliases stand for, all together: an alias counts every node of what its
    /// anchor names (and what aliases inside that stand for).
    public var maximumAliasedNodes: Int

    public init(maximumDepth: Int, maximumAliasedNodes: Int) {
        self.maximumDepth = maximumDepth
        self.maximumAliasedNodes = maximumAliasedNodes
    }

    /// What every configuration reader uses. litmus.yml, brother.yml and the `brother ipvs apply` table
    /// nest at most 5 or 6 levels; 64 is far beyond any of them and keeps the parser's recursion well
    /// inside a 512 KiB thread stack even in a debug build. 100,000 aliased nodes are a few milliseconds
    /// of walking, and thousands of times what a file that anchors its shared check list needs.
    public static let standard = YAMLLimits(maximumDepth: 64, maximumAliasedNodes: 100_000)
}
