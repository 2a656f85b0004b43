import IPsecModel
import NetlinkProtocol
import SecurityContexts
import Testing
@testable import XfrmWire

/// Requests built from the model equal what iproute2 sent for the same command.
@Suite struct ModelEncodingTests {
    let spd = try! SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
    let unconfined = try! SecurityContext(parsing: "system_u:system_r:unconfined_t:s0-s0:c0.c1023")

    func ip(_ s: String) -> IPAddress { IPAddress(s)! }
    func prefix(_ s: String) -> IPPrefix { IPPrefix(s)! }
    func key(_ hex: String) -> KeyMaterial { KeyMaterial(hex: hex)! }

    func expectSent(_ name: String, _ build: (UInt32) throws -> XfrmMessage) throws {
        let sent = try #require(try Capture(name).sent.first).bytes
        let message = try build(seq(sent))
        #expect(try message.encoded() == padded(sent), "\(name)")
    }

    @Test func layoutFacts41NewPolicy() throws {
        try expectSent("layout-facts-4.1-newpolicy") { s in
            let p = PolicyEntry(
                selector: TrafficSelector(source: prefix("127.0.0.1"), destination: prefix("127.0.0.1"), upperProtocol: 6),
                direction: .out, templates: [PolicyTemplate(source: ip("0.0.0.0"), destination: ip("0.0.0.0"), proto: .ah)],
                securityContext: spd)
            return try XfrmRequest.addPolicy(p, sequence: s)
        }
    }

    @Test func layoutFacts43NewSA() throws {
        try expectSent("layout-facts-4.3-newsa") { s in
            let sa = SecurityAssociation(
                source: ip("127.0.0.1"), destination: ip("127.0.0.1"), spi: 0x200, proto: .ah,
                algorithms: SAAlgorithms(authentication: XfrmAlgorithm(name: "sha1", key: KeyMaterial(Array("0123456789012345".utf8)))),
                securityContext: spd)
            return try XfrmRequest.addSA(sa, sequence: s)
        }
    }

    @Test func dumps() throws {
        try expectSent("layout-facts-4.5-state-show") { XfrmRequest.dumpSAs(sequence: $0) }
        try expectSent("layout-facts-4.6-policy-show") { XfrmRequest.dumpPolicies(sequence: $0) }
    }

    @Test func policyIPv6TunnelTwoTemplates() throws {
        try expectSent("policy-add-ipv6-tunnel") { s in
            let p = PolicyEntry(
                selector: TrafficSelector(
                    source: prefix("2001:db8::1/128"), destination: prefix("2001:db8:1::/48"), upperProtocol: 6,
                    sourcePort: 1234, sourcePortMask: 0xffff, destinationPort: 443, destinationPortMask: 0xffff),
                direction: .out, priority: 100,
                templates: [
                    PolicyTemplate(source: ip("2001:db8::1"), destination: ip("2001:db8::2"), proto: .esp, mode: .tunnel, reqid: 5),
                    PolicyTemplate(source: ip("::"), destination: ip("::"), proto: .comp, optional: true),
                ],
                mark: XfrmMark(value: 0x10, mask: 0xff), interfaceID: 7, securityContext: unconfined)
            return try XfrmRequest.addPolicy(p, sequence: s)
        }
    }

    @Test func policyBlockAndLimitsAndSub() throws {
        try expectSent("policy-add-ipv4-block") { s in
            let p = PolicyEntry(
                selector: TrafficSelector(
                    source: prefix("10.0.0.0/24"), destination: prefix("10.1.0.0/16"), upperProtocol: 17,
                    sourcePort: 500, sourcePortMask: 0xffff, destinationPort: 4500, destinationPortMask: 0xffff),
                direction: .in, priority: 7, action: .block, flags: 1, securityContext: spd)
            return try XfrmRequest.addPolicy(p, sequence: s)
        }
        try expectSent("policy-add-limits") { s in
            var lifetime = LifetimeConfig()
            lifetime.softAddExpiresSeconds = 10
            lifetime.hardAddExpiresSeconds = 20
            lifetime.softByteLimit = 1000
            lifetime.hardPacketLimit = 50
            let p = PolicyEntry(
                selector: TrafficSelector(source: prefix("192.0.2.1"), destination: prefix("192.0.2.2")), direction: .fwd,
                lifetime: lifetime,
                templates: [PolicyTemplate(source: ip("192.0.2.1"), destination: ip("192.0.2.2"), spi: 0x1234, mode: .tunnel, reqid: 1)])
            return try XfrmRequest.addPolicy(p, sequence: s)
        }
        try expectSent("policy-add-sub") { s in
            let p = PolicyEntry(
                selector: TrafficSelector(source: prefix("10.0.0.1"), destination: prefix("10.0.0.2")), direction: .in,
                templates: [PolicyTemplate(source: ip("0.0.0.0"), destination: ip("0.0.0.0"))], policyType: 1)
            return try XfrmRequest.addPolicy(p, sequence: s)
        }
    }

