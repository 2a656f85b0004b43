import Foundation
import SepolOracle
import TestSupport

/// libsepol, the reference implementation, loaded with a binary policy compiled by checkpolicy.
/// The oracle serializes its calls into libsepol (whose services keep global state).
final class Oracle: @unchecked Sendable {
    let handle: OpaquePointer

    init(binaryPolicy path: String) throws {
        var err = [CChar](repeating: 0, count: 512)
        guard let h = sepol_oracle_open(path, &err, err.count) else {
            throw OracleError("libsepol cannot open \(path): \(text(err))")
        }
        handle = h
    }

    deinit { sepol_oracle_close(handle) }

    func isValid(_ context: String) -> Bool { sepol_oracle_context_valid(handle, context) == 1 }

    func sid(_ context: String) -> UInt32? {
        var sid: UInt32 = 0
        return sepol_oracle_context_to_sid(handle, context, &sid) == 0 ? sid : nil
    }

    func classValue(_ name: String) -> UInt16? {
        var v: UInt16 = 0
        return sepol_oracle_class_value(handle, name, &v) == 0 ? v : nil
    }

    /// (allowed, auditallow, auditdeny) for two SIDs and a class value.
    func av(_ s: UInt32, _ t: UInt32, _ c: UInt16) -> (UInt32, UInt32, UInt32)? {
        var a: UInt32 = 0, aa: UInt32 = 0, ad: UInt32 = 0
        return sepol_oracle_compute_av_sids(handle, s, t, c, &a, &aa, &ad) == 0 ? (a, aa, ad) : nil
    }

    /// The AV with libsepol's reason bits.
    func avReason(_ s: String, _ t: String, _ c: String) -> (allowed: UInt32, auditAllow: UInt32, auditDeny: UInt32, reason: UInt32)? {
        var a: UInt32 = 0, aa: UInt32 = 0, ad: UInt32 = 0, r: UInt32 = 0
        return sepol_oracle_compute_av(handle, s, t, c, &a, &aa, &ad, &r) == 0 ? (a, aa, ad, r) : nil
    }

    func permissionCount(_ cls: String) -> Int { Int(sepol_oracle_perm_count(handle, cls)) }

    func permissionName(_ cls: String, bit: Int) -> String? {
        sepol_oracle_perm_name(handle, cls, UInt32(bit)).map { String(cString: $0) }
    }

    func setBool(_ name: String, _ value: Bool) throws {
        guard sepol_oracle_set_bool(handle, name, value ? 1 : 0) == 0 else { throw OracleError("libsepol cannot set boolean \(name)") }
    }

    /// 1 allowed, 0 refused, negative on error.
    func validateTransition(old: String, new: String, task: String, _ cls: String) -> Int32 {
        let rc = sepol_oracle_validate_transition(handle, old, new, task, cls)
        return rc == 0 ? 1 : rc == -EPERM ? 0 : rc
    }

    func isPermissive(type: String) -> Bool { sepol_oracle_type_is_permissive(handle, type) == 1 }

    /// The new context of a transition (kind 0 transition, 1 member, 2 change), or `nil` with the
    /// error code when libsepol refuses.
    func computeSID(kind: Int32, _ s: String, _ t: String, _ cls: String) -> Result<String, OracleError> {
        var out = [CChar](repeating: 0, count: 4096)
        let rc = sepol_oracle_compute_sid(handle, kind, s, t, cls, nil, &out, out.count)
        if rc != 0 { return .failure(OracleError("rc \(rc)")) }
        return .success(text(out))
    }

    func symbols(_ kind: Int32) -> [String] {
        let n = Int(sepol_oracle_symbol_count(handle, kind))
        return (0..<max(n, 0)).compactMap { sepol_oracle_symbol_name(handle, kind, UInt32($0)).map { String(cString: $0) } }
    }

    private func list(_ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, Int, UnsafeMutablePointer<Int>) -> Int32) -> [String] {
        var names = [UnsafePointer<CChar>?](repeating: nil, count: 65536)
        var count = 0
        guard body(&names, names.count, &count) == 0 else { return [] }
        return names.prefix(count).compactMap { $0.map { String(cString: $0) } }
    }

    func roleTypes(_ role: String) -> [String] { list { sepol_oracle_role_types(handle, role, $0, $1, $2) } }
    func userRoles(_ user: String) -> [String] { list { sepol_oracle_user_roles(handle, user, $0, $1, $2) } }
    func attributeTypes(_ attr: String) -> [String] { list { sepol_oracle_attribute_types(handle, attr, $0, $1, $2) } }

    func userRange(_ user: String) -> (range: String, level: String)? {
        var r = [CChar](repeating: 0, count: 4096), l = [CChar](repeating: 0, count: 4096)
        guard sepol_oracle_user_range(handle, user, &r, r.count, &l, l.count) == 0 else { return nil }
        return (text(r), text(l))
    }
}

struct OracleError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Compiles a policy.conf with checkpolicy (the reference compiler) into a temporary binary.
/// Fails (never skips) when checkpolicy is missing.
func checkpolicyCompile(_ confPath: String, mls: Bool) throws -> String {
    let checkpolicy = "/usr/bin/checkpolicy"
    guard FileManager.default.isExecutableFile(atPath: checkpolicy) else {
        throw OracleError("checkpolicy is not installed (scripts/deps test installs it); the conformance suite cannot run")
    }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-\(UUID().uuidString).bin").path
    let r = try runProcess(URL(fileURLWithPath: checkpolicy), (mls ? ["-M"] : []) + ["-c", "33", "-o", out, confPath], standardError: .standardOutput)
    guard r.status == 0 else { throw OracleError("checkpolicy rejected \(confPath):\n\(r.stdout)") }
    return out
}

/// Writes the flattened Debian reference policy in policy.conf form (checkpolicy -b -F -M) once
/// per test process. Fails when the policy or checkpolicy is missing.
func refpolicyConf() throws -> (conf: String, binary: String) {
    let binary = "/etc/selinux/default/policy/policy.33"
    guard FileManager.default.fileExists(atPath: binary) else {
        throw OracleError("\(binary) is missing (Debian package selinux-policy-default; scripts/deps test installs it)")
    }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-refpolicy-\(getpid()).conf").path
    if !FileManager.default.fileExists(atPath: out) {
        let r = try runProcess(
            URL(fileURLWithPath: "/usr/bin/checkpolicy"), ["-b", "-F", "-M", "-o", out, binary],
            standardOutput: .discard, standardError: .discard)
        guard r.status == 0 else { throw OracleError("checkpolicy -b -F failed on \(binary)") }
    }
    return (out, binary)
}

/// The repository's Tests/Fixtures directory.
let fixturesDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures")

/// The NUL-terminated text a C call wrote into `chars`.
private func text(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
