// Wire compatibility of salabel's userspace ESP data plane with the Linux kernel's ESP (Debian's 6.1
// kernel under QEMU, see Tests/VM/README.md), over ESP in UDP (RFC 3948). Two network namespaces joined
// by a veth pair:
//
//     ns kern  vk: 10.88.0.1   the kernel's ESP: SAs with `encap espinudp 4500 4500 0.0.0.0` both ways,
//                              SPD entries for UDP to port 7777 both ways, and a UDP_ENCAP_ESPINUDP socket
//                              on port 4500 (`salabel esp-wire encap-socket`, what an IKE daemon holds)
//     ns user  vu: 10.88.0.2   salabel's ESP: `salabel esp-wire receive|send` on UDP port 4500, no xfrm
//
// The kernel's SAs and salabel's are the same `ip xfrm state add` lines (IPXfrmSyntax parses them for
// salabel). For AES-GCM (rfc4106(gcm(aes)), 160-bit key with salt, 128-bit ICV) and for AES-CBC-128 with
// HMAC-SHA-256-128, in transport and in tunnel mode:
//   a. kernel → salabel: a UDP datagram sent in kern to 10.88.0.2:7777 is encrypted by the kernel and sent
//      to 10.88.0.2:4500; salabel opens it and prints its ports and text;
//   b. salabel → kernel: salabel seals two datagrams for 10.88.0.1:7777 and sends them to 10.88.0.1:4500;
//      the first has one ciphertext byte flipped: the kernel rejects it (XfrmInStateProtoError +1 in
//      /proc/net/xfrm_stat, the SA's integrity-failure count +1) and delivers the second to the UDP socket
//      in kern, whose SPD entry requires ESP.
// The guest runs permissive: SELinux labels are not the point here (the SAs are unlabeled).

import Foundation
import Testing
import TestSupport
import VMHarness

