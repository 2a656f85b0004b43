// The request state machine without I/O: every outcome, the strangers it must ignore, batches.

import NetlinkProtocol
import NetlinkTestSupport
import Testing

@Suite("Netlink exchange state machine")
struct ExchangeTests {
    let port = Golden.portID
    /// Builds answers (the fake kernel's helpers are pure).
    let kernel = FakeNetlinkKernel(portID: Golden.portID) { _, _ in [] }

    func policyRequest() throws -> NetlinkRequest {
        let message = try #require(try NetlinkMessage.split(Golden.newPolicy).first)
        return NetlinkRequest(type: 0x13, payload: message.payload, operation: "add policy")
    }

    func messages(_ deliveries: [FakeNetlinkKernel.Delivery]) -> [NetlinkMessage] {
        deliveries.flatMap { delivery -> [NetlinkMessage] in
            if case .datagram(let datagram) = delivery { return datagram.messages }
            return []
        }
    }

    @Test("a request is sent with REQUEST|ACK and its sequence number; a dump with REQUEST|DUMP and no ACK")
    func requestMessage() throws {
        let exchange = NetlinkExchange(try policyRequest(), sequence: Golden.sequence, portID: port)
        #expect(exchange.message.encoded() == Golden.newPolicy)
        #expect(exchange.sequence == Golden.sequence && !exchange.isFinished)
        let dump = NetlinkExchange(NetlinkRequest(.dump, type: 0x15), sequence: Golden.sequence, portID: port)
        #expect(dump.message.encoded() == Golden.getPolicy)
        let exclusive = NetlinkRequest(type: 0x13, flags: [.create, .exclusive])
        #expect(exclusive.effectiveFlags == [.request, .acknowledge, .create, .exclusive])
    }

    @Test("the captured ACK (§4.2) finishes the §4.1 request: acknowledged, no replies")
    func capturedAck() throws {
        var exchange = NetlinkExchange(try policyRequest(), sequence: Golden.sequence, portID: port)
        let ack = try #require(try NetlinkMessage.split(Golden.ack).first)
        #expect(exchange.consume(ack) == .finished(.acknowledged([])))
        #expect(exchange.result == .success([]))
        #expect(exchange.consume(ack) == .ignored(.afterCompletion))
        #expect(exchange.ignoredCount == 1)
    }

    @Test("the captured NACK (§4.4) finishes the §4.3 request: rejected, EPROTONOSUPPORT, the kernel's text")
    func capturedNack() throws {
        let newSA = try #require(try NetlinkMessage.split(Golden.newSA).first)
        var exchange = NetlinkExchange(NetlinkRequest(type: 0x10, payload: newSA.payload, operation: "add SA"), sequence: Golden.sequence, portID: port)
        #expect(exchange.message == newSA)
        let nack = try #require(try NetlinkMessage.split(Golden.nack).first)
        guard case .finished(.rejected(let error)) = exchange.consume(nack) else {
            Issue.record("expected a rejection, got \(String(describing: exchange.outcome))")
            return
        }
        #expect(error.errno == .protocolNotSupported)
        let failure = try #require(exchange.result.flatMap { if case .failure(let e) = $0 { e } else { nil } })
        #expect(failure.kind == .rejected && failure.errno == .protocolNotSupported)
        #expect(failure.message == "Requested type not found" && failure.offset == nil)
        #expect(failure.operation == "add SA" && failure.type == 0x10 && failure.sequence == Golden.sequence)
        #expect(failure.description == "netlink: add SA (seq 1511653377): Protocol not supported (EPROTONOSUPPORT): Requested type not found")
    }

    @Test("a GET answers with a reply, then the ACK")
    func singleReply() throws {
        var exchange = NetlinkExchange(NetlinkRequest(type: 0x15, payload: [1, 2, 3, 4]), sequence: 5, portID: port)
        let reply = kernel.reply(to: exchange.message, payload: [9, 9, 9, 9])
        #expect(exchange.consume(reply) == .reply)
        #expect(exchange.consume(kernel.ack(exchange.message)) == .finished(.acknowledged([reply])))
    }

