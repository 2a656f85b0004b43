// salabel doctor's check 9 (libreswan's labeled conns, Specs/manager/doctor.md) over facts broken on
// purpose, and the conns as libreswan's own parser (readwriteconf, libreswan 4.10) echoes them from
// Tests/Fixtures/doctor/libreswan-conns.conf. The expectations are read off the embedded policy's
// rules by hand (Sources/Engine/DecisionEngine/Resources/default-policy.conf, sections 6 and 6e):
// `allow ipsec_mgmt_t ipsec_spd_type:association setcontext;` and `allow ipsec_mgmt_t
// domain:association setcontext;` (ipsec_mgmt_t stands for pluto's domain); `allow kernel_t
// ipsec_spd_t:association { setcontext polmatch };` and `allow kernel_t self:association {…}`, no
// other setcontext for kernel_t; `neverallow echo_domain { ipsec_spd_type domain unlabeled_t
// }:association setcontext;`; polmatch on ipsec_spd_t for kernel_t and echo_domain (echo_other_t,
// echoclient_t, echoserver_t); none on security_t.

import Foundation
import HostCheck
import Testing
import TestSupport

private let readwriteconf = "/usr/libexec/ipsec/readwriteconf"
private let spd = "system_u:object_r:ipsec_spd_t:s0"

/// libreswan with pluto running in `plutoContext` and the given labeled conns.
private func withPluto(_ conns: [LibreswanFacts.Conn], plutoContext: String? = "system_u:system_r:ipsec_mgmt_t:s0") throws -> HostFacts {
    var facts = try healthy()
    facts.libreswan = LibreswanFacts(pluto: .init(pid: 4242, alive: true, context: plutoContext), controlSocketExists: true, conns: conns)
    return facts
}

private func conn(_ label: String) -> LibreswanFacts.Conn { .init(name: "salabel-echo", label: label, file: "/etc/ipsec.d/salabel.conf") }

