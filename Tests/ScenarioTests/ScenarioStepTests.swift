import DecisionEngine
import Foundation
import Scenario
import SecurityContexts
import Testing

/// Scenario steps (Specs/scenarios/README.md, "Steps"): parsing, the model's outcomes against the
/// expectations written in Specs/scenarios (which `scripts/conformance` checks against Debian's
/// SELinux kernel in the VM), and the comparison of outcomes.
struct ScenarioStepTests {
    static let specs = ScenarioTests.specs
    static let header = """
        actors: { m: "system_u:system_r:ipsec_mgmt_t:s0", c: "system_u:system_r:echoclient_t:s0" }
        hosts: { a: { address: 10.0.0.1 }, b: { address: 10.0.0.2 } }

        """

    static func filesWithSteps() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: specs.path).filter { $0.hasSuffix(".yaml") }.sorted().filter {
            try String(contentsOf: specs.appendingPathComponent($0), encoding: .utf8).contains("\nsteps:")
        }
    }

    /// The model meets every expectation of every scenario on each Linux version of the
    /// conformance run (6.1 and 6.12, `expect_since` where they differ): the expectations are the
    /// kernels' answers (scripts/conformance fails when a kernel does not meet them).
    @Test(arguments: LinuxVersion.conformance)
    func theModelMeetsEveryScenariosExpectations(linux: LinuxVersion) throws {
        let files = try Self.filesWithSteps()
        #expect(files.count >= 13)
        var steps = 0
        for f in files {
            let s = try Scenario.load(path: Self.specs.appendingPathComponent(f).path)
            var model = try ScenarioModel(s, linux: linux)
            let outcomes = model.run()
            #expect(outcomes.count == s.steps.count)
            for (step, outcome) in zip(s.steps, outcomes) {
                steps += 1
                let expect = step.expectation(on: linux)
                let unmet = outcome.unmet(expect, canonical: model.canonical)
                #expect(unmet.isEmpty, "\(f) on \(linux): \(step.name): \(unmet)")
                // Every step states at least its result, so no step passes by saying nothing.
                #expect(expect.result != nil, "\(f): \(step.name) has no expected result on \(linux)")
            }
        }
        #expect(steps >= 50)
    }

    /// `expect_since` replaces the expectation whole from its version on; versions are MAJOR.MINOR,
    /// quoted or not (mapping keys are read as their text: 6.10 stays 6.10).
    @Test func expectationsByLinuxVersion() throws {
        let s = try Scenario(
            yaml: Self.header + """
                steps:
                  - host: a
                    as: m
                    xfrm: state flush
                    expect: { result: ok }
                    expect_since: { "6.12": { result: ENOENT }, 6.5: { result: EINVAL }, 6.10: { result: EEXIST } }
                """, file: "since.yaml")
        let step = s.steps[0]
        #expect(step.expectation(on: LinuxVersion(major: 6, minor: 1)).result == "ok")
        #expect(step.expectation(on: LinuxVersion(major: 6, minor: 5)).result == "EINVAL")
        #expect(step.expectation(on: LinuxVersion(major: 6, minor: 9)).result == "EINVAL")
        #expect(step.expectation(on: LinuxVersion(major: 6, minor: 11)).result == "EEXIST")
        #expect(step.expectation(on: .debian13).result == "ENOENT")
        #expect(step.expectation(on: LinuxVersion(major: 7, minor: 0)).result == "ENOENT")
        #expect(LinuxVersion("6.12.117+deb13-amd64") == .debian13 && LinuxVersion("6.1.0-44-amd64") == .debian12)
        #expect(LinuxVersion("6") == nil && LinuxVersion("x.1") == nil && LinuxVersion("6.1x") == nil)
    }

    @Test(arguments: [
        ("steps: [{ xfrm: \"state flush\", host: a, as: nobody }]", "steps[0].as: no actor 'nobody'"),
        ("steps: [{ xfrm: \"state flush\", host: z, as: m }]", "steps[0].host: expected a host"),
        (
            "steps: [{ xfrm: \"state flush\", tcp: {}, host: a, as: m }]",
            "steps[0]: expected exactly one of xfrm, xfrm_expire, xfrm_migrate, tcp, udp, boolean, enforcing, reload; found xfrm, tcp"
        ),
        ("steps: [{ xfrm_expire: \"dst 10.0.0.2 proto esp spi 0x100\", host: a, as: m }]", "steps[0].xfrm_expire: expected `src ADDR dst ADDR"),
        ("steps: [{ xfrm_expire: \"src 10.0.0.1 dst 10.0.0.2 proto esp\", host: a, as: m }]", "steps[0].xfrm_expire: "),
        ("steps: [{ xfrm_expire: [1], host: a, as: m }]", "steps[0].xfrm_expire: expected `src ADDR"),
        ("steps: [{ xfrm_expire: \"policy src 10.0.0.1/32 dst 10.0.0.2/32\", host: a, as: m }]", "steps[0].xfrm_expire: "),
        ("steps: [{ xfrm_expire: \"policy index 9 dir out if_id 3\", host: a, as: m }]", "steps[0].xfrm_expire: expected `src ADDR"),
        (
            "steps: [{ xfrm_expire: \"src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100\", host: a, as: m, context_length: 64 }]",
            "steps[0].context_length: an EXPIRE carries no context"
        ),
        ("steps: [{ xfrm_expire: \"src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100\", as: m }]", "steps[0].host: expected a host"),
        // xfrm_migrate: what XFRM_MSG_MIGRATE cannot carry is refused, not dropped.
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport\", host: a, as: m }]",
            "steps[0].xfrm_migrate: expected `SELECTOR dir"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport new src 10.0.0.1\", host: a, as: m }]",
            "steps[0].xfrm_migrate: expected `new src ADDRESS dst ADDRESS`"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport new src 10.0.0.1 dst ::2\", host: a, as: m }]",
            "steps[0].xfrm_migrate: the new endpoints are of two families"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport new src 0.0.0.0 dst 10.0.0.3\", host: a, as: m }]",
            "steps[0].xfrm_migrate: the kernel refuses an unspecified new endpoint"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out ctx system_u:object_r:x_t:s0 tmpl src 10.0.0.1 dst 10.0.0.2 proto esp new src 10.0.0.1 dst 10.0.0.3\", host: a, as: m }]",
            "steps[0].xfrm_migrate: a MIGRATE names the SPD entry by selector, direction and type only"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out priority 5 tmpl src 10.0.0.1 dst 10.0.0.2 proto esp new src 10.0.0.1 dst 10.0.0.3\", host: a, as: m }]",
            "steps[0].xfrm_migrate: a MIGRATE carries the selector, direction and type of the SPD entry only"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl proto esp new src 10.0.0.1 dst 10.0.0.3\", host: a, as: m }]",
            "steps[0].xfrm_migrate: the `tmpl` needs the SA's old `src` and `dst`"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport tmpl src 10.0.0.1 dst 10.0.0.2 proto ah new src 10.0.0.1 dst 10.0.0.3\", host: a, as: m }]",
            "steps[0].xfrm_migrate: expected one `tmpl`"
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 tmpl src 10.0.0.1 dst 10.0.0.2 proto esp new src 10.0.0.1 dst 10.0.0.3\", host: a, as: m }]",
            "steps[0].xfrm_migrate: "
        ),
        (
            "steps: [{ xfrm_migrate: \"src 10.0.0.1/32 dst 10.0.0.2/32 dir out tmpl src 10.0.0.1 dst 10.0.0.2 proto esp mode transport new src 10.0.0.1 dst 10.0.0.3\", host: a, as: m, context_length: 64 }]",
            "steps[0].context_length: a MIGRATE carries no context"
        ),
        ("steps: [{ xfrm_migrate: 7, host: a, as: m }]", "steps[0].xfrm_migrate: expected `SELECTOR dir"),
        (
            "steps: [{ xfrm: \"state flush\", host: a, as: m, expect_since: { \"6.x\": { result: ok } } }]",
            "steps[0].expect_since.6.x: expected a Linux version"
        ),
        ("steps: [{ xfrm: \"state flush\", host: a, as: m, expect_since: { \"6.12\": { result: maybe } } }]", "steps[0].expect_since.6.12.result: expected ok"),
        ("steps: [{ xfrm: \"state flush\", host: a, as: m, expect_since: {} }]", "steps[0].expect_since: expected { VERSION"),
        ("steps: [{ boolean: { b: true }, host: a }]", "steps[0].host: the harness makes this change"),
        ("steps: [{ xfrm: \"state list\", host: a, as: m }]", "steps[0].xfrm: expected a command that changes the SAD or SPD"),
        ("steps: [{ xfrm: \"state flush\", host: a, as: m, context_length: 4096 }]", "steps[0].context_length: expected a length"),
        ("steps: [{ tcp: { from: a, to: a, port: 7, as: c, server_as: c } }]", "steps[0].tcp: from and to must be different hosts"),
        ("steps: [{ udp: { from: a, to: b, port: 0, as: c, server_as: c } }]", "steps[0].udp.port: expected a port 1-65535"),
        ("steps: [{ udp: { from: a, to: b, port: 7, as: c, server_as: c, speed: 3 } }]", "steps[0].udp.speed: unknown field"),
        ("steps: [{ xfrm: \"state flush\", host: a, as: m, expect: { result: maybe } }]", "steps[0].expect.result: expected ok or an errno name"),
        ("steps: [{ xfrm: \"state flush\", host: a, as: m, expect: { avc: [\"granted setcontext\"] } }]", "steps[0].expect.avc[0]: expected"),
        ("steps: [{ xfrm: \"state flush\", host: a, as: m, expect: { peer: \"x\" } }]", "steps[0].expect.peer: expected a context or none"),
        ("steps: [{ xfrm: \"state flush\", host: a, as: m, expect: { acquire: { z: none } } }]", "steps[0].expect.acquire.z: no such host"),
        ("actors: { x: 3 }\nhosts: { a: { address: 10.0.0.1 } }", "actors.x: expected a context"),
        ("policy_rules: [a]\nhosts: { a: { address: 10.0.0.1 } }", "policy_rules: expected policy statements as text"),
    ])
    func badStepsSayWhereAndWhy(text: String, message: String) {
        ScenarioTests.expectRefused(text.hasPrefix("steps") ? Self.header + text : text, shown: text, message: message)
    }

    /// A context is kept as written: the model judges it the way the kernel does (Specs/kernel/labeled-ipsec.md,
    /// edges 4, 8).
    @Test func rawContextsAreKeptAndPadded() throws {
        let s = try Scenario(
            yaml: Self.header + """
                steps:
                  - { host: a, as: m, xfrm: "policy add src 10.0.0.1 dst 10.0.0.2 dir out ctx not-a-context tmpl proto esp mode transport" }
                  - { host: a, as: m, xfrm: "policy add src 10.0.0.1 dst 10.0.0.2 dir out ctx a:b:c:s0 tmpl proto esp mode transport", context_length: 4096 }
                """, file: "raw.yaml")
        guard case .xfrm(let first) = s.steps[0].action, case .xfrm(let second) = s.steps[1].action else {
            Issue.record("not xfrm steps"); return
        }
        #expect(first.rawContext == "not-a-context")
        #expect(second.rawContext?.utf8.count == 4095 && second.rawContext?.hasPrefix("a:b:c:s0xxx") == true)
        var model = try ScenarioModel(s)
        #expect(model.run().map(\.result) == ["EINVAL", "ENOMEM"])
    }

    /// `policy_rules` go before the first `user` statement; the harness rules only into the VM's
    /// policy, with the harness type as their source (and the kernel threads' fork).
    @Test func policyRulesAndHarnessRules() throws {
        let s = try Scenario.load(path: Self.specs.appendingPathComponent("setcontext.yaml").path)
        let (plain, _) = try s.policyText()
        let (vm, _) = try s.policyText(harness: true)
        let userLine = try #require(plain.components(separatedBy: "\n").firstIndex { $0.hasPrefix("user ") })
        let ruleLine = try #require(plain.components(separatedBy: "\n").firstIndex { $0.hasPrefix("type spd_admin_t") })
        #expect(ruleLine < userLine)
        #expect(!plain.contains(Scenario.harnessType) && vm.contains("permissive \(Scenario.harnessType);"))
        let added = Set(vm.components(separatedBy: "\n")).subtracting(plain.components(separatedBy: "\n"))
        for line in added where line.hasPrefix("allow ") || line.hasPrefix("type_transition ") {
            #expect(line.hasPrefix("allow kernel_t self:process fork") || line.contains(" \(Scenario.harnessType) "), "\(line)")
        }
        let server = try s.securityServer()
        #expect(throws: Never.self) { _ = try server.sid(forText: "system_u:system_r:spd_admin_t:s0") }
    }

    /// A scenario keyed by IKE: in the VM's policy only, every type (the harness's too) is in
    /// `salabel_harness_any`, and each `ike_daemon` type may do everything to it in every class but
    /// the labeled-networking ones, which stay the scenario's rules; salabel's compiler takes it.
    @Test func ikeDaemonHarnessRules() throws {
        let s = try Scenario.load(path: Self.specs.appendingPathComponent("ike-setcontext.yaml").path)
        let (plain, _) = try s.policyText()
        let (vm, file) = try s.policyText(harness: true)
        #expect(!plain.contains(Scenario.harnessAnyAttribute))
        let lines = vm.components(separatedBy: "\n")
        let allows = lines.filter { $0.hasPrefix("allow ") && $0.contains(Scenario.harnessAnyAttribute) }
        #expect(allows.map { $0.split(separator: " ")[1] }.sorted() == ["ike_server_t", "ike_t"])
        for line in allows {
            #expect(line.hasSuffix(" *;") && line.contains(" file ") && line.contains(" security "), "\(line)")
            for c in Scenario.labeledNetworkingClasses { #expect(!line.contains(" \(c) "), "\(line)") }
        }
        for t in ["ike_t", "ike_server_t", "echoclient_t", "unlabeled_t", "security_t", Scenario.harnessType] {
            #expect(lines.contains("typeattribute \(t) \(Scenario.harnessAnyAttribute);"), "\(t)")
        }
        let server = try SecurityServer(policyText: vm, file: file)
        func allowed(_ source: String, _ target: String, _ cls: String) throws -> [String] {
            try server.computeAccess(
                source: SecurityContext(parsing: "system_u:system_r:\(source):s0"),
                target: SecurityContext(parsing: "system_u:object_r:\(target):s0"), objectClass: cls
            ).allowed
        }
        #expect(try allowed("ike_server_t", "security_t", "security").contains("compute_av"))
        #expect(try allowed("ike_server_t", Scenario.harnessType, "fd").contains("use"))
        #expect(try !allowed("ike_server_t", "echo_other_t", "association").contains("setcontext"))
        #expect(try allowed("ike_server_t", "echoclient_t", "association") == ["setcontext"])
    }

    /// A kernel log line (captured from the VM: /dev/kmsg, Debian 6.1) and an expectation line read
    /// as the same record once the run's fields are set aside.
    @Test func avcLinesFromTheKernelLog() throws {
        let kernel = try #require(
            AVCLine(
                parsing:
                    #"audit: type=1400 audit(1795322876.348:65): avc:  denied  { create } for  pid=166 comm="ip" name="netns" scontext=system_u:system_r:salabel_harness_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=dir permissive=1"#
            ))
        let written = try #require(
            AVCLine(
                parsing: "denied { create } scontext=system_u:system_r:salabel_harness_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=dir permissive=1"))
        #expect(kernel == written && kernel.permissive == true)
        #expect(AVCLine(parsing: "audit: type=1403 policy loaded auid=4294967295") == nil)
        let granted = try #require(AVCLine(parsing: "granted { setcontext } scontext=a:b:c tcontext=d:e:f tclass=association"))
        #expect(granted.permissive == nil && granted.description.hasSuffix("tclass=association"))
    }

    @Test func outcomesDifferFieldByField() {
        let a = StepOutcome(result: "ok", delivered: true, peer: "system_u:system_r:echoclient_t:s0-s0", acquire: [:])
        var b = a
        #expect(a.differences(from: b, canonical: { $0.replacingOccurrences(of: "s0-s0", with: "s0") }).isEmpty)
        b.peer = "system_u:system_r:echoclient_t:s0"
        #expect(a.differences(from: b, canonical: { $0.replacingOccurrences(of: "s0-s0", with: "s0") }).isEmpty)
        #expect(a.differences(from: b).count == 1)
        b.result = "ETIMEDOUT"; b.stage = "connect"; b.acquire = ["a": "unlabeled"]
        b.avc = [AVCLine(result: "denied", permissions: ["recv"], scontext: "a:b:c", tcontext: "d:e:f", tclass: "peer", permissive: false)]
        let d = a.differences(from: b)
        #expect(
            d.contains { $0.hasPrefix("result: ok ≠ ETIMEDOUT (connect)") } && d.contains { $0.hasPrefix("acquire:") }
                && d.contains { $0.hasPrefix("avc only in the second") })
    }
}
