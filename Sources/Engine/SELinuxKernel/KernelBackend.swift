// The decision backend that asks the running kernel, through libselinux's selinuxfs interface
// (`/sys/fs/selinux/access`, `create`, `member`, `relabel`, `context`). Contexts are passed in their raw
// (untranslated) form, so MCS/MLS translation daemons play no part.

internal import CSELinux
internal import Glibc
public import DecisionEngine
public import SecurityContexts

/// The ``DecisionBackend`` that answers with the running kernel's policy, through libselinux.
///
/// Only available where SELinux is enabled; ``init()`` fails otherwise. Decisions are computed by the
/// kernel's security server, so they reflect the loaded policy, booleans and permissive domains.
public struct KernelBackend: DecisionBackend {
    /// Connects to the kernel's security server.
    ///
    /// - Throws: ``DecisionError/unavailable(_:)`` with "SELinux is not enabled on this kernel" when
    ///   SELinux is disabled or selinuxfs is not mounted.
    ///
    /// The corresponding C functions are `is_selinux_enabled` and `security_getenforce`.
    public init() throws(DecisionError) {
        guard KernelBackend.isActive else {
            throw .unavailable("SELinux is not enabled on this kernel")
        }
    }

    /// Whether the running kernel has SELinux with selinuxfs mounted. `is_selinux_enabled` alone
    /// also requires `/etc/selinux/config` (libselinux's `has_selinux_config`), which minimal systems
    /// such as the test VM do not have; an answer from selinuxfs (`security_getenforce`) is enough.
    public static var isActive: Bool {
        is_selinux_enabled() == 1 || security_getenforce() >= 0
    }

    /// `"kernel"`.
    public var backendName: String { "kernel" }

    /// The context of the process at the other end of a connected Unix socket, as the kernel
    /// labelled it (`SO_PEERSEC`), in the raw form.
    ///
    /// - Throws: ``DecisionError/unavailable(_:)`` naming the error when the kernel gives no label
    ///   (for instance `ENOPROTOOPT` where no LSM labels sockets).
    ///
    /// The corresponding C function is `getpeercon_raw`.
    public static func peerContext(ofSocket fd: Int32) throws(DecisionError) -> String {
        var raw: UnsafeMutablePointer<CChar>?
        guard getpeercon_raw(fd, &raw) == 0, let raw else {
            throw .unavailable("SO_PEERSEC: \(message(for: errno))")
        }
        defer { freecon(raw) }
        return String(cString: raw)
    }

    /// The calling process's own context, when SELinux is enabled (`nil` otherwise).
    /// The corresponding C function is `getcon_raw`.
    public static func currentContext() -> SecurityContext? {
        guard isActive else { return nil }
        var raw: UnsafeMutablePointer<CChar>?
        guard getcon_raw(&raw) == 0, let raw else { return nil }
        defer { freecon(raw) }
        return try? SecurityContext(parsing: String(cString: raw))
    }

    /// Whether the kernel enforces denials. When the mode cannot be read, `true`: fail closed.
    ///
    /// The corresponding C function is `security_getenforce`.
    public var enforcing: Bool {
        security_getenforce() != 0
    }

    /// The kernel's access vector for (source, target, class), with permissions named in the kernel's
    /// bit order.
    ///
    /// - Throws: ``DecisionError/unknownClass(_:)`` for a class the loaded policy does not define;
    ///   ``DecisionError/invalidContext(_:reason:)`` for a context the policy rejects;
    ///   ``DecisionError/unavailable(_:)`` when the kernel interface fails.
    ///
    /// The corresponding C functions are `string_to_security_class`, `security_compute_av_flags_raw`
    /// and `security_av_perm_to_string`; the permissive flag is `SELINUX_AVD_FLAGS_PERMISSIVE`;
    /// ``AccessDecision/unknownAllowed`` is the policy's `handle_unknown allow` (`security_deny_unknown`
    /// returning 0; when it cannot be read, `false`: fail closed).
    public func computeAccess(
        source: SecurityContext, target: SecurityContext, objectClass: String
    ) throws(DecisionError) -> AccessDecision {
        let tclass = try securityClass(objectClass)
        let scon = source.description
        let tcon = target.description
        var decision = av_decision()
        guard security_compute_av_flags_raw(scon, tcon, tclass, 0, &decision) == 0 else {
            throw failure("security_compute_av_flags_raw", contexts: [scon, tcon])
        }
        return AccessDecision(
            objectClass: objectClass,
            allowed: Self.names(of: decision.allowed, in: tclass),
            auditAllow: Self.names(of: decision.auditallow, in: tclass),
            auditDeny: Self.names(of: decision.auditdeny, in: tclass),
            permissiveDomain: decision.flags & UInt32(SELINUX_AVD_FLAGS_PERMISSIVE) != 0,
            unknownAllowed: security_deny_unknown() == 0)
    }

