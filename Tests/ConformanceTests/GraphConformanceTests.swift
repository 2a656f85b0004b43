// `salabel graph`'s golden DOT files (Tests/Fixtures/graph) against libsepol: every edge that stands
// for a permission check (polmatch, sendto, peer recv, association recvfrom) is read back from the
// DOT text alone, its two contexts taken from the nodes' labels, and its drawn decision (solid and
// allowed, or dashed with "denied: STAGES") compared with sepol_compute_av_reason on the binary
// checkpolicy compiles from the embedded policy. These tests never skip.

import Foundation
import SepolOracle
import TestSupport
import Testing

struct GraphConformanceTests {
    /// One edge of a DOT file as written: tail, head, label, and whether it is drawn reversed.
    struct DOTEdge {
        var tail: String, head: String, label: String, back: Bool
        var solid: Bool
    }

    /// The node labels (id → lines) and edges of a salabel DOT file, read with a parser of its own.
    static func parse(_ text: String) -> (nodes: [String: [String]], edges: [DOTEdge]) {
        var nodes: [String: [String]] = [:], edges: [DOTEdge] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("\""), let labelRange = line.range(of: "[label=\"") else { continue }
            let head = String(line[..<labelRange.lowerBound]).trimmingCharacters(in: .whitespaces)
            let rest = line[labelRange.upperBound...]
            let label = String(rest[..<rest.range(of: "\", ")!.lowerBound])
            let lines = label.components(separatedBy: "\\n")
            if head.contains(" -> ") {
                let ends = head.components(separatedBy: " -> ").map { String($0.dropFirst().dropLast()) }
                edges.append(DOTEdge(tail: ends[0], head: ends[1], label: label, back: line.contains("dir=back"), solid: line.contains("style=solid")))
            } else {
                nodes[String(head.dropFirst().dropLast())] = lines
            }
        }
        return (nodes, edges)
    }

    static let goldens = ["demo", "echo", "echo-confined", "mls-range"]

    static func oracle() throws -> Oracle {
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        return try Oracle(binaryPolicy: try checkpolicyCompile(conf, mls: true))
    }

    @Test func everyPermissionEdgeAgreesWithLibsepol() throws {
        let oracle = try Self.oracle()
        var checked = 0
        for name in Self.goldens {
            let text = try String(contentsOf: fixturesDirectory.appendingPathComponent("graph/\(name).dot"), encoding: .utf8)
            let (nodes, edges) = Self.parse(text)
            for e in edges {
                let first = e.label.components(separatedBy: "\\n")[0]
                // Which end is which kind, whatever the direction it is drawn in.
                let ends = [e.tail, e.head]
                func end(_ prefix: String) -> [String]? { ends.first { $0.hasPrefix(prefix) }.flatMap { nodes[$0] } }
                let source: String, target: String, cls: String, perm: String
                switch first {
                case "polmatch":
                    (source, target, cls, perm) = (try #require(end("domain "))[0], try #require(end("spd "))[2], "association", "polmatch")
                case "polmatch (inbound)":
                    (source, target, cls, perm) = (try #require(end("sa "))[2], try #require(end("spd "))[2], "association", "polmatch")
                case "sendto":
                    let d = try #require(end("domain "))[0], sa = try #require(end("sa "))[2]
                    #expect(d == sa, "\(name): sendto from \(d) to an SA labeled \(sa): the kernel asks only for its own label")
                    (source, target, cls, perm) = (d, sa, "association", "sendto")
                case "peer recv":
                    (source, target, cls, perm) = (try #require(end("domain "))[0], try #require(end("sa "))[2], "peer", "recv")
                case "recvfrom":
                    (source, target, cls, perm) = (try #require(end("domain "))[0], try #require(end("sa "))[2], "association", "recvfrom")
                default: continue
                }
                let av = try #require(oracle.avReason(source, target, cls), "\(name): libsepol has no answer for \(source) \(target) \(cls)")
                var mask: UInt32 = 0
                try #require(sepol_oracle_perm_mask(oracle.handle, cls, perm, &mask) == 0)
                let allowed = av.allowed & mask != 0
                #expect(e.solid == allowed, "\(name): \(e.tail) -> \(e.head) \(first): libsepol says \(allowed ? "allowed" : "denied")")
                if !allowed {
                    // TERULE when the TE rules alone refuse it, else a constraint removed it.
                    let stage = Self.teAllows(oracle, source, target, cls, mask) ? "CONSTRAINT" : "TERULE"
                    #expect(e.label == "\(first)\\ndenied: \(stage)", "\(name): \(e.label)")
                }
                checked += 1
            }
        }
        // Every permission edge of the four files (Tests/Fixtures/graph/README.md): none skipped.
        #expect(checked == 60, "permission edges checked: \(checked)")
    }

    /// Whether the TE rules alone allow the permission: the same types with both contexts at s0.
    /// The embedded policy's only constraints are `mlsconstrain` statements, each satisfied when
    /// both levels are s0 (`l1 dom l2`, `l1 eq l2`, `h1 domby h2` all hold), and it has no
    /// typebounds and no RBAC check on these classes: what is left is the TE answer.
    static func teAllows(_ oracle: Oracle, _ s: String, _ t: String, _ cls: String, _ mask: UInt32) -> Bool {
        func level0(_ c: String) -> String { c.split(separator: ":").prefix(3).joined(separator: ":") + ":s0" }
        guard let av = oracle.avReason(level0(s), level0(t), cls) else { return false }
        return av.allowed & mask != 0
    }

    /// echo.yaml has no traffic steps: its domains are the SAs' labels and every other system_r type
    /// the policy allows polmatch on the host's SPD label (Specs/resolver/graph.md, "Domains"),
    /// here computed from libsepol's role and access tables.
    @Test func theDomainsOfAFileWithoutStepsAreThePolicysPolmatchDomains() throws {
        let oracle = try Self.oracle()
        let text = try String(contentsOf: fixturesDirectory.appendingPathComponent("graph/echo.dot"), encoding: .utf8)
        let (nodes, _) = Self.parse(text)
        var mask: UInt32 = 0
        try #require(sepol_oracle_perm_mask(oracle.handle, "association", "polmatch", &mask) == 0)
        let spd = "system_u:object_r:ipsec_spd_t:s0"
        for (host, saLabel) in [("client", "system_u:system_r:echoclient_t:s0"), ("server", "system_u:system_r:echoserver_t:s0")] {
            let drawn = Set(nodes.filter { $0.key.hasPrefix("domain \(host) ") }.map { $0.value[0] })
            var expected: Set<String> = [saLabel]
            for type in oracle.roleTypes("system_r") {
                let c = "system_u:system_r:\(type):s0"
                guard oracle.isValid(c), let av = oracle.avReason(c, spd, "association"), av.allowed & mask != 0 else { continue }
                expected.insert(c)
            }
            #expect(drawn == expected, "\(host)")
        }
    }
}
