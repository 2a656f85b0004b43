import DecisionEngine
import Foundation
import SELinuxPolicy
import SecurityContexts
import Testing
import TestSupport

/// The decision engine against libsepol, the reference implementation: each policy source is
/// compiled by salabel itself and by checkpolicy, and every answer must agree.
/// libsepol keeps global state, so these tests run one at a time.
@Suite(.serialized)
struct EngineVsLibsepolTests {
    static let fixtureNames: [String] = {
        let dir = fixturesDirectory.appendingPathComponent("policies")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return files.filter { $0.hasSuffix(".conf") }.sorted()
    }()

    static func isMLS(_ text: String) -> Bool {
        text.split(separator: "\n").contains {
            let line = $0.trimmingCharacters(in: .whitespaces)
            return line.hasPrefix("sensitivity ") || line.hasPrefix("# MLS: checkpolicy -M")
        }
    }

    /// Loads a policy.conf into both engines.
    static func load(_ path: String, booleans: [String: Bool] = [:]) throws -> (SecurityServer, Oracle) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let binary = try checkpolicyCompile(path, mls: isMLS(text))
        let oracle = try Oracle(binaryPolicy: binary)
        try? FileManager.default.removeItem(atPath: binary)
        let server = try SecurityServer(policyText: text, file: path, booleans: booleans)
        for (name, value) in booleans { try oracle.setBool(name, value) }
        return (server, oracle)
    }

    /// Boolean assignments to try: the defaults, all true, all false, and each one flipped alone.
    static func booleanAssignments(_ policy: PolicyDB) -> [[String: Bool]] {
        let names = policy.bools.map(\.name)
        guard !names.isEmpty else { return [[:]] }
        var out: [[String: Bool]] = [
            [:], Dictionary(uniqueKeysWithValues: names.map { ($0, true) }), Dictionary(uniqueKeysWithValues: names.map { ($0, false) }),
        ]
        if names.count <= 3 {
            for b in policy.bools { out.append([b.name: !b.defaultValue]) }
        }
        return out
    }

    @Test func thereAreFixtures() {
        #expect(Self.fixtureNames.count >= 15, "Tests/Fixtures/policies holds the micro-policies")
    }

    @Test(arguments: fixtureNames)
    func microPolicyAgreesWithLibsepol(_ name: String) throws {
        let path = fixturesDirectory.appendingPathComponent("policies/\(name)").path
        let (server, oracle) = try Self.load(path)
        for assignment in Self.booleanAssignments(server.policy) {
            try server.setBooleans(assignment)
            for b in server.policy.bools { try oracle.setBool(b.name, server.booleans[b.name]!) }
            var diff = Differential(server: server, oracle: oracle)
            let valid = diff.compareValidity(Differential.candidates(oracle))
            #expect(!valid.isEmpty, "no valid context in \(name)")
            diff.compareAccessVectors(valid, classes: oracle.symbols(4))
            diff.comparePermissive()
            #expect(diff.mismatchCount == 0, "\(name) with booleans \(assignment): \(diff.summary)")
            print(
                "conformance: \(name) booleans \(assignment): \(diff.comparisons) comparisons, \(diff.nonEmptyGrants) granting, \(diff.mismatchCount) mismatches"
            )
        }
    }

    @Test(arguments: fixtureNames)
    func microPolicyTransitionsAgreeWithLibsepol(_ name: String) throws {
        let path = fixturesDirectory.appendingPathComponent("policies/\(name)").path
        let (server, oracle) = try Self.load(path)
        var diff = Differential(server: server, oracle: oracle)
        let valid = diff.compareValidity(Differential.candidates(oracle, extraLevels: 1))
        // Socket classes are labeled like processes by the kernel and like files by libsepol
        // (Tests/Oracle/README.md); KernelSemanticsTests checks them against the kernel's rule.
        let classes = oracle.symbols(4).filter { $0 != "socket" && !$0.hasSuffix("_socket") }
        diff.compareTransitions(Array(valid.prefix(40)), classes: classes)
        diff.compareValidateTrans(Array(valid.prefix(16)), classes: classes)
        #expect(diff.mismatchCount == 0, "\(name): \(diff.summary)")
        print("conformance: \(name) transitions and validatetrans: \(diff.comparisons) comparisons, \(diff.mismatchCount) mismatches")
    }

    /// The embedded policy, exhaustively: every type pair (one context per type and role, plus MLS
    /// variants) and every class, under the default booleans and with every boolean flipped.
    @Test func embeddedPolicyAgreesWithLibsepolExhaustively() throws {
        let conf = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf").path
        let (server, oracle) = try Self.load(conf)
        let flipped = Dictionary(uniqueKeysWithValues: server.policy.bools.map { ($0.name, !$0.defaultValue) })
        for assignment in [[:], flipped] {
            try server.setBooleans(assignment)
            for b in server.policy.bools { try oracle.setBool(b.name, server.booleans[b.name]!) }
            var diff = Differential(server: server, oracle: oracle)
            let valid = diff.compareValidity(Differential.candidates(oracle, extraLevels: 2))
            let types = Set(valid.map { $0.split(separator: ":")[2] })
            #expect(types.count == oracle.symbols(0).count, "every type has a valid context")
            diff.compareAccessVectors(valid, classes: oracle.symbols(4))
            #expect(diff.mismatchCount == 0, "embedded policy with \(assignment): \(diff.summary)")
            print(
                "conformance: embedded policy booleans \(assignment): \(valid.count) contexts, \(diff.comparisons) comparisons, \(diff.nonEmptyGrants) granting, \(diff.mismatchCount) mismatches"
            )
        }
    }
}
