@testable import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// `PolicyDB.policyLanguage()` (Specs/engine/policy-conversion.md): what it writes compiles, with
/// salabel and with checkpolicy, to a policy with the same decisions and the same `policy info`
/// counts, from a text policy and from a binary one.
@Suite(.serialized)
struct PolicyTextWriterTests {
    /// What the writer must take care of, one statement of each kind (Tests/Fixtures/conversion).
    static let edgesPolicy = repositoryRoot.appendingPathComponent("Tests/Fixtures/conversion/edges.conf")

    /// The policies the tests use: every fixture, the embedded policy, the conversion edge cases,
    /// and the micro-policies of the engine's tests.
    static var sources: [(name: String, text: String)] {
        var out: [(String, String)] = []
        for name in BinaryFixtures.fixtureNames {
            if let text = try? String(contentsOf: BinaryFixtures.policiesDirectory.appendingPathComponent(name), encoding: .utf8) {
                out.append((name, text))
            }
        }
        if let text = try? String(contentsOf: BinaryFixtures.embeddedPolicy, encoding: .utf8) { out.append(("default-policy.conf", text)) }
        if let text = try? String(contentsOf: edgesPolicy, encoding: .utf8) { out.append(("edges.conf", text)) }
        out.append(("rich.conf", PolicyStatisticsTests.rich))
        out.append(("kernel-only.conf", KernelOnlySemanticsTests.policy))
        out.append(("cache.conf", CacheAndPolicyChangeTests.policy))
        out.append(("handle-unknown-allow.conf", NamedAccessCheckTests.handleUnknownAllow))
        return out
    }

    static var sourceNames: [String] { sources.map(\.name) }

    /// The sources checkpolicy compiles (not salabel's `handle_unknown` statement).
    static var checkpolicySourceNames: [String] { sources.filter { !$0.text.contains("handle_unknown") }.map(\.name) }

    /// The sources whose checkpolicy binary salabel's reader takes (it needs a class `process`).
    static var binarySourceNames: [String] { checkpolicySourceNames.filter { hasProcessClass(source($0)) } }

    static func hasProcessClass(_ text: String) -> Bool { text.contains("class process") }

    static func source(_ name: String) -> String { sources.first { $0.name == name }!.text }

    /// The counts of `policy info` less `Neverallow`, which a compiled policy no longer holds.
    static func counts(_ p: PolicyDB) -> [String] {
        p.statistics.counts.filter { $0.label != "Neverallow" }.map { "\($0.label)=\($0.value)" }
    }

    /// A comparison with the empty set, written as its constant, in `DecisionSummary`'s notation:
    /// `t1eq{}` and `usereq userneq and` are both false, `t1neq{}` and `usereq userneq or` true.
    static func normalizedConstants(_ line: String) -> String {
        var out = line.replacingOccurrences(of: "usereq userneq and", with: "FALSE").replacingOccurrences(of: "usereq userneq or", with: "TRUE")
        for operand in ["u1", "u2", "u3", "r1", "r2", "r3", "t1", "t2", "t3"] {
            out = out.replacingOccurrences(of: "\(operand)eq{}", with: "FALSE").replacingOccurrences(of: "\(operand)neq{}", with: "TRUE")
        }
        return out
    }