    /// The kernel's context for a new object (`transition`), a member (`member`) or a relabel
    /// (`change`).
    ///
    /// - Parameter objectName: the last path component of a new object, for name-based
    ///   `type_transition` rules; only used by `.transition`.
    /// - Throws: ``DecisionError/invalidTransition(_:reason:)`` when the kernel refuses the computed
    ///   context (`EACCES`), ``DecisionError/invalidContext(_:reason:)``,
    ///   ``DecisionError/unknownClass(_:)``, ``DecisionError/unavailable(_:)``.
    ///
    /// The corresponding C functions are `security_compute_create_name_raw`,
    /// `security_compute_member_raw` and `security_compute_relabel_raw`.
    public func computeTransition(
        _ kind: TransitionKind, source: SecurityContext, target: SecurityContext, objectClass: String,
        objectName: String?
    ) throws(DecisionError) -> SecurityContext {
        let tclass = try securityClass(objectClass)
        let scon = source.description
        let tcon = target.description
        var computed: UnsafeMutablePointer<CChar>? = nil
        let function: String
        let rc: Int32
        switch kind {
        case .transition:
            function = "security_compute_create_name_raw"
            rc = security_compute_create_name_raw(scon, tcon, tclass, objectName, &computed)
        case .member:
            function = "security_compute_member_raw"
            rc = security_compute_member_raw(scon, tcon, tclass, &computed)
        case .change:
            function = "security_compute_relabel_raw"
            rc = security_compute_relabel_raw(scon, tcon, tclass, &computed)
        }
        guard rc == 0, let computed else {
            let code = Glibc.errno
            if code == EACCES {
                throw .invalidTransition(
                    "\(kind.rawValue) of \(scon) on \(tcon) (\(objectClass))",
                    reason: "the kernel refused the computed context (\(function): \(Self.message(for: code)))")
            }
            throw failure(function, contexts: [scon, tcon], errno: code)
        }
        defer { freecon(computed) }
        let text = String(cString: computed)
        do throws(ContextParseError) {
            return try SecurityContext(parsing: text)
        } catch {
            throw .unavailable("\(function) returned a context that cannot be read: \"\(text)\": \(error)")
        }
    }

    /// Checks that the loaded kernel policy accepts a context.
    ///
    /// The corresponding C function is `security_check_context_raw`.
    public func validate(_ context: SecurityContext) throws(DecisionError) {
        let text = context.description
        guard security_check_context_raw(text) == 0 else {
            throw .invalidContext(
                text, reason: "the kernel's policy does not accept it (\(Self.message(for: Glibc.errno)))")
        }
    }

    /// The permissions the kernel's policy defines for a class, in bit order (bit 0 first).
    ///
    /// The corresponding C function is `security_av_perm_to_string`.
    public func permissions(of objectClass: String) throws(DecisionError) -> [String] {
        Self.names(of: .max, in: try securityClass(objectClass))
    }

    /// The access-vector bit of one permission of a class.
    ///
    /// The corresponding C function is `string_to_av_perm`.
    public func permissionBit(_ permission: String, objectClass: String) throws(DecisionError) -> UInt32 {
        let bit = string_to_av_perm(try securityClass(objectClass), permission)
        guard bit != 0 else { throw .unknownPermission(permission, objectClass: objectClass) }
        return bit
    }

    // MARK: - Plumbing

    private func securityClass(_ name: String) throws(DecisionError) -> security_class_t {
        let value = string_to_security_class(name)
        guard value != 0 else { throw .unknownClass(name) }
        return value
    }

    /// The error for a failed call: which context is invalid when the kernel says `EINVAL`, otherwise
    /// unavailable with the call and the system's message.
    private func failure(_ function: String, contexts: [String], errno code: Int32 = Glibc.errno) -> DecisionError {
        if code == EINVAL {
            for context in contexts where security_check_context_raw(context) != 0 {
                return .invalidContext(context, reason: "the kernel's policy does not accept it")
            }
        }
        return .unavailable("\(function): \(Self.message(for: code))")
    }

    private static func message(for code: Int32) -> String {
        strerror(code).map { String(cString: $0) } ?? "error \(code)"
    }

    private static func names(of vector: access_vector_t, in tclass: security_class_t) -> [String] {
        var names: [String] = []
        for bit in 0..<32 {
            let permission = access_vector_t(1) << access_vector_t(bit)
            guard vector & permission != 0, let name = security_av_perm_to_string(tclass, permission) else { continue }
            let text = String(cString: name)
            if !text.isEmpty { names.append(text) }
        }
        return names
    }
}
