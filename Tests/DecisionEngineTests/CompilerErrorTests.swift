import DecisionEngine
import Foundation
import SELinuxPolicy
import Testing
import TestSupport

/// A bad policy is rejected whole with file:line:column and a precise message. Each case is also
/// given to checkpolicy (the reference compiler), which must reject it too; the one case that
/// checkpolicy accepts but the kernel refuses to load (an empty rule table) is marked so.
struct CompilerErrorTests {
    /// A policy in checkpolicy's section order with three places for a case's statements.
    static func policy(head: String = "", te: String = "allow a_t b_t:file read;", rbac: String = "", tail: String = "") -> String {
        """
        class file
        sid kernel
        class file { read write }
        \(head)
        attribute domattr;
        type a_t;
        type b_t;
        \(te)
        role r;
        role r types { a_t b_t };
        \(rbac)
        user u roles { r };
        \(tail)
        sid kernel u:r:a_t

        """
    }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var text: String
        var message: String
        /// A substring of the line the error must point at (empty: no location expected).
        var at: String
        var checkpolicyRejects = true
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "duplicate type", text: policy(te: "allow a_t b_t:file read;\ntype a_t;"), message: "duplicate declaration of type a_t", at: "type a_t;\nrole"
        ),
        Case(name: "unknown type in a rule", text: policy(te: "allow a_t nope_t:file read;"), message: "unknown type or attribute nope_t", at: "nope_t"),
        Case(
            name: "permission not in class", text: policy(te: "allow a_t b_t:file execute;"), message: "permission execute is not defined for class file",
            at: "execute"),
        Case(name: "unknown class", text: policy(te: "allow a_t b_t:file read;\nallow a_t b_t:dir read;"), message: "unknown class dir", at: ":dir"),
        Case(
            name: "attribute as a type", text: policy(te: "allow a_t b_t:file read;\ntype_transition a_t b_t:file domattr;"),
            message: "domattr is an attribute, not a type", at: "type_transition"),
        Case(
            name: "conflicting type transitions",
            text: policy(te: "allow a_t b_t:file read;\ntype_transition a_t b_t:file a_t;\ntype_transition a_t b_t:file b_t;"),
            message: "conflicting type_transition", at: "file b_t;"),
        Case(
            name: "neverallow violated", text: policy(te: "allow a_t b_t:file { read write };\nneverallow a_t b_t:file write;"),
            message: "neverallow violated: allow a_t b_t:file { write }", at: "neverallow"),
        Case(
            name: "unknown boolean", text: policy(te: "allow a_t b_t:file read;\nif (nope) { allow a_t a_t:file read; }"), message: "unknown boolean nope",
            at: "if (nope)"),
        Case(name: "unknown role in a user", text: policy(tail: "user v roles { nope_r };"), message: "unknown role nope_r", at: "user v"),
        Case(
            name: "unknown policy capability", text: policy(head: "policycap no_such_cap;"), message: "unknown policy capability no_such_cap", at: "policycap"),
        Case(
            name: "conditional deeper than checkpolicy evaluates",
            text: policy(
                te:
                    "bool b1 true;\nallow a_t b_t:file read;\nif (b1 && (b1 && (b1 && (b1 && (b1 && (b1 && (b1 && (b1 && (b1 && (b1 && b1)))))))))) { allow a_t a_t:file read; }"
            ),
            message: "checkpolicy and the kernel evaluate at most 10", at: "if ("),
        Case(
            name: "typebounds violated", text: policy(te: "allow a_t b_t:file { read write };\nallow b_t b_t:file read;\ntypebounds b_t a_t;"),
            message: "typebounds violation: a_t is allowed { write } on b_t:file, which its bounding type b_t is not", at: "typebounds"),
        Case(
            name: "duplicate role_transition", text: policy(rbac: "role_transition r a_t:file r;\nrole_transition r { a_t b_t }:file r;"),
            message: "duplicate role_transition", at: "role_transition r { a_t"),
        Case(name: "empty rule table", text: policy(te: ""), message: "empty rule table", at: "", checkpolicyRejects: false),
        Case(
            name: "constraint deeper than the kernel evaluates",
            text: policy(tail: "constrain file read (u1 == u2 or (t1 == t2 or (r1 == r2 or (t1 == a_t or (t2 == b_t or u1 != u2)))));"),
            message: "the kernel evaluates at most 5", at: "constrain"),
    ]

    @Test(arguments: cases)
    func rejected(_ c: Case) throws {
        let text = c.text
        do {
            _ = try PolicyCompiler.compile(text: text, file: "bad.conf")
            Issue.record("\(c.name): accepted")
        } catch {
            #expect(error.message.contains(c.message), "\(c.name): \(error)")
            if !c.at.isEmpty, let range = text.range(of: c.at) {
                let line = text[..<range.lowerBound].filter { $0 == "\n" }.count + 1
                #expect(error.location?.line == line, "\(c.name): \(error)")
                #expect(error.location?.file == "bad.conf")
            }
        }
        // The reference compiler agrees that the policy is bad.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-bad-\(UUID().uuidString).conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let checkpolicy = try runProcess(URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-o", "/dev/null", path], standardError: .standardOutput)
        let said = checkpolicy.stdout
        #expect((checkpolicy.status != 0) == c.checkpolicyRejects, "\(c.name): checkpolicy exit \(checkpolicy.status): \(said)")
        // checkpolicy must object to the same thing, not to the test policy's syntax.
        #expect(!said.contains("syntax error"), "\(c.name): \(said)")
    }
}
