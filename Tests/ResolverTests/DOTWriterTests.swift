import Foundation
import Resolver
import TestSupport
import Testing

/// The DOT writer (Specs/resolver/graph.md, "DOT"): its quoting, checked by hand and by Graphviz's
/// own reader (`dot -Tcanon` reads the text back), and its stable output.
struct DOTWriterTests {
    @Test func quotesBackslashesAndLineBreaksAreEscaped() {
        #expect(DOTWriter.quoted("plain") == "\"plain\"")
        #expect(DOTWriter.quoted("a\"b") == "\"a\\\"b\"")
        #expect(DOTWriter.quoted("a\\b") == "\"a\\\\b\"")
        #expect(DOTWriter.quoted("one\ntwo") == "\"one\\ntwo\"")
        #expect(DOTWriter.quoted("cr\r\nlf") == "\"cr\\nlf\"")
        // A backslash before a quote stays two characters, the quote one escaped character.
        #expect(DOTWriter.quoted("\\\"") == "\"\\\\\\\"\"")
        #expect(DOTWriter.quoted("") == "\"\"")
        #expect(DOTWriter.quoted("→ s0:c0.c15") == "\"→ s0:c0.c15\"")
    }

    /// A graph whose ids, labels and comments hold every character that needs escaping.
    static let hostile: LabelGraph = {
        let check = ResolutionCheck(what: "a \"quoted\" check\\", passed: false, reason: "why:\n\"no\" \\ here", record: nil)
        return LabelGraph(
            nodes: [
                .init(id: "host \"a\"", kind: .host, host: "a\\b", lines: ["a \"x\"", "back\\slash", "brace { } ; -> --"]),
                .init(id: "domain\nb", kind: .domain, host: "a\\b", lines: ["u:r:t:s0"]),
            ],
            edges: [.init(from: "host \"a\"", to: "domain\nb", kind: .receive, sender: "a\\b", receiver: nil, check: check)])
    }()

    @Test func graphvizReadsBackEveryLabelAsWritten() throws {
        let text = DOTWriter.dot(Self.hostile, name: "n\"ame", comments: ["one\ntwo \"three\""])
        let dot = try #require(Self.dotProgram(), "Graphviz's dot is not installed (scripts/deps test installs graphviz)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-dot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("g.dot")
        try text.write(to: file, atomically: true, encoding: .utf8)
        // -Tcanon prints the graph as Graphviz parsed it: with the same escapes when every string
        // was read as the one meant.
        let canon = try runProcess(URL(fileURLWithPath: dot), ["-Tcanon", file.path])
        #expect(canon.status == 0, "\(canon.stderr)")
        for expected in [
            "\"host \\\"a\\\"\"", "\"domain\\nb\"", "label=\"a \\\"x\\\"\\nback\\\\slash\\nbrace { } ; -> --\"", "\"n\\\"ame\"",
            "label=\"a \\\"quoted\\\" check\\\\\\ndenied: why:\\n\\\"no\\\" \\\\ here\"",
        ] {
            #expect(canon.stdout.contains(expected), "\(expected) not in:\n\(canon.stdout)")
        }
        // The comment's second line is a comment too: nothing of it reaches the graph.
        #expect(!canon.stdout.contains("three"))
    }

    @Test func theSameGraphGivesTheSameBytes() {
        #expect(DOTWriter.dot(Self.hostile) == DOTWriter.dot(Self.hostile))
        let lines = DOTWriter.dot(Self.hostile).split(separator: "\n")
        #expect(lines.first == "digraph \"salabel\" {" && lines.last == "}")
        #expect(lines.contains { $0.contains("style=dashed, color=red") })
    }

    /// Graphviz's dot, looked up in PATH.
    static func dotProgram() -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/dot" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
