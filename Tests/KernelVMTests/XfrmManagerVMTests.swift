// salabel itself inside the VM (Debian's 6.1 kernel with SELinux and ESP, Debian's reference policy,
// enforcing; see Tests/VM/README.md): the xfrm manager, the monitor and `salabel apply` act, iproute2 in
// the guest reads back independently, and salabel's decision engine, given the very policy the kernel
// enforces (decompiled to policy.conf), is compared with the kernel's own verdicts and AVC records.
//
// One boot runs every check (a boot is slow under TCG; each salabel run that loads the ~10 MB reference
// policy.conf takes ~15 s in the guest) and reports them as KEY=VALUE lines. The guest binary is built
// once per test process by GuestSalabel (a build failure fails the test, it never skips).
//
// Kernel behaviors this observes (Specs/kernel/labeled-ipsec.md; "edge N" is its §g edge N):
//   - trailing NULs of stored contexts (§d.1, edge 7), read with Tests/VM/xfrm-ctxlen.c (iproute2 prints
//     contexts with "%s"): a context sent with one NUL (iproute2's form A, which salabel also sends) is
//     dumped with two on Debian's 6.1.192 (it has the 2025 ctx_len fix); a larval/ACQUIRE context with one;
//   - EINVAL for an unknown type before any setcontext check (edge 8); EACCES plus an AVC denial for a
//     missing `association setcontext` (C1, C2); flush all-or-nothing (edge 12, C3/C4 pre-scan);
//   - ACQUIRE carries the flow's label, not the SPD entry's (edge 17), and the larval SA holds it.

import Foundation
import Testing
import TestSupport
import VMHarness

private let spd = "system_u:object_r:ipsec_spd_t:s0"
private let supervisor = "system_u:system_r:ipsec_supervisor_t:s0"
private let initDomain = "system_u:system_r:init_t:s0"
private let kernelDomain = "system_u:system_r:kernel_t:s0"

/// The fields of an AVC record that a prediction must reproduce.
struct AVCFields: Equatable, CustomStringConvertible {
    var verdict: String
    var permissions: [String]
    var scontext: String
    var tcontext: String
    var tclass: String
    var permissive: String?

    /// Parses `avc:  denied  { setcontext } for  pid=… scontext=… tcontext=… tclass=… permissive=0`, as
    /// the kernel logs it (after an `audit: type=1400 …:` prefix) and as salabel prints it.
    init?(_ line: String) {
        guard let avc = line.range(of: "avc:") else { return nil }
        let rest = line[avc.upperBound...]
        let words = rest.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let verdict = words.first, verdict == "denied" || verdict == "granted",
            let open = words.firstIndex(of: "{"), let close = words.firstIndex(of: "}"), open < close
        else { return nil }
        self.verdict = verdict
        permissions = words[(open + 1)..<close].sorted()
        var fields: [String: String] = [:]
        for w in words[close...] {
            guard let eq = w.firstIndex(of: "=") else { continue }
            fields[String(w[..<eq])] = String(w[w.index(after: eq)...])
        }
        guard let s = fields["scontext"], let t = fields["tcontext"], let c = fields["tclass"] else { return nil }
        scontext = s
        tcontext = t
        tclass = c
        permissive = fields["permissive"]
    }

    var description: String {
        "\(verdict) { \(permissions.joined(separator: " ")) } scontext=\(scontext) tcontext=\(tcontext) tclass=\(tclass) permissive=\(permissive ?? "-")"
    }
}

/// `CTX_LEN TRAILING_NULS CONTEXT`, as the script prints what Tests/VM/xfrm-ctxlen.c reports.
struct StoredContext {
    var length: Int
    var trailingNULs: Int
    var text: String
    init(_ line: String) {
        let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
        length = parts.count > 0 ? Int(parts[0]) ?? -1 : -1
        trailingNULs = parts.count > 1 ? Int(parts[1]) ?? -1 : -1
        text = parts.count > 2 ? parts[2] : ""
    }
}

