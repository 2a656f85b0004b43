import IPsecModel
import NetlinkTestSupport
import Resolver
import Testing
import XfrmNetlink

/// `salabel status --watch`'s loop (`StatusWatch`) on a fake kernel (`ModelKernel`, MirrorSyncTests):
/// a snapshot after the first dump, a change per notification, and after a loss a stale line, a
/// resynchronized line and a fresh snapshot — never silently stale (Specs/manager/status.md).
@Suite struct StatusWatchTests {
    static let a = IPAddress("10.0.0.1")!, b = IPAddress("10.0.0.2")!
    static func sa(_ spi: UInt32) -> SecurityAssociation { SecurityAssociation(source: a, destination: b, spi: spi, reqid: 1) }
    static let policy = PolicyEntry(
        selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b)), direction: .out,
        templates: [PolicyTemplate(source: a, destination: b)])

    /// Runs the watch until it has printed `expected` outputs (or 500 loop turns have passed), acting
    /// on each output with `react`. The fake socket fails a receive when nothing is queued, so the
    /// watch must stop as soon as what the test queued has been read.
    static func watch(_ kernel: ModelKernel, expected: Int, react: (Int, StatusOutput) -> Void) throws -> [StatusOutput] {
        var outputs: [StatusOutput] = []
        var turns = 0
        let watch = StatusWatch(netns: nil, labelCheck: .unchecked(reason: "test"), verdict: { _ in .unchecked }) { kernel.feed() }
        try watch.run(
            watching: true,
            while: {
                turns += 1; return turns < 500 && outputs.count < expected
            }
        ) { output in
            outputs.append(output)
            react(outputs.count, output)
            return true
        }
        return outputs
    }

    @Test func changesFollowTheSnapshot() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100)], policies: [Self.policy])
        let outputs = try Self.watch(kernel, expected: 3) { n, _ in
            if n == 1 { kernel.notify(kernel.add(Self.sa(0x101)), kernel.delete(Self.sa(0x100))) }
        }
        try #require(outputs.count == 3)
        guard case .snapshot(let first) = outputs[0] else { Issue.record("no snapshot first"); return }
        #expect(first.sas.map(\.sa.spi) == [0x100] && first.sas[0].installer == .beforeStatusStarted)
        guard case .change(let added) = outputs[1], case .change(let deleted) = outputs[2] else { Issue.record("\(outputs)"); return }
        #expect(added.eventName == "XFRM_MSG_NEWSA" && added.line.contains("rekey of spi 0x00000100"), "\(added.line)")
        #expect(deleted.eventName == "XFRM_MSG_DELSA")
    }

    @Test func aLossIsSaidAndFollowedByAFreshSnapshot() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100)], policies: [Self.policy])
        let outputs = try Self.watch(kernel, expected: 4) { n, _ in
            guard n == 1 else { return }
            kernel.delete(Self.sa(0x100))  // lost
            kernel.add(Self.sa(0x103))  // lost
            kernel.socket.inject(.overflow)
        }
        try #require(outputs.count == 4, "\(outputs)")
        guard case .change(let stale) = outputs[1], case .change(let back) = outputs[2], case .snapshot(let fresh) = outputs[3] else {
            Issue.record("\(outputs)")
            return
        }
        #expect(stale.eventName == "ENOBUFS")
        #expect(stale.line == "stale: notifications were lost (ENOBUFS); resynchronizing (a fresh dump follows)")
        #expect(back.line == "resynchronized after notifications were lost (ENOBUFS): 1 SAs, 1 SPD entries")
        #expect(back.json["change"] as? String == "resynchronized")
        #expect(fresh.mirrorStatus == .synchronized)
        #expect(fresh.sas.map(\.sa.spi) == [0x103])
        #expect(kernel.sockets.count == 2)
    }
}
