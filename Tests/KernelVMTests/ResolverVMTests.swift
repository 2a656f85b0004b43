// The resolver's predictions against a real SELinux kernel (Debian's 6.1 kernel with ESP, Debian's
// reference policy, enforcing; see Tests/VM/README.md). Two network namespaces joined by a veth pair:
//
//     ns c (client)  vc: 10.77.0.1 (labeled SAs)  10.77.2.1 (unlabeled SAs)  10.77.1.1 (no IPsec)
//     ns s (server)  vs: 10.77.0.2                10.77.2.2                  10.77.1.2
//
// Labeled path: SPD entries labeled ipsec_spd_t both ways; SA c→s (SPI 0x100) labeled with the client's
// domain init_t, SA s→c (SPI 0x200) labeled with the server's domain kernel_t. The server is the script's
// own domain, kernel_t; the client runs under `runcon -d init_t`. Both are the domains of Debian's reference
// policy that the script can reach (kernel_t may only dyntransition to init_t) and that the policy lets use
// labeled associations: both are unconfined_domain_type and corenet_unconfined_type, with
// `self:association { sendto polmatch … }`, `ipsec_spd_t:association polmatch`, and `peer { recv }` on each
// other (`allow domain unconfined_domain_type:peer recv`). Two different types make the two directions'
// labels distinguishable. Who may label what: kernel_t may not setcontext init_t and init_t may not
// setcontext kernel_t, so each SA is added by its own domain (the kernel checks it; --no-authorize only
// skips salabel's engine, which would check with the running policy).
//
// Checks (Specs/kernel/labeled-ipsec.md §b.4, §c.3; edges 17, 23, 24, 25):
//   a. TCP: the server's SO_PEERSEC is exactly the c→s SA's context (the returned length counts one NUL,
//      and a short buffer gets ERANGE with that length); the client's is the s→c SA's context (the
//      server's connection SID: kernel_t's user:role:type with the peer's MLS range, s0);
//   b. UDP with IP_PASSSEC: the SCM_SECURITY payload is the c→s SA's context plus its NUL;
//   c. unlabeled traffic, on unlabeled SAs and with no IPsec at all: SO_PEERSEC fails with ENOPROTOOPT
//      and no SCM_SECURITY comes; the resolver delivers it with no peer label (its access checks use the
//      policy's unlabeled context; the peer checks are on, edge 26: labeled SAs exist); a flow with no
//      IPsec bypasses the SPD and is followed to the receiver; an init_t client, which has no `peer recv`
//      on unlabeled_t, has its unlabeled SYN-ACK refused both by the resolver and by the kernel (same AVC
//      record);
//   d. a flow whose label has no SA (a kernel_t client in ns c: the c→s SA is labeled init_t) makes the
//      kernel send an ACQUIRE carrying kernel_t (seen with `salabel xfrm monitor`), and the connect times out;
//   e. --sockcreate: a kernel_t process whose socket is labeled init_t uses the init_t SA.
//
// Predictions are computed in the guest by salabel itself, before the kernel is asked: four runs of
// `salabel trace --netns c --peer-netns s` with no --policy, so that each decides with the policy the
// guest kernel runs, read from /sys/fs/selinux/policy (Specs/engine/policy-sources.md; each says so in
// its JSON), each following a request to the receiver and its reply back.

import Foundation
import Testing
import TestSupport
import VMHarness

private let initDomain = "system_u:system_r:init_t:s0"
private let kernelDomain = "system_u:system_r:kernel_t:s0"
private let spd = "system_u:object_r:ipsec_spd_t:s0"
private let unlabeled = "system_u:object_r:unlabeled_t:s0"

