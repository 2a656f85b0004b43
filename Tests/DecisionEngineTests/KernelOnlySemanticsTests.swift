import DecisionEngine
import SecurityContexts
import Testing

/// Rules of the kernel's security server that libsepol 3.4 does not implement the kernel's way
/// (Tests/Oracle/README.md), so the conformance suite cannot check them against libsepol. Each
/// expectation cites the kernel code it follows; issue 5 checks them against a real kernel.
struct KernelOnlySemanticsTests {
    static let policy = """
        class process
        class file
        class tcp_socket
        class association
        sid kernel
        sid unlabeled
        class process { transition dyntransition }
        class file { read write create }
        class tcp_socket { create read }
        class association { sendto recvfrom setcontext polmatch }
        sensitivity s0;
        sensitivity s1;
        dominance { s0 s1 }
        category c0;
        category c1;
        level s0:c0.c1;
        level s1:c0.c1;
        mlsconstrain file read (l1 dom l2);
        type app_t;
        type peer_t;
        type dir_t;
        type named_t;
        type loose_t;
        type unlabeled_t;
        permissive loose_t;
        allow app_t peer_t:file { read write };
        allow app_t self:association sendto;
        allow loose_t app_t:file read;
        auditallow app_t peer_t:file write;
        dontaudit app_t dir_t:file read;
        type_transition app_t dir_t:file named_t "special.conf";
        role system_r;
        role system_r types { app_t loose_t };
        user system_u roles { system_r } level s0 range s0 - s1:c0.c1;
        sid kernel system_u:system_r:app_t:s0
        sid unlabeled system_u:object_r:unlabeled_t:s0
        """

    static func server(enforcing: Bool = true) throws -> SecurityServer {
        try SecurityServer(policyText: policy, file: "kernel-only.conf", enforcing: enforcing)
    }

    static func ctx(_ s: String) throws -> SecurityContext { try SecurityContext(parsing: s) }

    /// security_compute_sid: `sock = security_is_socket_class(orig_tclass)`; a socket gets the
    /// creator's role and type, and (mls_compute_sid, AVTAB_TRANSITION without a rule) its whole range.
    @Test func newSocketsAreLabeledLikeTheirCreator() throws {
        let s = try Self.server()
        let created = try s.computeTransition(
            .transition, source: Self.ctx("system_u:system_r:app_t:s0-s1:c0.c1"),
            target: Self.ctx("system_u:object_r:peer_t:s0"), objectClass: "tcp_socket", objectName: nil)
        #expect(created.description == "system_u:system_r:app_t:s0-s1:c0.c1")
        // A file (not a socket) gets object_r, the target's type and the creator's low level.
        let file = try s.computeTransition(
            .transition, source: Self.ctx("system_u:system_r:app_t:s0-s1:c0.c1"),
            target: Self.ctx("system_u:object_r:peer_t:s0"), objectClass: "file", objectName: nil)
        #expect(file.description == "system_u:object_r:peer_t:s0")
    }

    /// filename_compute_type: a name-based type_transition applies only to that exact name.
    @Test func nameBasedTypeTransitions() throws {
        let s = try Self.server()
        let src = try Self.ctx("system_u:system_r:app_t:s0"), dir = try Self.ctx("system_u:object_r:dir_t:s0")
        #expect(try s.computeTransition(.transition, source: src, target: dir, objectClass: "file", objectName: "special.conf").type == "named_t")
        #expect(try s.computeTransition(.transition, source: src, target: dir, objectClass: "file", objectName: "other").type == "dir_t")
        #expect(try s.computeTransition(.transition, source: src, target: dir, objectClass: "file", objectName: nil).type == "dir_t")
        // Only type_transition looks at names.
        #expect(try s.computeTransition(.member, source: src, target: dir, objectClass: "file", objectName: "special.conf").type == "dir_t")
    }

