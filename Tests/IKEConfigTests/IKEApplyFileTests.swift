import DecisionEngine
import Foundation
import IKEConfig
import IPsecModel
import SecurityContexts
import Testing
import XfrmManager

/// `keying: ike` in apply files: the schema, each refused field with its path, keys, and the engine's
/// label checks.
struct IKEApplyFileTests {
    static func ike(_ extra: String = "", policy: Bool = true) -> String {
        """
          - name: echo
            between: [client, server]
            keying: ike
            context: system_u:system_r:echoclient_t:s0
        \(policy ? "    policy_context: system_u:object_r:ipsec_spd_t:s0\n" : "")\(extra)
        """
    }

    @Test(arguments: [
        ("    spi: [0x1000, 0x1001]", "associations[0].spi"),
        ("    aead: rfc4106(gcm(aes))", "associations[0].aead"),
        ("    encryption: cbc(aes)", "associations[0].encryption"),
        ("    authentication: hmac(sha256)", "associations[0].authentication"),
        ("    icv: 96", "associations[0].icv"),
        ("    key_bits: 288", "associations[0].key_bits"),
        ("    reqid: 5", "associations[0].reqid"),
        ("    priority: 5", "associations[0].priority"),
        ("    lifetime: { time-hard: 60 }", "associations[0].lifetime"),
        ("    proto: ah", "associations[0].proto"),
        ("    ike: { authentication: rsa }", "associations[0].ike.authentication"),
        ("    ike: { authentication: cert }", "associations[0].ike.authentication"),
        ("    ike: { auto: begin }", "associations[0].ike.auto"),
        ("    ike: { esp: \"aes gcm\" }", "associations[0].ike.esp"),
        ("    ike: { pfs: no }", "associations[0].ike.pfs"),
        ("    ike: { updown: maybe }", "associations[0].ike.updown"),
        ("    ike: { salifetime: 0 }", "associations[0].ike.salifetime"),
        ("    ike: { salifetime: 90000 }", "associations[0].ike.salifetime"),
        ("    ike: { salifetime: 1h }", "associations[0].ike.salifetime"),
        ("    ike: { salifetime: 30, rekeymargin: 30 }", "associations[0].ike.rekeymargin"),
        ("    ike: { ikelifetime: 86401 }", "associations[0].ike.ikelifetime"),
        ("    ike: { ikelifetime: 20, rekeymargin: 20 }", "associations[0].ike.rekeymargin"),
        ("    ike: nope", "associations[0].ike"),
    ])
    func refusedFieldsNameTheirPath(extra: String, path: String) {
        let e = IKETestSupport.refusal(Self.ike(extra))
        #expect(e?.path == path, "\(e.map { "\($0)" } ?? "accepted")")
    }

    @Test func ikeNeedsTheSPDLabel() {
        let e = IKETestSupport.refusal(Self.ike(policy: false))
        #expect(e?.path == "associations[0].policy_context")
        #expect(e?.message.contains("sec-label") == true)
    }

    @Test func rsaNeedsBothHostsKeys() {
        #expect(IKETestSupport.refusal(Self.ike("    ike: { authentication: rsa }"))?.message.contains("hosts.client.rsasigkey") == true)
        // A file-wide default names the file's field.
        #expect(IKETestSupport.refusal(Self.ike(), top: "ike: { authentication: rsa }")?.path == "ike.authentication")
    }

