import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// `SecurityServer.booleansGranting` (`salabel why`'s boolean fix, Specs/resolver/why.md) against
/// audit2why's "One of the following booleans was set incorrectly" on Debian's reference policy
/// binary (selinux-policy-default, read by salabel's binary reader; audit2why asks libsepol).
struct BooleanFixConformanceTests {
    static let policy = "/etc/selinux/default/policy/policy.33"

    /// Denials of the reference policy that booleans decide, and one that none does.
    static let cases: [(s: String, t: String, cls: String, perm: String)] = [
        ("system_u:system_r:httpd_t:s0", "system_u:object_r:http_port_t:s0", "tcp_socket", "name_connect"),
        ("system_u:system_r:httpd_t:s0", "system_u:object_r:user_home_t:s0", "file", "read"),
        ("system_u:system_r:ftpd_t:s0", "system_u:object_r:user_home_t:s0", "file", "write"),
        ("system_u:system_r:sshd_t:s0", "system_u:system_r:ping_t:s0", "peer", "recv"),
    ]

    @Test(arguments: cases)
    func theBooleansAreAudit2whys(c: (s: String, t: String, cls: String, perm: String)) throws {
        let audit2why = URL(fileURLWithPath: "/usr/bin/audit2why")
        try #require(
            FileManager.default.isExecutableFile(atPath: audit2why.path), "audit2why is missing (scripts/deps test installs policycoreutils-python-utils)")
        try #require(FileManager.default.fileExists(atPath: Self.policy), "\(Self.policy) is missing (scripts/deps test installs selinux-policy-default)")
        let loaded = try #require(try LoadedPolicy.loadWithoutKernel(.file(Self.policy)))
        let ours = try loaded.server.booleansGranting(
            source: try SecurityContext(parsing: c.s), target: try SecurityContext(parsing: c.t), objectClass: c.cls, permissions: [c.perm])
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-bool-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        try
            "type=AVC msg=audit(1700000000.123:42): avc:  denied  { \(c.perm) } for  pid=7 comm=\"x\" scontext=\(c.s) tcontext=\(c.t) tclass=\(c.cls) permissive=0\n"
            .write(to: log, atomically: true, encoding: .utf8)
        let run = try runProcess(audit2why, ["-p", Self.policy, "-i", log.path], input: .text(""))
        // "# setsebool -P NAME 1" lines: the booleans and the values audit2why would set.
        let theirs = run.stdout.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "setsebool"), words.count >= i + 4 else { return nil }
            return "\(words[i + 2])=\(words[i + 3] == "1")"
        }
        #expect(Set(ours.map { "\($0.name)=\($0.value)" }) == Set(theirs), "audit2why:\n\(run.stdout)")
        if c.cls == "peer" { #expect(ours.isEmpty && run.stdout.contains("Missing type enforcement")) }
    }
}
