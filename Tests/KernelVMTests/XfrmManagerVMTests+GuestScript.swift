// The guest side of XfrmManagerVMTests: one shell script that runs every check in one boot and
// prints KEY=VALUE lines (see XfrmManagerVMTests.swift for what each check observes; "edge N" is
// Specs/kernel/labeled-ipsec.md §g edge N).

/// The guest script. It uses no Swift interpolation: the values it needs come from the header `VMScript.header`.
let xfrmManagerGuestScript = #"""
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
    # 1. Round trip of labeled SAs and policies (the default engine: the running policy, the reference
    #    policy the guest loaded, and the caller's own domain, kernel_t, which may setcontext ipsec_spd_t).
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
    # MIGRATE (edge 36): the SA 0x1000 (the only one left, reqid 1) moved to the same endpoints under the
    # out entry, twice; each clone's label is allocated again from the stored context, NULs included.
    # 6.1 finds the labeled out entry by its selector; 6.12 looks the entry up with a flow without a
    # label, which may not polmatch ipsec_spd_t, and finds this unlabeled one (B/31 holds B) instead.
    # Either way the SA is cloned. The flushes below remove both entries.
    ip xfrm policy add src $A/32 dst $B/31 dir out tmpl src $A dst $B proto esp reqid 1 mode transport; echo "migrate_pol_add=$?"
    $CTXLEN migrate $A $B >/tmp/migrate 2>&1; echo "migrate1=$(cat /tmp/migrate)"
    echo "ctxlen_migrated1=$(ctxlen 'sa spi=0x00001000')"
    $CTXLEN migrate $A $B >/tmp/migrate 2>&1; echo "migrate2=$(cat /tmp/migrate)"
    echo "ctxlen_migrated2=$(ctxlen 'sa spi=0x00001000')"
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
    # the reference policy does not: --policy embedded, since the default here is the running policy.
    $S xfrm state add --policy embedded --as system_u:system_r:ipsec_mgmt_t:s0 src $A dst $B proto esp spi 0x1002 mode transport aead 'rfc4106(gcm(aes))' $KEY 128 \
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
    # --policy embedded --as: the embedded policy's key manager may label echoclient_t, so the engine allows the step
    # and the kernel (whose policy has no echoclient_t) refuses it with EINVAL: the rollback is the kernel's doing.
    $S apply /tmp/apply/bad.yaml --host left --policy embedded --as system_u:system_r:ipsec_mgmt_t:s0 >/tmp/ap4 2>&1; echo "ap4_rc=$?"
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