@Suite("salabel's xfrm manager in the VM: a real SELinux kernel with ESP", .serialized)
struct XfrmManagerVMTests {
    /// Every check in one boot, with Debian's reference policy enforcing (see the header comment).
    @Test func salabelAgainstTheKernel() throws {
        let clock = ContinuousClock()
        let binary = try GuestSalabel.binary()
        print("salabel for the guest: \(binary) (built in \(GuestSalabel.buildDuration))")
        let conf = try GuestSalabel.referencePolicyConf()
        let ctxLen = try GuestSalabel.ctxLenTool()
        let header = "S=\(GuestSalabel.guestPath)\nPOLICY_CONF=\(GuestSalabel.guestPolicyPath)\nCTXLEN=\(GuestSalabel.guestCtxLenPath)\n"
        let start = clock.now
        let result = try VM.run(
            script: header + xfrmManagerGuestScript,
            files: [
                (source: binary, dest: GuestSalabel.guestPath), (source: conf, dest: GuestSalabel.guestPolicyPath),
                (source: ctxLen, dest: GuestSalabel.guestCtxLenPath),
            ],
            timeout: 1200)
        print("VM boot with salabel: \(clock.now - start)")
        // The whole guest output and kernel log, for a look after a failure.
        let saved = repositoryRoot.appendingPathComponent(GuestSalabel.scratchPath).appendingPathComponent("xfrm-manager-vm-output.txt")
        try? (result.output + "\n--- dmesg\n" + result.dmesg).write(to: saved, atomically: true, encoding: .utf8)
        print("guest output and dmesg: \(saved.path)")
        let v = result.keyValues
        let log = "\(result.output)\nAVC:\n\(result.avcLines.joined(separator: "\n"))"
        #expect(result.exitStatus == 0, "\(log)")
        for key in ["t_roundtrip", "t_confined", "t_flush_defas", "t_apply", "t_acquire", "t_total"] {
            print("guest \(key): \(v[key] ?? "?") s")
        }
        #expect(v["me"] == kernelDomain)
        #expect(v["lo_disable_xfrm"] == "1")
        #expect(v["version_rc"] == "0", "salabel does not run in the guest: \(log)")

        checkRoundTrip(v, log: log)
        checkInvalidContexts(v, log: log)
        checkEngineAgainstKernel(v, result: result, log: log)
        checkFlushAllOrNothing(v, result: result, log: log)
        checkDefaultSubject(v, log: log)
        checkApply(v, log: log)
        checkAcquire(v, result: result, log: log)
        reportKernelBehaviors(v)
    }

    // MARK: - 1. Round trip