    /// security_compute_av: `permissive_map` sets AVD_FLAGS_PERMISSIVE; avc_denied then grants,
    /// audits once (permissive=1) and adds the permission to the cached entry.
    @Test func permissiveDomainIsGrantedAndAuditedOnce() throws {
        let s = try Self.server()
        let cache = AccessVectorCache(server: s)
        let ssid = try s.sid(forText: "system_u:system_r:loose_t:s0"), tsid = try s.sid(forText: "system_u:object_r:peer_t:s0")
        let file = s.classValue("file")!
        let write: UInt32 = 1 << 1
        let first = cache.check(ssid, tsid, classValue: file, requested: write)
        #expect(first.granted && first.denied == write && first.decision.permissive)
        #expect(first.record?.description.hasSuffix("tclass=file permissive=1") == true)
        let second = cache.check(ssid, tsid, classValue: file, requested: write)
        #expect(second.granted && second.denied == 0 && second.record == nil)
    }

    /// Global permissive mode: denials are granted and audited with permissive=1.
    @Test func permissiveModeGrantsAndAudits() throws {
        let s = try Self.server(enforcing: false)
        let cache = AccessVectorCache(server: s)
        let r = cache.check(
            try s.sid(forText: "system_u:system_r:app_t:s0"), try s.sid(forText: "system_u:object_r:dir_t:s0"),
            classValue: s.classValue("file")!, requested: 1 << 1)
        #expect(r.granted)
        #expect(
            r.record?.description
                == "avc:  denied  { write } for  scontext=system_u:system_r:app_t:s0 tcontext=system_u:object_r:dir_t:s0 tclass=file permissive=1")
        s.setEnforcing(true)
        let cache2 = AccessVectorCache(server: s)
        let enforced = cache2.check(
            try s.sid(forText: "system_u:system_r:app_t:s0"), try s.sid(forText: "system_u:object_r:dir_t:s0"),
            classValue: s.classValue("file")!, requested: 1 << 1)
        #expect(!enforced.granted && enforced.record?.description.hasSuffix("permissive=0") == true)
    }

    /// avc_audit_required: dontaudit hides a denial; auditallow audits a grant as "granted" with
    /// no permissive= field; a partial denial audits only the denied permissions.
    @Test func auditRules() throws {
        let s = try Self.server()
        let cache = AccessVectorCache(server: s)
        let app = try s.sid(forText: "system_u:system_r:app_t:s0")
        let file = s.classValue("file")!
        let hidden = cache.check(app, try s.sid(forText: "system_u:object_r:dir_t:s0"), classValue: file, requested: 1 << 0)
        #expect(!hidden.granted && hidden.record == nil)
        let subject = AuditSubject(pid: 7, comm: "echo client")
        let granted = cache.check(app, try s.sid(forText: "system_u:object_r:peer_t:s0"), classValue: file, requested: 1 << 1, subject: subject)
        #expect(granted.granted)
        #expect(
            granted.record?.description
                == "avc:  granted  { write } for  pid=7 comm=6563686F20636C69656E74 scontext=system_u:system_r:app_t:s0 tcontext=system_u:object_r:peer_t:s0 tclass=file"
        )
        let partial = cache.check(app, try s.sid(forText: "system_u:object_r:peer_t:s0"), classValue: file, requested: 0b111)
        #expect(!partial.granted && partial.record?.permissions == ["create"])
        #expect(
            partial.record?.auditLine(seconds: 1628614007, milliseconds: 16, serial: 154).hasPrefix(
                "type=AVC msg=audit(1628614007.016:154): avc:  denied  { create } for ") == true)
    }

    /// The MLS constraint removes `read` with a reason audit2why calls CONSTRAINT.
    @Test func constraintDenialsSayConstraint() throws {
        let s = try Self.server()
        let cache = AccessVectorCache(server: s)
        let r = cache.check(
            try s.sid(forText: "system_u:system_r:app_t:s0"), try s.sid(forText: "system_u:object_r:peer_t:s1"),
            classValue: s.classValue("file")!, requested: 1 << 0)
        #expect(!r.granted && r.denialStages == ["CONSTRAINT"])
    }

    /// sidtab_search: a SID the table does not know is evaluated as the unlabeled initial context.
    @Test func unknownSIDIsUnlabeled() throws {
        let s = try Self.server()
        let unlabeled = try s.initialSID("unlabeled")
        let app = try s.sid(forText: "system_u:system_r:app_t:s0")
        let c = s.classValue("file")!
        #expect(s.computeAV(SID(rawValue: 9999), app, classValue: c) == s.computeAV(unlabeled, app, classValue: c))
    }
}