    @Test("a dump collects its parts until NLMSG_DONE")
    func dump() throws {
        var exchange = NetlinkExchange(NetlinkRequest(.dump, type: 0x15), sequence: 6, portID: port)
        let answer = messages(kernel.dump(exchange.message, type: 0x13, payloads: [[1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0]]))
        #expect(answer.count == 4)
        for part in answer.dropLast() { #expect(exchange.consume(part) == .dumpPart(interrupted: false)) }
        #expect(exchange.consume(answer[3]) == .finished(.completed(Array(answer[..<3]))))
        #expect(exchange.replies.map(\.type) == [0x13, 0x13, 0x13])
    }

    @Test("NLM_F_DUMP_INTR on a part: the dump is read to its end, then reported interrupted (EINTR)")
    func dumpInterrupted() throws {
        var exchange = NetlinkExchange(NetlinkRequest(.dump, type: 0x15), sequence: 7, portID: port)
        let answer = messages(kernel.dump(exchange.message, payloads: [[1, 0, 0, 0]], interrupted: true))
        #expect(exchange.consume(answer[0]) == .dumpPart(interrupted: true))
        #expect(exchange.sawDumpInterrupted)
        #expect(exchange.consume(answer[1]) == .finished(.dumpInterrupted([answer[0]])))
        guard case .failure(let error) = exchange.result else { Issue.record("expected a failure"); return }
        #expect(error.kind == .dumpInterrupted(attempts: 1) && error.errno == .interrupted)
    }

    @Test("NLMSG_DONE with an errno: the dump failed")
    func dumpFailed() throws {
        var exchange = NetlinkExchange(NetlinkRequest(.dump, type: 0x15), sequence: 8, portID: port)
        let done = kernel.done(exchange.message, code: -12, message: "out of memory")
        #expect(exchange.consume(done) == .finished(.dumpFailed(NetlinkDone(code: -12, extendedAck: ExtendedAck(message: "out of memory")))))
        guard case .failure(let error) = exchange.result else { Issue.record("expected a failure"); return }
        #expect(error.kind == .dumpFailed && error.errno == .noMemory && error.message == "out of memory")
    }

    @Test("a NACK for a dump, NLMSG_OVERRUN, and a malformed NLMSG_ERROR end the exchange")
    func otherEnds() throws {
        var dump = NetlinkExchange(NetlinkRequest(.dump, type: 0x15), sequence: 9, portID: port)
        let nack = kernel.nack(dump.message, .permissionDenied)
        #expect(dump.consume(nack) == .finished(.rejected(try NetlinkError(decoding: nack))))

        var overrun = NetlinkExchange(NetlinkRequest(type: 0x13), sequence: 10, portID: port)
        #expect(overrun.consume(NetlinkMessage(type: .overrun, sequence: 10, portID: port)) == .finished(.overrun))
        if case .failure(let error) = overrun.result { #expect(error.kind == .overrun && error.errno == .noBufferSpace) }

        var malformed = NetlinkExchange(NetlinkRequest(type: 0x13), sequence: 11, portID: port)
        let short = NetlinkMessage(type: .error, sequence: 11, portID: port, payload: [0, 0, 0, 0])
        #expect(malformed.consume(short) == .finished(.malformed(NetlinkDecodingError(.truncatedErrorMessage(available: 4), at: 0))))
        if case .failure(let error) = malformed.result { #expect(error.errno == .badMessage) }
    }

    @Test("strangers are ignored and counted: wrong sequence, wrong port id, another sender, multicast, NOOP")
    func strangers() throws {
        var exchange = NetlinkExchange(try policyRequest(), sequence: 12, portID: port)
        var reasons: [NetlinkIgnoredReason] = []
        for delivery in kernel.strangers(for: exchange.message, multicastGroup: 4) {
            guard case .datagram(let datagram) = delivery else { continue }
            for message in datagram.messages {
                guard case .ignored(let reason) = exchange.consume(message, from: datagram.sender) else {
                    Issue.record("a stranger was taken: \(message)")
                    continue
                }
                reasons.append(reason)
            }
        }
        #expect(
            reasons == [
                .sequenceMismatch(received: 1012), .portMismatch(expected: port, received: port + 1),
                .notFromKernel(senderPortID: 777), .multicast(group: 4), .noop,
            ])
        #expect(exchange.ignoredCount == 5 && exchange.replies.isEmpty && !exchange.isFinished)
        #expect(exchange.consume(kernel.ack(exchange.message)) == .finished(.acknowledged([])))
    }

    @Test("a batch routes answers by sequence number, in any order, and finishes when all are answered")
    func batch() throws {
        var numbers = NetlinkSequenceNumbers(first: 100)
        var batch = NetlinkBatchExchange(
            [NetlinkRequest(type: 0x13), NetlinkRequest(type: 0x13), NetlinkRequest(.dump, type: 0x15)],
            sequenceNumbers: &numbers, portID: port)
        #expect(batch.messages.map(\.header.sequence) == [100, 101, 102])
        #expect(numbers.upcoming == 103)
        let requests = batch.messages
        let dumpAnswer = messages(kernel.dump(requests[2], payloads: [[7, 7, 7, 7]]))
        #expect(batch.consume(dumpAnswer[0]).index == 2)
        #expect(batch.consume(kernel.nack(requests[1], .fileExists)).index == 1)
        #expect(batch.consume(NetlinkMessage(type: .error, sequence: 99, portID: port)).step == .ignored(.sequenceMismatch(received: 99)))
        #expect(!batch.isFinished)
        #expect(batch.consume(kernel.ack(requests[0])).step == .finished(.acknowledged([])))
        #expect(batch.consume(dumpAnswer[1]).step == .finished(.completed([dumpAnswer[0]])))
        #expect(batch.isFinished && batch.ignoredCount == 1)
        let results = batch.exchanges.map(\.result)
        #expect(results[0] == .success([]))
        if case .failure(let error) = results[1] { #expect(error.errno == .fileExists) } else { Issue.record("expected EEXIST") }
        #expect(results[2] == .success([dumpAnswer[0]]))
    }

    @Test("quiet changes: sent without NLM_F_ACK except the last; a later answer finishes them as acknowledged")
    func quietChanges() throws {
        var numbers = NetlinkSequenceNumbers(first: 200)
        var batch = NetlinkBatchExchange(
            [
                NetlinkRequest(.change, type: 0x13), NetlinkRequest(.change, type: 0x13), NetlinkRequest(type: 0x15),
                NetlinkRequest(.change, type: 0x13), NetlinkRequest(.change, type: 0x13),
            ],
            sequenceNumbers: &numbers, portID: port)
        let requests = batch.messages
        #expect(requests.map { $0.flags.contains(.acknowledge) } == [false, false, true, false, true])
        #expect(batch.exchanges.map(\.isQuiet) == [true, true, false, true, false])
        // The kernel refuses the second; answers the GET (a reply, then its ACK); the last's ACK.
        if case .finished(.rejected(let e)) = batch.consume(kernel.nack(requests[1], .fileExists)).step {
            #expect(e.errno == .fileExists)
        } else {
            Issue.record("expected the second refused")
        }
        #expect(batch.exchanges[0].outcome == .acknowledged([]), "answered after it: passed")
        #expect(!batch.exchanges[3].isFinished)
        let reply = NetlinkMessage(type: 0x13, sequence: requests[2].header.sequence, portID: port, payload: [1, 2, 3, 4])
        #expect(batch.consume(reply).step == .reply)
        #expect(batch.consume(kernel.ack(requests[2])).step == .finished(.acknowledged([reply])))
        #expect(!batch.isFinished && !batch.exchanges[3].isFinished)
        #expect(batch.consume(kernel.ack(requests[4])).step == .finished(.acknowledged([])))
        #expect(batch.isFinished && batch.exchanges[3].outcome == .acknowledged([]))
        // A change alone is sent with NLM_F_ACK.
        let alone = NetlinkBatchExchange([NetlinkRequest(.change, type: 0x13)], sequenceNumbers: &numbers, portID: port)
        #expect(alone.messages[0].flags.contains(.acknowledge) && !alone.exchanges[0].isQuiet)
    }

    @Test("sequence numbers never give 0, and wrap")
    func sequenceNumbers() {
        var numbers = NetlinkSequenceNumbers(first: .max - 1)
        #expect([numbers.next(), numbers.next(), numbers.next()] == [.max - 1, .max, 1])
        var zero = NetlinkSequenceNumbers(first: 0)
        #expect(zero.next() == 1)
    }
}