    /// `original` written and compiled again decides as `original` under the default booleans and
    /// with every boolean flipped and has the same counts; the text is a fixed point after one
    /// recompile (writing, compiling and writing again gives the same text).
    ///
    /// - Parameter binary: `original` was read from a binary: its conditional entries are merged
    ///   per key (one entry may give several statements, so `Conditional AV rules` is not
    ///   compared), and below version 29 its constraints lack their written type sets (an empty
    ///   set is written as a constant).
    static func expectRoundTrip(_ original: PolicyDB, name: String, binary: Bool = false, ignoring extra: Set<String> = []) throws {
        let text = original.policyLanguage()
        let again: PolicyDB
        do { again = try PolicyCompiler.compile(text: text, file: "\(name).converted") } catch {
            Issue.record("\(name): the written policy does not compile: \(error)")
            return
        }
        var assignments: [[String: Bool]] = [[:]]
        if !original.bools.isEmpty { assignments.append(Dictionary(uniqueKeysWithValues: original.bools.map { ($0.name, !$0.defaultValue) })) }
        // handle_unknown is checkpolicy's option (-U), written as a comment.
        let ignoring: Set<String> = extra.union(binary ? ["handleUnknown", "constrain", "validatetrans"] : [])
        for assignment in assignments {
            let diff = DecisionSummary.differences(original, again, ignoring: ignoring, booleans: assignment)
            #expect(diff.isEmpty, "\(name) booleans \(assignment), original vs converted:\n\(diff.joined(separator: "\n"))")
        }
        if binary {
            let a = DecisionSummary.summary(original), b = DecisionSummary.summary(again)
            for part in ["constrain", "validatetrans"] {
                #expect(
                    (a[part] ?? []).map(normalizedConstants).sorted() == (b[part] ?? []).map(normalizedConstants).sorted(),
                    "\(name): \(part) differ:\n\(a[part] ?? [])\n\(b[part] ?? [])")
            }
        }
        let skipped: Set<String> = binary ? ["Conditional AV rules"] : []
        #expect(
            counts(original).filter { !skipped.contains(String($0.prefix { $0 != "=" })) }
                == counts(again).filter { !skipped.contains(String($0.prefix { $0 != "=" })) }, "\(name): policy info counts differ")
        let second = again.policyLanguage()
        let third = try PolicyCompiler.compile(text: second, file: "\(name).converted2").policyLanguage()
        #expect(second == third, "\(name): writing is not a fixed point after one recompile")
        // The first write equals it too, unless the handle_unknown comment changed.
        if !binary && original.handleUnknown == again.handleUnknown { #expect(second == text, "\(name): the recompiled policy writes other text") }
    }

    @Test(arguments: sourceNames)
    func textPolicyRoundTrips(_ name: String) throws {
        let original = try PolicyCompiler.compile(text: Self.source(name), file: name)
        // `handle_unknown allow;` (salabel's statement for checkpolicy's -U) becomes a comment.
        try Self.expectRoundTrip(original, name: name, binary: false, ignoring: original.handleUnknown == .deny ? [] : ["handleUnknown"])
    }

    /// The binary checkpolicy writes (v33 with type sets in constraints, v23 with synthesized
    /// attribute names) is written and compiled again into the same decisions as the binary read.
    @Test(arguments: binarySourceNames)
    func binaryPolicyRoundTrips(_ name: String) throws {
        let text = Self.source(name)
        let mls = BinaryFixtures.isMLS(text) || name == "default-policy.conf"
        for version in [33, 23] where Self.hasProcessClass(text) {
            let read = try PolicyDB(binary: BinaryFixtures.compile(text: text, version: version, mls: mls))
            try Self.expectRoundTrip(read, name: "\(name) v\(version)", binary: true)
        }
    }

    /// checkpolicy compiles what salabel writes, from text and from binaries.
    @Test(arguments: checkpolicySourceNames)
    func checkpolicyCompilesTheOutput(_ name: String) throws {
        let text = Self.source(name)
        let mls = BinaryFixtures.isMLS(text) || name == "default-policy.conf"
        let compiled = try PolicyCompiler.compile(text: text, file: name)
        _ = try BinaryFixtures.compile(text: compiled.policyLanguage(), version: 33, mls: mls)
        // v23: attributes with synthesized names (binary-policy.md §5).
        for version in [33, 23] where Self.hasProcessClass(text) {
            let read = try PolicyDB(binary: BinaryFixtures.compile(text: text, version: version, mls: mls))
            _ = try BinaryFixtures.compile(text: read.policyLanguage(), version: 33, mls: mls)
        }
    }

    @Test func outputIsInCheckpolicySectionOrder() throws {
        let text = try PolicyCompiler.compile(text: Self.source("default-policy.conf"), file: "default-policy.conf").policyLanguage()
        let firsts = [
            "class ", "sid ", "common ", "sensitivity ", "dominance ", "category ", "level ", "mlsconstrain ", "attribute ", "type ", "allow ", "role ",
            "user ", "sid kernel ",
        ]
        var last = text.startIndex
        for prefix in firsts {
            guard let r = text.range(of: "\n" + prefix, range: last..<text.endIndex) else {
                Issue.record("no \(prefix)after the previous section")
                return
            }
            last = r.upperBound
        }
    }

    /// A constraint whose name set is empty and whose written set is unknown is written as the
    /// constant it evaluates to (the language has no empty set), and decides the same.
    @Test func emptyConstraintSetsAreWrittenAsConstants() throws {
        let source = """
            class c
            sid kernel
            class c { p q }
            attribute none;
            type t;
            role r types t;
            allow t t:c { p q };
            user u roles r;
            constrain c p t1 == none;
            constrain c q (u1 != { } or t2 != none);
            sid kernel u:r:t
            """.replacingOccurrences(of: "u1 != { } or ", with: "")
        var p = try PolicyCompiler.compile(text: source, file: "empty.conf")
        #expect(p.policyLanguage().contains("t1 == none"), "a written type set is kept")
        for i in p.classes[0].constraints.indices { p.classes[0].constraints[i].writtenTypeSets = [:] }
        let text = p.policyLanguage()
        #expect(text.contains("constrain c { p } (u1 == u2 and u1 != u2);"), "\(text)")
        #expect(text.contains("constrain c { q } (u1 == u2 or u1 != u2);"), "\(text)")
        let again = try PolicyCompiler.compile(text: text, file: "empty.converted")
        #expect(DecisionSummary.differences(p, again).filter { !$0.hasPrefix("constrain") }.isEmpty)
        let server = try SecurityServer(policy: again)
        let ctx = try SecurityContext(parsing: "u:r:t")
        let av = try server.computeAccess(source: ctx, target: ctx, objectClass: "c")
        #expect(av.allowed == ["q"], "p is denied by the false constraint, q allowed by the true one")
        _ = try BinaryFixtures.compile(text: text, version: 33, mls: false)
    }

    @Test func contextsAndRangesReparseInCheckpolicy() throws {
        let text = try PolicyCompiler.compile(text: Self.source("range_transition.conf"), file: "range_transition.conf").policyLanguage()
        for line in text.split(separator: "\n") where line.hasPrefix("range_transition ") || line.hasPrefix("user ") {
            if line.contains("-") { #expect(line.contains(" - "), "a range has ' - ' between its levels: \(line)") }
        }
    }
}

