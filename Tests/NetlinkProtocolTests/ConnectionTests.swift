// NetlinkConnection over the fake kernel: each scripted behavior of the kernel.

import NetlinkProtocol
import NetlinkSocket
import NetlinkTestSupport
import Testing

@Suite("NetlinkConnection over a fake kernel")
struct ConnectionTests {
    static func connection(_ kernel: FakeNetlinkKernel, first: UInt32 = 1000) -> NetlinkConnection {
        NetlinkConnection(transport: kernel, firstSequence: first, trace: nil)
    }

    @Test("a request is sent once with REQUEST|ACK and returns when ACKed")
    func ack() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in [.messages([kernel.ack(request)])] }
        let connection = Self.connection(kernel)
        #expect(try connection.request(type: 0x13, flags: [.create, .exclusive], payload: [1, 2, 3, 4]) == [])
        #expect(kernel.sentDatagrams.count == 1)
        let sent = kernel.sentMessages[0]
        #expect(sent.header == NetlinkHeader(length: 20, type: 0x13, flags: [.request, .acknowledge, .create, .exclusive], sequence: 1000, portID: 0))
        #expect(try connection.request(type: 0x13) == [])
        #expect(kernel.sentMessages[1].header.sequence == 1001)
    }

    @Test("a NACK throws NetlinkRequestError with the operation, errno, ext-ack text and offset")
    func nack() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in
            [.messages([kernel.nack(request, .protocolNotSupported, message: "Requested type not found", offset: 0x120, capped: false)])]
        }
        let connection = Self.connection(kernel)
        let error = #expect(throws: NetlinkRequestError.self) {
            try connection.request(type: 0x10, payload: [UInt8](repeating: 0, count: 360), operation: "add SA")
        }
        #expect(error?.kind == .rejected)
        #expect(error?.operation == "add SA" && error?.type == 0x10 && error?.sequence == 1000)
        #expect(error?.errno == .protocolNotSupported)
        #expect(error?.message == "Requested type not found" && error?.offset == 0x120)
        #expect(error?.reply?.requestPayload?.count == 360)
        #expect(
            error?.description
                == "netlink: add SA (seq 1000): Protocol not supported (EPROTONOSUPPORT): Requested type not found (attribute at byte 288 of the request)")
    }

    @Test("a GET returns its reply, which comes before the ACK")
    func getReply() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in
            [.messages([kernel.reply(to: request, payload: [5, 5, 5, 5])]), .messages([kernel.ack(request)])]
        }
        let replies = try Self.connection(kernel).request(type: 0x15, payload: [1, 1, 1, 1])
        #expect(replies.map(\.payload) == [[5, 5, 5, 5]])
    }

    @Test("a dump split over several receives returns every part, in order")
    func multipartDump() throws {
        let payloads = (0..<7).map { [UInt8($0), 0, 0, 0] }
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in kernel.dump(request, type: 0x13, payloads: payloads, perDatagram: 3) }
        let parts = try Self.connection(kernel).dump(type: 0x15)
        #expect(parts.map(\.payload) == payloads)
        #expect(parts.allSatisfy { $0.type == 0x13 && $0.flags.contains(.multipart) })
        #expect(kernel.receiveCount == 3)
        #expect(kernel.sentMessages[0].flags == [.request, .dump])
    }

    @Test("a dump interrupted on the first attempt is read to its end and restarted with a new sequence number")
    func dumpInterruptedOnce() throws {
        let kernel = FakeNetlinkKernel.dumpInterruptedOnFirstAttempt(payloads: [[1, 0, 0, 0], [2, 0, 0, 0]])
        let connection = Self.connection(kernel)
        let parts = try connection.dump(type: 0x15)
        #expect(parts.map(\.payload) == [[1, 0, 0, 0], [2, 0, 0, 0]])
        #expect(parts.allSatisfy { !$0.flags.contains(.dumpInterrupted) })
        #expect(kernel.sentMessages.map(\.header.sequence) == [1000, 1001])
        #expect(kernel.queue.isEmpty && connection.ignoredMessageCount == 0)
    }

    @Test("a dump interrupted every time fails after the bounded number of attempts, with EINTR")
    func dumpInterruptedAlways() throws {
        let kernel = FakeNetlinkKernel.dumpInterruptedOnFirstAttempt(payloads: [[1, 0, 0, 0]], interruptedAttempts: .max)
        let error = #expect(throws: NetlinkRequestError.self) { try Self.connection(kernel).dump(type: 0x15, operation: "list policies", maximumAttempts: 3) }
        #expect(error?.kind == .dumpInterrupted(attempts: 3) && error?.errno == .interrupted)
        #expect(error?.description == "netlink: list policies (seq 1002): dump interrupted by concurrent changes 3 times (NLM_F_DUMP_INTR)")
        #expect(kernel.sentDatagrams.count == 3)
    }

    /// The in-place dump: every part handed over as received, in order, the same headers and
    /// payloads the collecting dump returns; nothing kept.
    @Test("a dump read in place hands over every part, in order, as the collecting dump returns them")
    func inPlaceDump() throws {
        let payloads = (0..<7).map { [UInt8($0), 0, 0, UInt8($0 * 3)] }
        func kernel() -> FakeNetlinkKernel {
            FakeNetlinkKernel.eachRequest { request, kernel in kernel.dump(request, type: 0x13, payloads: payloads, perDatagram: 3) }
        }
        let collected = try Self.connection(kernel()).dump(type: 0x15)
        let fake = kernel()
        var parts: [NetlinkMessage] = []
        var restarts = 0
        try Self.connection(fake).dump(type: 0x15, restart: { restarts += 1 }) { header, payload in
            parts.append(NetlinkMessage(received: header, payload: Array(payload)))
        }
        #expect(parts == collected && parts.map(\.payload) == payloads)
        #expect(restarts == 0 && fake.receiveCount == 3)
        #expect(fake.sentMessages[0].flags == [.request, .dump])
    }

    @Test("a dump read in place and interrupted is restarted: the caller hears of it first, then gets every part again")
    func inPlaceDumpInterrupted() throws {
        let kernel = FakeNetlinkKernel.dumpInterruptedOnFirstAttempt(payloads: [[1, 0, 0, 0], [2, 0, 0, 0]])
        let connection = Self.connection(kernel)
        var parts: [[UInt8]] = []
        var restarts = 0
        try connection.dump(
            type: 0x15,
            restart: {
                restarts += 1; parts.removeAll()
            }
        ) { _, payload in parts.append(Array(payload)) }
        #expect(restarts == 1 && parts == [[1, 0, 0, 0], [2, 0, 0, 0]])
        #expect(kernel.sentMessages.map(\.header.sequence) == [1000, 1001])

        let always = FakeNetlinkKernel.dumpInterruptedOnFirstAttempt(payloads: [[1, 0, 0, 0]], interruptedAttempts: .max)
        let error = #expect(throws: NetlinkRequestError.self) {
            try Self.connection(always).dump(type: 0x15, operation: "list policies", maximumAttempts: 3, restart: {}) { _, _ in }
        }
        #expect(error?.kind == .dumpInterrupted(attempts: 3) && error?.errno == .interrupted)
    }

    @Test("a dump read in place: a NACK, strangers, ENOBUFS and malformed datagrams end it as they end the collecting dump")
    func inPlaceDumpFailures() throws {
        let refused = FakeNetlinkKernel.eachRequest { request, kernel in [.messages([kernel.nack(request, .notPermitted)])] }
        let nack = #expect(throws: NetlinkRequestError.self) { try Self.connection(refused).dump(type: 0x15, restart: {}) { _, _ in } }
        #expect(nack?.kind == .rejected && nack?.errno == .notPermitted)

        let crowded = FakeNetlinkKernel.eachRequest { request, kernel in
            kernel.strangers(for: request) + kernel.dump(request, payloads: [[9, 0, 0, 0]])
        }
        let connection = Self.connection(crowded)
        var parts: [[UInt8]] = []
        try connection.dump(type: 0x15, restart: {}) { _, payload in parts.append(Array(payload)) }
        #expect(parts == [[9, 0, 0, 0]] && connection.ignoredMessageCount == 5)

        let overflowing = FakeNetlinkKernel.eachRequest { _, _ in [.overflow] }
        let lost = #expect(throws: NetlinkRequestError.self) { try Self.connection(overflowing).dump(type: 0x15, restart: {}) { _, _ in } }
        #expect(lost?.kind == .receiveQueueOverflow)

        let malformed = FakeNetlinkKernel.eachRequest { _, _ in [.malformed([0x20, 0, 0, 0, 2, 0])] }
        #expect(throws: NetlinkDecodingError(.truncatedHeader(available: 6), at: 0)) {
            try Self.connection(malformed).dump(type: 0x15, restart: {}) { _, _ in }
        }
    }

    @Test("a batch goes out in ONE send and each request gets its own ACK or NACK, in order")
    func batch() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in
            request.payload == [2, 0, 0, 0]
                ? [.messages([kernel.nack(request, .fileExists, message: "exists")])]
                : [.messages([kernel.ack(request)])]
        }
        let requests = (1...3).map { NetlinkRequest(type: 0x13, payload: [UInt8($0), 0, 0, 0], operation: "add policy \($0)") }
        let results = try Self.connection(kernel).requests(requests)
        #expect(kernel.sentDatagrams.count == 1)
        #expect(kernel.sentDatagrams[0].map(\.header.sequence) == [1000, 1001, 1002])
        #expect(results.count == 3)
        #expect(results[0] == .success([]) && results[2] == .success([]))
        guard case .failure(let error) = results[1] else { Issue.record("expected a NACK for the second"); return }
        #expect(error.errno == .fileExists && error.message == "exists" && error.operation == "add policy 2")
    }

    @Test("a large batch is sent in parts that fit the limits")
    func batchParts() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in [.messages([kernel.ack(request)])] }
        let connection = Self.connection(kernel)
        connection.maximumBatchCount = 2
        let results = try connection.requests((0..<5).map { _ in NetlinkRequest(type: 0x13) })
        #expect(results.allSatisfy { $0 == .success([]) })
        #expect(kernel.sentDatagrams.map(\.count) == [2, 2, 1])
        connection.maximumBatchCount = 64
        connection.maximumBatchBytes = 100
        _ = try connection.requests((0..<3).map { _ in NetlinkRequest(type: 0x13, payload: [UInt8](repeating: 0, count: 40)) })
        #expect(kernel.sentDatagrams.suffix(2).map(\.count) == [1, 1] || kernel.sentDatagrams.suffix(3).map(\.count) == [1, 1, 1])
    }

    @Test("strangers interleaved with the answer are ignored and counted, never returned")
    func strangers() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in
            kernel.strangers(for: request) + [.messages([kernel.reply(to: request, payload: [4, 4, 4, 4])])]
                + kernel.strangers(for: request) + [.messages([kernel.ack(request)])]
        }
        let connection = Self.connection(kernel)
        #expect(try connection.request(type: 0x15).map(\.payload) == [[4, 4, 4, 4]])
        #expect(connection.ignoredMessageCount == 10)
        #expect(connection.lastIgnoredReason == .noop)
    }

    @Test("ENOBUFS while waiting: the answer is lost, reported as receiveQueueOverflow; later parts of a batch are not sent")
    func overflowDuringRequest() throws {
        let kernel = FakeNetlinkKernel.eachRequest { _, _ in [.overflow] }
        let connection = Self.connection(kernel)
        let error = #expect(throws: NetlinkRequestError.self) { try connection.request(type: 0x13) }
        #expect(error?.kind == .receiveQueueOverflow && error?.errno == .noBufferSpace)

        connection.maximumBatchCount = 1
        let results = try connection.requests([NetlinkRequest(type: 0x13), NetlinkRequest(type: 0x13)])
        #expect(kernel.sentDatagrams.count == 2)  // the single request, then the first part only
        for result in results {
            guard case .failure(let error) = result else { Issue.record("expected a failure"); continue }
            #expect(error.kind == .receiveQueueOverflow)
        }
    }

    @Test("a malformed datagram fails the call with the framing error; nothing more to read is the transport's timeout")
    func malformedAndTimeout() throws {
        let kernel = FakeNetlinkKernel.eachRequest { _, _ in [.malformed([0x20, 0, 0, 0, 2, 0])] }
        #expect(throws: NetlinkDecodingError(.truncatedHeader(available: 6), at: 0)) { try Self.connection(kernel).request(type: 0x13) }
        let silent = FakeNetlinkKernel.eachRequest { _, _ in [] }
        #expect(throws: FakeNetlinkKernel.NothingToReceive()) { try Self.connection(silent).request(type: 0x13) }
    }

    @Test("monitor: notifications in order, ENOBUFS as an explicit overflow event, unicast leftovers ignored")
    func monitor() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in [.messages([kernel.ack(request)])] }
        let connection = Self.connection(kernel)
        try connection.join(group: 4)
        #expect(kernel.joinedGroups == [4])
        let event = { (n: UInt8) in NetlinkMessage(type: 0x13, payload: [n, 0, 0, 0]) }
        kernel.inject(
            .datagram(NetlinkDatagram([event(1), event(2)], from: NetlinkSender(group: 4))),
            .messages([NetlinkMessage(type: .error, sequence: 5, portID: kernel.portID, payload: [UInt8](repeating: 0, count: 20))]),
            .overflow,
            .datagram(NetlinkDatagram([event(3)], from: NetlinkSender(group: 4))))
        var seen: [NetlinkNotification] = []
        try connection.monitor { notification in
            seen.append(notification)
            return seen.count < 4
        }
        #expect(seen == [.message(event(1), group: 4), .message(event(2), group: 4), .overflow, .message(event(3), group: 4)])
        #expect(connection.ignoredMessageCount == 1)

        // A notification that arrives while a request waits is kept for the monitor.
        let busy = FakeNetlinkKernel.eachRequest { request, kernel in
            [.datagram(NetlinkDatagram([event(9)], from: NetlinkSender(group: 3))), .messages([kernel.ack(request)])]
        }
        let monitored = Self.connection(busy)
        try monitored.join(group: 3)
        try monitored.request(type: 0x13)
        #expect(try monitored.nextNotification() == .message(event(9), group: 3))
        try monitored.leave(group: 3)
        #expect(busy.joinedGroups.isEmpty)
    }

    @Test("the trace shows every message sent and received in libmnl's layout")
    func trace() throws {
        let kernel = FakeNetlinkKernel.eachRequest { request, kernel in [.messages([kernel.ack(request)])] }
        var lines = ""
        let connection = NetlinkConnection(transport: kernel, firstSequence: Golden.sequence, trace: { lines += $0 })
        let newPolicy = try #require(try NetlinkMessage.split(Golden.newPolicy).first)
        try connection.request(type: 0x13, payload: newPolicy.payload)
        #expect(lines.hasPrefix("# salabel netlink: send 1 message from port 123456\n"))
        #expect(lines.contains(NetlinkTrace.format(newPolicy)))
        #expect(lines.contains("# salabel netlink: received 1 message on port 123456 from port 0\n"))
        #expect(lines.contains("| 00002 | ---- |\t|  type | flags  |\n"))
    }
}
