import Foundation
import Testing
import SELinuxPolicy
import TestSupport

// Parses the flattened Debian reference policy. The test writes it itself with
// `checkpolicy -b -F -M` from the installed binary policy, and counts the statements of each kind
// independently with awk (by the first word of each line; checkpolicy writes one statement per line),
// then compares with the parsed syntax tree. A missing checkpolicy or binary policy is a failure.

private let binaryPolicy = "/etc/selinux/default/policy/policy.33"

/// Runs a program (looked up in PATH) and returns its standard output; fails on a non-zero exit.
private func run(_ arguments: [String]) throws -> String {
    let r = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), arguments)
    guard r.status == 0 else {
        throw CommandFailure(description: "\(arguments.joined(separator: " ")) exited with \(r.status): " + r.stderr)
    }
    return r.stdout
}

private struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

/// The awk program: one key per statement line, as `statementKey` names parsed statements.
private let awkProgram = #"""
    /^[ \t]*#/ || NF == 0 { next }
    $1 == "}" { next }
    $1 == "allow" && index($0, ":") == 0 { count["allow-role"]++; next }
    $1 == "class" { count[NF == 2 ? "class-declaration" : "class-permissions"]++; next }
    $1 == "sid" { count[NF == 2 ? "sid-declaration" : "sid-context"]++; next }
    $1 == "role" && $3 == "types" { count["role-types"]++; next }
    { count[$1]++ }
    END { for (key in count) print key, count[key] }
    """#

/// The key of a parsed statement, matching the awk program's keys.
private func statementKey(_ kind: StatementKind) -> String {
    switch kind {
    case .classDeclaration: return "class-declaration"
    case .classPermissions: return "class-permissions"
    case .initialSIDDeclaration: return "sid-declaration"
    case .initialSIDContext: return "sid-context"
    case .common: return "common"
    case .defaultUser: return "default_user"
    case .defaultRole: return "default_role"
    case .defaultType: return "default_type"
    case .defaultRange: return "default_range"
    case .sensitivity: return "sensitivity"
    case .dominance, .roleDominance: return "dominance"
    case .category: return "category"
    case .level: return "level"
    case .mlsConstrain: return "mlsconstrain"
    case .mlsValidateTrans: return "mlsvalidatetrans"
    case .policyCapability: return "policycap"
    case .handleUnknown: return "handle_unknown"
    case .attribute: return "attribute"
    case .type: return "type"
    case .typeAlias: return "typealias"
    case .typeAttribute: return "typeattribute"
    case .expandAttribute: return "expandattribute"
    case .typeBounds: return "typebounds"
    case .permissive: return "permissive"
    case .neverAudit: return "neveraudit"
    case .bool(_, _, let isTunable): return isTunable ? "tunable" : "bool"
    case .conditional: return "if"
    case .avRule(let kind, _, _, _, _): return kind.rawValue
    case .extendedPermissionRule(let kind, _, _, _, _, _): return kind
    case .typeRule(let kind, _, _, _, _, _): return kind.rawValue
    case .rangeTransition: return "range_transition"
    case .role(_, let types): return types == nil ? "role" : "role-types"
    case .roleWithAttributes: return "role"
    case .attributeRole: return "attribute_role"
    case .roleAttribute: return "roleattribute"
    case .roleAllow: return "allow-role"
    case .roleTransition: return "role_transition"
    case .user: return "user"
    case .constrain: return "constrain"
    case .validateTrans: return "validatetrans"
    case .portcon: return "portcon"
    case .netifcon: return "netifcon"
    case .nodecon: return "nodecon"
    case .genfscon: return "genfscon"
    case .fsUse(let behavior, _, _): return behavior
    case .fscon: return "fscon"
    case .ibpkeycon: return "ibpkeycon"
    case .ibendportcon: return "ibendportcon"
    case .otherLabeling(let keyword, _): return keyword
    }
}

private func countKeys(_ statements: [PolicyStatement], into counts: inout [String: Int]) {
    for statement in statements {
        counts[statementKey(statement.kind), default: 0] += 1
        if case .conditional(_, let then, let otherwise) = statement.kind {
            countKeys(then, into: &counts)
            countKeys(otherwise, into: &counts)
        }
    }
}

@Suite struct ReferencePolicyParseTests {
    @Test func parsesFlattenedReferencePolicy() throws {
        try #require(
            FileManager.default.fileExists(atPath: binaryPolicy),
            "the binary policy \(binaryPolicy) is missing (install selinux-policy-default)")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("salabel-refpolicy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("refpolicy.conf").path

        do {
            _ = try run(["checkpolicy", "-b", "-F", "-M", "-o", source, binaryPolicy])
        } catch {
            Issue.record("checkpolicy is required for this test and failed or is missing (install checkpolicy): \(error)")
            return
        }

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        #expect(bytes.count > 1_000_000)
        let policy = try PolicyParser.parse(bytes, file: "refpolicy.conf")

        var parsed: [String: Int] = [:]
        countKeys(policy.statements, into: &parsed)

        var expected: [String: Int] = [:]
        for line in try run(["awk", awkProgram, source]).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let count = Int(fields[1]) else { continue }
            expected[String(fields[0])] = count
        }

        #expect(expected["allow", default: 0] > 10_000, "awk found too few allow rules: \(expected)")
        for key in Set(expected.keys).union(parsed.keys).sorted() {
            #expect(
                parsed[key, default: 0] == expected[key, default: 0],
                "statement kind \(key): parsed \(parsed[key, default: 0]), awk counted \(expected[key, default: 0])")
        }
    }
}
