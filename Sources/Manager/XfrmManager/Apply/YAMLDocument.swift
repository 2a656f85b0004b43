import Yams

/// A YAML document as plain values (`[String: Any]`, `[Any]`, scalars typed as YAML 1.1 resolves
/// them: `Int`, `Bool`, `Double`, `String`, `NSNull`), built from Yams' node tree by salabel
/// rather than by `Yams.load`: Yams' own construction stops the process on a mapping key that is not
/// a scalar (`? [a]: b`, `!!set`), which a malformed file must not do (found by FuzzConfigInput).
/// Here such a key, a duplicate key and an unresolved alias are errors with the key's path.
///
/// Every document is read within ``YAMLLimits`` (size, expanded nodes, depth, aliases), checked
/// by ``YAMLPrescan`` before Yams sees the text and while the values are built. Errors give a
/// line and column or a path, never the document's text: Yams' own error descriptions quote the
/// offending source line, which in a key file is a key.
enum YAMLDocument {
    /// The document's root (`nil` for an empty document).
    static func load(_ text: String, limits: YAMLLimits = .document) throws(ApplyFile.Error) -> Any? {
        let size = text.utf8.count
        guard size <= limits.maximumBytes else {
            throw ApplyFile.Error(path: "", message: "the document is \(size) bytes, more than the limit of \(limits.maximumBytes) bytes")
        }
        if let f = YAMLPrescan.check(text, limits: limits) {
            throw ApplyFile.Error(path: "", message: "line \(f.line), column \(f.column): \(f.message)")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw ApplyFile.Error(path: "", message: "not valid YAML: \(describe(error))") }
        guard let root else { return nil }
        // Counted first, without building anything: building a scalar resolves its tag, which
        // would make a refused bomb slow to refuse.
        var left = limits.maximumNodes
        guard count(root, depth: 0, maximumDepth: limits.maximumDepth, left: &left) else {
            var walk = Walk(left: limits.maximumNodes, limit: limits.maximumNodes, maximumDepth: limits.maximumDepth)
            _ = try value(root, &walk, countOnly: true)
            throw ApplyFile.Error(path: "", message: "the document stands for more than \(limits.maximumNodes) nodes once its aliases are expanded (the limit)")
        }
        var walk = Walk(left: limits.maximumNodes, limit: limits.maximumNodes, maximumDepth: limits.maximumDepth)
        return try value(root, &walk)
    }

    /// A Yams error as line, column and libyaml's problem, without the source text Yams adds.
    static func describe(_ error: any Error) -> String {
        guard let e = error as? YamlError else { return "the YAML parser failed" }
        func context(_ c: YamlError.Context?) -> String {
            guard let c, !c.text.isEmpty, c.text.count < 80, !c.text.contains("\n") else { return "" }
            return " (\(c.text) at line \(c.mark.line), column \(c.mark.column))"
        }
        switch e {
        case .scanner(let c, let problem, let mark, _), .parser(let c, let problem, let mark, _), .composer(let c, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)\(context(c))"
        case .duplicatedKeysInMapping(_, let c):
            return "line \(c.mark.line), column \(c.mark.column): a mapping key appears twice"
        case .reader(let problem, let offset, _, _):
            return "\(problem)" + (offset.map { " at byte \($0)" } ?? "")
        case .memory:
            return "the YAML parser ran out of memory"
        case .dataCouldNotBeDecoded:
            return "the text is not UTF-8"
        default:
            return "the YAML parser failed"
        }
    }

    /// What is left of the node budget while values are built, and the path to the current node
    /// (components such as `hosts`, `client`, `[0]`, joined only for an error).
    private struct Walk {
        var left: Int
        let limit: Int
        let maximumDepth: Int
        var path: [String] = []

        var pathText: String {
            var out = ""
            for c in path { out += c.hasPrefix("[") || out.isEmpty ? c : ".\(c)" }
            return out
        }

        func fail(_ message: String) -> ApplyFile.Error { ApplyFile.Error(path: pathText, message: message) }
    }

    /// Whether the node, its aliases expanded, stays within `left` nodes and `maximumDepth` levels.
    private static func count(_ node: Node, depth: Int, maximumDepth: Int, left: inout Int) -> Bool {
        left -= 1
        guard left >= 0, depth <= maximumDepth else { return false }
        switch node {
        case .scalar, .alias: return true
        case .mapping(let m):
            for (k, v) in m
            where !count(k, depth: depth + 1, maximumDepth: maximumDepth, left: &left) || !count(v, depth: depth + 1, maximumDepth: maximumDepth, left: &left) {
                return false
            }
            return true
        case .sequence(let q):
            for v in q where !count(v, depth: depth + 1, maximumDepth: maximumDepth, left: &left) { return false }
            return true
        }
    }

    private static func value(_ node: Node, _ walk: inout Walk, countOnly: Bool = false) throws(ApplyFile.Error) -> Any {
        walk.left -= 1
        guard walk.left >= 0 else {
            throw walk.fail("the document stands for more than \(walk.limit) nodes once its aliases are expanded (the limit)")
        }
        guard walk.path.count <= walk.maximumDepth else {
            throw walk.fail("lists or mappings nested deeper than \(walk.maximumDepth) levels (the limit)")
        }
        switch node {
        case .scalar:
            // Only scalars go through Yams' constructor (which falls back to the text for every tag).
            return countOnly ? 0 : Constructor.default.any(from: node)
        case .mapping(let mapping):
            var out: [String: Any] = [:]
            for (k, v) in mapping {
                guard case .scalar(let key) = k else {
                    throw walk.fail("a mapping key must be a plain value, not a list or a mapping")
                }
                let name = key.string
                walk.left -= 1  // the key, as count(_:depth:maximumDepth:left:) counts it
                walk.path.append(name)
                guard out[name] == nil else { throw walk.fail("the key \(name) appears twice") }
                out[name] = try value(v, &walk, countOnly: countOnly)
                walk.path.removeLast()
            }
            return out
        case .sequence(let sequence):
            var out: [Any] = []
            for (i, v) in sequence.enumerated() {
                walk.path.append("[\(i)]")
                out.append(try value(v, &walk, countOnly: countOnly))
                walk.path.removeLast()
            }
            return out
        case .alias:
            throw walk.fail("an unresolved YAML alias")
        }
    }
}