extension PolicyTextWriterTests {
    /// `fscon` is written back as its two device numbers (a binary holds the name checkpolicy
    /// made of them, `%02x:%02x`); statements kept as tokens get spaces around a range's `-`.
    @Test func rawLabelingStatementsReparse() throws {
        let source = """
            class c
            sid kernel
            class c { p }
            type t;
            role r types t;
            allow t t:c p;
            user u roles r;
            sid kernel u:r:t
            fscon 8 17 u:r:t u:r:t
            """
        let text = try PolicyCompiler.compile(text: source, file: "fscon.conf").policyLanguage()
        #expect(text.contains("\nfscon 8 17 u:r:t u:r:t\n"), "\(text)")
        _ = try PolicyCompiler.compile(text: text, file: "fscon.converted")
        _ = try BinaryFixtures.compile(text: text, version: 33, mls: false)
        #expect(PolicyTextWriter.deviceNumbers("08:11") == "8 17")
        #expect(PolicyTextWriter.rawStatement("pirqcon", ["1", "u:r:t:s0-s1"]) == "pirqcon 1 u:r:t:s0 - s1")
    }
}

extension PolicyTextWriterTests {
    /// An empty database (no roles, not even `object_r`) is written without trapping.
    @Test func anEmptyDatabaseIsWritten() {
        let text = PolicyDB().policyLanguage()
        #expect(text.hasPrefix("# Written by salabel"))
        #expect(text.contains("# handle_unknown deny (checkpolicy -U deny)"))
    }

    /// Writing is deterministic: the same database gives the same text every time.
    @Test func writingIsDeterministic() throws {
        let p = try PolicyCompiler.compile(text: Self.source("default-policy.conf"), file: "default-policy.conf")
        #expect(p.policyLanguage() == p.policyLanguage())
    }
}
