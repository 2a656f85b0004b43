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

/// The guest script. It uses no Swift interpolation: the values it needs come from the header `VMScript.header`.
private let guestScript = #"""
    A=192.0.2.1; B=192.0.2.2
    SPD=system_u:object_r:ipsec_spd_t:s0
    SV=system_u:system_r:ipsec_supervisor_t:s0
    INIT=system_u:system_r:init_t:s0
    KT=system_u:system_r:kernel_t:s0
    KEY=0x0102030405060708090a0b0c0d0e0f1011121314   # AES-128 key + 4-byte salt
    CBCKEY=0x00112233445566778899aabbccddeeff
    HMACKEY=0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
    nuls() { od -An -v -tx1 | tr ' ' '\n' | grep -c '^00$'; }
    ctxline() { printf '\tsecurity context %s' "$1"; }
    states() { ip xfrm state | grep -c '^src'; }
    policies() { ip xfrm policy | grep -c '^src'; }
    # Lines of a file, for diagnostics at the end.
    show() { for f in "$@"; do echo "--- $f"; tr -d '\000' < "$f" | sed 's/^/| /'; done; }
    now() { date +%s; }
    t_start=$(now)
    echo "me=$(cat /proc/self/attr/current)"
    echo "lo_disable_xfrm=$(cat /proc/sys/net/ipv4/conf/lo/disable_xfrm)"
    $S --version >/dev/null 2>&1; echo "version_rc=$?"

    # ---------------------------------------------------------------------------------------------
    # 1. Round trip of labeled SAs and policies (the default engine: the embedded policy, --as ipsec_mgmt_t,
    #    which may setcontext ipsec_spd_t; the kernel runs as kernel_t, which may too).
    # ---------------------------------------------------------------------------------------------
    $S xfrm state add src $A dst $B proto esp spi 0x1000 reqid 1 mode transport \
      aead 'rfc4106(gcm(aes))' $KEY 128 ctx $SPD >/tmp/rt_add_gcm 2>&1
    echo "rt_sa_gcm_add=$?"
    $S xfrm state add --src $A --dst $B --proto esp --spi 0x1001 --reqid 1 --mode transport \
      --enc 'cbc(aes)' --key $CBCKEY --auth 'hmac(sha256)' --auth-key $HMACKEY --trunc 128 --context $SPD >/tmp/rt_add_cbc 2>&1
    echo "rt_sa_cbc_add=$?"
    $S xfrm state get src $A dst $B proto esp spi 0x1000 >/tmp/rt_get 2>&1; echo "rt_sa_get=$?"
    echo "rt_sa_get_ctx=$(grep -c -x "$(ctxline $SPD)" /tmp/rt_get)"
    echo "rt_sa_get_nuls=$(nuls </tmp/rt_get)"
    echo "rt_sa_get_aead=$(grep -c "aead rfc4106(gcm(aes)) <key redacted> 128" /tmp/rt_get)"
    echo "rt_sa_json_get=$($S xfrm state --json get src $A dst $B proto esp spi 0x1001 2>&1)"
    $S xfrm state list >/tmp/rt_list 2>&1; echo "rt_sa_list=$?"
    echo "rt_sa_list_ctx=$(grep -c -x "$(ctxline $SPD)" /tmp/rt_list)"
    echo "rt_sa_list_nuls=$(nuls </tmp/rt_list)"
    echo "rt_sa_json_list=$($S xfrm state --json list 2>&1)"
    # iproute2 reads them back; it prints ctx_len bytes, so stored NULs show.
    ip xfrm state get src $A dst $B proto esp spi 0x1000 >/tmp/ip_get_gcm
    ip xfrm state get src $A dst $B proto esp spi 0x1001 >/tmp/ip_get_cbc
    # iproute2 6.1 prints "\tsecurity context %s \n": the string up to its first NUL, then a space.
    ipctx() { tr -d '\000' | grep -c -x "$(ctxline "$1") "; }
    # ctx_len, trailing NULs and string of the labeled objects, as the kernel dumps them (Tests/VM/xfrm-ctxlen.c).
    ctxlen() { $CTXLEN | grep -F "$1" | sed -n 's/.* ctx_len=\([0-9]*\) trailing_nuls=\([0-9]*\) ctx=\(.*\)/\1 \2 \3/p' | head -n 1; }
    echo "ip_sa_gcm_ctx=$(ipctx $SPD </tmp/ip_get_gcm)"
    echo "ip_sa_cbc_ctx=$(ipctx $SPD </tmp/ip_get_cbc)"
    echo "ip_sa_cbc_algs=$(grep -c -e "enc cbc(aes) $CBCKEY" -e "auth-trunc hmac(sha256) $HMACKEY 128" /tmp/ip_get_cbc)"
    echo "ctxlen_sa_salabel=$(ctxlen 'sa spi=0x00001000')"
    # The same SA added by iproute2 (it sends ctx_len = strlen + 1, as salabel does): same stored length?
    ip xfrm state add src $A dst $B proto esp spi 0x1010 mode transport aead 'rfc4106(gcm(aes))' $KEY 128 ctx $SPD
    echo "ip_own_add=$?"
    echo "ctxlen_sa_iproute2=$(ctxlen 'sa spi=0x00001010')"
    echo "rt_read_ip_own=$($S xfrm state --json get src $A dst $B proto esp spi 0x1010 2>&1)"
    $S xfrm state delete src $A dst $B proto esp spi 0x1010; echo "rt_sa_delete_ip_own=$?"

    $S xfrm policy add --src $A/32 --dst $B/32 --dir out --context $SPD \
      --tmpl-src $A --tmpl-dst $B --tmpl-proto esp --tmpl-mode transport --tmpl-reqid 1 >/tmp/rt_pol_add 2>&1
    echo "rt_pol_out_add=$?"
    $S xfrm policy add src $B/32 dst $A/32 dir in ctx $SPD tmpl src $B dst $A proto esp reqid 1 mode transport >>/tmp/rt_pol_add 2>&1
    echo "rt_pol_in_add=$?"
    $S xfrm policy get src $A/32 dst $B/32 dir out ctx $SPD >/tmp/rt_pol_get 2>&1; echo "rt_pol_get=$?"
    echo "rt_pol_get_ctx=$(grep -c -x "$(ctxline $SPD)" /tmp/rt_pol_get)"
    echo "rt_pol_get_nuls=$(nuls </tmp/rt_pol_get)"
    echo "rt_pol_json_get=$($S xfrm policy --json get src $A/32 dst $B/32 dir out ctx $SPD 2>&1)"
    $S xfrm policy list >/tmp/rt_pol_list 2>&1; echo "rt_pol_list=$?"
    echo "rt_pol_list_ctx=$(grep -c -x "$(ctxline $SPD)" /tmp/rt_pol_list)"
    echo "rt_pol_json_list=$($S xfrm policy --json list 2>&1)"
    ip xfrm policy >/tmp/ip_pol
    echo "ip_pol_ctx=$(ipctx $SPD </tmp/ip_pol)"
    echo "ctxlen_pol_salabel=$(ctxlen 'policy dir=1 ')"
    $CTXLEN >/tmp/ctxlen_rt 2>&1
    echo "ip_pol_tmpl_nospi=$(ip xfrm policy list dir out | grep -c 'spi 0x')"
    $S xfrm policy delete src $B/32 dst $A/32 dir in ctx $SPD; echo "rt_pol_delete=$?"
    echo "rt_pol_after_delete=$(policies)"
    $S xfrm state delete src $A dst $B proto esp spi 0x1001; echo "rt_sa_delete=$?"
    echo "rt_sa_after_delete=$(states)"
    $S xfrm state flush; echo "rt_sa_flush=$?"
    echo "rt_sa_after_flush=$(states)"
    $S xfrm policy flush; echo "rt_pol_flush=$?"
    echo "rt_pol_after_flush=$(policies)"
    echo "rt_json_empty=$($S xfrm state --json list 2>&1)"

    # 1b. `xfrm batch` as a transaction on a kernel that stores labels (Specs/manager/batch.md): lines 1–2
    #     go in the same netlink batch as line 3, which the kernel refuses (a type the policy lacks,
    #     EINVAL); the transaction takes 1–2 out again. --continue keeps them, with their labels. A flush
    #     early in a file is undone from the dump taken first.
    cat >/tmp/tx.batch <<TX
    state add src $A dst $B proto esp spi 0x1100 mode transport aead rfc4106(gcm(aes)) $KEY 128 ctx $SPD
    policy add src $A/32 dst $B/32 dir out ctx $SPD tmpl src $A dst $B proto esp mode transport
    state add src $A dst $B proto esp spi 0x1101 mode transport aead rfc4106(gcm(aes)) $KEY 128 ctx system_u:object_r:salabel_no_such_t:s0
    TX
    $S xfrm batch --no-authorize /tmp/tx.batch >/tmp/tx_out 2>&1; echo "tx_rc=$?"
    echo "tx_line3=$(grep -c 'command 3 of 3 (line 3)' /tmp/tx_out)"
    echo "tx_restored=$(grep -c '0 of 3 command(s) took effect; the state before the batch was restored' /tmp/tx_out)"
    echo "tx_states=$(states)"; echo "tx_policies=$(policies)"
    $S xfrm batch --no-authorize --continue /tmp/tx.batch >/tmp/tx_cont 2>&1; echo "txc_rc=$?"
    echo "txc_kept=$(grep -c '2 of 3 command(s) took effect' /tmp/tx_cont)"
    echo "txc_states=$(states)"; echo "txc_policies=$(policies)"
    echo "txc_ctx=$(ip xfrm state | tr -d '\000' | grep -c "security context $SPD")"
    printf 'state flush\npolicy flush\nstate add src %s dst %s proto esp spi 0x1200 mode transport aead rfc4106(gcm(aes)) %s 128 ctx %s\n%s\n' \
      $A $B $KEY $SPD "state add src $A dst $B proto esp spi 0x1200 mode transport aead rfc4106(gcm(aes)) $KEY 128 ctx $SPD" >/tmp/tx_flush.batch
    $S xfrm batch --no-authorize /tmp/tx_flush.batch >/tmp/tx_flush 2>&1; echo "txf_rc=$?"
    echo "txf_states=$(states)"; echo "txf_policies=$(policies)"
    echo "txf_ctx=$(ip xfrm state | tr -d '\000' | grep -c "security context $SPD")"
    echo "txf_spi=$(ip xfrm state | grep -c 'spi 0x00001100')"
    $S xfrm state flush; $S xfrm policy flush
    t_roundtrip=$(now); echo "t_roundtrip=$((t_roundtrip - t_start))"

    # ---------------------------------------------------------------------------------------------
    # 2. Invalid contexts: the kernel answers EINVAL; salabel reports its errno and the engine side.
    # ---------------------------------------------------------------------------------------------
    # A type the embedded policy has (the engine allows it for its key manager, named with --as) but
    # the reference policy does not.
    $S xfrm state add --as system_u:system_r:ipsec_mgmt_t:s0 src $A dst $B proto esp spi 0x1002 mode transport aead 'rfc4106(gcm(aes))' $KEY 128 \
      ctx system_u:object_r:ipsec_restricted_spd_t:s0 >/tmp/inv_engine 2>&1
    echo "inv_engine_rc=$?"
    echo "inv_engine_err=$(grep '^error:' /tmp/inv_engine)"
    $S xfrm state add --no-authorize src $A dst $B proto esp spi 0x1003 mode transport aead 'rfc4106(gcm(aes))' $KEY 128 \
      ctx system_u:object_r:salabel_no_such_t:s0 >/tmp/inv_noauth 2>&1
    echo "inv_noauth_rc=$?"
    echo "inv_noauth_err=$(grep '^error:' /tmp/inv_noauth)"
    $S xfrm policy add --no-authorize src $A/32 dst $B/32 dir out ctx system_u:object_r:salabel_no_such_t:s0 \
      tmpl src $A dst $B proto esp mode transport >/tmp/inv_pol 2>&1
    echo "inv_pol_rc=$?"
    echo "inv_pol_err=$(grep '^error:' /tmp/inv_pol)"
    echo "inv_states=$(states)"
    echo "inv_policies=$(policies)"

    # ---------------------------------------------------------------------------------------------
    # 3. The engine with the kernel's own policy against the kernel, in a domain without setcontext
    #    on ipsec_spd_t (ipsec_supervisor_t), as the harness smoke test enters it. A confined step loses
    #    the init's stdout/stderr, so its output goes to a file the init_t shell opens (the domain may
    #    use init_t's descriptors and write ipsec_var_run_t files) on a tmpfs labeled ipsec_var_run_t.
    # ---------------------------------------------------------------------------------------------
    refpolicy_label_libraries; echo "conf_label_libs=$?"
    mkdir -p /sv && mount -t tmpfs tmpfs /sv && chcon system_u:object_r:ipsec_var_run_t:s0 /sv; echo "conf_dir=$?"
    cp $S /sv/salabel && chcon system_u:object_r:ipsec_supervisor_exec_t:s0 /sv/salabel; echo "conf_bin=$?"
    cp $POLICY_CONF /sv/refpolicy.conf && chcon system_u:object_r:ipsec_var_run_t:s0 /sv/refpolicy.conf; echo "conf_policy=$?"
    # sv OUT ARGS…: /sv/salabel ARGS… as ipsec_supervisor_t, stdout and stderr in /sv/OUT.
    sv() {
      out=$1; shift
      runcon -d $INIT /bin/sh -c 'o=$1; shift; exec runcon system_u:system_r:ipsec_supervisor_t:s0 /sv/salabel "$@" >"$o" 2>&1' \
        sv "/sv/$out" "$@"
    }
    # Kernel AVC records so far for SV → SPD, class association.
    kavc() { avc_lines | grep "scontext=$SV tcontext=$SPD tclass=association"; }
    kavc_count() { kavc | grep -c .; }
    lastkavc() { kavc | tail -n 1; }
    t_conf_setup=$(now)

    sv list.out xfrm state list; echo "conf_list_rc=$?"
    # SA: the engine refuses before the kernel (no kernel AVC record appears) ...
    n0=$(kavc_count)
    sv c1.out xfrm state add --policy /sv/refpolicy.conf --as $SV src $A dst $B proto esp spi 0x1100 mode transport \
      aead 'rfc4106(gcm(aes))' $KEY 128 ctx $SPD
    echo "c1_rc=$?"
    echo "c1_err=$(grep '^error:' /sv/c1.out)"
    echo "c1_avc=$(grep '^avc:' /sv/c1.out)"
    echo "c1_kernel_new=$(( $(kavc_count) - n0 ))"
    ip xfrm state get src $A dst $B proto esp spi 0x1100 >/dev/null 2>&1; echo "c1_sa_exists=$?"
    # ... and without the engine the kernel refuses with EACCES and its own AVC record.
    n0=$(kavc_count)
    sv c2.out xfrm state add --no-authorize src $A dst $B proto esp spi 0x1100 mode transport \
      aead 'rfc4106(gcm(aes))' $KEY 128 ctx $SPD
    echo "c2_rc=$?"
    echo "c2_err=$(grep '^error:' /sv/c2.out)"
    echo "c2_kernel_new=$(( $(kavc_count) - n0 ))"
    echo "c2_kernel_avc=$(lastkavc)"
    ip xfrm state get src $A dst $B proto esp spi 0x1100 >/dev/null 2>&1; echo "c2_sa_exists=$?"
    # The same for a policy (C1 instead of C2).
    n0=$(kavc_count)
    sv c3.out xfrm policy add --policy /sv/refpolicy.conf --as $SV src $A/32 dst $B/32 dir out ctx $SPD \
      tmpl src $A dst $B proto esp mode transport
    echo "c3_rc=$?"
    echo "c3_err=$(grep '^error:' /sv/c3.out)"
    echo "c3_avc=$(grep '^avc:' /sv/c3.out)"
    echo "c3_kernel_new=$(( $(kavc_count) - n0 ))"
    n0=$(kavc_count)
    sv c4.out xfrm policy add --no-authorize src $A/32 dst $B/32 dir out ctx $SPD tmpl src $A dst $B proto esp mode transport
    echo "c4_rc=$?"
    echo "c4_err=$(grep '^error:' /sv/c4.out)"
    echo "c4_kernel_new=$(( $(kavc_count) - n0 ))"
    echo "c4_kernel_avc=$(lastkavc)"
    echo "c4_policies=$(policies)"
    t_conf=$(now); echo "t_confined=$((t_conf - t_conf_setup))"

    # ---------------------------------------------------------------------------------------------
    # 4. Flush is all-or-nothing (edge 12): one unlabeled and two labeled SAs, one unlabeled and one labeled
    #    policy (edge 11: they coexist), installed as kernel_t; ipsec_supervisor_t may not setcontext the labels.
    # ---------------------------------------------------------------------------------------------
    $S xfrm state add src $A dst $B proto esp spi 0x1200 mode transport aead 'rfc4106(gcm(aes))' $KEY 128; echo "fl_add1=$?"
    $S xfrm state add src $A dst $B proto esp spi 0x1201 mode transport aead 'rfc4106(gcm(aes))' $KEY 128 ctx $SPD; echo "fl_add2=$?"
    $S xfrm state add src $B dst $A proto esp spi 0x1202 mode transport aead 'rfc4106(gcm(aes))' $KEY 128 ctx $SPD; echo "fl_add3=$?"
    $S xfrm policy add src $A/32 dst $B/32 dir out tmpl src $A dst $B proto esp mode transport; echo "fl_pol1=$?"
    $S xfrm policy add src $A/32 dst $B/32 dir out ctx $SPD tmpl src $A dst $B proto esp mode transport; echo "fl_pol2=$?"
    echo "fl_states=$(states)"
    echo "fl_policies=$(policies)"
    n0=$(kavc_count)
    sv f1.out xfrm state flush --policy /sv/refpolicy.conf --as $SV
    echo "f1_rc=$?"
    echo "f1_err=$(grep '^error:' /sv/f1.out)"
    echo "f1_avc=$(grep '^avc:' /sv/f1.out | head -n 1)"
    echo "f1_avc_count=$(grep -c '^avc:' /sv/f1.out)"
    echo "f1_kernel_new=$(( $(kavc_count) - n0 ))"
    echo "f1_states=$(states)"
    n0=$(kavc_count)
    sv f2.out xfrm state flush --no-authorize
    echo "f2_rc=$?"
    echo "f2_err=$(grep '^error:' /sv/f2.out)"
    echo "f2_kernel_new=$(( $(kavc_count) - n0 ))"
    echo "f2_kernel_avc=$(lastkavc)"
    echo "f2_states=$(states)"
    echo "f2_unlabeled_left=$(ip xfrm state get src $A dst $B proto esp spi 0x1200 >/dev/null 2>&1; echo $?)"
    n0=$(kavc_count)
    sv f3.out xfrm policy flush --no-authorize
    echo "f3_rc=$?"
    echo "f3_err=$(grep '^error:' /sv/f3.out)"
    echo "f3_kernel_new=$(( $(kavc_count) - n0 ))"
    echo "f3_policies=$(policies)"
    # kernel_t may setcontext ipsec_spd_t: its flushes take everything.
    $S xfrm state flush; echo "fl_kernel_sa_flush=$?"
    $S xfrm policy flush; echo "fl_kernel_pol_flush=$?"
    echo "fl_states_after=$(states)"
    echo "fl_policies_after=$(policies)"

    # ---------------------------------------------------------------------------------------------
    # 5. The subject salabel checks when --as is not given (Specs/manager/operations.md: "on an SELinux
    #    system the process's own"): as kernel_t, which may setcontext ipsec_spd_t, with the kernel's policy.
    # ---------------------------------------------------------------------------------------------
    $S xfrm state add --policy $POLICY_CONF src $A dst $B proto esp spi 0x1300 mode transport \
      aead 'rfc4106(gcm(aes))' $KEY 128 ctx $SPD >/tmp/default_as 2>&1
    echo "defas_rc=$?"
    echo "defas_err=$(grep '^error:' /tmp/default_as)"
    echo "defas_avc=$(grep '^avc:' /tmp/default_as)"
    $S xfrm state flush >/dev/null 2>&1
    t_flush=$(now); echo "t_flush_defas=$((t_flush - t_conf))"

    # ---------------------------------------------------------------------------------------------
    # 6. salabel apply: one host's half, idempotence, removal, and a rollback.
    # ---------------------------------------------------------------------------------------------
    mkdir -p /tmp/apply
    cat >/tmp/apply/vm.yaml <<'YAML'
    hosts:
      left: { address: 192.0.2.1 }
      right: { address: 192.0.2.2 }
    associations:
      - name: vm-kernel
        between: [left, right]
        context: system_u:system_r:kernel_t:s0
        policy_context: system_u:object_r:ipsec_spd_t:s0
        encryption: cbc(aes)
        authentication: hmac(sha256)
        selector: { proto: udp, port: 7 }
    key_file: vm.keys
    YAML
    $S keygen /tmp/apply/vm.yaml >/tmp/ap_keygen 2>&1; echo "ap_keygen=$?"
    echo "ap_keymode=$(stat -c %a /tmp/apply/vm.keys)"
    $S apply /tmp/apply/vm.yaml --host left >/tmp/ap1 2>&1; echo "ap1_rc=$?"
    echo "ap1_last=$(tail -n 1 /tmp/ap1)"
    echo "ap1_states=$(states)"
    echo "ap1_policies=$(policies)"
    echo "ap1_ip_sa_ctx=$(ip xfrm state | ipctx $KT)"
    echo "ap1_ip_pol_ctx=$(ip xfrm policy | ipctx $SPD)"
    ip xfrm policy >/tmp/ap1_ip_pol
    # The guest has no /etc/protocols: iproute2 prints UDP as "proto 17".
    echo "ap1_ip_pol_dport=$(grep -c 'proto 17 dport 7 ' /tmp/ap1_ip_pol)"
    echo "ap1_ip_pol_sport=$(grep -c 'proto 17 sport 7 ' /tmp/ap1_ip_pol)"
    echo "ap1_pol_json=$($S xfrm policy --json list 2>&1)"
    $S apply /tmp/apply/vm.yaml --host left >/tmp/ap2 2>&1; echo "ap2_rc=$?"
    echo "ap2_out=$(cat /tmp/ap2)"
    $S apply /tmp/apply/vm.yaml --host left --remove >/tmp/ap3 2>&1; echo "ap3_rc=$?"
    echo "ap3_last=$(tail -n 1 /tmp/ap3)"
    echo "ap3_states=$(states)"
    echo "ap3_policies=$(policies)"
    # Two associations; the second's label is one the engine's embedded policy knows and the kernel's
    # does not: its first SA fails with EINVAL after the first association's SAs went in.
    cat >/tmp/apply/bad.yaml <<'YAML'
    hosts:
      left: { address: 192.0.2.1 }
      right: { address: 192.0.2.2 }
    associations:
      - name: vm-good
        between: [left, right]
        context: system_u:system_r:kernel_t:s0
        policy_context: system_u:object_r:ipsec_spd_t:s0
        selector: { proto: udp, port: 7 }
      - name: vm-bad
        between: [left, right]
        context: system_u:system_r:echoclient_t:s0
        policy_context: system_u:object_r:ipsec_spd_t:s0
        selector: { proto: udp, port: 9 }
    key_file: bad.keys
    YAML
    # --as: the embedded policy's key manager may label echoclient_t, so the engine allows the step
    # and the kernel (whose policy has no echoclient_t) refuses it with EINVAL: the rollback is the kernel's doing.
    $S apply /tmp/apply/bad.yaml --host left --as system_u:system_r:ipsec_mgmt_t:s0 >/tmp/ap4 2>&1; echo "ap4_rc=$?"
    echo "ap4_err=$(grep '^error:' /tmp/ap4)"
    echo "ap4_states=$(states)"
    echo "ap4_policies=$(policies)"
    t_apply=$(now); echo "t_apply=$((t_apply - t_flush))"

    # ---------------------------------------------------------------------------------------------
    # 7. ACQUIRE carries the flow's label (edge 17). lo has disable_xfrm=1: the flow leaves by a veth.
    #    The policy is labeled ipsec_spd_t, its template has no SPI, and there is no SA; the flow comes
    #    from a process in init_t (which has polmatch on ipsec_spd_t).
    # ---------------------------------------------------------------------------------------------
    ip link add veth0 type veth peer name veth1 && ip addr add $A/24 dev veth0 && ip link set veth0 up \
      && ip link set veth1 up; echo "acq_net=$?"
    $S xfrm policy add src $A/32 dst $B/32 dir out ctx $SPD tmpl src $A dst $B proto esp mode transport; echo "acq_pol=$?"
    echo "acq_flow_ctx=$(runcon -d $INIT cat /proc/self/attr/current)"
    $S xfrm monitor --json --count 1 >/tmp/mon.json 2>/tmp/mon.err &
    mon=$!
    tries=0
    # Until the monitor has joined the ACQUIRE group no larval SA is made (no key manager: -ESRCH), so retry.
    while kill -0 $mon 2>/dev/null && [ $tries -lt 25 ]; do
      runcon -d $INIT ping -c 1 -W 1 $B >/dev/null 2>&1
      tries=$((tries + 1))
    done
    if kill -0 $mon 2>/dev/null; then kill $mon; fi
    wait $mon; echo "acq_mon_rc=$?"
    echo "acq_tries=$tries"
    echo "acq_event=$(head -n 1 /tmp/mon.json)"
    ip xfrm state >/tmp/larval
    echo "acq_ip_larval_ctx=$(ipctx $INIT </tmp/larval)"
    echo "ctxlen_larval=$(ctxlen 'sa spi=0x00000000')"
    $CTXLEN >/tmp/ctxlen_larval 2>&1
    echo "acq_salabel_list=$($S xfrm state --json list 2>&1)"
    # The larval SA is labeled init_t, which kernel_t may not setcontext: a flush now fails as a whole.
    $S xfrm state flush --no-authorize >/tmp/acq_flush 2>&1; echo "acq_flush_rc=$?"
    echo "acq_flush_err=$(grep '^error:' /tmp/acq_flush)"
    echo "acq_flush_states=$(states)"
    t_end=$(now); echo "t_acquire=$((t_end - t_apply))"; echo "t_total=$((t_end - t_start))"

    show /tmp/ctxlen_rt /tmp/ctxlen_larval /tmp/rt_add_gcm /tmp/rt_add_cbc /tmp/rt_get /tmp/rt_list /tmp/ip_get_gcm /tmp/rt_pol_get /tmp/rt_pol_list /tmp/ip_pol \
      /tmp/inv_engine /tmp/inv_noauth /tmp/inv_pol /sv/list.out /sv/c1.out /sv/c2.out /sv/c3.out /sv/c4.out /sv/f1.out \
      /sv/f2.out /sv/f3.out /tmp/default_as /tmp/ap1 /tmp/ap1_ip_pol /tmp/ap2 /tmp/ap3 /tmp/ap4 /tmp/mon.json /tmp/mon.err /tmp/larval \
      /tmp/acq_flush
    exit 0
    """#

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
            script: header + guestScript,
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
