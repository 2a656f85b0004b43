/// A look at a YAML text before Yams parses it, for what Yams itself cannot be trusted with:
/// Yams compares and hashes every mapping key while composing (its duplicate-key check), so a key
/// that is, or holds, an alias of a large structure costs its full expansion there, before
/// salabel's own node budget can stop it; and Yams composes recursively, so deep nesting would
/// exhaust the stack. The scan is lexical and conservative: it follows quotes, comments and flow
/// brackets, and refuses
/// - an alias used as a mapping key (`*a: x`, `[*a]: x`, or any explicit `? ` key in a document
///   with aliases), and an alias followed by anything but the end of its node (`*a b`),
/// - aliases at all when the limits forbid them (key files),
/// - nesting of flow brackets or of compact block lists (`- - - x`) deeper than the limit.
/// It never reports text of the document, only positions.
struct YAMLPrescan {
    /// A problem found, at a 1-based line and column (in Unicode scalars, as libyaml counts).
    struct Finding: Sendable, Hashable {
        var line: Int
        var column: Int
        var message: String
    }

    /// The first problem in `text`, or `nil`.
    static func check(_ text: String, limits: YAMLLimits) -> Finding? {
        var scan = YAMLPrescan(Array(text.unicodeScalars))
        return scan.run(limits)
    }

    private let s: [Unicode.Scalar]
    private var i = 0, line = 1, column = 1

    private init(_ scalars: [Unicode.Scalar]) { s = scalars }

    private func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }

    private static func isSpace(_ c: Unicode.Scalar?) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == nil }

    /// Letters, digits, `-` and `_`: the characters libyaml takes in an anchor or alias name.
    private static func isAnchorCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_"
    }

    /// Whether a token may start at `k`: at the start of a line, after blanks, or after a flow indicator.
    private func tokenStart(_ k: Int) -> Bool {
        guard k > 0 else { return true }
        let p = s[k - 1]
        return p == " " || p == "\t" || p == "\n" || p == "\r" || p == "[" || p == "{" || p == ","
    }

    /// Whether, after blanks from `k` on the same line, a `:` indicator follows (the thing before it is a key).
    private func keyIndicatorFollows(_ k: Int) -> Bool {
        var j = k
        while let c = at(j), c == " " || c == "\t" { j += 1 }
        guard at(j) == ":" else { return false }
        let n = at(j + 1)
        return Self.isSpace(n) || n == "," || n == "]" || n == "}"
    }

    /// Whether what follows an alias ending at `k` ends the alias's node: in a flow collection
    /// `,`, `]` or `}` (after blanks, line breaks and comments); in a block, the end of the line
    /// or a comment. Anything else is not valid YAML, and libyaml may first make the alias part of
    /// a mapping key, whose expansion Yams would then hash (found by FuzzConfigInput:
    /// `[*h, *h client: …]`, input `regress-alias-then-text`).
    private func separatorFollows(_ k: Int, inFlow: Bool) -> Bool {
        var j = k
        while let c = at(j) {
            switch c {
            case " ", "\t", "\r":
                j += 1
            case "\n":
                guard inFlow else { return true }
                j += 1
            case "#" where j > k:
                guard inFlow else { return true }
                while let n = at(j), n != "\n" { j += 1 }
            case ",", "]", "}":
                return inFlow
            default:
                return false
            }
        }
        return true
    }

    private mutating func advance() {
        if s[i] == "\n" { line += 1; column = 1 } else { column += 1 }
        i += 1
    }

    private mutating func run(_ limits: YAMLLimits) -> Finding? {
        var flow: [Bool] = []  // per open bracket: whether it holds an alias
        var anyAlias = false
        var explicitKey: (line: Int, column: Int)?
        var lineStart = true
        while i < s.count {
            let c = s[i]
            if lineStart {
                // Compact block lists on one line ("- - - x") nest without indentation.
                var j = i, depth = 0
                while at(j) == " " || at(j) == "\t" { j += 1 }
                while at(j) == "-", Self.isSpace(at(j + 1)) {
                    depth += 1
                    j += 1
                    while at(j) == " " || at(j) == "\t" { j += 1 }
                }
                if depth > limits.maximumDepth {
                    return Finding(line: line, column: column, message: "lists nested deeper than \(limits.maximumDepth) levels (the limit)")
                }
                lineStart = false
            }
            switch c {
            case "\n":
                lineStart = true
            case "#" where tokenStart(i):
                while i < s.count && s[i] != "\n" { advance() }
                continue
            case "'" where tokenStart(i), "\"" where tokenStart(i):
                let (l, col) = (line, column)
                advance()
                while i < s.count {
                    if c == "\"" && s[i] == "\\" { advance(); if i < s.count { advance() }; continue }
                    if s[i] == c {
                        if c == "'" && at(i + 1) == "'" { advance(); advance(); continue }
                        break
                    }
                    advance()
                }
                guard i < s.count else { return Finding(line: l, column: col, message: "a quoted value that does not end") }
            case "[" where tokenStart(i) || !flow.isEmpty, "{" where tokenStart(i) || !flow.isEmpty:
                flow.append(false)
                if flow.count > limits.maximumDepth {
                    return Finding(line: line, column: column, message: "lists or mappings nested deeper than \(limits.maximumDepth) levels (the limit)")
                }
            case "]" where !flow.isEmpty, "}" where !flow.isEmpty:
                let held = flow.removeLast()
                if held {
                    if !flow.isEmpty { flow[flow.count - 1] = true }
                    if keyIndicatorFollows(i + 1) {
                        return Finding(line: line, column: column, message: "a list or mapping holding an alias is used as a mapping key")
                    }
                }
            case "?" where tokenStart(i) && Self.isSpace(at(i + 1)):
                if explicitKey == nil { explicitKey = (line, column) }
            case "*" where tokenStart(i):
                var j = i + 1
                while let n = at(j), Self.isAnchorCharacter(n) { j += 1 }
                guard j > i + 1 else { break }
                guard limits.allowsAliases else {
                    return Finding(line: line, column: column, message: "an alias (*name): aliases are not allowed in this file")
                }
                if keyIndicatorFollows(j) { return Finding(line: line, column: column, message: "an alias is used as a mapping key") }
                if !separatorFollows(j, inFlow: !flow.isEmpty) {
                    return Finding(line: line, column: column, message: "an alias followed by more than , ] } or the end of its line")
                }
                anyAlias = true
                if !flow.isEmpty { flow[flow.count - 1] = true }
            default:
                break
            }
            if i < s.count { advance() }
        }
        if anyAlias, let k = explicitKey {
            return Finding(line: k.line, column: k.column, message: "an explicit key (? ) in a document with aliases")
        }
        return nil
    }
}
