import Foundation
import Scenario
import SecurityContexts
import Testing

/// Steps that change the running policy's state between steps (Specs/scenarios/README.md, "Steps"):
/// `boolean:` and `enforcing:`, parsed strictly, and played by the model with the kernel's access
/// vector cache resets (Linux's `security_set_bools` and `sel_write_enforce`, 6.1 and 6.12).
struct ScenarioPolicyStateTests {
    static let header = ScenarioStepTests.header

    @Test(arguments: [
        (
            "steps: [{ boolean: { echo_allow_unlabeled: true }, enforcing: true }]",
            "steps[0]: expected exactly one of xfrm, xfrm_expire, xfrm_migrate, tcp, udp, boolean, enforcing, reload; found boolean, enforcing"
        ),
        ("steps: [{ boolean: { echo_allow_unlabeled: maybe } }]", "steps[0].boolean.echo_allow_unlabeled: expected true or false"),
        ("steps: [{ boolean: {} }]", "steps[0].boolean: expected { NAME: true|false, … } with at least one boolean"),
        ("steps: [{ boolean: [echo_allow_unlabeled] }]", "steps[0].boolean: expected { NAME: true|false, … }"),
        ("steps: [{ enforcing: 1 }]", "steps[0].enforcing: expected true or false"),
        ("steps: [{ enforcing: true, host: a }]", "steps[0].host: the harness makes this change, as no actor on no host"),
        ("steps: [{ boolean: { echo_allow_unlabeled: true }, as: m }]", "steps[0].as: the harness makes this change"),
        ("steps: [{ udp: { from: a, to: b, port: 7, as: c, server_as: c }, as: c }]", "steps[0].as: not a field of a udp step"),
    ])
    func badPolicyStateStepsSayWhereAndWhy(text: String, message: String) {
        ScenarioTests.expectRefused(Self.header + text, shown: text, message: message)
    }

    /// Booleans and the mode are one kernel's: refused on kernels of their own.
    @Test(arguments: [
        ("steps: [{ enforcing: false }]", "steps[0].enforcing: not supported with kernels: per_host"),
        ("steps: [{ boolean: { echo_allow_unlabeled: true } }]", "steps[0].boolean: not supported with kernels: per_host"),
    ])
    func notOnKernelsOfTheirOwn(text: String, message: String) {
        ScenarioTests.expectRefused("kernels: per_host\n" + Self.header + text, shown: text, message: message)
    }

    /// The parser has not seen the policy; the model names an unknown boolean with its path.
    @Test func anUnknownBooleanIsNamedWithItsPath() throws {
        let s = try Scenario(
            yaml: Self.header + "steps: [{ enforcing: true }, { boolean: { echo_allow_unlabeled: true, no_such_bool: false } }]", file: "b.yaml")
        #expect(throws: Scenario.Error.self) { _ = try ScenarioModel(s) }
        do { _ = try ScenarioModel(s) } catch {
            #expect(error.description == "b: steps[1].boolean.no_such_bool: the policy has no boolean no_such_bool (its booleans: echo_allow_unlabeled)")
        }
    }

    /// The echo client flushes the SAD in a permissive system, then the harness switches modes and
    /// commits a boolean. Expected by hand from Linux's security/selinux (6.1 and 6.12 alike):
    /// `avc_denied` adds a permissive denial to the cached entry (logged once); `sel_write_enforce`
    /// calls `avc_ss_reset(0)` only when switching to enforcing, and nothing at all when the mode
    /// does not change; `security_set_bools` resets the cache on every commit. The embedded policy
    /// gives echoclient_t none of the request's permissions: the six socket checks, `capability
    /// net_admin` and `read` (no SA, so no setcontext).
    @Test func theCacheIsResetWhenTheKernelResetsIt() throws {
        let flush = "{ xfrm: \"state flush\", host: a, as: c }"
        let steps = [
            flush, flush, "{ enforcing: true }", flush, "{ enforcing: false }", flush, flush, "{ enforcing: false }", flush,
            "{ enforcing: true }", "{ enforcing: true }", "{ enforcing: false }", flush, "{ boolean: { echo_allow_unlabeled: false } }", flush,
        ]
        let s = try Scenario(yaml: "enforcing: false\n" + Self.header + "steps: [" + steps.joined(separator: ", ") + "]", file: "t.yaml")
        var model = try ScenarioModel(s)
        let outcomes = model.run()
        let client = "system_u:system_r:echoclient_t:s0"
        func denied(_ perm: String, _ cls: String, permissive: Bool) -> AVCLine {
            AVCLine(result: "denied", permissions: [perm], scontext: client, tcontext: client, tclass: cls, permissive: permissive)
        }
        let all =
            ["create", "bind", "getattr", "setopt", "write", "nlmsg_write", "read"].map { denied($0, "netlink_xfrm_socket", permissive: true) }
            + [denied("net_admin", "capability", permissive: true)]
        let expected: [(String, [AVCLine])] = [
            ("ok", all), ("ok", []),  // logged once, then cached as granted
            ("ok", []), ("EACCES", [denied("create", "netlink_xfrm_socket", permissive: false)]),  // enforcing: reset, denied
            ("ok", []), ("ok", all), ("ok", []),  // permissive: the entries hold no grant, logged once more
            ("ok", []), ("ok", []),  // permissive again: no change
            ("ok", []), ("ok", []), ("ok", []), ("ok", all),  // enforcing (reset), enforcing again (nothing), permissive
            ("ok", []), ("ok", all),  // a commit that changes no value still resets
        ]
        #expect(outcomes.count == expected.count)
        for (i, (o, e)) in zip(outcomes, expected).enumerated() {
            #expect(o.result == e.0, "step \(i + 1)")
            #expect(o.avc == e.1.sorted(), "step \(i + 1): \(o.avc)")
        }
        #expect(model.server.enforcing == false)
        // The kernel run loads the scenario's booleans, not the ones the steps left.
        #expect(model.booleansAtStart(of: "a") == ["echo_allow_unlabeled": false])
    }

    /// A boolean step changes the decisions at once: the kernel run sets the values the scenario
    /// starts with, the model's server then holds the step's.
    @Test func booleansAtStartAreTheScenariosNotTheSteps() throws {
        let s = try Scenario(
            yaml: "booleans: { echo_allow_unlabeled: true }\n" + Self.header + "steps: [{ boolean: { echo_allow_unlabeled: false } }]", file: "t.yaml")
        var model = try ScenarioModel(s)
        _ = model.run()
        #expect(model.server.booleans["echo_allow_unlabeled"] == false)
        #expect(model.booleansAtStart(of: "b") == ["echo_allow_unlabeled": true])
    }
}
