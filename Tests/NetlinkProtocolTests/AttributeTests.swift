// Attributes: the XFRMA_SEC_CTX encodings of Specs/kernel/layouts.md §3 as raw attributes, the encoder's
// alignment and nests, the decoder's bounds checks.

import NetlinkProtocol
import Testing

@Suite("Netlink attributes")
struct AttributeTests {
    /// The `xfrm_user_sec_ctx` payload of §3: len, exttype 8, alg 1, doi 1, ctx_len, then the string.
    static func secCtxPayload(contextLength: UInt16, trailingNULs: Int) -> [UInt8] {
        let length = 8 + Int(contextLength)
        return [UInt8(length), 0, 8, 0, 1, 1, UInt8(contextLength), 0] + Golden.contextString
            + [UInt8](repeating: 0, count: trailingNULs)
    }

    @Test(
        "§3 A, B, C decode to one XFRMA_SEC_CTX attribute and encode back to the same bytes",
        arguments: [
            ("secCtxA", 33, 1, 45), ("secCtxB", 32, 0, 44), ("secCtxC", 34, 2, 46),
        ])
    func secCtx(name: String, contextLength: Int, nuls: Int, nlaLength: Int) throws {
        let bytes = Golden.named(name)
        let attributes = try NetlinkAttributeDecoder.decodeAll(bytes)
        let expected = NetlinkAttribute(type: 8, payload: Self.secCtxPayload(contextLength: UInt16(contextLength), trailingNULs: nuls))
        #expect(attributes == [expected])
        #expect(attributes.first?.length == nlaLength)
        var encoder = NetlinkAttributeEncoder()
        try encoder.append(type: 8, payload: expected.payload)
        #expect(encoder.bytes == bytes)
        #expect(encoder.bytes.count % 4 == 0)
    }

    @Test("the flag bits of nla_type are separated from the type and kept")
    func flags() throws {
        let attribute = NetlinkAttribute(rawType: 0xC008, payload: [1])
        #expect(attribute.type == 8)
        #expect(attribute.flags == [.nested, .networkByteOrder])
        #expect(attribute.rawType == 0xC008)
        var encoder = NetlinkAttributeEncoder()
        try encoder.append(attribute)
        #expect(encoder.bytes == [5, 0, 0x08, 0xC0, 1, 0, 0, 0])
        #expect(try NetlinkAttributeDecoder.decodeAll(encoder.bytes) == [attribute])
        #expect(NetlinkAttribute(type: 3, flags: .networkByteOrder, payload: [0x12, 0x34]).description == "type 3 len 6 net-byteorder")
    }

    @Test("a nest's nla_len is patched to cover its contents, padding included")
    func nested() throws {
        var encoder = NetlinkAttributeEncoder()
        try encoder.append(type: 1, uint8: 0xAA)
        try encoder.appendNested(type: 2) { nested in
            try nested.append(type: 3, uint32: 7)
            try nested.append(type: 4, string: "ab")
        }
        #expect(
            encoder.bytes == [
                5, 0, 1, 0, 0xAA, 0, 0, 0,
                20, 0, 2, 0x80,
                8, 0, 3, 0, 7, 0, 0, 0,
                7, 0, 4, 0, 0x61, 0x62, 0, 0,
            ])
        let attributes = try NetlinkAttributeDecoder.decodeAll(encoder.bytes)
        #expect(attributes.count == 2)
        #expect(try attributes[0].uint8() == 0xAA)
        #expect(attributes[1].isNested)
        let inner = try attributes[1].nested()
        #expect(try inner[0].uint32() == 7)
        #expect(inner[1].string() == "ab")
        try NetlinkAttributeDecoder.validate(encoder.bytes)

