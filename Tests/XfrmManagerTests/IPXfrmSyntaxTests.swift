import IPsecModel
import SecurityContexts
import Testing
import XfrmManager

/// `ip xfrm` command lines in iproute2's words (ip-xfrm(8)) parsed into operations. The
/// byte-for-byte comparison with what iproute2 itself sends for the same lines is in
/// IPXfrmBytesTests (it needs the wire codecs).
struct IPXfrmSyntaxTests {
    func op(_ line: String) throws -> XfrmOperation {
        try #require(try IPXfrmSyntax.parse(line: line))
    }

    /// The SAs and policies of selinux-testsuite's ipsec-load (peers.md §3.2), with its variables expanded.
    @Test func selinuxTestsuiteFixture() throws {
        let sa = try op(
            #"ip xfrm state add src 127.0.0.1 dst 127.0.0.1 proto ah spi 0x200 ctx "unconfined_u:unconfined_r:test_inet_client_t:s0-s0:c0.c1023" auth sha1 0x0123456789012345678901234567890123456789"#
        )
        guard case .addSA(let s) = sa else { Issue.record("not addSA"); return }
        #expect(s.source.description == "127.0.0.1" && s.destination.description == "127.0.0.1")
        #expect(s.proto == .ah && s.spi == 0x200 && s.mode == .transport)
        #expect(s.securityContext?.description == "unconfined_u:unconfined_r:test_inet_client_t:s0-s0:c0.c1023")
        #expect(s.algorithms.authentication?.name == "sha1" && s.algorithms.authentication?.keyBits == 160)
        #expect(s.algorithms.authentication?.truncationBits == nil)

        let p = try op(
            #"xfrm policy add src 127.0.0.1 dst 127.0.0.1 proto tcp dir out ctx "system_u:object_r:test_spd_t:s0" tmpl proto ah mode transport level required"#)
        guard case .addPolicy(let pol) = p else { Issue.record("not addPolicy"); return }
        #expect(pol.selector.source.description == "127.0.0.1/32" && pol.selector.upperProtocol == 6)
        #expect(pol.direction == .out && pol.securityContext?.type == "test_spd_t")
        #expect(pol.templates.count == 1 && pol.templates[0].proto == .ah && pol.templates[0].spi == 0 && !pol.templates[0].optional)
        #expect(pol.templates[0].source.description == "0.0.0.0")

        let v6 = try op(#"policy add src ::1 dst ::1 proto udp dir out ctx "system_u:object_r:test_spd_t:s0" tmpl proto ah mode transport level required"#)
        guard case .addPolicy(let pol6) = v6 else { Issue.record("not addPolicy"); return }
        #expect(pol6.selector.family == .inet6 && pol6.selector.source.length == 128 && pol6.templates[0].family == .inet6)

        #expect(try op("ip xfrm state flush") == .flushSA(.all))
        #expect(try op("ip xfrm policy flush") == .flushPolicy(policyType: 0))
        #expect(try op("ip xfrm policy deleteall") == .deleteAllPolicies(XfrmFilter()))
    }

    @Test func aeadSAWithEverything() throws {
        let line =
            "state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 reqid 7 mode tunnel replay-window 32 flag esn "
            + "aead rfc4106(gcm(aes)) 0x000102030405060708090a0b0c0d0e0f10111213 128 sel src 10.0.0.0/24 dst 10.0.1.0/24 proto tcp dport 7 "
            + "mark 0x10 mask 0xff if_id 5 encap espinudp 4500 4500 0.0.0.0 limit time-hard 3600 ctx system_u:object_r:ipsec_spd_t:s0"
        guard case .addSA(let s) = try op(line) else { Issue.record("not addSA"); return }
        #expect(s.mode == .tunnel && s.reqid == 7 && s.replayWindow == 32 && s.usesESN && s.replayWindowESN == 32)
        #expect(s.algorithms.aead?.name == "rfc4106(gcm(aes))" && s.algorithms.aead?.keyBits == 160 && s.algorithms.aead?.truncationBits == 128)
        #expect(s.selector.destination.description == "10.0.1.0/24" && s.selector.destinationPort == 7 && s.selector.destinationPortMask == 0xFFFF)
        #expect(s.mark == XfrmMark(value: 0x10, mask: 0xFF) && s.interfaceID == 5)
        #expect(s.encapsulation == UDPEncapsulation(type: 2, sourcePort: 4500, destinationPort: 4500, originalAddress: IPAddress("0.0.0.0")))
        #expect(s.lifetime.hardAddExpiresSeconds == 3600 && s.securityContext?.type == "ipsec_spd_t")
        // Keys never show in descriptions.
        #expect(!"\(s)".contains("0001020304"))
    }

    @Test func literalKeysAreTheWordsBytes() throws {
        guard case .addSA(let s) = try op("state add src 127.0.0.1 dst 127.0.0.1 proto ah spi 0x200 auth sha1 0123456789012345") else { return }
        #expect(s.algorithms.authentication?.key == KeyMaterial(Array("0123456789012345".utf8)))
        #expect(s.algorithms.authentication?.keyBits == 128)
        // HMAC-SHA-256-128 takes a 256-bit key (RFC 4868 §2.1.1; Specs/manager/keys.md): 16 bytes are refused.
        #expect(throws: IPXfrmSyntaxError.self) { try op("state add src 127.0.0.1 dst 127.0.0.1 proto ah spi 0x200 auth sha256 0123456789012345") }
    }

    @Test func deleteGetAndKeys() throws {
        #expect(
            try op("state delete src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 mark 3")
                == .deleteSA(
                    SAIdentifier(destination: IPAddress("10.0.0.2")!, spi: 0x100, proto: .esp), source: IPAddress("10.0.0.1"), mark: XfrmMark(value: 3)))
        guard case .deletePolicy(.selector(let sel, .out, let ctx), _, 0, nil) = try op(#"policy delete src 1.2.3.4 dst 5.6.7.8 dir out ctx "u:r:t:s0""#) else {
            Issue.record("not a selector delete"); return
        }
        #expect(sel.source.description == "1.2.3.4/32" && ctx?.description == "u:r:t:s0")
        #expect(try op("policy get index 42 dir in") == .getPolicy(.index(42, .in), mark: nil, policyType: 0, interfaceID: nil))
        guard
            case .allocateSPI(let sa, 0x1000, 0x2000) = try op(
                "state allocspi src 1.1.1.1 dst 2.2.2.2 proto esp mode tunnel reqid 1 seq 9 min 0x1000 max 0x2000")
        else {
            Issue.record("not allocspi"); return
        }
        #expect(sa.sequence == 9 && sa.mode == .tunnel)
    }

    @Test func batchFilesSkipCommentsAndBlankLines() throws {
        let ops = try IPXfrmSyntax.parse(
            batch: """
                # ipsec-load, expanded
                state flush

                policy flush   # trailing comment
                """)
        #expect(ops == [.flushSA(.all), .flushPolicy(policyType: 0)])
    }

    @Test(arguments: [
        ("state add src 1.1.1.1 dst 2.2.2.2 proto esp", "a state needs 'spi SPI'"),
        ("state add dst 2.2.2.2 spi 1 proto esp enc cbc(aes) 0x123", "not valid hex"),
        ("state add src 1.1.1.1 dst ::1 spi 1", "different families"),
        ("state add dst 2.2.2.2 spi 0x1ffffffff", "fits 32 bits"),
        ("state add dst 2.2.2.2 spi 1 mode sideways", "unknown mode 'sideways'"),
        (#"state add dst 2.2.2.2 spi 1 ctx "a:b""#, "invalid security context"),
        ("state add dst 2.2.2.2 spi 1 coa 1.1.1.1", "does not support yet"),
        ("policy add src 1.1.1.1 dst 2.2.2.2", "a policy needs 'dir in|out|fwd'"),
        ("policy add dir out src 1.1.1.1", "must come before"),
        ("policy add src 1.1.1.1 dst 2.2.2.2 sport 80 dir out", "need 'proto'"),
        ("route add 1.2.3.4", "unknown object 'route'"),
        ("state add dst 2.2.2.2 spi 1 ctx \"unterminated", "unterminated quote"),
    ])
    func errorsSayWhatWasExpected(_ line: String, _ message: String) throws {
        #expect {
            _ = try IPXfrmSyntax.parse(line: line, lineNumber: 4)
        } throws: { error in
            guard let e = error as? IPXfrmSyntaxError else { return false }
            return e.description.hasPrefix("line 4: ") && e.message.contains(message)
        }
    }
}