@Suite("salabel doctor's libreswan check")
struct DoctorLibreswanTests {
    @Test func conformingConnHasNoFinding() throws {
        let all = Doctor.check(try withPluto([conn(spd)]))
        #expect(all.filter(\.isFinding).isEmpty, "\(all.filter(\.isFinding).map(\.lines))")
        let note = try #require(all.first { $0.check == .libreswan })
        #expect(note.severity == .note && note.subject == "conn salabel-echo")
        #expect(
            note.seen == "sec-label \(spd): pluto (ipsec_mgmt_t) may set it; 4 domain(s) may polmatch it: echo_other_t, echoclient_t, echoserver_t, kernel_t",
            "\(note.seen)")
        #expect(note.meaning == "pluto may label child SAs with each of them")
    }

    @Test func noLibreswanIsANote() throws {
        let all = Doctor.check(try healthy())
        let note = try #require(all.first { $0.check == .libreswan })
        #expect(note.severity == .note && note.seen.contains("libreswan is not installed"))
    }

    @Test func labelNotValid() throws {
        let f = try #require(findings(try withPluto([conn("system_u:object_r:nosuch_t:s0")])).first { $0.check == .libreswan })
        #expect(f.severity == .error && f.subject == "conn salabel-echo")
        #expect(f.seen.hasPrefix("its sec-label system_u:object_r:nosuch_t:s0 is not valid in the running policy"), "\(f.seen)")
        #expect(f.fix == "correct sec-label= of conn salabel-echo in /etc/ipsec.d/salabel.conf, or load a policy that defines nosuch_t")
        // Not a context at all.
        let g = try #require(findings(try withPluto([conn("not-a-context")])).first { $0.check == .libreswan })
        #expect(g.seen.contains("is not a security context") && g.fix == "correct sec-label= of conn salabel-echo in /etc/ipsec.d/salabel.conf")
    }

    @Test func labelNoDomainMayPolmatch() throws {
        let label = "system_u:object_r:security_t:s0"
        let found = findings(try withPluto([conn(label)])).filter { $0.check == .libreswan }
        let polmatch = try #require(found.first { $0.seen.contains("polmatch") })
        #expect(polmatch.seen == "no local domain may polmatch its sec-label \(label)")
        #expect(polmatch.fix?.hasPrefix("allow the sending domain polmatch on it, e.g. `allow DOMAIN_t security_t:association polmatch;`") == true)
        // ipsec_mgmt_t's setcontext rules name ipsec_spd_type and domain, not security_t.
        #expect(found.contains { $0.seen.hasPrefix("pluto's domain ipsec_mgmt_t may not set its sec-label \(label)") })
        #expect(found.count == 2)
    }

    @Test func plutoDomainLacksSetcontext() throws {
        // echoclient_t may not setcontext ipsec_spd_t (the neverallow above).
        let found = findings(try withPluto([conn(spd)], plutoContext: "system_u:system_r:echoclient_t:s0")).filter { $0.check == .libreswan }
        let f = try #require(found.first)
        #expect(found.count == 1)
        #expect(f.seen.hasPrefix("pluto's domain echoclient_t may not set its sec-label \(spd)"), "\(f.seen)")
        #expect(
            f.fix
                == "`allow echoclient_t ipsec_spd_t:association setcontext;` in the policy, or correct sec-label= of conn salabel-echo in /etc/ipsec.d/salabel.conf"
        )
        // kernel_t may set ipsec_spd_t but label no child SA with the echo domains: a note says so.
        let all = Doctor.check(try withPluto([conn(spd)], plutoContext: "system_u:system_r:kernel_t:s0"))
        #expect(all.filter { $0.check == .libreswan && $0.isFinding }.isEmpty)
        let note = try #require(all.first { $0.check == .libreswan })
        #expect(note.meaning.hasPrefix("pluto may not label a child SA with echo_other_t, echoclient_t, echoserver_t:"), "\(note.meaning)")
    }

    @Test func plutoNotRunning() throws {
        var facts = try withPluto([conn(spd)])
        facts.libreswan?.pluto?.alive = false
        let f = try #require(findings(facts).first { $0.check == .libreswan })
        #expect(f.subject == "pluto" && f.severity == .error)
        #expect(
            f.seen
                == "pluto is not running (/run/pluto/pluto.pid names pid 4242, which is not running (a stale pid file)) while 1 conn(s) have a sec-label: salabel-echo"
        )
        #expect(f.fix?.hasPrefix("systemctl start ipsec") == true)
        // No pid file: the same finding; the label checks still run (no setcontext check without pluto's domain).
        facts.libreswan?.pluto = nil
        #expect(findings(facts).filter { $0.check == .libreswan }.map(\.subject) == ["pluto"])
        // Not running and no labeled conn: nothing to fix.
        facts.libreswan?.conns = []
        #expect(findings(facts).filter { $0.check == .libreswan }.isEmpty)
    }

    @Test func configurationRefused() throws {
        var facts = try healthy()
        facts.libreswan = LibreswanFacts(connsError: "config file \"/etc/ipsec.conf\" cannot be loaded: /etc/ipsec.conf:7: syntax error [leftx]")
        let f = try #require(findings(facts).first { $0.check == .libreswan })
        #expect(f.severity == .warning && f.fix == "correct /etc/ipsec.conf (or the file it includes that the error names)")
        facts.libreswan?.configExists = false
        #expect(findings(facts).filter { $0.check == .libreswan }.isEmpty)
    }

    /// libreswan's own parser on the fixture: `policy-label=` and `sec-label=` both read, quotes
    /// removed, `also=` followed, the `auto=ignore` base conn and the unlabeled conn left out.
    @Test func connsAsLibreswanReadsThem() throws {
        let path = repositoryRoot.appendingPathComponent("Tests/Fixtures/doctor/libreswan-conns.conf").path
        let r = try runProcess(URL(fileURLWithPath: readwriteconf), ["--config", path])
        try #require(r.status == 0, "readwriteconf refused the fixture: \(r.stderr)")
        let conns = LibreswanFacts.labeledConns(readwriteconf: r.stdout)
        #expect(conns.map(\.name) == ["old-keyword", "quoted", "inherits"])
        #expect(
            conns.map(\.label) == [
                "system_u:object_r:ipsec_restricted_spd_t:s0", "system_u:object_r:ipsec spd_t:s0", "system_u:object_r:ipsec_spd_t:s0",
            ])
    }

    /// `include` at the start of a line only: readwriteconf refuses an indented one ("syntax error
    /// [include]", checked by hand with libreswan 4.10).
    @Test func includesAndDeclarations() {
        let text = "config setup\n\nconn a\n\tleft=1.2.3.4\ninclude /etc/ipsec.d/*.conf\n  include nested.conf\n#include x\n"
        #expect(LibreswanFacts.includes(in: text) == ["/etc/ipsec.d/*.conf"])
        #expect(LibreswanFacts.declares("a", in: text) && !LibreswanFacts.declares("ab", in: text))
        #expect(LibreswanFacts.matches("salabel.conf", pattern: "*.conf") && !LibreswanFacts.matches("salabel.secrets", pattern: "*.conf"))
        #expect(!LibreswanFacts.matches(".hidden.conf", pattern: "*.conf") && LibreswanFacts.matches("v1.conf", pattern: "v?.conf"))
    }
}