private let guestScript = #"""
    K=10.88.0.1; U=10.88.0.2
    inns() { ns=$1; shift; /bin/ip netns exec "$ns" "$@"; }
    # waitfor FILE TEXT: until FILE contains TEXT (at most ~30 s).
    waitfor() { i=0; while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done; }
    # xstat NAME: a counter of /proc/net/xfrm_stat in ns kern.
    xstat() { inns kern cat /proc/net/xfrm_stat | awk -v k="$1" '$1 == k { print $2 }'; }
    show() { for f in "$@"; do echo "--- $f"; sed 's/^/| /' "$f"; done; }
    $S --version >/dev/null 2>&1; echo "version_rc=$?"

    ip netns add kern && ip netns add user && ip link add vk netns kern type veth peer name vu netns user \
      && ip -n kern addr add $K/24 dev vk && ip -n user addr add $U/24 dev vu \
      && ip -n kern link set lo up && ip -n user link set lo up && ip -n kern link set vk up && ip -n user link set vu up
    echo "net=$?"
    echo "ping=$(inns kern ping -c 1 -W 5 $U >/dev/null 2>&1; echo $?)"
    inns kern $S esp-wire encap-socket --port 4500 >/tmp/encap.out 2>&1 &
    encap=$!
    waitfor /tmp/encap.out ENCAP_READY
    echo "encap=$(head -n 1 /tmp/encap.out)"

    # wire NAME MODE SPI_OUT SPI_IN ALGORITHM_WORDS_OUT ALGORITHM_WORDS_IN
    wire() {
      name=$1; mode=$2
      OUT="src $K dst $U proto esp spi $3 reqid 1 mode $mode replay-window 32 $5 encap espinudp 4500 4500 0.0.0.0"
      IN="src $U dst $K proto esp spi $4 reqid 2 mode $mode replay-window 32 $6 encap espinudp 4500 4500 0.0.0.0"
      ip -n kern xfrm state flush; ip -n kern xfrm policy flush
      rc=0
      # Protocol numbers, not names: the guest has no /etc/protocols (iproute2: "PROTO value is invalid").
      ip -n kern xfrm state add $OUT >>/tmp/$name.setup 2>&1 || rc=$((rc + 1))
      ip -n kern xfrm state add $IN >>/tmp/$name.setup 2>&1 || rc=$((rc + 1))
      ip -n kern xfrm policy add src $K/32 dst $U/32 proto 17 dport 7777 dir out \
        tmpl src $K dst $U proto esp reqid 1 mode $mode >>/tmp/$name.setup 2>&1 || rc=$((rc + 1))
      ip -n kern xfrm policy add src $U/32 dst $K/32 proto 17 dport 7777 dir in \
        tmpl src $U dst $K proto esp reqid 2 mode $mode >>/tmp/$name.setup 2>&1 || rc=$((rc + 1))
      echo "${name}_setup=$rc"

      # a. kernel -> salabel
      inns user $S esp-wire receive --state "$OUT" --port 4500 --count 1 --timeout 30 >/tmp/$name.a.recv 2>&1 &
      r=$!
      waitfor /tmp/$name.a.recv READY
      inns kern $S probe udp-send --dst $U --port 7777 --message "kernel-to-salabel-$name" >/tmp/$name.a.send 2>&1
      echo "${name}_a_send_rc=$?"
      wait $r; echo "${name}_a_rc=$?"
      echo "${name}_a=$(grep RECEIVED /tmp/$name.a.recv | head -n 1)"

      # b. salabel -> kernel: packet 1 has a flipped ciphertext byte, packet 2 is intact.
      inns kern $S probe udp-server --port 7777 --count 1 --timeout 30 >/tmp/$name.b.srv 2>&1 &
      srv=$!
      waitfor /tmp/$name.b.srv listening
      proto0=$(xstat XfrmInStateProtoError); err0=$(xstat XfrmInError); nostates0=$(xstat XfrmInNoStates)
      inns user $S esp-wire send --state "$IN" --to $K --port 4500 --from-port 4500 --inner-sport 5555 --inner-dport 7777 \
        --message "salabel-to-kernel-$name" --count 2 --corrupt 1 >/tmp/$name.b.send 2>&1
      echo "${name}_b_send_rc=$?"
      wait $srv; echo "${name}_b_rc=$?"
      echo "${name}_b=$(grep '"datagram"' /tmp/$name.b.srv | head -n 1)"
      echo "${name}_b_sent=$(grep -c '^SENT' /tmp/$name.b.send)"
      echo "${name}_proto_error=$(( $(xstat XfrmInStateProtoError) - proto0 ))"
      echo "${name}_in_error=$(( $(xstat XfrmInError) - err0 ))"
      echo "${name}_in_no_states=$(( $(xstat XfrmInNoStates) - nostates0 ))"
      # The inbound SA's counters: "replay-window 32 replay 0 failed 1" and "N(bytes), M(packets)".
      ip -n kern -s xfrm state get src $U dst $K proto esp spi $4 >/tmp/$name.state 2>&1
      echo "${name}_sa_failed=$(sed -n 's/.*replay-window [0-9]* replay [0-9]* failed \([0-9]*\).*/\1/p' /tmp/$name.state | head -n 1)"
      echo "${name}_sa_packets=$(sed -n 's/.*(bytes), \([0-9]*\)(packets).*/\1/p' /tmp/$name.state | head -n 1)"
      ip -n kern -s xfrm state get src $K dst $U proto esp spi $3 >/tmp/$name.state.out 2>&1
      echo "${name}_sa_out_packets=$(sed -n 's/.*(bytes), \([0-9]*\)(packets).*/\1/p' /tmp/$name.state.out | head -n 1)"
      show /tmp/$name.setup /tmp/$name.a.recv /tmp/$name.a.send /tmp/$name.b.send /tmp/$name.b.srv /tmp/$name.state
    }

    GCM_OUT="aead rfc4106(gcm(aes)) 0x1f1e1d1c1b1a191817161514131211100f0e0d0c 128"
    GCM_IN="aead rfc4106(gcm(aes)) 0x2122232425262728292a2b2c2d2e2f3031323334 128"
    CBC_OUT="enc cbc(aes) 0x00112233445566778899aabbccddeeff auth-trunc hmac(sha256) 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 128"
    CBC_IN="enc cbc(aes) 0xffeeddccbbaa99887766554433221100 auth-trunc hmac(sha256) 0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f 128"
    wire gcm transport 0x88000001 0x88000002 "$GCM_OUT" "$GCM_IN"
    wire cbc transport 0x88000003 0x88000004 "$CBC_OUT" "$CBC_IN"
    wire gcmtun tunnel 0x88000005 0x88000006 "$GCM_OUT" "$GCM_IN"
    wire cbctun tunnel 0x88000007 0x88000008 "$CBC_OUT" "$CBC_IN"

    echo "encap_alive=$(kill -0 $encap 2>/dev/null && echo 1 || echo 0)"
    kill $encap 2>/dev/null
    echo "--- /proc/net/xfrm_stat (kern, non-zero)"; inns kern cat /proc/net/xfrm_stat | awk '$2 != 0'
    exit 0
    """#

@Suite("ESP wire compatibility: salabel's data plane against the kernel's ESP", .serialized)
struct ESPWireCompatibilityVMTests {
    static let cases: [(name: String, mode: String, spiOut: String, spiIn: String)] = [
        ("gcm", "transport", "0x88000001", "0x88000002"),
        ("cbc", "transport", "0x88000003", "0x88000004"),
        ("gcmtun", "tunnel", "0x88000005", "0x88000006"),
        ("cbctun", "tunnel", "0x88000007", "0x88000008"),
    ]

    /// Both directions, both algorithms, both modes, one boot.
    @Test func kernelAndSalabelInteroperate() throws {
        let clock = ContinuousClock()
        let binary = try GuestSalabel.binary()
        print("salabel for the guest: \(binary) (built in \(GuestSalabel.buildDuration))")
        let start = clock.now
        let result = try VM.run(
            script: "S=\(GuestSalabel.guestPath)\n" + guestScript,
            files: [(source: binary, dest: GuestSalabel.guestPath)],
            enforcing: false, timeout: 600)
        print("VM boot with the ESP wire checks: \(clock.now - start)")
        let saved = repositoryRoot.appendingPathComponent(GuestSalabel.scratchPath)
            .appendingPathComponent("esp-wire-vm-output.txt")
        try? (result.output + "\n--- dmesg\n" + result.dmesg).write(to: saved, atomically: true, encoding: .utf8)
        print("guest output and dmesg: \(saved.path)")
        let v = result.keyValues
        let log = result.output
        #expect(result.exitStatus == 0, "\(log)")
        #expect(v["version_rc"] == "0", "salabel does not run in the guest: \(log)")
        #expect(v["net"] == "0" && v["ping"] == "0", "the veth pair does not carry plain traffic: \(log)")
        #expect(v["encap"] == "ENCAP_READY port=4500", "\(log)")
        #expect(v["encap_alive"] == "1", "the UDP_ENCAP socket died: \(log)")

        for c in Self.cases {
            let n = c.name
            #expect(v["\(n)_setup"] == "0", "\(n): ip xfrm state/policy add failed: \(log)")

            // a. The kernel's packet, opened by salabel: SPI, first sequence number, inner addresses, ports, text.
            #expect(v["\(n)_a_send_rc"] == "0" && v["\(n)_a_rc"] == "0", "\(n) kernel → salabel: \(log)")
            let received = fields(v["\(n)_a"])
            #expect(received["spi"] == c.spiOut && received["seq"] == "1", "\(n): \(v["\(n)_a"] ?? "nil")")
            #expect(
                received["src"] == "10.88.0.1" && received["dst"] == "10.88.0.2" && received["dport"] == "7777",
                "\(n): \(v["\(n)_a"] ?? "nil")")
            #expect(v["\(n)_a"]?.hasSuffix(" data=kernel-to-salabel-\(n)") == true, "\(n): \(v["\(n)_a"] ?? "nil")")
            #expect(v["\(n)_sa_out_packets"] == "1", "\(n): the kernel's outbound SA sent \(v["\(n)_sa_out_packets"] ?? "nil")")

            // b. salabel's packets, accepted by the kernel: the intact one delivered, the altered one refused.
            #expect(v["\(n)_b_send_rc"] == "0" && v["\(n)_b_sent"] == "2", "\(n) salabel → kernel: \(log)")
            #expect(v["\(n)_b_rc"] == "0", "\(n): the kernel delivered nothing to port 7777: \(log)")
            let datagram = json(v["\(n)_b"])
            #expect(datagram?["message"] as? String == "salabel-to-kernel-\(n)", "\(n): \(v["\(n)_b"] ?? "nil")")
            #expect(datagram?["from"] as? String == "10.88.0.2:5555", "\(n): \(v["\(n)_b"] ?? "nil")")
            #expect(v["\(n)_proto_error"] == "1", "\(n): XfrmInStateProtoError for the flipped byte: \(log)")
            #expect(v["\(n)_sa_failed"] == "1", "\(n): the SA's integrity failures: \(log)")
            #expect(v["\(n)_sa_packets"] == "1", "\(n): the inbound SA's packets: \(log)")
            #expect(v["\(n)_in_no_states"] == "0", "\(n): \(log)")
        }
    }

    /// `RECEIVED spi=0x… seq=1 src=… dst=… sport=… dport=… data=…` as fields (data is the rest of the line).
    func fields(_ line: String?) -> [String: String] {
        guard let line else { return [:] }
        var out: [String: String] = [:]
        for word in line.split(separator: " ") {
            guard let eq = word.firstIndex(of: "=") else { continue }
            let key = String(word[..<eq])
            if out[key] == nil { out[key] = String(word[word.index(after: eq)...]) }
        }
        return out
    }

    func json(_ line: String?) -> [String: Any]? {
        guard let data = line?.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }
}
