import IPsecModel
import NetlinkProtocol
import SecurityContexts
import Testing
@testable import XfrmWire

/// Every capture: decode → encode is the identity, and every proper prefix is refused.
@Suite struct GoldenBytesTests {
    @Test(arguments: Capture.all)
    func decodeThenEncodeIsIdentity(name: String) throws {
        let capture = try Capture(name)
        #expect(!capture.buffers.isEmpty)
        for buffer in capture.buffers {
            if buffer.direction == "=" {
                let attributes = try XfrmMessage.attributes(buffer.bytes, from: 0)
                var encoder = NetlinkAttributeEncoder()
                for attribute in attributes { try encoder.append(attribute.netlinkAttribute) }
                #expect(encoder.bytes == padded(buffer.bytes))
                continue
            }
            let messages = try XfrmMessage.decodeAll(buffer.bytes)
            #expect(!messages.isEmpty)
            let again = try messages.flatMap { try $0.encoded() }
            #expect(again == padded(buffer.bytes), "\(name): re-encoding differs")
            // Nothing the kernel or iproute2 sends falls back to `unknown` except control messages.
            for message in messages where !message.type.netlink.isControl {
                if case .unknown = message.body { Issue.record("\(name): \(message.type) decoded as unknown") }
            }
        }
    }

    @Test(arguments: Capture.all)
    func everyProperPrefixIsRefused(name: String) throws {
        let capture = try Capture(name)
        for buffer in capture.buffers where buffer.direction != "=" {
            for bytes in try messageBytes(buffer.bytes) {
                for cut in 0..<bytes.count where cut > 0 {
                    #expect(throws: XfrmWireError.self) { _ = try XfrmMessage.decodeAll(Array(bytes[..<cut])) }
                }
                // Shortening the message (nlmsg_len too) inside the fixed struct is refused as truncated.
                let message = try NetlinkMessage.split(bytes)[0]
                let decoded = try XfrmMessage(decoding: message)
                let fixed: Int? =
                    switch decoded.body {
                    case .sa: 224
                    case .saID: 24
                    case .allocSPI: 232
                    case .policy: 168
                    case .policyID: 64
                    case .acquire: 280
                    case .expire: 232
                    case .policyExpire: 176
                    case .flushSA: 1
                    default: nil
                    }
                if let fixed {
                    for cut in 0..<fixed {
                        let short = NetlinkMessage(header: message.header, payload: Array(message.payload[..<cut]))
                        #expect(throws: XfrmWireError(.truncatedStruct, at: 16, "")) { _ = try XfrmMessage(decoding: short) }
                    }
                }
            }
        }
    }

    @Test func securityContextForms() throws {
        let context = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
        for (form, ctxLen) in [("A", 33), ("B", 32), ("C", 34)] {
            let capture = try Capture("layout-facts-3\(form)-sec-ctx")
            let attributes = try XfrmMessage.attributes(capture.buffers[0].bytes, from: 0)
            guard case .securityContext(let ctx) = try #require(attributes.first) else { Issue.record("not a SEC_CTX"); continue }
            #expect(ctx.contextBytes.count == ctxLen)
            #expect(ctx.alg == 1 && ctx.doi == 1 && ctx.exttype == 8)
            #expect(ctx.label == .selinux(context), "form \(form)")
            #expect(ctx.textBytes == Array("system_u:object_r:ipsec_spd_t:s0".utf8))
        }
        // Encoding is form A.
        let a = try Capture("layout-facts-3A-sec-ctx").buffers[0].bytes
        var encoder = NetlinkAttributeEncoder()
        try encoder.append(XfrmAttribute.securityContext(try XfrmUserSecCtx(context)).netlinkAttribute)
        #expect(encoder.bytes == a)
    }
}
