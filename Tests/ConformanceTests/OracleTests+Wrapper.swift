// The oracle tests' fixtures and a thin Swift wrapper over the oracle's C API (OracleTests.swift).

import Foundation
import SepolOracle
import TestSupport
import Testing

// MARK: - Fixtures and checkpolicy

/// The micro-policy fixtures, located relative to this file.
internal enum OracleFixtures {
    static let directory: URL = repositoryRoot.appendingPathComponent("Tests/Fixtures/policies", isDirectory: true)

    static let referencePolicy = "/etc/selinux/default/policy/policy.33"

    /// Every `*.conf` fixture name, without extension.
    static func all() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".conf") }
            .map { String($0.dropLast(5)) }
            .sorted()
    }

    /// Whether the fixture is an MLS policy, as its header says (`# MLS: checkpolicy -M ...`).
    static func isMLS(_ name: String) throws -> Bool {
        let text = try String(contentsOf: directory.appendingPathComponent("\(name).conf"), encoding: .utf8)
        return text.split(separator: "\n").contains { $0.hasPrefix("# MLS: checkpolicy -M") }
    }

    static func checkpolicyPath() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/checkpolicy" } + ["/usr/bin/checkpolicy", "/usr/sbin/checkpolicy"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw OracleTestError("checkpolicy not found (install the 'checkpolicy' package)")
        }
        return found
    }

    /// Compiles `name.conf` with `checkpolicy [-M] -c 33` into a fresh temporary directory and
    /// returns the binary policy's path.
    static func compile(_ name: String) throws -> String {
        let source = directory.appendingPathComponent("\(name).conf")
        let temp = FileManager.default.temporaryDirectory
            .appendingPathComponent("salabel-oracle-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        let output = temp.appendingPathComponent("\(name).bin").path
        let r = try runProcess(
            URL(fileURLWithPath: try checkpolicyPath()), (try isMLS(name) ? ["-M"] : []) + ["-c", "33", "-o", output, source.path], standardOutput: .discard)
        guard r.status == 0 else {
            throw OracleTestError("checkpolicy failed on \(name).conf: \(r.stderr)")
        }
        return output
    }
}

internal struct OracleTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - A thin Swift wrapper over the C API

/// The NUL-terminated string in a C buffer.
internal func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// One opened policy. Not Sendable: each test uses its own.
internal final class SepolPolicy {
    let handle: OpaquePointer

    init(path: String) throws {
        var err = [CChar](repeating: 0, count: 1024)
        guard let h = sepol_oracle_open(path, &err, err.count) else {
            throw OracleTestError("sepol_oracle_open: \(cString(err))")
        }
        handle = h
    }

    static func fixture(_ name: String) throws -> SepolPolicy { try SepolPolicy(path: OracleFixtures.compile(name)) }

    deinit { sepol_oracle_close(handle) }

    struct Decision {
        var allowed: Set<String>
        var auditAllow: Set<String>
        var auditDeny: Set<String>
        var reason: UInt32
    }

    /// The names of the class's permissions set in `vector` (bits beyond the class's permissions,
    /// which `*` and `~` in rules also set, are ignored).
    func names(_ vector: UInt32, _ tclass: String) -> Set<String> {
        let count = sepol_oracle_perm_count(handle, tclass)
        var result = Set<String>()
        for bit in 0..<max(count, 0) where vector & (UInt32(1) << UInt32(bit)) != 0 {
            if let name = sepol_oracle_perm_name(handle, tclass, UInt32(bit)) { result.insert(String(cString: name)) }
        }
        return result
    }

    func decision(_ scon: String, _ tcon: String, _ tclass: String) throws -> Decision {
        var allowed: UInt32 = 0, auditAllow: UInt32 = 0, auditDeny: UInt32 = 0, reason: UInt32 = 0
        let rc = sepol_oracle_compute_av(handle, scon, tcon, tclass, &allowed, &auditAllow, &auditDeny, &reason)
        guard rc == 0 else { throw OracleTestError("compute_av(\(scon), \(tcon), \(tclass)) = \(rc): \(message)") }
        return Decision(
            allowed: names(allowed, tclass), auditAllow: names(auditAllow, tclass),
            auditDeny: names(auditDeny, tclass), reason: reason)
    }

    func allowed(_ scon: String, _ tcon: String, _ tclass: String) throws -> Set<String> {
        try decision(scon, tcon, tclass).allowed
    }

    /// The computed context, or the negative errno.
    func compute(_ kind: Int32, _ scon: String, _ tcon: String, _ tclass: String, name: String? = nil) -> Result<String, OracleErrno> {
        var out = [CChar](repeating: 0, count: 512)
        let rc = sepol_oracle_compute_sid(handle, kind, scon, tcon, tclass, name, &out, out.count)
        return rc == 0 ? .success(cString(out)) : .failure(OracleErrno(-rc))
    }

    func transition(_ s: String, _ t: String, _ c: String) -> Result<String, OracleErrno> { compute(SEPOL_ORACLE_TRANSITION, s, t, c) }
    func member(_ s: String, _ t: String, _ c: String) -> Result<String, OracleErrno> { compute(SEPOL_ORACLE_MEMBER, s, t, c) }
    func change(_ s: String, _ t: String, _ c: String) -> Result<String, OracleErrno> { compute(SEPOL_ORACLE_CHANGE, s, t, c) }

    func setBool(_ name: String, _ value: Bool) -> Int32 { sepol_oracle_set_bool(handle, name, value ? 1 : 0) }

    func bool(_ name: String) -> Bool? {
        var value: Int32 = 0
        return sepol_oracle_get_bool(handle, name, &value) == 0 ? value != 0 : nil
    }

    func symbols(_ kind: Int32) -> [String] {
        (0..<max(sepol_oracle_symbol_count(handle, kind), 0)).map {
            String(cString: sepol_oracle_symbol_name(handle, kind, UInt32($0)))
        }
    }

    func relation(_ call: (OpaquePointer, UnsafeMutablePointer<UnsafePointer<CChar>?>?, Int, UnsafeMutablePointer<Int>) -> Int32) -> [String]? {
        var count = 0
        guard call(handle, nil, 0, &count) == 0 else { return nil }
        let capacity = count
        var names = [UnsafePointer<CChar>?](repeating: nil, count: capacity)
        guard call(handle, &names, capacity, &count) == 0 else { return nil }
        return names.compactMap { $0.map { String(cString: $0) } }
    }

    var message: String { String(cString: sepol_oracle_last_message(handle)) }
}

/// An errno value as the oracle returns it (negated back to positive).
internal struct OracleErrno: Error, Equatable, CustomStringConvertible {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    static let EINVAL = OracleErrno(22), EACCES = OracleErrno(13), EPERM = OracleErrno(1), EOPNOTSUPP = OracleErrno(95)
    var description: String { "errno \(code)" }
}