    @Test func policyGetDeleteFlush() throws {
        let sel = TrafficSelector(source: prefix("10.0.0.1"), destination: prefix("10.0.0.2"), upperProtocol: 6)
        try expectSent("policy-delete-selector") { try XfrmRequest.deletePolicy(selector: sel, direction: .out, securityContext: spd, sequence: $0) }
        try expectSent("policy-get-selector") { try XfrmRequest.getPolicy(selector: sel, direction: .out, securityContext: spd, sequence: $0) }
        try expectSent("policy-delete-index") { XfrmRequest.deletePolicy(index: 8, direction: .in, sequence: $0) }
        try expectSent("policy-get-index") {
            XfrmRequest.getPolicy(index: 1, direction: .out, mark: XfrmMark(value: 5), interfaceID: 3, sequence: $0)
        }
        try expectSent("policy-flush") { XfrmRequest.flushPolicies(sequence: $0) }
        try expectSent("policy-flush-sub") { XfrmRequest.flushPolicies(policyType: 1, sequence: $0) }
    }

    @Test func saAEADAndUpdate() throws {
        let sa = SecurityAssociation(
            source: ip("192.0.2.1"), destination: ip("192.0.2.2"), spi: 0x1000, reqid: 1,
            algorithms: SAAlgorithms(
                aead: XfrmAlgorithm(
                    name: "rfc4106(gcm(aes))", key: key("00112233445566778899aabbccddeeff01020304"),
                    truncationBits: 128)),
            securityContext: spd)
        try expectSent("sa-add-aead") { try XfrmRequest.addSA(sa, sequence: $0) }
        try expectSent("sa-update") { try XfrmRequest.addSA(sa, update: true, sequence: $0) }
    }

    @Test func saCBCHMACTunnelIPv6() throws {
        try expectSent("sa-add-cbc-hmac") { s in
            let sa = SecurityAssociation(
                source: ip("2001:db8::1"), destination: ip("2001:db8::2"), spi: 0xc0ff_ee01, mode: .tunnel, reqid: 9, replayWindow: 32,
                flags: 1 | 64, selector: TrafficSelector(source: prefix("2001:db8::/64"), destination: prefix("2001:db8:1::/64")),
                algorithms: SAAlgorithms(
                    encryption: XfrmAlgorithm(name: "cbc(aes)", key: key("000102030405060708090a0b0c0d0e0f")),
                    authentication: XfrmAlgorithm(
                        name: "hmac(sha256)", key: key("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
                        truncationBits: 128)),
                mark: XfrmMark(value: 0x20, mask: 0xf0), interfaceID: 11, securityContext: unconfined)
            return try XfrmRequest.addSA(sa, sequence: s)
        }
    }

    @Test func saEncapESNComp() throws {
        let gcm = XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: key("000102030405060708090a0b0c0d0e0f10111213"), truncationBits: 128)
        try expectSent("sa-add-encap") { s in
            var lifetime = LifetimeConfig()
            lifetime.hardAddExpiresSeconds = 3600
            lifetime.softByteLimit = 100_000
            let sa = SecurityAssociation(
                source: ip("198.51.100.1"), destination: ip("203.0.113.2"), spi: 0x2000, mode: .tunnel,
                lifetime: lifetime, algorithms: SAAlgorithms(aead: gcm),
                encapsulation: UDPEncapsulation(sourcePort: 4500, destinationPort: 4500))
            return try XfrmRequest.addSA(sa, sequence: s)
        }
        try expectSent("sa-add-esn") { s in
            let sa = SecurityAssociation(
                source: ip("192.0.2.1"), destination: ip("192.0.2.2"), spi: 0x3000, flags: 128, replayWindowESN: 1024,
                algorithms: SAAlgorithms(aead: gcm))
            return try XfrmRequest.addSA(sa, sequence: s)
        }
        try expectSent("sa-add-comp") { s in
            let sa = SecurityAssociation(
                source: ip("192.0.2.1"), destination: ip("192.0.2.2"), spi: 0x4000, proto: .comp,
                algorithms: SAAlgorithms(compression: XfrmAlgorithm(name: "deflate", key: KeyMaterial([]))))
            return try XfrmRequest.addSA(sa, sequence: s)
        }
    }

