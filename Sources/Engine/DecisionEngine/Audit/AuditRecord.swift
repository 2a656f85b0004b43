public import SecurityContexts

/// Who made a request, for the `pid=` and `comm=` fields of an AVC record. The kernel writes the
/// task that happened to be current; userspace callers pass their own or the peer's.
public struct AuditSubject: Sendable, Hashable {
    public var pid: Int32
    public var comm: String

    public init(pid: Int32, comm: String) {
        self.pid = pid
        self.comm = comm
    }
}

/// An AVC audit record in the kernel's format, so that audit2allow and audit2why read it unchanged:
///
///     avc:  denied  { polmatch } for  pid=756 comm="pluto" scontext=… tcontext=… tclass=association permissive=0
///
/// Two spaces after `avc:`, after the result and after `for`; `permissive=` only on denials
/// (`security/selinux/avc.c`, `avc_audit_pre_callback` / `avc_audit_post_callback`).
public struct AuditRecord: Sendable, Hashable, CustomStringConvertible {
    public enum Result: String, Sendable, Hashable {
        case granted, denied
    }

    public var result: Result
    /// The audited permissions, in the class's permission order.
    public var permissions: [String]
    public var subject: AuditSubject?
    /// Check-specific fields written between `comm=` and `scontext=` (e.g. `saddr`, `daddr`, `netif`).
    public var fields: [(name: String, value: String)]
    public var scontext: SecurityContext
    public var tcontext: SecurityContext
    public var tclass: String
    /// For denials: `true` when the denial was not enforced (permissive mode or domain).
    public var permissive: Bool

    public init(
        result: Result, permissions: [String], subject: AuditSubject?, fields: [(name: String, value: String)] = [],
        scontext: SecurityContext, tcontext: SecurityContext, tclass: String, permissive: Bool
    ) {
        self.result = result
        self.permissions = permissions
        self.subject = subject
        self.fields = fields
        self.scontext = scontext
        self.tcontext = tcontext
        self.tclass = tclass
        self.permissive = permissive
    }

    /// The record body: `avc:  denied  { perms } for  …`.
    public var description: String {
        var s = "avc:  \(result.rawValue)  { \(permissions.joined(separator: " ")) } for "
        if let subject {
            s += " pid=\(subject.pid) comm=\(AuditRecord.quoted(subject.comm))"
        }
        for (name, value) in fields { s += " \(name)=\(value)" }
        s += " scontext=\(scontext) tcontext=\(tcontext) tclass=\(tclass)"
        if result == .denied { s += " permissive=\(permissive ? 1 : 0)" }
        return s
    }

    /// The full line as auditd writes it: `type=AVC msg=audit(SECONDS.MILLIS:SERIAL): avc:  …`.
    public func auditLine(seconds: Int, milliseconds: Int, serial: Int) -> String {
        let ms = String(milliseconds).count >= 3 ? String(milliseconds) : String(repeating: "0", count: 3 - String(milliseconds).count) + String(milliseconds)
        return "type=AVC msg=audit(\(seconds).\(ms):\(serial)): \(description)"
    }

    /// The kernel's `audit_log_untrustedstring`: quoted when printable without quotes or spaces,
    /// else hex-encoded.
    static func quoted(_ s: String) -> String {
        let bytes = Array(s.utf8)
        let plain = bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }
        if plain { return "\"\(s)\"" }
        let hex: [Character] = Array("0123456789ABCDEF")
        return String(bytes.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] })
    }

    public static func == (a: AuditRecord, b: AuditRecord) -> Bool { a.description == b.description }
    public func hash(into h: inout Hasher) { h.combine(description) }
}