    @Test func keyingWordsAndDefaults() throws {
        #expect(IKETestSupport.refusal(Self.ike().replacingOccurrences(of: "keying: ike", with: "keying: manual"))?.path == "associations[0].keying")
        #expect(IKETestSupport.refusal(Self.ike(), top: "keying: other")?.path == "keying")
        // IKE options on a static association are a mistake.
        let staticWithOptions = Self.ike("    ike: { auto: add }").replacingOccurrences(of: "keying: ike", with: "keying: static")
        #expect(IKETestSupport.refusal(staticWithOptions)?.path == "associations[0].ike")
        // The file's keying and ike options are defaults; the association's own options win.
        let file = try IKETestSupport.file(
            Self.ike("    ike: { auto: route }").replacingOccurrences(of: "    keying: ike\n", with: ""),
            top: "keying: ike\nike: { auto: add, esp: aes_gcm256-null, updown: false, salifetime: 60, rekeymargin: 20 }")
        #expect(
            file.associations[0].keying
                == .ike(.init(authentication: .psk, auto: .route, esp: "aes_gcm256-null", updown: false, saLifetime: 60, rekeyMargin: 20)))
        #expect(file.associations[0].aead == nil)
    }

    @Test func aNameLibreswanCannotTakeIsRefusedWithItsPath() throws {
        let file = try IKETestSupport.file(Self.ike().replacingOccurrences(of: "name: echo", with: "name: \"echo one\""))
        let r = Result { () throws(ApplyFile.Error) in try LibreswanConfiguration.forHost(file, host: "client", psks: IKETestSupport.psks(for: file)) }
        guard case .failure(let e) = r else {
            Issue.record("accepted")
            return
        }
        #expect(e.path == "associations[0].name")
    }

    /// A scenario's players install static SAs only: there, keying is an unknown field.
    @Test func formatsWithoutIKERefuseKeying() {
        let r = Result { () throws(ApplyFile.Error) in
            try ApplyFile(
                yaml: "hosts:\n  a: { address: 10.0.0.1 }\n  b: { address: 10.0.0.2 }\nassociations:\n\(Self.ike())",
                extension: ApplyFile.Extension(ikeKeying: false))
        }
        guard case .failure(let e) = r else {
            Issue.record("accepted")
            return
        }
        #expect(e.path == "associations[0].keying" && e.message.contains("unknown field"))
    }

    /// A file may mix both: the planner installs the static association only, keys are written for
    /// both kinds, and the key file reads back the same.
    @Test func mixedFilesAndTheKeyFile() throws {
        let file = try IKETestSupport.file(LibreswanParserTests.mixed)
        var counter: UInt8 = 0
        let keys = KeyFile.generate(for: file) { n in
            counter &+= 1
            return [UInt8](repeating: counter, count: n)
        }
        #expect(Set(keys.keys.keys) == ["static-one"])
        #expect(Set(keys.psks.keys) == ["echo", "dns.udp_1", "ping", "any"])
        #expect(keys.psks.values.allSatisfy { $0.count == KeyFile.pskBytes })
        let desired = try ApplyPlanner.desired(file, host: "client", keys: keys)
        #expect(desired.sas.count == 2 && desired.policies.count == 2)
        let dir = try IKETestSupport.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("k.keys").path
        try keys.write(to: path)
        #expect(try KeyFile.read(from: path) == keys)
        // An IKE-only host plans no SAs, and is no error.
        let ikeOnly = try IKETestSupport.file(Self.ike())
        #expect(try ApplyPlanner.desired(ikeOnly, host: "client", keys: KeyFile.generate(for: ikeOnly) { [UInt8](repeating: 1, count: $0) }).sas.isEmpty)
    }

    /// A key file entry that is not a well-formed pre-shared key is refused without repeating it.
    @Test func badPSKEntriesAreRefusedWithoutTheirText() {
        let secret = "0x0123456789abcdef0123456789abcdef"
        for text in ["echo: { psk: \"\(secret)\", extra: 1 }", "echo: { psk: \"zz\(secret)\" }"] {
            let r = Result { () throws(ApplyFile.Error) in try KeyFile(yaml: text) }
            guard case .failure(let e) = r else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(e.path == "key file: echo.psk")
            #expect(!e.description.contains("0123456789abcdef"))
        }
    }

    /// The engine's checks with the embedded policy: kernel_t as the daemon may set the default SPD
    /// label but not a domain's label (the key manager, ipsec_mgmt_t, may set both), and echoclient_t may polmatch ipsec_spd_t but not
    /// ipsec_restricted_spd_t (a dontaudit rule: no record).
    @Test func labelChecksAreDecisionsWithRecords() throws {
        let file = try IKETestSupport.file(
            Self.ike()
                + """

                  - name: restricted
                    between: [client, server]
                    keying: ike
                    context: system_u:system_r:echoclient_t:s0
                    policy_context: system_u:object_r:ipsec_restricted_spd_t:s0
                """)
        let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded()))
        let manager = try SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")
        #expect(
            IKELabelChecks.check(file, host: "client", daemon: manager, authorizer: authorizer).filter { $0.kind == .daemonSetcontext }.allSatisfy {
                $0.granted
            })
        let daemon = try SecurityContext(parsing: "system_u:system_r:kernel_t:s0")
        let checks = IKELabelChecks.check(file, host: "server", daemon: daemon, authorizer: authorizer)
        func find(_ association: String, _ kind: IKELabelCheck.Kind, _ target: String) -> IKELabelCheck? {
            checks.first { $0.association == association && $0.kind == kind && $0.authorization.target.description == target }
        }
        #expect(checks.count == 6)
        #expect(find("echo", .daemonSetcontext, "system_u:object_r:ipsec_spd_t:s0")?.granted == true)
        let flowLabel = try #require(find("echo", .daemonSetcontext, "system_u:system_r:echoclient_t:s0"))
        #expect(!flowLabel.granted)
        #expect(
            flowLabel.record?.description.hasPrefix(
                "avc:  denied  { setcontext } for  scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:system_r:echoclient_t:s0") == true)
        #expect(flowLabel.description.hasPrefix("warning: echo: the IKE daemon"))
        #expect(find("echo", .flowPolmatch, "system_u:object_r:ipsec_spd_t:s0")?.granted == true)
        let restricted = try #require(find("restricted", .flowPolmatch, "system_u:object_r:ipsec_restricted_spd_t:s0"))
        #expect(!restricted.granted && restricted.record == nil)
    }
}
