import DecisionEngine
import Foundation
import IPsecModel
import SecurityContexts
import Testing
@testable import XfrmManager

/// What `salabel xfrm` prints of the manager's answers (`XfrmFormatter+Results`): results as text
/// and JSON, refusals as JSON, a batch's failure headings and last line, and a policy listing
/// written in parts as the dump is read.
struct XfrmResultFormatTests {
    static func jsonText(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func resultsAsTextAndJSON() throws {
        let words = "state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x100 aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128"
        guard case .addSA(let sa) = try IPXfrmSyntax.parse(words: words.split(separator: " ").map(String.init)) else {
            Issue.record("not an SA")
            return
        }
        let p = XfrmBatchTests.policy("10.0.0.2", label: XfrmManagerTests.spd)
        #expect(XfrmFormatter.text(XfrmResult.done).isEmpty)
        #expect(try Self.jsonText(XfrmFormatter.json(XfrmResult.done)) == #"{"ok":true}"#)
        #expect(XfrmFormatter.text(.sa(sa)) == XfrmFormatter.text(sa))
        #expect(XfrmFormatter.text(.sas([sa, sa])) == XfrmFormatter.text(sa) + "\n" + XfrmFormatter.text(sa))
        #expect(XfrmFormatter.text(.policy(p)) == XfrmFormatter.text(p))
        #expect(XfrmFormatter.text(.policies([p, p])) == XfrmFormatter.text([p, p]))
        // Keys only when asked for, in text and in JSON.
        #expect(XfrmFormatter.text(.sa(sa)).contains("<key redacted>"))
        #expect(!XfrmFormatter.text(.sa(sa), showKeys: true).contains("<key redacted>"))
        #expect(try Self.jsonText(XfrmFormatter.json(.sa(sa))) == Self.jsonText(XfrmFormatter.json(sa)))
        #expect(try Self.jsonText(XfrmFormatter.json(.sas([sa]), showKeys: true)) == Self.jsonText([XfrmFormatter.json(sa, showKeys: true)]))
        #expect(try Self.jsonText(XfrmFormatter.json(.policies([p]))) == Self.jsonText([XfrmFormatter.json(p)]))
        #expect(try Self.jsonText(XfrmFormatter.json(.policy(p))) == Self.jsonText(XfrmFormatter.json(p)))
    }

    /// A refusal by the engine carries its AVC record; the kernel's refusal none.
    @Test func refusalsAsJSON() throws {
        let k = SimulatedXfrmKernel()
        let manager = try XfrmManagerTests.manager(k, subject: XfrmManagerTests.client)
        let op = XfrmOperation.addPolicy(XfrmBatchTests.policy("10.0.0.2", label: XfrmManagerTests.spd))
        do {
            _ = try manager.perform(op)
            Issue.record("the engine should refuse a client setting the SPD label")
        } catch {
            let o = XfrmFormatter.json(error)
            #expect(o["error"] as? String == error.description)
            let avc = try #require(o["avc"] as? [String])
            #expect(avc.count == 1 && avc[0].contains("denied  { setcontext }"))
        }
    }

    @Test func batchHeadingsAndSummaries() throws {
        let error = XfrmManagerError.kernel(.init(errno: 17), authorizations: [])
        var report = XfrmBatchReport(total: 4, effective: 0, failures: [], rollback: nil, answers: [], authorizations: [])
        #expect(XfrmFormatter.heading(XfrmBatchFailure(index: 2, line: 3, error: error), total: 4) == "command 3 of 4 (line 3):")
        #expect(XfrmFormatter.heading(XfrmBatchFailure(index: 0, line: 0, error: error), total: 4) == "command 1 of 4:")
        #expect(
            XfrmFormatter.heading(XfrmBatchFailure(index: nil, line: 0, error: error), total: 4)
                == "before the first command, the state to restore on failure could not be read:")
        report.effective = 4
        #expect(XfrmFormatter.summary(report) == "4 of 4 command(s) took effect")
        report.effective = 0
        report.rollback = XfrmBatchRollback(changes: 0, errors: [])
        #expect(XfrmFormatter.summary(report) == "0 of 4 command(s) took effect; nothing had changed")
        report.rollback = XfrmBatchRollback(changes: 2, errors: [])
        #expect(XfrmFormatter.summary(report) == "0 of 4 command(s) took effect; the state before the batch was restored (2 change(s) undone)")
        report.rollback = XfrmBatchRollback(changes: 2, errors: [.init(errno: 2)])
        #expect(
            XfrmFormatter.summary(report)
                == "0 of 4 command(s) took effect; restoring the state before the batch failed for 1 of 2 change(s), the kernel now differs from before: "
                + XfrmKernelError(errno: 2).description)
        report.failures = [XfrmBatchFailure(index: 2, line: 3, error: error)]
        #expect(
            try Self.jsonText(XfrmFormatter.json(report))
                == #"{"effective":0,"failed":1,"rollbackComplete":false,"rolledBack":true,"total":4}"#)
        report.rollback = nil
        #expect(try Self.jsonText(XfrmFormatter.json(report)) == #"{"effective":0,"failed":1,"rollbackComplete":true,"rolledBack":false,"total":4}"#)
    }

    /// The listing is the same text as the formatter's, whatever the part size; a dump the kernel
    /// fails gives nothing.
    @Test func policyTextInParts() throws {
        let entries = (1...40).map { XfrmBatchTests.policy("10.0.1.\($0)", label: $0 % 2 == 0 ? XfrmManagerTests.spd : nil) }
        let manager = try XfrmManagerTests.manager(SimulatedXfrmKernel(policies: entries))
        let whole = XfrmFormatter.text(entries) + "\n"
        for partSize in [1, 100, 1000, 1 << 20] {
            let parts = try manager.policyText(matching: XfrmFilter(), partSize: partSize)
            #expect(String(decoding: parts.joined(), as: UTF8.self) == whole)
            if partSize == 1 { #expect(parts.count == entries.count + 1 && parts.last?.isEmpty == true) }
        }
        let empty = try XfrmManagerTests.manager(SimulatedXfrmKernel()).policyText(matching: XfrmFilter())
        #expect(empty == [[]])
    }
}
