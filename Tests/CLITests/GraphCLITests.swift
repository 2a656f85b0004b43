import Foundation
import Testing
import TestSupport

/// `salabel graph` (Specs/resolver/graph.md): its DOT output against the golden files of
/// Tests/Fixtures/graph (each edge checked against libsepol by ConformanceTests.GraphConformanceTests;
/// how they were made is in the fixtures' README), Graphviz reading every golden file, and the
/// rendered formats.
struct GraphCLITests {
    /// Golden file → the input it was made from (a path relative to the repository).
    static let goldens: [(name: String, input: String)] = [
        ("demo", "Sources/Scenario/ScenarioDemo/Resources/demo.yaml"), ("echo", "Specs/scenarios/echo.yaml"),
        ("echo-confined", "Specs/scenarios/echo-confined.yaml"), ("mls-range", "Specs/scenarios/mls-range.yaml"),
    ]

    static func golden(_ name: String) -> URL { repositoryRoot.appendingPathComponent("Tests/Fixtures/graph/\(name).dot") }

    static func graph(_ args: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: Data, stderr: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-graph-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(
            CLITests.binary, ["graph"] + args + ["-o", out.path], environment: environment, currentDirectory: repositoryRoot)
        return (r.status, FileManager.default.contents(atPath: out.path) ?? Data(), r.stderr)
    }

    static func dotProgram() throws -> String {
        let found = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/dot" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        return try #require(found, "Graphviz's dot is not installed (scripts/deps test installs graphviz)")
    }

    @Test func theOutputIsTheGoldenFileByteForByte() throws {
        for g in Self.goldens {
            let r = try Self.graph([g.input])
            #expect(r.status == 0, "\(g.input): \(r.stderr)")
            let expected = try #require(FileManager.default.contents(atPath: Self.golden(g.name).path))
            #expect(r.stdout == expected, "\(g.input) differs from Tests/Fixtures/graph/\(g.name).dot:\n\(String(decoding: r.stdout, as: UTF8.self))")
        }
    }

    @Test func graphvizParsesEveryGoldenFile() throws {
        let dot = try Self.dotProgram()
        for g in Self.goldens {
            let r = try runProcess(URL(fileURLWithPath: dot), ["-Tcanon", Self.golden(g.name).path])
            #expect(r.status == 0 && r.stdout.hasPrefix("digraph salabel {"), "\(g.name): \(r.stderr)")
        }
    }

    @Test func pngAndSvgAreRenderedByDot() throws {
        _ = try Self.dotProgram()
        let png = try Self.graph(["Specs/scenarios/echo.yaml", "--format", "png"])
        #expect(png.status == 0, "\(png.stderr)")
        let bytes = [UInt8](png.stdout)
        try #require(bytes.count > 33, "PNG of \(bytes.count) bytes")
        // The signature, then IHDR first (RFC 2083 §3.1, §4.1.1) with the width and height.
        #expect(Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR")
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width > 400 && height > 150 && width < 20000 && height < 20000, "\(width)x\(height)")
        #expect(bytes.count > 10_000)
        let svg = try Self.graph(["Specs/scenarios/echo.yaml", "--format", "svg"])
        let text = String(decoding: svg.stdout, as: UTF8.self)
        #expect(svg.status == 0 && text.contains("<svg") && text.contains("peer recv") && text.contains("system_u:system_r:echoclient_t:s0"))
    }

    @Test func withoutDotSvgAndPngSayWhichPackageToInstall() throws {
        let r = try Self.graph(["--format", "png"], environment: ["PATH": "/nonexistent"])
        #expect(r.status == 2 && r.stderr.contains("Debian package graphviz") && r.stdout.isEmpty, "\(r.stderr)")
        // DOT needs no Graphviz.
        let dot = try Self.graph([], environment: ["PATH": "/nonexistent"])
        #expect(dot.status == 0 && String(decoding: dot.stdout, as: UTF8.self).contains("digraph"))
    }

    @Test func badArgumentsExitTwoAndWriteNothing() throws {
        for args in [
            ["--format", "gif"], ["Specs/scenarios/echo.yaml", "--scenario", "Specs/scenarios/echo.yaml"],
            ["Specs/scenarios/echo.yaml", "--netns", "x"], ["/nonexistent.yaml"],
        ] {
            let r = try Self.graph(args)
            #expect(r.status == 2 && !r.stderr.isEmpty && r.stdout.isEmpty, "\(args): \(r.status) \(r.stderr)")
        }
    }

    @Test func limitBoundsTheDomainsAndSaysHowManyWereLeftOut() throws {
        // echo.dot has four domains a host (GraphConformanceTests lists them with libsepol): the
        // SA's label and three more; --limit 1 keeps the SA's label and the first of the three.
        let r = try Self.graph(["Specs/scenarios/echo.yaml", "--limit", "1"])
        let text = String(decoding: r.stdout, as: UTF8.self)
        #expect(text.contains("// host client: 2 more domain(s) polmatch the SPD labels (--limit)\n"), "\(text)")
        let clientDomains = text.split(separator: "\n").filter { $0.hasPrefix("    \"domain client ") }
        #expect(clientDomains.count == 2 && clientDomains.contains { $0.contains("echoclient_t") }, "\(clientDomains)")
    }

    @Test func jsonCarriesEachEdgesCheck() throws {
        let r = try Self.graph(["Specs/scenarios/mls-range.yaml", "--format", "json"])
        let json = try CLITests.json(String(decoding: r.stdout, as: UTF8.self))
        let edges = try #require(json["edges"] as? [[String: Any]])
        // The flow at s2 is outside the SPD entry's range s0-s1: mlsconstrain on polmatch.
        let s2 = try #require(edges.first { ($0["from"] as? String)?.hasSuffix("echoclient_t:s2") == true })
        #expect(s2["kind"] as? String == "polmatch" && s2["allowed"] as? Bool == false && s2["reason"] as? String == "CONSTRAINT")
        #expect((s2["check"] as? [String: Any])?["denial_stages"] as? [String] == ["CONSTRAINT"])
    }
}