    func checkRoundTrip(_ v: [String: String], log: String) {
        #expect(v["rt_sa_gcm_add"] == "0", "\(log)")
        #expect(v["rt_sa_cbc_add"] == "0", "\(log)")
        #expect(v["rt_sa_get"] == "0")
        #expect(v["rt_sa_get_ctx"] == "1", "salabel's text shows the context exactly: \(log)")
        #expect(v["rt_sa_get_nuls"] == "0", "no NUL in salabel's text")
        #expect(v["rt_sa_get_aead"] == "1")
        let sa = json(v["rt_sa_json_get"]) as? [String: Any]
        #expect(sa?["context"] as? String == spd, "--json get: \(v["rt_sa_json_get"] ?? "nil")")
        #expect(sa?["spi"] as? Int == 0x1001)
        let algs = (sa?["algorithms"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted()
        #expect(algs == ["cbc(aes)", "hmac(sha256)"], "\(v["rt_sa_json_get"] ?? "nil")")
        #expect(v["rt_sa_list"] == "0")
        #expect(v["rt_sa_list_ctx"] == "2")
        #expect(v["rt_sa_list_nuls"] == "0")
        let list = json(v["rt_sa_json_list"]) as? [[String: Any]]
        #expect(list?.count == 2, "\(v["rt_sa_json_list"] ?? "nil")")
        #expect(list?.allSatisfy { $0["context"] as? String == spd } == true)
        #expect(v["rt_sa_json_list"]?.contains("\\u0000") == false)

        // iproute2, the independent reader.
        #expect(v["ip_sa_gcm_ctx"] == "1", "\(log)")
        #expect(v["ip_sa_cbc_ctx"] == "1")
        #expect(v["ip_sa_cbc_algs"] == "2", "iproute2 reads the keys salabel sent")
        #expect(v["ip_own_add"] == "0")
        // The stored context: the string exactly, then NULs (Specs/kernel/labeled-ipsec.md, edge 7); salabel's
        // SA and iproute2's alike.
        let stored = v["ctxlen_sa_salabel"].map(StoredContext.init)
        #expect(stored?.text == spd, "\(v["ctxlen_sa_salabel"] ?? "nil")")
        #expect(stored.map { $0.length == spd.utf8.count + $0.trailingNULs && $0.trailingNULs >= 1 } == true)
        #expect(v["ctxlen_sa_iproute2"] == v["ctxlen_sa_salabel"], "salabel and iproute2 send the same ctx_len")
        #expect(v["ctxlen_pol_salabel"] == v["ctxlen_sa_salabel"], "policies store contexts as SAs do")
        #expect((json(v["rt_read_ip_own"]) as? [String: Any])?["context"] as? String == spd, "salabel reads iproute2's SA")
        #expect(v["rt_sa_delete_ip_own"] == "0")

        #expect(v["rt_pol_out_add"] == "0", "\(log)")
        #expect(v["rt_pol_in_add"] == "0")
        #expect(v["rt_pol_get"] == "0")
        #expect(v["rt_pol_get_ctx"] == "1")
        #expect(v["rt_pol_get_nuls"] == "0")
        let pol = json(v["rt_pol_json_get"]) as? [String: Any]
        #expect(pol?["context"] as? String == spd, "\(v["rt_pol_json_get"] ?? "nil")")
        #expect(pol?["dir"] as? String == "out")
        let tmpl = (pol?["templates"] as? [[String: Any]])?.first
        #expect(tmpl?["spi"] as? Int == 0 && tmpl?["reqid"] as? Int == 1)
        #expect(v["rt_pol_list"] == "0")
        #expect(v["rt_pol_list_ctx"] == "2")
        let pols = json(v["rt_pol_json_list"]) as? [[String: Any]]
        #expect(pols?.count == 2 && pols?.allSatisfy { $0["context"] as? String == spd } == true, "\(v["rt_pol_json_list"] ?? "nil")")
        #expect(v["ip_pol_ctx"] == "2")
        #expect(v["ip_pol_tmpl_nospi"] == "0", "the outbound template has no SPI")

        #expect(v["rt_pol_delete"] == "0")
        #expect(v["rt_pol_after_delete"] == "1")
        #expect(v["rt_sa_delete"] == "0")
        #expect(v["rt_sa_after_delete"] == "1")
        // MIGRATE clones the SA and allocates its label again from the stored context (edge 36): the stored
        // ctx_len, NULs included, goes back in as the clone's length and one NUL more is counted, so each
        // migration adds a NUL to the same text (the kernel's own ACK, from an encoder written in C against the
        // UAPI header, Tests/VM/xfrm-ctxlen.c).
        #expect(v["migrate_pol_add"] == "0")
        #expect(v["migrate1"] == "migrate errno=0" && v["migrate2"] == "migrate errno=0", "\(log)")
        let migrated = [v["ctxlen_migrated1"], v["ctxlen_migrated2"]].map { $0.map(StoredContext.init) }
        if let before = stored, let once = migrated[0], let twice = migrated[1] {
            #expect(once.text == spd && twice.text == spd)
            #expect(once.length == before.length + 1 && once.trailingNULs == before.trailingNULs + 1, "\(v["ctxlen_migrated1"] ?? "nil")")
            #expect(twice.length == before.length + 2 && twice.trailingNULs == before.trailingNULs + 2, "\(v["ctxlen_migrated2"] ?? "nil")")
        } else {
            Issue.record("no stored context read after the migrations: \(v["ctxlen_migrated1"] ?? "nil"), \(v["ctxlen_migrated2"] ?? "nil")")
        }
        #expect(v["rt_sa_flush"] == "0")
        #expect(v["rt_sa_after_flush"] == "0")
        #expect(v["rt_pol_flush"] == "0")
        #expect(v["rt_pol_after_flush"] == "0")
        #expect(v["rt_json_empty"] == "[]")

        // 1b. xfrm batch: a transaction undoes what the kernel carried out; --continue keeps it,
        // labeled; a file that flushes both databases and then fails (EEXIST on its own second add)
        // gets the kept SA and SPD entry back from the dump, label and key included.
        #expect(v["tx_rc"] == "1", "\(log)")
        #expect(v["tx_line3"] == "1" && v["tx_restored"] == "1")
        #expect(v["tx_states"] == "0" && v["tx_policies"] == "0")
        #expect(v["txc_rc"] == "1" && v["txc_kept"] == "1")
        #expect(v["txc_states"] == "1" && v["txc_policies"] == "1" && v["txc_ctx"] == "1")
        #expect(v["txf_rc"] == "1")
        #expect(v["txf_states"] == "1" && v["txf_policies"] == "1" && v["txf_ctx"] == "1" && v["txf_spi"] == "1")
    }

    // MARK: - 2. Invalid contexts

    func checkInvalidContexts(_ v: [String: String], log: String) {
        // The engine allowed (embedded policy), the kernel refused: both sides in the message, exit 1.
        #expect(v["inv_engine_rc"] == "1", "\(log)")
        let both = v["inv_engine_err"] ?? ""
        #expect(both.contains("EINVAL (22)"), "\(both)")
        #expect(both.contains("the kernel refused"), "\(both)")
        #expect(both.contains("the engine allowed setcontext on system_u:object_r:ipsec_restricted_spd_t:s0"), "\(both)")
        // Without the engine: the kernel's errno.
        #expect(v["inv_noauth_rc"] == "1")
        #expect(v["inv_noauth_err"]?.contains("EINVAL (22)") == true, "\(v["inv_noauth_err"] ?? "nil")")
        #expect(v["inv_pol_rc"] == "1")
        #expect(v["inv_pol_err"]?.contains("EINVAL (22)") == true, "\(v["inv_pol_err"] ?? "nil")")
        #expect(v["inv_states"] == "0")
        #expect(v["inv_policies"] == "0")
    }

    // MARK: - 3. The engine's prediction against the kernel

    func checkEngineAgainstKernel(_ v: [String: String], result: VMResult, log: String) {
        #expect(v["conf_label_libs"] == "0")
        #expect(v["conf_dir"] == "0")
        #expect(v["conf_bin"] == "0")
        #expect(v["conf_policy"] == "0")
        #expect(v["conf_list_rc"] == "0", "salabel runs as ipsec_supervisor_t: \(log)")

        let expected = AVCFields("avc:  denied  { setcontext } for scontext=\(supervisor) tcontext=\(spd) tclass=association permissive=0")!
        // SA (C2): the engine refuses before the kernel, with the kernel's record.
        #expect(v["c1_rc"] == "1", "\(log)")
        #expect(v["c1_err"]?.hasPrefix("error: refused before reaching the kernel") == true, "\(v["c1_err"] ?? "nil")")
        #expect(v["c1_kernel_new"] == "0", "nothing reached the kernel")
        #expect(v["c1_sa_exists"] != "0")
        let engineSA = v["c1_avc"].flatMap(AVCFields.init)
        #expect(engineSA == expected, "engine: \(v["c1_avc"] ?? "nil")")
        // Without the engine, the kernel refuses: EACCES and its AVC denial, field for field the engine's.
        #expect(v["c2_rc"] == "1")
        #expect(v["c2_err"]?.contains("EACCES (13)") == true, "\(v["c2_err"] ?? "nil")")
        #expect(v["c2_kernel_new"] == "1", "\(result.avcLines)")
        let kernelSA = v["c2_kernel_avc"].flatMap(AVCFields.init)
        #expect(kernelSA != nil && kernelSA == engineSA, "kernel: \(v["c2_kernel_avc"] ?? "nil"); engine: \(v["c1_avc"] ?? "nil")")
        #expect(v["c2_sa_exists"] != "0")

        // Policy (C1).
        #expect(v["c3_rc"] == "1")
        #expect(v["c3_err"]?.hasPrefix("error: refused before reaching the kernel") == true, "\(v["c3_err"] ?? "nil")")
        #expect(v["c3_kernel_new"] == "0")
        let enginePol = v["c3_avc"].flatMap(AVCFields.init)
        #expect(enginePol == expected, "engine: \(v["c3_avc"] ?? "nil")")
        #expect(v["c4_rc"] == "1")
        #expect(v["c4_err"]?.contains("EACCES (13)") == true, "\(v["c4_err"] ?? "nil")")
        #expect(v["c4_kernel_new"] == "1")
        let kernelPol = v["c4_kernel_avc"].flatMap(AVCFields.init)
        #expect(kernelPol != nil && kernelPol == enginePol, "kernel: \(v["c4_kernel_avc"] ?? "nil"); engine: \(v["c3_avc"] ?? "nil")")
        #expect(v["c4_policies"] == "0")
    }

    // MARK: - 4. Flush all-or-nothing (Specs/kernel/labeled-ipsec.md, edge 12)

    func checkFlushAllOrNothing(_ v: [String: String], result: VMResult, log: String) {
        for k in ["fl_add1", "fl_add2", "fl_add3", "fl_pol1", "fl_pol2"] { #expect(v[k] == "0", "\(k): \(log)") }
        #expect(v["fl_states"] == "3")
        #expect(v["fl_policies"] == "2", "a labeled and an unlabeled entry with one selector coexist (edge 11)")
        // The engine, with the kernel's policy, refuses the whole flush before the kernel.
        #expect(v["f1_rc"] == "1", "\(log)")
        #expect(v["f1_err"]?.hasPrefix("error: refused before reaching the kernel") == true, "\(v["f1_err"] ?? "nil")")
        #expect(v["f1_kernel_new"] == "0")
        #expect(v["f1_states"] == "3")
        let engine = v["f1_avc"].flatMap(AVCFields.init)
        #expect(engine?.scontext == supervisor && engine?.tcontext == spd && engine?.permissions == ["setcontext"], "\(v["f1_avc"] ?? "nil")")
        // The kernel: EACCES, and nothing removed, not even the unlabeled SA.
        #expect(v["f2_rc"] == "1")
        #expect(v["f2_err"]?.contains("EACCES (13)") == true, "\(v["f2_err"] ?? "nil")")
        #expect(v["f2_kernel_new"] == "1", "\(result.avcLines)")
        #expect(v["f2_kernel_avc"].flatMap(AVCFields.init) == engine, "kernel: \(v["f2_kernel_avc"] ?? "nil")")
        #expect(v["f2_states"] == "3")
        #expect(v["f2_unlabeled_left"] == "0")
        #expect(v["f3_rc"] == "1")
        #expect(v["f3_err"]?.contains("EACCES (13)") == true, "\(v["f3_err"] ?? "nil")")
        #expect(v["f3_kernel_new"] == "1")
        #expect(v["f3_policies"] == "2")
        #expect(v["fl_kernel_sa_flush"] == "0")
        #expect(v["fl_kernel_pol_flush"] == "0")
        #expect(v["fl_states_after"] == "0")
        #expect(v["fl_policies_after"] == "0")
    }

    // MARK: - 5. The default subject

    /// Specs/manager/operations.md: "The subject is the caller's context: on an SELinux system the
    /// process's own, otherwise `--as CONTEXT`". kernel_t may setcontext ipsec_spd_t in the kernel's policy.
    func checkDefaultSubject(_ v: [String: String], log: String) {
        #expect(
            v["defas_rc"] == "0",
            "without --as, salabel (as kernel_t, with the kernel's policy) refused: \(v["defas_err"] ?? "") \(v["defas_avc"] ?? "")")
    }

    // MARK: - 6. apply

    func checkApply(_ v: [String: String], log: String) {
        #expect(v["ap_keygen"] == "0", "\(log)")
        #expect(v["ap_keymode"] == "600")
        #expect(v["ap1_rc"] == "0", "\(log)")
        #expect(v["ap1_last"] == "left: 4 step(s) applied", "\(v["ap1_last"] ?? "nil")")
        #expect(v["ap1_states"] == "2")
        #expect(v["ap1_policies"] == "2")
        #expect(v["ap1_ip_sa_ctx"] == "2", "iproute2 sees both SAs labeled kernel_t")
        #expect(v["ap1_ip_pol_ctx"] == "2")
        #expect(v["ap1_ip_pol_dport"] == "1" && v["ap1_ip_pol_sport"] == "1", "out to the responder's port 7, in from it")
        #expect(v["ap2_rc"] == "0")
        #expect(v["ap2_out"] == "left: nothing to change", "\(v["ap2_out"] ?? "nil")")
        #expect(v["ap3_rc"] == "0")
        #expect(v["ap3_last"] == "left: 4 step(s) applied", "\(v["ap3_last"] ?? "nil")")
        #expect(v["ap3_states"] == "0")
        #expect(v["ap3_policies"] == "0")
        // The failing apply rolled back the two SAs it had added.
        #expect(v["ap4_rc"] == "1", "\(log)")
        let err = v["ap4_err"] ?? ""
        #expect(err.contains("EINVAL (22)"), "\(err)")
        #expect(err.contains("rolled back 2 step(s)"), "\(err)")
        #expect(!err.contains("rollback of"), "an undo failed: \(err)")
        #expect(v["ap4_states"] == "0", "rollback left SAs behind")
        #expect(v["ap4_policies"] == "0", "rollback left policies behind")
    }

    // MARK: - 7. ACQUIRE

    func checkAcquire(_ v: [String: String], result: VMResult, log: String) {
        #expect(v["acq_net"] == "0", "\(log)")
        #expect(v["acq_pol"] == "0")
        #expect(v["acq_flow_ctx"] == initDomain)
        #expect(v["acq_mon_rc"] == "0", "the monitor saw no event: \(log)")
        let event = json(v["acq_event"]) as? [String: Any]
        #expect((event?["event"] as? String)?.hasSuffix("ACQUIRE") == true, "\(v["acq_event"] ?? "nil")")
        #expect(event?["context"] as? String == v["acq_flow_ctx"], "the ACQUIRE carries the flow's label: \(v["acq_event"] ?? "nil")")
        #expect(event?["context"] as? String != spd, "not the SPD entry's label")
        #expect(event?["src"] as? String == "192.0.2.1" && event?["dst"] as? String == "192.0.2.2")
        #expect(v["acq_event"]?.contains("\\u0000") == false)
        // The larval SA carries it too, for iproute2 and for salabel.
        #expect(v["acq_ip_larval_ctx"] == "1", "\(log)")
        // A kernel-made context counts one NUL on every version (Specs/kernel/labeled-ipsec.md §c.3 step 4).
        let larvalStored = v["ctxlen_larval"].map(StoredContext.init)
        #expect(
            larvalStored?.text == initDomain && larvalStored?.trailingNULs == 1
                && larvalStored?.length == initDomain.utf8.count + 1, "\(v["ctxlen_larval"] ?? "nil")")
        let larval = (json(v["acq_salabel_list"]) as? [[String: Any]])?.first
        #expect(larval?["context"] as? String == initDomain, "\(v["acq_salabel_list"] ?? "nil")")
        // kernel_t may not setcontext init_t: the flush refuses as a whole while the larval SA lives.
        #expect(v["acq_flush_rc"] == "1")
        #expect(v["acq_flush_err"]?.contains("EACCES (13)") == true, "\(v["acq_flush_err"] ?? "nil")")
        #expect(
            result.avcLines(containing: [
                "denied  { setcontext }", "scontext=\(kernelDomain)", "tcontext=\(initDomain)", "tclass=association",
            ]).count == 1, "\(result.avcLines)")
    }

    /// Prints what the kernel did where Specs/kernel/labeled-ipsec.md documents version-dependent behavior.
    func reportKernelBehaviors(_ v: [String: String]) {
        print(
            """
            kernel behaviors observed:
              stored "ctx_len trailing-NULs context" after a context sent with one NUL (2 NULs = kernel with the
              2025 ctx_len fix, 1 = without): salabel SA \(v["ctxlen_sa_salabel"] ?? "?"); iproute2 SA \(v["ctxlen_sa_iproute2"] ?? "?"); \
            salabel policy \(v["ctxlen_pol_salabel"] ?? "?")
              larval SA (the ACQUIRE's context): \(v["ctxlen_larval"] ?? "?") (strlen + 1 on every version)
              ACQUIRE after \(v["acq_tries"] ?? "?") flow attempt(s)
            """)
    }

    private func json(_ text: String?) -> Any? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data)
    }
}
