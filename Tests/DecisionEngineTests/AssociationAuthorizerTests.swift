import DecisionEngine
import SecurityContexts
import Testing

/// The association API: one `association` check per call through the shared AVC, failing closed
/// when no decision can be made. Expected decisions come from Specs/engine/default-policy-decisions.tsv,
/// which libsepol computed from the embedded policy.
struct AssociationAuthorizerTests {
    static func authorizer() throws -> AssociationAuthorizer {
        AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded()))
    }

    static func ctx(_ s: String) throws -> SecurityContext { try SecurityContext(parsing: s) }

    @Test func eachPermissionIsOneCheckOfTheSameEngine() throws {
        let a = try Self.authorizer()
        let mgmt = try Self.ctx("system_u:system_r:ipsec_mgmt_t:s0"), client = try Self.ctx("system_u:system_r:echoclient_t:s0")
        let server = try Self.ctx("system_u:system_r:echoserver_t:s0"), spd = try Self.ctx("system_u:object_r:ipsec_spd_t:s0")
        #expect(a.setcontext(subject: mgmt, label: spd).granted)
        #expect(!a.setcontext(subject: client, label: client).granted)
        #expect(a.polmatch(flow: client, policyLabel: spd).granted)
        #expect(!a.polmatch(flow: client, policyLabel: try Self.ctx("system_u:object_r:ipsec_restricted_spd_t:s0")).granted)
        #expect(a.sendto(flow: client, saLabel: client).granted)
        #expect(a.recvfrom(socket: server, peer: client).granted)
        #expect(!a.recvfrom(socket: server, peer: try Self.ctx("system_u:system_r:echo_other_t:s0")).granted)
        // Every call went through the one cache.
        #expect(a.cache.statistics.lookups >= 7)
    }

    @Test func aDenialCarriesItsReasonAndRecord() throws {
        let a = try Self.authorizer()
        let r = a.sendto(
            flow: try Self.ctx("system_u:system_r:echoclient_t:s0"), saLabel: try Self.ctx("system_u:system_r:echo_other_t:s0"),
            auditSubject: AuditSubject(pid: 1, comm: "pluto"))
        #expect(!r.granted)
        #expect(r.reason == "denied (TERULE)")
        #expect(
            r.record?.description
                == "avc:  denied  { sendto } for  pid=1 comm=\"pluto\" scontext=system_u:system_r:echoclient_t:s0 tcontext=system_u:system_r:echo_other_t:s0 tclass=association permissive=0"
        )
        // A dontaudit denial is denied without a record.
        let hidden = a.polmatch(
            flow: try Self.ctx("system_u:system_r:echoclient_t:s0"), policyLabel: try Self.ctx("system_u:object_r:ipsec_restricted_spd_t:s0"))
        #expect(!hidden.granted && hidden.record == nil && hidden.reason == "denied (TERULE, dontaudit)")
    }

    @Test func noDecisionFailsClosed() throws {
        let a = try Self.authorizer()
        let r = a.polmatch(flow: try Self.ctx("system_u:system_r:nosuch_t:s0"), policyLabel: try Self.ctx("system_u:object_r:ipsec_spd_t:s0"))
        #expect(!r.granted && r.check == nil)
        #expect(r.reason.hasPrefix("no decision: invalid context"))
        // A level outside the user's range is refused as the kernel refuses it.
        let outOfRange = a.sendto(flow: try Self.ctx("echo_u:system_r:echoclient_t:s3"), saLabel: try Self.ctx("echo_u:system_r:echoclient_t:s3"))
        #expect(!outOfRange.granted && outOfRange.reason.contains("is not within user echo_u's range"), "\(outOfRange.reason)")
    }

    static func policy(handleUnknown: String) -> String {
        """
        handle_unknown \(handleUnknown);
        class file
        sid kernel
        class file { read }
        type a_t;
        allow a_t a_t:file read;
        role r;
        role r types a_t;
        user u roles r;
        sid kernel u:r:a_t
        """
    }

    /// The kernel maps classes by name; a class the policy lacks is allowed under `handle_unknown
    /// allow` and denied under `deny` (security_compute_av / map_decision).
    @Test func handleUnknown() throws {
        let allowing = AssociationAuthorizer(
            cache: AccessVectorCache(server: try SecurityServer(policyText: Self.policy(handleUnknown: "allow"), file: "hu.conf")))
        let ctx = try Self.ctx("u:r:a_t")
        #expect(allowing.polmatch(flow: ctx, policyLabel: ctx).granted)
        let denying = AssociationAuthorizer(
            cache: AccessVectorCache(server: try SecurityServer(policyText: Self.policy(handleUnknown: "deny"), file: "hu.conf")))
        let r = denying.polmatch(flow: ctx, policyLabel: ctx)
        #expect(!r.granted && r.reason == "no decision: the policy has no class association")
        let s = try SecurityServer(policyText: Self.policy(handleUnknown: "allow"), file: "hu.conf")
        #expect(try s.computeAccess(source: ctx, target: ctx, objectClass: "association").unknownAllowed)
        #expect(throws: DecisionError.unknownClass("association")) {
            try SecurityServer(policyText: Self.policy(handleUnknown: "deny"), file: "hu.conf").computeAccess(
                source: ctx, target: ctx, objectClass: "association")
        }
    }
}
