import Yams

/// A YAML document as plain values (`[String: Any]`, `[Any]`, scalars typed as YAML 1.1 resolves
/// them: `Int`, `Bool`, `Double`, `String`, `NSNull`), built from Yams' node tree by salabel
/// rather than by `Yams.load`: Yams' own construction stops the process on a mapping key that is not
/// a scalar (`? [a]: b`, `!!set`), which a malformed file must not do (found by FuzzConfigInput).
/// Here such a key, a duplicate key and an unresolved alias are errors with the key's path.
enum YAMLDocument {
    /// The document's root (`nil` for an empty document).
    static func load(_ text: String) throws(ApplyFile.Error) -> Any? {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw ApplyFile.Error(path: "", message: "not valid YAML: \(error)") }
        guard let root else { return nil }
        return try value(root, at: "")
    }

    private static func value(_ node: Node, at path: String) throws(ApplyFile.Error) -> Any {
        switch node {
        case .scalar:
            // Only scalars go through Yams' constructor (which falls back to the text for every tag).
            return Constructor.default.any(from: node)
        case .mapping(let mapping):
            var out: [String: Any] = [:]
            for (k, v) in mapping {
                guard case .scalar(let key) = k else {
                    throw ApplyFile.Error(path: path, message: "a mapping key must be a plain value, not a list or a mapping")
                }
                let name = key.string
                let sub = path.isEmpty ? name : "\(path).\(name)"
                guard out[name] == nil else { throw ApplyFile.Error(path: sub, message: "the key \(name) appears twice") }
                out[name] = try value(v, at: sub)
            }
            return out
        case .sequence(let sequence):
            var out: [Any] = []
            for (i, v) in sequence.enumerated() { out.append(try value(v, at: "\(path)[\(i)]")) }
            return out
        case .alias:
            throw ApplyFile.Error(path: path, message: "an unresolved YAML alias")
        }
    }
}
