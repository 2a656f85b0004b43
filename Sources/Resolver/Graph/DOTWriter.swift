/// Graphviz DOT text of a ``LabelGraph`` (Specs/resolver/graph.md, "DOT"): pure, and the same bytes
/// for the same graph (nodes and edges in the graph's order, clusters in the order of their hosts'
/// first nodes).
public enum DOTWriter {
    /// `text` as a DOT quoted string, quotes included: `"` and `\` escaped with a backslash, a line
    /// break as `\n` (a centred line of a label), a carriage return dropped.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for ch in text.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": break
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    /// The graph: left to right, one cluster a host with its domains, SPD entries and host node,
    /// the SAs between the clusters; domains as ellipses, SPD entries as boxes,
    /// SAs as rounded boxes, hosts as 3-D boxes; an allowed edge solid with its permission as
    /// label, a denied one dashed and red with the permission and the reason.
    /// `comments` become `//` lines before the graph (a line break in one starts another).
    public static func dot(_ graph: LabelGraph, name: String = "salabel", comments: [String] = []) -> String {
        var lines = comments.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false) }.map { "// " + $0.filter { $0 != "\r" } }
        lines += [
            "digraph \(quoted(name)) {",
            "  rankdir=LR;",
            "  node [fontname=\"Helvetica\", fontsize=10];",
            "  edge [fontname=\"Helvetica\", fontsize=9];",
        ]
        var hosts: [String] = []
        for n in graph.nodes where !hosts.contains(n.host) { hosts.append(n.host) }
        for (i, host) in hosts.enumerated() {
            lines.append("  subgraph \(quoted("cluster_\(i)")) {")
            lines.append("    label=\(quoted("host \(host)"));")
            lines.append("    style=rounded; color=gray50;")
            for n in graph.nodes where n.host == host && n.kind != .sa {
                lines.append("    \(quoted(n.id)) [label=\(quoted(n.lines.joined(separator: "\n"))), \(shape(n.kind))];")
            }
            lines.append("  }")
        }
        // An SA stands on both of its hosts: it is drawn between their clusters.
        for n in graph.nodes where n.kind == .sa {
            lines.append("  \(quoted(n.id)) [label=\(quoted(n.lines.joined(separator: "\n"))), \(shape(n.kind))];")
        }
        for e in graph.edges {
            // The traffic of a later host to an earlier one is drawn from right to left (the edge
            // reversed, its arrow at the tail), so both directions keep the hosts in order.
            let back = e.receiver.flatMap { hosts.firstIndex(of: $0) }.map { hosts.firstIndex(of: e.sender)! > $0 } ?? false
            let label =
                e.allowed
                ? e.permission + (e.check.access.map { $0.decision == .allowed ? "" : "\n" + e.reason } ?? "") : "\(e.permission)\ndenied: \(e.reason)"
            let style = e.allowed ? "style=solid" : "style=dashed, color=red, fontcolor=red"
            let (tail, head) = back ? (e.to, e.from) : (e.from, e.to)
            lines.append("  \(quoted(tail)) -> \(quoted(head)) [label=\(quoted(label)), \(style)\(back ? ", dir=back" : "")];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func shape(_ kind: LabelGraph.Node.Kind) -> String {
        switch kind {
        case .host: return "shape=box3d"
        case .domain: return "shape=ellipse, style=filled, fillcolor=lightyellow"
        case .spd: return "shape=box"
        case .sa: return "shape=box, style=\"rounded,filled\", fillcolor=lightblue"
        }
    }
}