private let guestScript = #"""
    C=10.77.0.1; SV=10.77.0.2       # labeled SAs
    UC=10.77.2.1; US=10.77.2.2      # unlabeled SAs
    PC=10.77.1.1; PS=10.77.1.2      # no IPsec
    INIT=system_u:system_r:init_t:s0
    KT=system_u:system_r:kernel_t:s0
    SPD=system_u:object_r:ipsec_spd_t:s0
    K1=0x0102030405060708090a0b0c0d0e0f1011121314
    K2=0x1112131415161718191a1b1c1d1e1f2021222324
    K3=0x2122232425262728292a2b2c2d2e2f3031323334
    K4=0x3132333435363738393a3b3c3d3e3f4041424344
    AEAD='rfc4106(gcm(aes))'
    now() { date +%s; }
    t_start=$(now)
    inns() { ns=$1; shift; /bin/ip netns exec "$ns" "$@"; }
    # waitfor FILE TEXT: until FILE contains TEXT (at most ~60 s).
    waitfor() { i=0; while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done; }
    # json FILE EVENT: the first line of FILE with that event.
    json() { grep "\"event\":\"$2\"" "$1" | head -n 1; }
    show() { for f in "$@"; do echo "--- $f"; tr -d '\000' < "$f" | sed 's/^/| /'; done; }
    echo "me=$(cat /proc/self/attr/current)"
    $S --version >/dev/null 2>&1; echo "version_rc=$?"

    # ---------------------------------------------------------------------------------------------
    # The namespaces and the SAD/SPD.
    # ---------------------------------------------------------------------------------------------
    ip netns add c && ip netns add s && ip link add vc netns c type veth peer name vs netns s \
      && ip -n c addr add $C/24 dev vc && ip -n c addr add $UC/24 dev vc && ip -n c addr add $PC/24 dev vc \
      && ip -n s addr add $SV/24 dev vs && ip -n s addr add $US/24 dev vs && ip -n s addr add $PS/24 dev vs \
      && ip -n c link set lo up && ip -n s link set lo up && ip -n c link set vc up && ip -n s link set vs up
    echo "net=$?"
    echo "netns_exec=$(inns c cat /proc/self/attr/current 2>&1)"
    echo "ping=$(inns c ping -c 1 -W 5 $PS >/dev/null 2>&1; echo $?)"
    rc=0
    for ns in c s; do
      # c→s labeled init_t: added by init_t (kernel_t may not setcontext init_t).
      runcon -d $INIT $S xfrm state add --netns $ns --no-authorize src $C dst $SV proto esp spi 0x100 reqid 1 mode transport \
        aead "$AEAD" $K1 128 ctx $INIT >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
      # s→c labeled kernel_t: added by kernel_t.
      $S xfrm state add --netns $ns --no-authorize src $SV dst $C proto esp spi 0x200 reqid 2 mode transport \
        aead "$AEAD" $K2 128 ctx $KT >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
      # The unlabeled pair.
      $S xfrm state add --netns $ns --no-authorize src $UC dst $US proto esp spi 0x300 reqid 3 mode transport \
        aead "$AEAD" $K3 128 >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
      $S xfrm state add --netns $ns --no-authorize src $US dst $UC proto esp spi 0x400 reqid 4 mode transport \
        aead "$AEAD" $K4 128 >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    done
    P="$S xfrm policy add --no-authorize"
    $P --netns c src $C/32 dst $SV/32 dir out ctx $SPD tmpl src $C dst $SV proto esp reqid 1 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    $P --netns c src $SV/32 dst $C/32 dir in ctx $SPD tmpl src $SV dst $C proto esp reqid 2 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    $P --netns s src $SV/32 dst $C/32 dir out ctx $SPD tmpl src $SV dst $C proto esp reqid 2 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    $P --netns s src $C/32 dst $SV/32 dir in ctx $SPD tmpl src $C dst $SV proto esp reqid 1 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    $P --netns c src $UC/32 dst $US/32 dir out tmpl src $UC dst $US proto esp reqid 3 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    $P --netns c src $US/32 dst $UC/32 dir in tmpl src $US dst $UC proto esp reqid 4 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    $P --netns s src $US/32 dst $UC/32 dir out tmpl src $US dst $UC proto esp reqid 4 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    $P --netns s src $UC/32 dst $US/32 dir in tmpl src $UC dst $US proto esp reqid 3 mode transport >>/tmp/setup.out 2>&1 || rc=$((rc + 1))
    echo "setup_failures=$rc"
    echo "states_c=$(ip -n c xfrm state | grep -c '^src')"
    echo "policies_s=$(ip -n s xfrm policy | grep -c '^src')"
    t_setup=$(now); echo "t_setup=$((t_setup - t_start))"

    # ---------------------------------------------------------------------------------------------
    # What the resolver predicts, from the live namespaces as configured (before the kernel is asked,
    # so that the ACQUIRE's larval SA is not in ns c yet), with the policy the kernel enforces: no
    # --policy, so the running one. Four runs: each `trace` follows the request from ns c to ns s and
    # its reply back (TCP: classified with the server's connection context).
    #   pa: init_t → kernel_t on the labeled SAs (a; also b and e: the same SA label is the flow label);
    #   pu: init_t → kernel_t on the unlabeled SAs (c: the request; c5: the reply to the init_t client);
    #   pn: kernel_t → kernel_t without IPsec (c: bypass both ways);
    #   pd: kernel_t → kernel_t on the labeled path (d: ACQUIRE).
    # ---------------------------------------------------------------------------------------------
    T="$S trace --netns c --peer-netns s --json"
    # predict NAME ARGS…: one salabel run; its exit status and time in /tmp/NAME.kv, its JSON in /tmp/NAME.json.
    # Two at a time.
    predict() {
      name=$1; shift
      { t0=$(now); "$@" >/tmp/$name.json 2>/tmp/$name.err; echo "${name}_rc=$?"; echo "t_${name}=$(( $(now) - t0 ))"; } >/tmp/$name.kv
    }
    predict pa $T --from $INIT --to $KT --src $C --dst $SV --proto tcp --dport 7000 &
    predict pu $T --from $INIT --to $KT --src $UC --dst $US --proto tcp --dport 7022 &
    wait
    predict pn $T --from $KT --to $KT --src $PC --dst $PS --proto tcp --dport 7012 &
    predict pd $T --from $KT --to $KT --src $C --dst $SV --proto tcp --dport 7004 --no-reply &
    wait
    for name in pa pu pn pd; do cat /tmp/$name.kv; echo "$name=$(tr -d '\n' </tmp/$name.json)"; done
    t_predict=$(now); echo "t_predict=$((t_predict - t_setup))"

    # ---------------------------------------------------------------------------------------------
    # What the kernel does. Servers run as kernel_t in ns s, clients in ns c.
    # ---------------------------------------------------------------------------------------------
    # tcp CASE PORT SERVER-ADDR SERVER-TIMEOUT CLIENT-PREFIX… : a server for one connection and one client.
    tcp() {
      name=$1; port=$2; addr=$3; stimeout=$4; shift 4
      inns s $S probe tcp-server --port $port --bind $addr --count 1 --timeout $stimeout >/tmp/$name.srv 2>&1 &
      srv=$!
      waitfor /tmp/$name.srv listening
      inns c "$@" $S probe tcp-client --dst $addr --port $port --message "$name" --timeout 8 >/tmp/$name.cli 2>&1
      echo "${name}_cli_rc=$?"
      wait $srv; echo "${name}_srv_rc=$?"
      echo "${name}_srv=$(json /tmp/$name.srv accepted)"
      echo "${name}_cli=$(head -n 1 /tmp/$name.cli)"
    }
    # udp CASE PORT SERVER-ADDR SENDER-PREFIX…
    udp() {
      name=$1; port=$2; addr=$3; shift 3
      inns s $S probe udp-server --port $port --bind $addr --count 1 --timeout 20 >/tmp/$name.srv 2>&1 &
      srv=$!
      waitfor /tmp/$name.srv listening
      inns c "$@" $S probe udp-send --dst $addr --port $port --message "$name" >/tmp/$name.cli 2>&1
      echo "${name}_cli_rc=$?"
      wait $srv; echo "${name}_srv_rc=$?"
      echo "${name}_srv=$(head -n 2 /tmp/$name.srv | tail -n 1)"
    }
    # a, b: labeled.
    tcp a 7000 $SV 30 runcon -d $INIT
    udp b 7001 $SV runcon -d $INIT
    # e: kernel_t with its sockets labeled init_t.
    inns s $S probe tcp-server --port 7006 --bind $SV --count 1 --timeout 30 >/tmp/e.srv 2>&1 &
    srv=$!
    waitfor /tmp/e.srv listening
    inns c $S probe tcp-client --dst $SV --port 7006 --message e --timeout 8 --sockcreate $INIT >/tmp/e.cli 2>&1
    echo "e_cli_rc=$?"; wait $srv; echo "e_srv_rc=$?"
    echo "e_srv=$(json /tmp/e.srv accepted)"; echo "e_cli=$(head -n 1 /tmp/e.cli)"
    # c: unlabeled SAs, and no IPsec, between kernel_t processes.
    tcp cu 7002 $US 30 env
    udp cuu 7003 $US env
    tcp cn 7012 $PS 30 env
    udp cnu 7013 $PS env
    # c5: an init_t client on the unlabeled SAs: init_t has no peer { recv } on unlabeled_t.
    n0=$(avc_lines | grep -c 'tclass=peer')
    tcp cd 7022 $US 12 runcon -d $INIT
    echo "cd_avc=$(avc_lines | grep 'tclass=peer' | tail -n +$((n0 + 1)) | head -n 1)"
    t_kernel=$(now); echo "t_kernel=$((t_kernel - t_predict))"

    # d: a kernel_t flow on the labeled path from ns c: no SA carries kernel_t there. Until the monitor has
    #    joined the ACQUIRE group no larval SA is made (no key manager: -ESRCH), so retry.
    $S xfrm monitor --netns c --json --count 1 >/tmp/mon.json 2>/tmp/mon.err &
    mon=$!
    tries=0
    while kill -0 $mon 2>/dev/null && [ $tries -lt 10 ]; do
      inns c $S probe tcp-client --dst $SV --port 7004 --message d --timeout 3 >/tmp/d.cli 2>&1
      echo "d_cli_rc=$?"
      tries=$((tries + 1))
    done
    if kill -0 $mon 2>/dev/null; then kill $mon; fi
    wait $mon; echo "d_mon_rc=$?"
    echo "d_tries=$tries"
    echo "d_cli=$(head -n 1 /tmp/d.cli)"
    echo "d_event=$(head -n 1 /tmp/mon.json)"
    # ns c also holds the s→c SA labeled kernel_t: look at the c→s SAs only (the init_t SA and the larval one).
    echo "d_larval=$(ip -n c xfrm state list src $C dst $SV | grep -c "security context $KT")"
    echo "d_larval_spi0=$(ip -n c xfrm state list src $C dst $SV | grep -c 'spi 0x00000000')"
    t_acquire=$(now); echo "t_acquire=$((t_acquire - t_kernel))"

    t_end=$(now); echo "t_total=$((t_end - t_start))"

    show /tmp/setup.out /tmp/a.srv /tmp/a.cli /tmp/b.srv /tmp/b.cli /tmp/e.srv /tmp/e.cli /tmp/cu.srv /tmp/cu.cli /tmp/cuu.srv \
      /tmp/cn.srv /tmp/cn.cli /tmp/cnu.srv /tmp/cd.srv /tmp/cd.cli /tmp/d.cli /tmp/mon.json /tmp/mon.err \
      /tmp/pa.err /tmp/pu.err /tmp/pn.err /tmp/pd.err
    echo "--- ip -n c xfrm state"; ip -n c xfrm state
    echo "--- ip -n s xfrm policy"; ip -n s xfrm policy
    exit 0
    """#

@Suite("The resolver's predictions against a real SELinux kernel", .serialized)
struct ResolverVMTests {
    @Test func predictionsMatchTheKernel() throws {
        let clock = ContinuousClock()
        let binary = try GuestSalabel.binary()
        print("salabel for the guest: \(binary) (built in \(GuestSalabel.buildDuration))")
        let header = "S=\(GuestSalabel.guestPath)\n"
        let start = clock.now
        let result = try VM.run(
            script: header + guestScript,
            files: [(source: binary, dest: GuestSalabel.guestPath)],
            timeout: 1200)
        print("VM boot with the resolver checks: \(clock.now - start)")
        let saved = repositoryRoot.appendingPathComponent(GuestSalabel.scratchPath).appendingPathComponent("resolver-vm-output.txt")
        try? (result.output + "\n--- dmesg\n" + result.dmesg).write(to: saved, atomically: true, encoding: .utf8)
        print("guest output and dmesg: \(saved.path)")
        let v = result.keyValues
        let log = "\(result.output)\nAVC:\n\(result.avcLines.joined(separator: "\n"))"
        #expect(result.exitStatus == 0, "\(log)")
        for key in ["t_setup", "t_pa", "t_pu", "t_pn", "t_pd", "t_predict", "t_kernel", "t_acquire", "t_total"] {
            print("guest \(key): \(v[key] ?? "?") s")
        }
        #expect(v["me"] == kernelDomain)
        #expect(v["version_rc"] == "0", "salabel does not run in the guest: \(log)")
        #expect(v["net"] == "0", "\(log)")
        #expect(v["ping"] == "0", "the veth pair does not carry plain traffic: \(log)")
        #expect(v["setup_failures"] == "0", "\(log)")
        #expect(v["states_c"] == "4")
        #expect(v["policies_s"] == "4")
        // Every prediction is a JSON object; exit status 0 for a round trip, 1 otherwise, never 2.
        for name in ["pa", "pu", "pn", "pd"] {
            #expect(object(v[name]) != nil, "\(name): no JSON: \(v[name] ?? "nil")\n\(log)")
            // No --policy on an SELinux host: the running policy (Specs/engine/policy-sources.md).
            let policy = object(v[name])?["policy"] as? [String: Any]
            #expect(
                policy?["source"] as? String == "running" && policy?["path"] as? String == "/sys/fs/selinux/policy"
                    && policy?["version"] as? Int == 33 && policy?["mls"] as? Bool == true,
                "\(name) decided with \(String(describing: policy))")
        }

        checkLabeled(v, log: log)
        checkUnlabeled(v, log: log)
        checkBypass(v, log: log)
        checkAcquire(v, log: log)
        report(v)
    }

    // MARK: - a, b, e: labeled traffic

    func checkLabeled(_ v: [String: String], log: String) {
        // a. TCP: each side's SO_PEERSEC is the context of the SA the other side's packets came on.
        #expect(v["a_cli_rc"] == "0" && v["a_srv_rc"] == "0", "\(log)")
        let server = object(v["a_srv"]), client = object(v["a_cli"])
        #expect(server?["self"] as? String == kernelDomain, "\(v["a_srv"] ?? "nil")")
        #expect(client?["self"] as? String == initDomain, "\(v["a_cli"] ?? "nil")")
        #expect(server?["peer"] as? String == initDomain, "server's getpeercon: \(v["a_srv"] ?? "nil")")
        #expect(server?["errno"] is NSNull)
        // The length counts the NUL (Specs/kernel/labeled-ipsec.md, edge 24); the 16-byte first try got ERANGE
        // with that length.
        #expect(server?["peer_len"] as? Int == initDomain.utf8.count + 1 && server?["nul"] as? Bool == true)
        #expect(server?["erange_len"] as? Int == initDomain.utf8.count + 1, "\(v["a_srv"] ?? "nil")")
        #expect(server?["message"] as? String == "a")
        // The reply SA carries the server's connection SID: kernel_t with the client's MLS range (s0).
        #expect(client?["peer"] as? String == kernelDomain, "client's getpeercon: \(v["a_cli"] ?? "nil")")
        #expect(client?["peer_len"] as? Int == kernelDomain.utf8.count + 1 && client?["nul"] as? Bool == true)
        #expect(client?["echo"] as? String == "a")

        // The resolver: the request goes out on the SA with SPI 0x100 and the server sees its label;
        // the reply, classified with the server's connection context, goes out on 0x200 and the client
        // sees that SA's label. Both are what getpeercon returned.
        let trace = object(v["pa"]), reply = trace?["reply"] as? [String: Any]
        #expect(v["pa_rc"] == "0", "a round trip: \(v["pa"] ?? "nil")")
        #expect(trace?["outcome"] as? String == "protected", "\(v["pa"] ?? "nil")")
        #expect(trace?["delivered"] as? Bool == true && trace?["round_trip"] as? Bool == true, "\(v["pa"] ?? "nil")")
        #expect(step(trace, "outbound")?["verdict"] as? String == "sent on SA spi 0x100 labeled \(initDomain)", "\(v["pa"] ?? "nil")")
        #expect(steps(trace) == ["outbound", "inbound-policy", "delivery"] && allPassed(trace), "\(v["pa"] ?? "nil")")
        #expect(trace?["peer"] as? String == initDomain, "\(v["pa"] ?? "nil")")
        #expect(trace?["peer"] as? String == server?["peer"] as? String, "prediction and kernel differ (server's getpeercon)")
        #expect(reply?["outcome"] as? String == "protected", "\(v["pa"] ?? "nil")")
        #expect(reply?["delivered"] as? Bool == true, "\(v["pa"] ?? "nil")")
        #expect(step(reply, "outbound")?["verdict"] as? String == "sent on SA spi 0x200 labeled \(kernelDomain)", "\(v["pa"] ?? "nil")")
        #expect(steps(reply) == ["outbound", "inbound-policy", "delivery"] && allPassed(reply), "\(v["pa"] ?? "nil")")
        #expect(reply?["peer"] as? String == kernelDomain, "\(v["pa"] ?? "nil")")
        #expect(reply?["peer"] as? String == client?["peer"] as? String, "prediction and kernel differ (client's getpeercon)")
        #expect(reply?["reply"] == nil, "a reply's reply is not traced")

        // b. UDP with IP_PASSSEC: SCM_SECURITY is the SA's context and its NUL (Specs/kernel/labeled-ipsec.md,
        // edge 25). The SPD selectors name no protocol, so the UDP datagram takes the TCP flow's SA: the same
        // prediction.
        #expect(v["b_cli_rc"] == "0" && v["b_srv_rc"] == "0", "\(log)")
        let datagram = object(v["b_srv"])
        #expect(datagram?["event"] as? String == "datagram", "\(v["b_srv"] ?? "nil")")
        #expect(datagram?["peer"] as? String == initDomain, "SCM_SECURITY: \(v["b_srv"] ?? "nil")")
        #expect(datagram?["nul"] as? Bool == true && datagram?["peer_len"] as? Int == initDomain.utf8.count + 1)
        #expect(datagram?["peer"] as? String == trace?["peer"] as? String, "prediction and kernel differ (UDP)")

        // e. A kernel_t process whose sockets are labeled init_t (sockcreate): the flow label is the
        // socket's, so the prediction is pa's (its --from is the socket's context).
        #expect(v["e_cli_rc"] == "0" && v["e_srv_rc"] == "0", "\(log)")
        let sockcreateServer = object(v["e_srv"]), sockcreateClient = object(v["e_cli"])
        #expect(sockcreateClient?["self"] as? String == kernelDomain && sockcreateClient?["sockcreate"] as? String == initDomain)
        #expect(sockcreateServer?["peer"] as? String == initDomain, "\(v["e_srv"] ?? "nil")")
        #expect(sockcreateClient?["peer"] as? String == kernelDomain, "\(v["e_cli"] ?? "nil")")
        #expect(sockcreateServer?["peer"] as? String == trace?["peer"] as? String, "prediction and kernel differ (sockcreate, server)")
        #expect(sockcreateClient?["peer"] as? String == reply?["peer"] as? String, "prediction and kernel differ (sockcreate, client)")
    }

    // MARK: - c: unlabeled SAs

    func checkUnlabeled(_ v: [String: String], log: String) {
        // Kernel: on unlabeled SAs no peer label. TCP: ENOPROTOOPT both sides; UDP: no SCM_SECURITY.
        #expect(v["cu_cli_rc"] == "0" && v["cu_srv_rc"] == "0", "cu: \(log)")
        let server = object(v["cu_srv"]), client = object(v["cu_cli"])
        #expect(server?["errno"] as? String == "ENOPROTOOPT" && server?["peer"] is NSNull, "cu: \(v["cu_srv"] ?? "nil")")
        #expect(client?["errno"] as? String == "ENOPROTOOPT" && client?["peer"] is NSNull, "cu: \(v["cu_cli"] ?? "nil")")
        checkNoSCMSecurity(v, "cuu", log: log)

        // An init_t client: the server (kernel_t) gets the SYN, the client's socket refuses the
        // unlabeled SYN-ACK (init_t has no peer { recv } on unlabeled_t), the connect times out.
        let refusedClient = object(v["cd_cli"])
        #expect(v["cd_cli_rc"] == "1" && refusedClient?["errno"] as? String == "ETIMEDOUT", "\(v["cd_cli"] ?? "nil")")
        #expect(v["cd_srv_rc"] == "1", "the server accepted nothing")
        let kernelAVC = v["cd_avc"].flatMap(AVCFields.init)
        #expect(kernelAVC?.scontext == initDomain && kernelAVC?.tcontext == unlabeled && kernelAVC?.tclass == "peer")

        // The resolver (pu, init_t → kernel_t): the request goes on the unlabeled SA 0x300 and is
        // delivered to kernel_t with no peer label (getpeercon: ENOPROTOOPT, as cu's server saw); the
        // reply on 0x400 reaches the init_t socket unlabeled and is refused with the kernel's AVC record.
        let trace = object(v["pu"]), reply = trace?["reply"] as? [String: Any]
        #expect(v["pu_rc"] == "1", "no round trip: \(v["pu"] ?? "nil")")
        #expect(trace?["outcome"] as? String == "protected", "\(v["pu"] ?? "nil")")
        #expect(step(trace, "outbound")?["verdict"] as? String == "sent on SA spi 0x300 (unlabeled)", "\(v["pu"] ?? "nil")")
        #expect(trace?["delivered"] as? Bool == true && allPassed(trace), "\(v["pu"] ?? "nil")")
        #expect(trace?["peer"] == nil, "the kernel_t server sees no peer label: \(v["pu"] ?? "nil")")
        #expect(server?["peer"] is NSNull && trace?["peer"] == nil, "prediction and kernel differ (cu server)")
        let requestRecv = check(trace, "delivery", prefix: "peer { recv }")
        #expect(
            requestRecv?["passed"] as? Bool == true && (requestRecv?["check"] as? String)?.hasSuffix(unlabeled) == true,
            "access checks use the unlabeled context: \(v["pu"] ?? "nil")")
        #expect(trace?["round_trip"] as? Bool == false)
        #expect(reply?["outcome"] as? String == "protected", "\(v["pu"] ?? "nil")")
        #expect(step(reply, "outbound")?["verdict"] as? String == "sent on SA spi 0x400 (unlabeled)", "\(v["pu"] ?? "nil")")
        #expect(reply?["delivered"] as? Bool == false && reply?["peer"] == nil, "\(v["pu"] ?? "nil")")
        #expect(step(reply, "inbound-policy")?["passed"] as? Bool == true, "the reply passes the inbound policy check: \(v["pu"] ?? "nil")")
        let replyRecv = check(reply, "delivery", prefix: "peer { recv }")
        #expect(replyRecv?["passed"] as? Bool == false, "\(v["pu"] ?? "nil")")
        let predicted = (replyRecv?["avc"] as? String).flatMap(AVCFields.init)
        #expect(predicted?.permissions == ["recv"] && predicted?.tclass == "peer", "\(v["pu"] ?? "nil")")
        #expect(
            kernelAVC != nil && kernelAVC == predicted,
            "kernel: \(v["cd_avc"] ?? "nil"); resolver: \(predicted?.description ?? "nil")")
        // cu's client (kernel_t) receiving on 0x400: the same socket/peer pair as pu's request leg
        // (kernel_t ← unlabeled), which the resolver delivers with no peer label; the kernel agrees.
        #expect(client?["peer"] is NSNull && trace?["delivered"] as? Bool == true && trace?["peer"] == nil, "prediction and kernel differ (cu client)")
    }

    // MARK: - c: no IPsec

    func checkBypass(_ v: [String: String], log: String) {
        #expect(v["cn_cli_rc"] == "0" && v["cn_srv_rc"] == "0", "cn: \(log)")
        let server = object(v["cn_srv"]), client = object(v["cn_cli"])
        #expect(server?["errno"] as? String == "ENOPROTOOPT" && server?["peer"] is NSNull, "cn: \(v["cn_srv"] ?? "nil")")
        #expect(client?["errno"] as? String == "ENOPROTOOPT" && client?["peer"] is NSNull, "cn: \(v["cn_cli"] ?? "nil")")
        checkNoSCMSecurity(v, "cnu", log: log)

        // The resolver (pn): no SPD entry matches 10.77.1.0/24 either way, so both directions bypass; the
        // receiver's inbound policy check finds no entry and accepts; delivery to kernel_t runs the peer
        // checks (on: labeled SAs exist; Specs/kernel/labeled-ipsec.md, edge 26) with the unlabeled context
        // and passes; neither side sees a peer label.
        let trace = object(v["pn"]), reply = trace?["reply"] as? [String: Any]
        #expect(trace?["outcome"] as? String == "bypass", "\(v["pn"] ?? "nil")")
        #expect(steps(trace) == ["outbound", "inbound-policy", "delivery"], "the bypassed flow is followed to the receiver: \(v["pn"] ?? "nil")")
        #expect(trace?["delivered"] as? Bool == true, "prediction and kernel differ (cn: the kernel delivered): \(v["pn"] ?? "nil")")
        #expect(trace?["peer"] == nil, "prediction and kernel differ (cn server: ENOPROTOOPT): \(v["pn"] ?? "nil")")
        #expect(reply?["outcome"] as? String == "bypass", "\(v["pn"] ?? "nil")")
        #expect(reply?["delivered"] as? Bool == true, "prediction and kernel differ (cn reply: the kernel delivered): \(v["pn"] ?? "nil")")
        #expect(reply?["peer"] == nil, "prediction and kernel differ (cn client: ENOPROTOOPT): \(v["pn"] ?? "nil")")
        #expect(trace?["round_trip"] as? Bool == true && v["pn_rc"] == "0", "\(v["pn"] ?? "nil")")
        let recv = check(trace, "delivery", prefix: "peer { recv }")
        #expect(
            recv?["passed"] as? Bool == true && (recv?["check"] as? String)?.hasSuffix(unlabeled) == true,
            "the peer checks run (edge 26) with the unlabeled context: \(v["pn"] ?? "nil")")
    }

    func checkNoSCMSecurity(_ v: [String: String], _ name: String, log: String) {
        #expect(v["\(name)_cli_rc"] == "0" && v["\(name)_srv_rc"] == "0", "\(name): \(log)")
        let datagram = object(v["\(name)_srv"])
        #expect(datagram?["event"] as? String == "datagram", "\(name): \(v["\(name)_srv"] ?? "nil")")
        #expect(datagram?["peer"] is NSNull, "\(name): no SCM_SECURITY without a label: \(v["\(name)_srv"] ?? "nil")")
        #expect(datagram?["cmsgs"] == nil)
    }

    // MARK: - d: ACQUIRE

    func checkAcquire(_ v: [String: String], log: String) {
        #expect(v["d_mon_rc"] == "0", "the monitor saw no event: \(log)")
        let event = object(v["d_event"])
        #expect((event?["event"] as? String)?.hasSuffix("ACQUIRE") == true, "\(v["d_event"] ?? "nil")")
        #expect(event?["context"] as? String == kernelDomain, "the ACQUIRE carries the flow's label: \(v["d_event"] ?? "nil")")
        #expect(event?["src"] as? String == "10.77.0.1" && event?["dst"] as? String == "10.77.0.2")
        #expect(v["d_larval"] == "1" && v["d_larval_spi0"] == "1", "the larval SA carries the flow's label: \(log)")
        let client = object(v["d_cli"])
        #expect(client?["event"] as? String == "error" && client?["errno"] as? String == "ETIMEDOUT", "\(v["d_cli"] ?? "nil")")
        // The resolver: no usable SA, ACQUIRE with the flow's label; nothing reaches ns s.
        let trace = object(v["pd"])
        #expect(v["pd_rc"] == "1", "\(v["pd"] ?? "nil")")
        #expect(trace?["outcome"] as? String == "acquire", "\(v["pd"] ?? "nil")")
        #expect(trace?["delivered"] as? Bool == false && trace?["reply"] == nil && steps(trace) == ["outbound"], "\(v["pd"] ?? "nil")")
        #expect(trace?["acquire_label"] as? String == kernelDomain, "\(v["pd"] ?? "nil")")
        #expect(trace?["acquire_label"] as? String == event?["context"] as? String, "prediction and kernel differ (ACQUIRE label)")
    }

    func report(_ v: [String: String]) {
        let pa = object(v["pa"]), pu = object(v["pu"]), pn = object(v["pn"]), pd = object(v["pd"])
        func peer(_ o: [String: Any]?) -> String {
            guard let o else { return "?" }
            guard o["delivered"] as? Bool == true else { return "not delivered" }
            return (o["peer"] as? String) ?? "none"
        }
        func seen(_ key: String) -> String {
            guard let o = object(v[key]) else { return "?" }
            if let p = o["peer"] as? String { return p }
            return (o["errno"] as? String) ?? (o["event"] as? String == "datagram" ? "no SCM_SECURITY" : "?")
        }
        let replyOf = { (o: [String: Any]?) in o?["reply"] as? [String: Any] }
        let avc = (check(replyOf(pu), "delivery", prefix: "peer { recv }")?["avc"] as? String) ?? "-"
        print(
            """
            kernel observation vs prediction (guest times: predictions \(v["t_predict"] ?? "?") s = \
            \(v["t_pa"] ?? "?")+\(v["t_pu"] ?? "?")+\(v["t_pn"] ?? "?")+\(v["t_pd"] ?? "?"); total \(v["t_total"] ?? "?") s)
              a   tcp labeled, server getpeercon   \(seen("a_srv"))  |  pa peer \(peer(pa))
              a   tcp labeled, client getpeercon   \(seen("a_cli"))  |  pa reply peer \(peer(replyOf(pa)))
              b   udp labeled, SCM_SECURITY        \(seen("b_srv"))  |  pa peer \(peer(pa))
              e   sockcreate, server / client      \(seen("e_srv")) / \(seen("e_cli"))  |  pa
              cu  tcp unlabeled SA, server/client  \(seen("cu_srv")) / \(seen("cu_cli"))  |  pu peer \(peer(pu))
              cuu udp unlabeled SA                 \(seen("cuu_srv"))  |  pu peer \(peer(pu))
              cn  tcp no IPsec, server/client      \(seen("cn_srv")) / \(seen("cn_cli"))  |  pn \(pn?["outcome"] ?? "?") peer \(peer(pn)), reply \(replyOf(pn)?["outcome"] ?? "?") peer \(peer(replyOf(pn)))
              cnu udp no IPsec                     \(seen("cnu_srv"))  |  pn peer \(peer(pn))
              cd  init_t client, unlabeled SA      \(seen("cd_cli")); \(v["cd_avc"] ?? "?")  |  pu reply \(peer(replyOf(pu))); \(avc)
              d   kernel_t on the labeled path     \(seen("d_cli")) after \(v["d_tries"] ?? "?") tries; ACQUIRE \(object(v["d_event"])?["context"] ?? "?")  |  pd \(pd?["outcome"] ?? "?") \(pd?["acquire_label"] ?? "-")
            """)
    }

    // MARK: - The trace's JSON

    /// The stage names of a trace's steps, in order.
    private func steps(_ trace: [String: Any]?) -> [String] {
        ((trace?["steps"] as? [[String: Any]]) ?? []).compactMap { $0["step"] as? String }
    }

    private func step(_ trace: [String: Any]?, _ name: String) -> [String: Any]? {
        ((trace?["steps"] as? [[String: Any]]) ?? []).first { $0["step"] as? String == name }
    }

    private func allPassed(_ trace: [String: Any]?) -> Bool {
        let all = (trace?["steps"] as? [[String: Any]]) ?? []
        return !all.isEmpty && all.allSatisfy { $0["passed"] as? Bool == true }
    }

    /// The first check of a step whose name starts with `prefix`.
    private func check(_ trace: [String: Any]?, _ stepName: String, prefix: String) -> [String: Any]? {
        ((step(trace, stepName)?["checks"] as? [[String: Any]]) ?? []).first { ($0["check"] as? String)?.hasPrefix(prefix) == true }
    }

    private func object(_ text: String?) -> [String: Any]? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
