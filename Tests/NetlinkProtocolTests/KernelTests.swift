// NetlinkConnection against the real kernel's XFRM, each test in a network namespace it creates and
// removes. They need root (ip netns add, setns); without it they fail with a message, never skip.
// On this machine XFRM works and ESP does not (no transform support): an SA with proto esp is refused.

import Foundation
import NetlinkProtocol
import NetlinkSocket
import NetlinkTestSupport
import Testing

@Suite("NetlinkConnection against the kernel", .serialized)
struct KernelTests {
    /// The §4.1 payload (xfrm_userpolicy_info, XFRMA_TMPL, XFRMA_SEC_CTX) with the selector's daddr
    /// 127.0.0.`lastOctet` (offset 3 of the payload: the last byte of sel.daddr).
    static func policyPayload(lastOctet: UInt8) throws -> [UInt8] {
        var payload = try #require(try NetlinkMessage.split(Golden.newPolicy).first).payload
        payload[3] = lastOctet
        return payload
    }

    @Test("an XFRM_MSG_GETPOLICY dump (§4.6 bytes) in an empty namespace is empty")
    func emptyPolicyDump() throws {
        try requireRoot()
        let namespace = try TemporaryNamespace("nl-dump")
        defer { namespace.remove() }
        let recorder = RecordingTransport(try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace.name), receiveTimeout: .seconds(5)))
        let connection = NetlinkConnection(transport: recorder, firstSequence: Golden.sequence)
        #expect(try connection.dump(type: 0x15) == [])
        #expect(recorder.sent.map(NetlinkMessage.batch) == [Golden.getPolicy])
        #expect(connection.ignoredMessageCount == 0)
    }

    @Test("two XFRM_MSG_NEWPOLICY in one send get two ACKs; a dump then lists both")
    func batchOfTwoPolicies() throws {
        try requireRoot()
        let namespace = try TemporaryNamespace("nl-batch")
        defer { namespace.remove() }
        let recorder = RecordingTransport(try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace.name), receiveTimeout: .seconds(5)))
        let connection = NetlinkConnection(transport: recorder)
        let results = try connection.requests([
            NetlinkRequest(type: 0x13, payload: try Self.policyPayload(lastOctet: 1), operation: "add policy to 127.0.0.1"),
            NetlinkRequest(type: 0x13, payload: try Self.policyPayload(lastOctet: 2), operation: "add policy to 127.0.0.2"),
        ])
        #expect(recorder.sent.count == 1, "the batch must go out in one send")
        #expect(recorder.sent.first?.count == 2)
        #expect(results == [.success([]), .success([])])

        let policies = try connection.dump(type: 0x15)
        #expect(policies.count == 2)
        #expect(Set(policies.map { $0.payload[3] }) == [1, 2])
        #expect(policies.allSatisfy { $0.type == 0x13 && $0.header.portID == connection.portID })

        // The same policy again: EEXIST, with the kernel's answer for that request only.
        let again = try connection.requests([
            NetlinkRequest(type: 0x13, payload: try Self.policyPayload(lastOctet: 3)),
            NetlinkRequest(type: 0x13, payload: try Self.policyPayload(lastOctet: 1), operation: "add policy to 127.0.0.1"),
        ])
        #expect(again[0] == .success([]))
        guard case .failure(let error) = again[1] else { Issue.record("expected EEXIST"); return }
        #expect(error.errno == .fileExists && error.kind == .rejected)
    }

    @Test("changes in a batch go without NLM_F_ACK but the last: the kernel answers the refusals and one ACK, in order")
    func quietChanges() throws {
        try requireRoot()
        let namespace = try TemporaryNamespace("nl-quiet")
        defer { namespace.remove() }
        let recorder = RecordingTransport(try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace.name), receiveTimeout: .seconds(5)))
        let connection = NetlinkConnection(transport: recorder)
        let octets: [UInt8] = [1, 2, 1, 3, 4]  // the third is the first again: EEXIST
        let results = try connection.requests(
            try octets.map {
                NetlinkRequest(.change, type: 0x13, payload: try Self.policyPayload(lastOctet: $0), operation: "add policy to 127.0.0.\($0)")
            })
        #expect(recorder.sent.count == 1 && recorder.sent[0].count == 5)
        #expect(recorder.sent[0].map { $0.flags.contains(.acknowledge) } == [false, false, false, false, true])
        #expect(recorder.receptions == 2, "one datagram for the refusal, one for the last change's ACK")
        #expect(results[0] == .success([]) && results[1] == .success([]) && results[3] == .success([]) && results[4] == .success([]))
        guard case .failure(let error) = results[2] else { Issue.record("expected EEXIST for the third"); return }
        #expect(error.errno == .fileExists && error.kind == .rejected && error.operation == "add policy to 127.0.0.1")
        #expect(Set(try connection.dump(type: 0x15).map { $0.payload[3] }) == [1, 2, 3, 4])
        // The last change refused: its NACK finishes the batch, and the quiet ones before it.
        let last = try connection.requests(try [5, 4].map { NetlinkRequest(.change, type: 0x13, payload: try Self.policyPayload(lastOctet: $0)) })
        #expect(last[0] == .success([]))
        if case .failure(let e) = last[1] { #expect(e.errno == .fileExists) } else { Issue.record("expected EEXIST for the last") }
    }

    @Test("XFRM_MSG_NEWSA with proto esp (§4.3 bytes, proto 50) is refused: EPROTONOSUPPORT, \"Requested type not found\"")
    func espRefused() throws {
        try requireRoot()
        let namespace = try TemporaryNamespace("nl-esp")
        defer { namespace.remove() }
        let connection = try NetlinkConnection(namespace: .named(namespace.name))
        var payload = try #require(try NetlinkMessage.split(Golden.newSA).first).payload
        #expect(payload[0x4c] == 51)  // id.proto at 0x05c of the message: AH
        payload[0x4c] = 50  // ESP
        let error = #expect(throws: NetlinkRequestError.self) {
            try connection.request(type: 0x10, payload: payload, operation: "add SA")
        }
        #expect(error?.kind == .rejected)
        #expect(error?.errno == .protocolNotSupported)
        #expect(error?.message == "Requested type not found")
        #expect(error?.reply?.isCapped == true, "NetlinkSocket sets NETLINK_CAP_ACK: the NACK echoes only the header")
        #expect(error?.reply?.request.length == 376)
    }

    @Test("a monitor that joined XFRMNLGRP_POLICY sees a policy another connection added")
    func monitorSeesPolicy() throws {
        try requireRoot()
        let namespace = try TemporaryNamespace("nl-monitor")
        defer { namespace.remove() }
        let monitor = try NetlinkConnection(namespace: .named(namespace.name))
        try monitor.join(group: 4)  // XFRMNLGRP_POLICY
        let writer = try NetlinkConnection(namespace: .named(namespace.name))
        try writer.request(type: 0x13, payload: try Self.policyPayload(lastOctet: 7))
        guard case .message(let message, let group) = try monitor.nextNotification() else {
            Issue.record("expected a notification")
            return
        }
        #expect(group == 4 && message.type == 0x13 && message.payload[3] == 7)
    }
}

/// A transport that records every datagram it sends, over a real one.
final class RecordingTransport: NetlinkTransport {
    let base: any NetlinkTransport
    private(set) var sent: [[NetlinkMessage]] = []
    /// The receptions (datagrams or overflows) so far.
    private(set) var receptions = 0
    init(_ base: any NetlinkTransport) { self.base = base }
    var portID: UInt32 { base.portID }
    func send(messages: [NetlinkMessage]) throws {
        sent.append(messages)
        try base.send(messages: messages)
    }
    func receiveMessages() throws -> NetlinkReception {
        receptions += 1
        return try base.receiveMessages()
    }
    func join(group: UInt32) throws { try base.join(group: group) }
    func leave(group: UInt32) throws { try base.leave(group: group) }
}

// MARK: - Helpers

private func requireRoot(sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(
        getuid() == 0,
        "these tests need root: they create network namespaces (ip netns add) and enter them (setns); run `swift test` as root",
        sourceLocation: sourceLocation)
}
