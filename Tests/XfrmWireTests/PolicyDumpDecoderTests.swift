import IPsecModel
import NetlinkProtocol
import SecurityContexts
import Testing
@testable import XfrmWire

/// `XfrmPolicyDumpDecoder` (a policy dump read where it was received) against the decoding it
/// stands for, `XfrmMessage(decoding:)` then `policyEntry()`: the same entry or the same error for
/// every message of every capture, for labeled entries in a row, and for every truncation.
@Suite struct PolicyDumpDecoderTests {
    /// What the in-place decoder gives for one message, and what the message decoding gives.
    func bothDecodings(_ message: NetlinkMessage, _ decoder: inout XfrmPolicyDumpDecoder)
        -> (inPlace: Result<PolicyEntry?, XfrmWireError>, reference: Result<PolicyEntry?, XfrmWireError>)
    {
        let inPlace = message.payload.withUnsafeBytes { payload in
            Result { () throws(XfrmWireError) in try decoder.policyEntry(header: message.header, payload: payload) }
        }
        let reference = Result { () throws(XfrmWireError) in try XfrmMessage(decoding: message).policyEntry() }
        return (inPlace, reference)
    }

    @Test func everyCapturedMessageDecodesAsTheMessageDecodingDoes() throws {
        var policies = 0
        for name in Capture.all {
            for buffer in try Capture(name).buffers where buffer.direction != "=" {
                var decoder = XfrmPolicyDumpDecoder()
                let frames = try buffer.bytes.withUnsafeBytes { try NetlinkMessage.frames(in: $0) }
                for frame in frames {
                    let message = NetlinkMessage(received: frame.header, payload: Array(buffer.bytes[frame.payload]))
                    let (inPlace, reference) = bothDecodings(message, &decoder)
                    #expect(inPlace == reference, "\(name): \(message)")
                    if case .success(.some) = reference { policies += 1 }
                }
            }
        }
        #expect(policies >= 10)
    }

    /// Entries of a dump with labels: runs of one label (parsed once), a change of label, an
    /// unlabeled entry between, and a label that is not an SELinux context (kept out of the model).
    @Test func labeledEntriesInARowKeepTheirOwnLabels() throws {
        let spd = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
        let other = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0:c1")
        func entry(_ i: UInt8, _ label: SecurityContext?) -> PolicyEntry {
            PolicyEntry(
                selector: TrafficSelector(
                    source: IPPrefix("10.0.0.\(i)/32")!, destination: IPPrefix("10.1.0.0/16")!, upperProtocol: 6,
                    destinationPort: 7, destinationPortMask: 0xffff),
                direction: .out, priority: UInt32(i), index: UInt32(i) * 8 + 1,
                templates: [PolicyTemplate(source: IPAddress("10.0.0.1")!, destination: IPAddress("10.0.0.2")!, reqid: UInt32(i))],
                mark: i % 2 == 0 ? XfrmMark(value: 0x10, mask: 0xff) : nil, securityContext: label)
        }
        let labels = [spd, spd, nil, spd, other, other, spd]
        var messages = try labels.enumerated().map { i, label in
            try XfrmRequest.addPolicy(entry(UInt8(i + 1), label)).netlinkMessage()
        }
        // A label of another DOI: the wire keeps it raw, the model has none.
        var raw = try XfrmRequest.addPolicy(entry(9, nil))
        guard case .policy(let info, var attributes) = raw.body else { Issue.record("body"); return }
        attributes.append(.securityContext(XfrmUserSecCtx(alg: 2, doi: 1, contextBytes: Array("not selinux\0".utf8))))
        raw.body = .policy(info, attributes)
        messages.append(try raw.netlinkMessage())

        var decoder = XfrmPolicyDumpDecoder()
        var decoded: [SecurityContext?] = []
        for message in messages {
            let (inPlace, reference) = bothDecodings(message, &decoder)
            #expect(inPlace == reference)
            decoded.append(try inPlace.get()?.securityContext)
        }
        #expect(decoded == labels + [nil])
    }

    /// Every prefix of a labeled NEWPOLICY with two templates: the same error (code, offset, text)
    /// or the same entry.
    @Test func truncatedMessagesFailAsTheMessageDecodingFails() throws {
        let entry = PolicyEntry(
            selector: TrafficSelector(source: IPPrefix("2001:db8::1/128")!, destination: IPPrefix("2001:db8:1::/48")!),
            direction: .fwd,
            templates: [
                PolicyTemplate(source: IPAddress("2001:db8::1")!, destination: IPAddress("2001:db8::2")!, mode: .tunnel),
                PolicyTemplate(source: IPAddress("::")!, destination: IPAddress("2001:db8::3")!, optional: true),
            ],
            interfaceID: 7, securityContext: try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0"), policyType: 1)
        let whole = try XfrmRequest.addPolicy(entry).netlinkMessage()
        var failures = 0
        for count in 0...whole.payload.count {
            var message = NetlinkMessage(type: whole.type, flags: whole.flags, payload: Array(whole.payload[..<count]))
            message.header.length = UInt32(NetlinkHeader.size + count)
            var decoder = XfrmPolicyDumpDecoder()
            let (inPlace, reference) = bothDecodings(message, &decoder)
            #expect(inPlace == reference, "\(count) bytes")
            if case .failure = inPlace { failures += 1 }
        }
        #expect(failures > 0)
    }
}