        var manual = NetlinkAttributeEncoder()
        try manual.append(type: 1, uint8: 0xAA)
        let nest = try manual.beginNested(type: 2)
        try manual.append(type: 3, uint32: 7)
        try manual.append(type: 4, string: "ab")
        try manual.endNested(nest)
        #expect(manual.bytes == encoder.bytes)
    }

    @Test("integers are host order; NLA_F_NET_BYTEORDER ones big-endian; a size mismatch is an error")
    func integers() throws {
        var encoder = NetlinkAttributeEncoder()
        try encoder.append(type: 1, uint16: 0x1234)
        try encoder.append(type: 2, uint64: 0x0102_0304_0506_0708)
        try encoder.append(type: 3, flags: .networkByteOrder, payload: [0x12, 0x34])
        let attributes = try NetlinkAttributeDecoder.decodeAll(encoder.bytes)
        #expect(Array(encoder.bytes[4..<6]) == [0x34, 0x12])
        #expect(try attributes[0].uint16() == 0x1234)
        #expect(try attributes[1].uint64() == 0x0102_0304_0506_0708)
        #expect(try attributes[2].uint16() == 0x1234)
        #expect(throws: NetlinkDecodingError(.attributeSizeMismatch(type: 1, expected: 4, actual: 2), at: 0)) {
            try attributes[0].uint32()
        }
    }

    @Test("a truncated or overlong attribute is an error at its offset")
    func malformed() {
        #expect(throws: NetlinkDecodingError(.truncatedAttributeHeader(available: 2), at: 0)) {
            try NetlinkAttributeDecoder.decodeAll([4, 0])
        }
        #expect(throws: NetlinkDecodingError(.attributeLengthTooSmall(type: 8, length: 3), at: 0)) {
            try NetlinkAttributeDecoder.decodeAll([3, 0, 8, 0])
        }
        #expect(throws: NetlinkDecodingError(.attributeLengthExceedsPayload(type: 8, length: 45, available: 44), at: 0)) {
            try NetlinkAttributeDecoder.decodeAll(Array(Golden.secCtxA[..<44]))
        }
        // A good attribute, then 2 stray bytes.
        #expect(throws: NetlinkDecodingError(.truncatedAttributeHeader(available: 2), at: 44)) {
            try NetlinkAttributeDecoder.decodeAll(Golden.secCtxB + [1, 2])
        }
        // Inside a nest, the offset counts from the outer buffer.
        let nest: [UInt8] = [12, 0, 1, 0x80, 8, 0, 2, 0, 1, 0, 0, 0, 12, 0, 3, 0x80, 9, 0, 4, 0, 0, 0, 0, 0]
        #expect(throws: NetlinkDecodingError(.attributeLengthExceedsPayload(type: 4, length: 9, available: 8), at: 16)) {
            try NetlinkAttributeDecoder.validate(nest)
        }
    }

    @Test("drip-feed: a prefix of §3 A shorter than nla_len fails; one that only lacks padding decodes the same")
    func dripFeed() throws {
        let whole = try NetlinkAttributeDecoder.decodeAll(Golden.secCtxA)
        for count in 1..<Golden.secCtxA.count {
            let prefix = Array(Golden.secCtxA[..<count])
            if count < 45 {
                #expect(throws: NetlinkDecodingError.self, "prefix of \(count) bytes") { try NetlinkAttributeDecoder.decodeAll(prefix) }
            } else {
                #expect(try NetlinkAttributeDecoder.decodeAll(prefix) == whole)
            }
        }
    }

    @Test("nests deeper than the limit are refused by validate")
    func depth() throws {
        var bytes: [UInt8] = []
        for _ in 0..<40 {
            let length = UInt16(4 + bytes.count)
            bytes = withUnsafeBytes(of: length, Array.init) + [1, 0x80] + bytes
        }
        #expect(throws: NetlinkDecodingError(.nestingTooDeep(limit: 32), at: 32 * 4)) { try NetlinkAttributeDecoder.validate(bytes) }
    }

    @Test("what nla_len cannot say is refused, and leaves the encoder as it was")
    func limits() throws {
        var encoder = NetlinkAttributeEncoder()
        #expect(throws: NetlinkEncodingError(.attributeTooLong(type: 1, length: 65536))) {
            try encoder.append(type: 1, payload: [UInt8](repeating: 0, count: 65532))
        }
        try encoder.append(type: 1, payload: [UInt8](repeating: 0, count: 65531))
        #expect(encoder.bytes.count == 65536)
        #expect(throws: NetlinkEncodingError(.attributeTypeTooLarge(0x4001))) { try encoder.append(type: 0x4001, payload: []) }

        var nests = NetlinkAttributeEncoder()
        try nests.append(type: 9, uint32: 1)
        #expect(throws: NetlinkEncodingError(.attributeTooLong(type: 2, length: 70004))) {
            try nests.appendNested(type: 2) { nested in
                for _ in 0..<7 { try nested.append(type: 3, payload: [UInt8](repeating: 1, count: 9996)) }
            }
        }
        #expect(nests.bytes == [8, 0, 9, 0, 1, 0, 0, 0])
    }
}
