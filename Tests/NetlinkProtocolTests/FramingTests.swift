// Framing: headers and messages against the captures of Specs/kernel/layouts.md §4, batches, malformed and
// drip-fed buffers, random round trips.

import NetlinkProtocol
import Testing
import TestSupport

@Suite("Netlink framing")
struct FramingTests {
    @Test("§4.1 NEWPOLICY: header fields, then XFRMA_TMPL and XFRMA_SEC_CTX after the 168-byte xfrm_userpolicy_info")
    func newPolicyCapture() throws {
        let messages = try NetlinkMessage.split(Golden.newPolicy)
        try #require(messages.count == 1)
        let message = messages[0]
        #expect(
            message.header
                == NetlinkHeader(
                    length: 300, type: 0x13, flags: [.request, .acknowledge], sequence: Golden.sequence, portID: 0))
        #expect(message.payload.count == 284)
        let attributes = try NetlinkAttributeDecoder.decodeAll(message.payload, from: 168)
        #expect(attributes.map(\.type) == [5, 8])  // XFRMA_TMPL, XFRMA_SEC_CTX (iproute2's order)
        #expect(attributes.map(\.length) == [68, 45])
        #expect(attributes.allSatisfy { $0.flags.isEmpty })
        #expect(attributes[1].payload == Array(Golden.secCtxA[4..<45]))
        #expect(message.encoded() == Golden.newPolicy)
        #expect(
            NetlinkHeader(length: 300, type: 0x13, flags: [.request, .acknowledge], sequence: Golden.sequence, portID: 0)
                .encoded == Array(Golden.newPolicy[..<16]))
    }

    @Test("§4.3 NEWSA: header fields, then XFRMA_SEC_CTX and XFRMA_ALG_AUTH after the 224-byte xfrm_usersa_info")
    func newSACapture() throws {
        let message = try #require(try NetlinkMessage.split(Golden.newSA).first)
        #expect(
            message.header
                == NetlinkHeader(
                    length: 376, type: 0x10, flags: [.request, .acknowledge], sequence: Golden.sequence, portID: 0))
        let attributes = try NetlinkAttributeDecoder.decodeAll(message.payload, from: 224)
        #expect(attributes.map(\.type) == [8, 1])  // XFRMA_SEC_CTX, XFRMA_ALG_AUTH (command-line order)
        #expect(attributes.map(\.length) == [45, 88])
        #expect(Array(attributes[1].payload[..<5]) == Array("sha1\0".utf8))
        #expect(Array(attributes[1].payload[68...]) == Array("0123456789012345".utf8))
        #expect(message.encoded() == Golden.newSA)
    }

    @Test("§4.5 GETSA and §4.6 GETPOLICY dump requests: flags REQUEST|DUMP; one XFRMA_ADDRESS_FILTER, or nothing")
    func dumpRequestCaptures() throws {
        let getSA = try #require(try NetlinkMessage.split(Golden.getSA).first)
        #expect(getSA.header == NetlinkHeader(length: 56, type: 0x12, flags: [.request, .dump], sequence: Golden.sequence, portID: 0))
        #expect(getSA.flags.rawValue == 0x0301)
        let filter = try NetlinkAttributeDecoder.decodeAll(getSA.payload)
        #expect(filter == [NetlinkAttribute(type: 26, payload: [UInt8](repeating: 0, count: 36))])

        let getPolicy = try #require(try NetlinkMessage.split(Golden.getPolicy).first)
        #expect(getPolicy.header == NetlinkHeader(length: 16, type: 0x15, flags: [.request, .dump], sequence: Golden.sequence, portID: 0))
        #expect(getPolicy.payload.isEmpty)
        #expect(NetlinkRequest(.dump, type: 0x15).message(sequence: Golden.sequence).encoded() == Golden.getPolicy)
    }

    @Test("a batch is the messages' bytes back to back, and splits into the same messages")
    func batch() throws {
        let messages = try [Golden.newPolicy, Golden.getSA, Golden.ack].map { try #require(try NetlinkMessage.split($0).first) }
        let buffer = NetlinkMessage.batch(messages)
        #expect(buffer == Golden.newPolicy + Golden.getSA + Golden.ack)
        #expect(try NetlinkMessage.split(buffer) == messages)
        #expect(try NetlinkMessage.split([]) == [])
    }

    @Test("a payload that is not a multiple of 4 is padded; nlmsg_len excludes the padding, which may be missing at the end")
    func padding() throws {
        let message = NetlinkMessage(type: 0x20, flags: [.request], sequence: 9, payload: [1, 2, 3, 4, 5])
        let bytes = message.encoded()
        #expect(bytes.count == 24)
        #expect(bytes[0] == 21)
        #expect(Array(bytes[21...]) == [0, 0, 0])
        #expect(try NetlinkMessage.split(bytes) == [message])
        #expect(try NetlinkMessage.split(Array(bytes[..<21])) == [message])  // as nlmsg_ok: final padding optional
        let two = NetlinkMessage.batch([message, message])
        #expect(two.count == 48)
        #expect(try NetlinkMessage.split(two) == [message, message])
    }

    @Test("frames located in place are the messages split copies: headers, and payloads at their ranges")
    func framesInPlace() throws {
        var buffer: [UInt8] = []
        for golden in [Golden.newPolicy, Golden.getSA, Golden.ack] { buffer += golden + Array(repeating: 0, count: (4 - golden.count % 4) % 4) }
        let split = try NetlinkMessage.split(buffer)
        let frames = try buffer.withUnsafeBytes { try NetlinkMessage.frames(in: $0) }
        #expect(frames.map(\.header) == split.map(\.header))
        #expect(frames.map { Array(buffer[$0.payload]) } == split.map(\.payload))
        let tooSmall: [UInt8] = [8, 0, 0, 0] + Array(repeating: 0, count: 12)
        #expect(throws: NetlinkDecodingError(.messageLengthTooSmall(length: 8), at: 0)) {
            try tooSmall.withUnsafeBytes { try NetlinkMessage.frames(in: $0) }
        }
    }

    @Test("malformed buffers fail with the error and the offset of the bad message")
    func malformed() throws {
        #expect(throws: NetlinkDecodingError(.truncatedHeader(available: 15), at: 0)) {
            try NetlinkMessage.split(Array(Golden.getPolicy[..<15]))
        }
        var tooSmall = Golden.getPolicy
        tooSmall[0] = 8
        #expect(throws: NetlinkDecodingError(.messageLengthTooSmall(length: 8), at: 0)) { try NetlinkMessage.split(tooSmall) }
        var tooLong = Golden.getPolicy
        tooLong[0] = 20
        #expect(throws: NetlinkDecodingError(.messageLengthExceedsBuffer(length: 20, available: 16), at: 0)) {
            try NetlinkMessage.split(tooLong)
        }
        var huge = Golden.getPolicy
        huge[0...3] = [0xff, 0xff, 0xff, 0xff]
        #expect(throws: NetlinkDecodingError(.messageLengthExceedsBuffer(length: .max, available: 16), at: 0)) {
            try NetlinkMessage.split(huge)
        }
        // A good message, then 5 stray bytes: an error at 300, nothing dropped silently.
        #expect(throws: NetlinkDecodingError(.truncatedHeader(available: 5), at: 300)) {
            try NetlinkMessage.split(Golden.newPolicy + [1, 2, 3, 4, 5])
        }
        let error = #expect(throws: NetlinkDecodingError.self) { try NetlinkMessage.split(Golden.newPolicy + Array(Golden.ack[..<30])) }
        #expect(error?.offset == 300)
        #expect(error?.description == "netlink: at byte 300: nlmsg_len 36 runs past the end of the buffer (30 bytes left)")
    }

    @Test("drip-feed: every proper prefix of one message fails cleanly", arguments: ["newPolicy", "ack", "newSA", "nack", "getSA", "getPolicy"])
    func dripFeedOneMessage(name: String) {
        let bytes = Golden.named(name)
        for count in 1..<bytes.count {
            #expect(throws: NetlinkDecodingError.self, "prefix of \(count) bytes") { try NetlinkMessage.split(Array(bytes[..<count])) }
        }
    }

    @Test("drip-feed: a prefix of a batch gives exactly the complete messages before the cut, or fails")
    func dripFeedBatch() throws {
        let parts = [Golden.newPolicy, Golden.ack, Golden.nack, Golden.getPolicy]
        let buffer = parts.reduce([], +)
        let all = try NetlinkMessage.split(buffer)
        var boundaries: [Int: Int] = [0: 0]
        var end = 0
        for (index, part) in parts.enumerated() {
            end += part.count
            boundaries[end] = index + 1
        }
        for count in 0..<buffer.count {
            let prefix = Array(buffer[..<count])
            if let complete = boundaries[count] {
                #expect(try NetlinkMessage.split(prefix) == Array(all[..<complete]))
            } else {
                #expect(throws: NetlinkDecodingError.self, "prefix of \(count) bytes") { try NetlinkMessage.split(prefix) }
            }
        }
    }

    @Test("random messages survive batch and split")
    func randomRoundTrips() throws {
        var random = SplitMix64(seed: 0x5A1A_BE1)
        for _ in 0..<300 {
            let messages = (0..<Int.random(in: 1...5, using: &random)).map { _ in
                NetlinkMessage(
                    type: NetlinkMessageType(rawValue: .random(in: 0...UInt16.max, using: &random)),
                    flags: NetlinkMessageFlags(rawValue: .random(in: 0...UInt16.max, using: &random)),
                    sequence: .random(in: 0...UInt32.max, using: &random), portID: .random(in: 0...UInt32.max, using: &random),
                    payload: (0..<Int.random(in: 0...70, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            }
            #expect(try NetlinkMessage.split(NetlinkMessage.batch(messages)) == messages)
        }
    }

    @Test("message types and flags carry the kernel's values")
    func constants() {
        #expect([NetlinkMessageType.noop, .error, .done, .overrun].map(\.rawValue) == [1, 2, 3, 4])
        #expect(NetlinkMessageType.error.description == "NLMSG_ERROR")
        #expect(NetlinkMessageType(rawValue: 0x13).description == "0x13")
        #expect(NetlinkMessageType.minimumFamilyType.rawValue == 0x10 && NetlinkMessageType.overrun.isControl)
        let flags: [(NetlinkMessageFlags, UInt16)] = [
            (.request, 0x1), (.multipart, 0x2), (.acknowledge, 0x4), (.echo, 0x8), (.dumpInterrupted, 0x10),
            (.dumpFiltered, 0x20), (.root, 0x100), (.match, 0x200), (.atomic, 0x400), (.dump, 0x300),
            (.replace, 0x100), (.exclusive, 0x200), (.create, 0x400), (.append, 0x800),
            (.nonRecursive, 0x100), (.bulk, 0x200), (.capped, 0x100), (.acknowledgementTLVs, 0x200),
        ]
        for (flag, value) in flags { #expect(flag.rawValue == value) }
        #expect(NetlinkHeader.size == 16 && NetlinkAttribute.headerSize == 4 && NetlinkError.size == 20)
    }
}

extension Golden {
    /// A capture by its name in this file.
    static func named(_ name: String) -> [UInt8] {
        switch name {
        case "newPolicy": newPolicy
        case "ack": ack
        case "newSA": newSA
        case "nack": nack
        case "getSA": getSA
        case "getPolicy": getPolicy
        case "secCtxA": secCtxA
        case "secCtxB": secCtxB
        case "secCtxC": secCtxC
        default: fatalError("no capture \(name)")
        }
    }
}