    @Test func saIDsAllocSPIFlush() throws {
        let id = SAIdentifier(destination: ip("192.0.2.2"), spi: 0x100, proto: .esp)
        try expectSent("sa-get") { XfrmRequest.getSA(id, source: ip("192.0.2.1"), sequence: $0) }
        try expectSent("sa-delete") { XfrmRequest.deleteSA(id, source: ip("192.0.2.1"), mark: XfrmMark(value: 9), sequence: $0) }
        try expectSent("sa-allocspi") {
            XfrmRequest.allocateSPI(
                source: ip("192.0.2.1"), destination: ip("192.0.2.2"), mode: .tunnel, reqid: 3, range: 0x100...0x1ff,
                mark: XfrmMark(value: 7), sequence: $0)
        }
        try expectSent("sa-allocspi-ipv6") { XfrmRequest.allocateSPI(source: ip("2001:db8::1"), destination: ip("2001:db8::2"), sequence: $0) }
        try expectSent("sa-flush") { XfrmRequest.flushSA(sequence: $0) }
        try expectSent("sa-flush-esp") { XfrmRequest.flushSA(proto: .esp, sequence: $0) }
    }

    @Test func contextLimits() throws {
        let long = String(repeating: "a", count: 4095)
        #expect(throws: XfrmWireError(.contextTooLong, at: 0, "")) { _ = try XfrmUserSecCtx(text: long) }
        #expect(try XfrmUserSecCtx(text: String(long.dropFirst())).contextBytes.count == 4095)
        #expect(throws: XfrmWireError(.nulInContext, at: 5, "")) { _ = try XfrmUserSecCtx(text: "user:\0role:type") }
        #expect(throws: XfrmWireError(.emptyContext, at: 0, "")) { _ = try XfrmUserSecCtx(text: "") }
        #expect(throws: XfrmWireError(.algorithmNameTooLong, at: 0, "")) {
            _ = try XfrmAlgo(layout: .plain, name: String(repeating: "x", count: 64), key: KeyMaterial([]))
        }
    }

    @Test func rawLabelsAreKept() throws {
        let other = XfrmUserSecCtx(alg: 9, doi: 2, contextBytes: Array("system_u:object_r:ipsec_spd_t:s0\0".utf8))
        #expect(other.label == .raw(RawSecurityContext(doi: 2, algorithm: 9, bytes: other.contextBytes)))
        let garbage = XfrmUserSecCtx(alg: 1, doi: 1, contextBytes: Array("not a context\0".utf8))
        guard case .raw(let raw) = garbage.label else { Issue.record("expected raw"); return }
        #expect(raw.text == "not a context")
        #expect(try XfrmUserSecCtx(raw).encoded == garbage.encoded)
        let embedded = XfrmUserSecCtx(alg: 1, doi: 1, contextBytes: Array("u:r:t:s0\0junk\0".utf8))
        if case .selinux = embedded.label { Issue.record("embedded NUL read as a context") }
        // Length coupling: len must be 8 + ctx_len and fill the payload.
        var bad = other.encoded
        bad[0] &+= 1
        #expect(throws: XfrmWireError(.securityContextLengthMismatch, at: 0, "")) { _ = try XfrmUserSecCtx(payload: bad) }
        #expect(throws: XfrmWireError(.truncatedStruct, at: 0, "")) { _ = try XfrmUserSecCtx(payload: Array(bad[..<7])) }
    }

    @Test func keysAreNotPrinted() throws {
        let algo = try XfrmAlgo(layout: .aead, name: "rfc4106(gcm(aes))", key: KeyMaterial([0xde, 0xad, 0xbe, 0xef]), truncationBits: 128)
        let text = "\(algo) \(String(reflecting: algo)) \(XfrmAttribute.aead(algo))"
        #expect(!text.lowercased().contains("de, 0xad") && !text.contains("222, 173") && !text.lowercased().contains("deadbeef"))
    }
}
