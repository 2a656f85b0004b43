import DecisionEngine
import Foundation
import Testing

/// ``PolicyQueries``: the answers of `salabel policy check|compute-av|transition|info` on the
/// embedded policy, as text, JSON and a verdict.
struct PolicyQueriesTests {
    static let client = "system_u:system_r:echoclient_t:s0", server = "system_u:system_r:echoserver_t:s0"
    static let spd = "system_u:object_r:ipsec_spd_t:s0"

    static func queries(enforcing: Bool = true) throws -> PolicyQueries {
        PolicyQueries(server: try SecurityServer.embedded(enforcing: enforcing), subject: AuditSubject(pid: 42, comm: "test"))
    }

    @Test func checksGrantDenyAndWaive() throws {
        let q = try Self.queries()
        let granted = q.check(Self.client, Self.spd, "association", ["polmatch"])
        #expect(granted.verdict == .allowed && granted.text == "granted { polmatch }")
        #expect(granted.json["granted"] as? Bool == true && granted.json["avc"] == nil)

        let denied = q.check(Self.client, Self.spd, "association", ["polmatch", "sendto", "recvfrom"])
        #expect(denied.verdict == .denied)
        let lines = denied.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && lines[0] == "denied { sendto recvfrom } (TERULE)")
        #expect(lines[1].hasPrefix("avc:  denied  { sendto recvfrom } for  pid=42 comm=\"test\" scontext=\(Self.client)"))
        #expect(denied.json["avc"] as? String == lines[1] && denied.json["denied"] as? [String] == ["sendto", "recvfrom"])
        #expect(denied.json["reasons"] as? [String] == ["TERULE"] && JSONSerialization.isValidJSONObject(denied.json))

        let waived = try Self.queries(enforcing: false).check(Self.client, Self.spd, "association", ["sendto"])
        #expect(waived.verdict == .allowed)
        #expect(waived.text.hasPrefix("granted { sendto } (not enforced: permissive mode; denied { sendto } by TERULE)"))
    }

    @Test func accessVectorsAndTransitions() throws {
        let q = try Self.queries()
        let av = q.computeAV(Self.client, Self.spd, "association")
        #expect(av.verdict == .allowed)
        #expect(av.text == "allowed { polmatch }\nauditallow {  }\nauditdeny { sendto recvfrom setcontext polmatch }")
        #expect(av.json["allowed"] as? [String] == ["polmatch"] && av.json["permissive"] as? Bool == false)
        // A check without permissions is the access vector.
        #expect(q.check(Self.client, Self.spd, "association", []).text == av.text)

        let t = q.transition(.transition, Self.client, Self.server, "process", name: nil)
        #expect(t.verdict == .allowed && t.text == Self.client && t.json["kind"] as? String == "transition" && t.json["name"] == nil)
        #expect(q.transition(.member, Self.client, Self.server, "file", name: "foo").json["name"] as? String == "foo")
    }

    @Test func errorsAreAnswersToo() throws {
        let q = try Self.queries()
        let bad = q.check("bad:ctx", Self.server, "association", ["polmatch"])
        #expect(bad.verdict == .error && bad.text.hasPrefix("error: ") && bad.json.keys.sorted() == ["error"])
        #expect(bad.text == "error: " + (bad.json["error"] as? String ?? ""))
        #expect(q.computeAV(Self.client, Self.server, "nosuchclass").text == "error: unknown class \"nosuchclass\"")
        #expect(q.transition(.change, "x", Self.server, "process", name: nil).verdict == .error)
        #expect(PolicyAnswer.error("expected SCONTEXT").json["error"] as? String == "expected SCONTEXT")
        // A batch's status is its worst answer.
        #expect([PolicyAnswer.Verdict.denied, .allowed, .error, .denied].max() == .error)
        #expect(PolicyAnswer.Verdict.allowed < .denied)
    }

    @Test func infoCountsAsSeinfo() throws {
        let q = try Self.queries()
        let info = q.info(name: "embedded")
        let lines = info.text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "Policy: embedded" && lines[1] == "MLS: enabled  handle_unknown: deny  mode: enforcing")
        let stats = q.server.policy.statistics
        #expect(lines.count == 2 + stats.counts.count)
        #expect(lines[2] == "  Classes:" + String(repeating: " ", count: 26 - "Classes".count) + "\(stats["Classes"]!)")
        #expect((info.json["counts"] as? [String: Int])?["classes"] == stats["Classes"])
        #expect(info.json["policy"] as? String == "embedded" && info.json["enforcing"] as? Bool == true)
        #expect(try Self.queries(enforcing: false).info(name: "x").text.contains("mode: permissive"))
    }
}
