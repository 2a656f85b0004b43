import DecisionEngine
import IPsecModel
import SecurityContexts
import Testing
import XfrmManager

/// `XfrmBatch` over the in-memory kernel (the real kernel: XfrmCLITests): a batch is a
/// transaction unless told to go on; a failure anywhere restores the state before it, including
/// what a flush removed; the report says what took effect; a kernel that drops labels is caught by
/// reading one back (Specs/manager/batch.md).
struct XfrmBatchTests {
    static let spd = XfrmManagerTests.spd
    static let client = XfrmManagerTests.client

    static func policy(_ dst: String, label: SecurityContext? = nil) -> PolicyEntry {
        let sel = TrafficSelector(source: IPPrefix("10.0.0.1/32")!, destination: IPPrefix("\(dst)/32")!)
        return PolicyEntry(selector: sel, direction: .out, index: 0, securityContext: label)
    }

    static func commands(_ ops: [XfrmOperation]) -> [XfrmBatch.Command] {
        ops.enumerated().map { XfrmBatch.Command($1, line: $0 + 1) }
    }

    /// The issue's case: line 3 of 7 is refused (EEXIST). Lines 4–7 went out in the same batch and
    /// the kernel carried them out; the transaction takes them and lines 1–2 away again.
    @Test func aRefusedLineUndoesTheWholeFile() throws {
        let existing = Self.policy("10.0.0.3", label: Self.spd)
        let k = SimulatedXfrmKernel(policies: [existing])
        let before = k.policies
        let ops: [XfrmOperation] = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"]
            .map { .addPolicy(Self.policy($0, label: Self.spd)) }
        let report = XfrmBatch(Self.commands(ops)).run(with: try XfrmManagerTests.manager(k))
        #expect(report.failures.map(\.line) == [3])
        #expect(report.effective == 0)
        #expect(report.rollback?.complete == true && report.rollback?.changes == 6)
        #expect(k.policies == before)
        // The engine did check the label: the kernel's refusal says so.
        let failure = try #require(report.failures.first)
        #expect(failure.error.description.contains("the engine allowed setcontext on \(Self.spd)"))
    }

    /// `--continue` is ip -force: what succeeded stays, every failure is reported.
    @Test func continueKeepsWhatSucceeded() throws {
        let k = SimulatedXfrmKernel(policies: [Self.policy("10.0.0.3")])
        let ops: [XfrmOperation] = ["10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.3"].map { .addPolicy(Self.policy($0)) }
        let report = XfrmBatch(Self.commands(ops), mode: .continueOnError).run(with: try XfrmManagerTests.manager(k))
        #expect(report.failures.map(\.line) == [2, 4])
        #expect(report.effective == 2 && report.rollback == nil)
        #expect(k.policies.count == 3)
    }

    /// A flush early in the file is undone from the dump taken before the first command.
    @Test func aFlushIsRestoredFromTheSnapshot() throws {
        let a = Self.policy("10.0.0.8"), b = Self.policy("10.0.0.9", label: Self.spd)
        let sa = XfrmManagerTests.sa(0x100, Self.client)
        let k = SimulatedXfrmKernel(sas: [sa], policies: [a, b])
        let before = (k.sas, Set(k.policies.map(\.selector)))
        let ops: [XfrmOperation] = [
            .flushPolicy(policyType: 0), .flushSA(.all), .addPolicy(Self.policy("10.0.0.1")),
            .addPolicy(Self.policy("10.0.0.1")),
        ]
        let report = XfrmBatch(Self.commands(ops)).run(with: try XfrmManagerTests.manager(k))
        #expect(report.failures.map(\.line) == [4])
        #expect(report.rollback?.complete == true)
        #expect(k.sas == before.0)
        #expect(Set(k.policies.map(\.selector)) == before.1)
        #expect(k.policies.contains { $0.securityContext == Self.spd })
    }

    /// A denial by the engine stops the transaction before its run is sent, and earlier runs are undone.
    @Test func anEngineDenialMidFileUndoesEarlierRuns() throws {
        let k = SimulatedXfrmKernel(policies: [Self.policy("10.0.0.50")])
        let unlabeledT = XfrmManagerTests.unlabeledT
        let ops: [XfrmOperation] = [
            .addPolicy(Self.policy("10.0.0.1")),
            .deletePolicy(.selector(Self.policy("10.0.0.50").selector, .out, securityContext: nil), mark: nil, policyType: 0, interfaceID: nil),
            .addPolicy(Self.policy("10.0.0.2", label: unlabeledT)),
        ]
        let report = XfrmBatch(Self.commands(ops)).run(with: try XfrmManagerTests.manager(k))
        #expect(report.failures.map(\.line) == [3])
        guard case .denied(let auths) = report.failures[0].error else { Issue.record("expected a denial"); return }
        #expect(auths.first?.record?.description.contains("denied  { setcontext }") == true)
        #expect(k.policies.map(\.selector) == [Self.policy("10.0.0.50").selector])
        #expect(!k.operations.contains(.addPolicy(Self.policy("10.0.0.2", label: unlabeledT))))
    }

    /// Gets and lists answer in the report; a successful batch reports every command effective.
    @Test func answersAndCounts() throws {
        let k = SimulatedXfrmKernel()
        let ops: [XfrmOperation] = [.addPolicy(Self.policy("10.0.0.1", label: Self.spd)), .listPolicies(XfrmFilter())]
        let report = XfrmBatch(Self.commands(ops)).run(with: try XfrmManagerTests.manager(k))
        #expect(report.succeeded && report.effective == 1 && report.total == 2)
        guard case .policies(let listed)? = report.answers.first?.result else { Issue.record("no list answer"); return }
        #expect(listed.count == 1)
    }

    /// A kernel that accepts labels and stores none (no xfrm security module): the batch fails,
    /// names the label, and leaves nothing; with --continue the labeled lines fail and the
    /// unlabeled ones stay.
    @Test func droppedLabelsAreCaughtAndUndone() throws {
        let inner = SimulatedXfrmKernel()
        let k = LabelDroppingKernel(inner)
        let ops: [XfrmOperation] = [
            .addPolicy(Self.policy("10.0.0.1")), .addPolicy(Self.policy("10.0.0.2", label: Self.spd)),
            .addPolicy(Self.policy("10.0.0.3", label: Self.spd)),
        ]
        let manager = XfrmManager(kernel: k, authorizer: nil, subject: XfrmManagerTests.mgmt)
        let report = XfrmBatch(Self.commands(ops)).run(with: manager)
        #expect(!report.succeeded)
        #expect(report.failures.first?.error.description.contains("stored none") == true)
        #expect(report.failures.first?.error.description.contains(Self.spd.description) == true)
        #expect(inner.policies.isEmpty)
        let manager2 = XfrmManager(kernel: k, authorizer: nil, subject: XfrmManagerTests.mgmt)
        let kept = XfrmBatch(Self.commands(ops), mode: .continueOnError).run(with: manager2)
        #expect(kept.failures.map(\.line) == [2, 3] && kept.effective == 1)
        #expect(inner.policies.map(\.selector) == [Self.policy("10.0.0.1").selector])
        // The manager now knows: a later labeled change is refused before it is sent.
        let sent = inner.operations.count
        #expect(throws: XfrmManagerError.self) { try manager2.perform(.addPolicy(Self.policy("10.0.0.4", label: Self.spd))) }
        #expect(inner.operations.count == sent)
    }
}

/// A kernel without an xfrm security module, as far as labels go: it accepts a context on an add
/// and stores none, and turns the label of a lookup into none (Specs/manager/batch.md).
final class LabelDroppingKernel: XfrmKernel {
    let inner: SimulatedXfrmKernel
    init(_ inner: SimulatedXfrmKernel) { self.inner = inner }

    func perform(_ op: XfrmOperation) throws(XfrmKernelError) -> XfrmResult {
        switch op {
        case .addSA(var sa): sa.securityContext = nil; return try inner.perform(.addSA(sa))
        case .addPolicy(var p): p.securityContext = nil; return try inner.perform(.addPolicy(p))
        case .getPolicy(.selector(let s, let d, _), let m, let t, let i):
            return try inner.perform(.getPolicy(.selector(s, d, securityContext: nil), mark: m, policyType: t, interfaceID: i))
        case .deletePolicy(.selector(let s, let d, _), let m, let t, let i):
            return try inner.perform(.deletePolicy(.selector(s, d, securityContext: nil), mark: m, policyType: t, interfaceID: i))
        default: return try inner.perform(op)
        }
    }

    var securityModuleSummary: String? { "no security module (test kernel)" }
}

/// The batch tokenizer's fast path (plain words, whole quoted words) against the general one,
/// on random lines over the characters that matter (quotes, backslash, `#`, white space).
struct BatchTokenizerTests {
    /// Numbers are read from a word's bytes; what they accept is what Swift's own `UInt32(_:)` and
    /// `UInt32(_:radix: 16)` after `0x` accept (the parser's reading before it read bytes).
    @Test func numbersReadAsTheStandardLibraryReadsThem() throws {
        let spellings = [
            "0", "7", "4294967295", "4294967296", "0x0", "0xffffffff", "0XFFFFFFFF", "0x100000000", "0x", "0X1g",
            "+5", "-0", "-1", "0x+ff", "0x-1", "007", "1e3", "٣", " 5", "0xaBcD", "99999999999999999999", "",
        ]
        for text in spellings {
            let expected: UInt32? = text.hasPrefix("0x") || text.hasPrefix("0X") ? UInt32(text.dropFirst(2), radix: 16) : UInt32(text)
            let words = ["policy", "add", "src", "10.0.0.1", "dst", "10.0.0.2", "dir", "out", "priority", text]
            let parsed = try? IPXfrmSyntax.parse(words: words)
            if case .addPolicy(let p) = parsed {
                #expect(p.priority == expected, "'\(text)'")
            } else {
                #expect(expected == nil, "'\(text)' refused, Swift reads \(String(describing: expected))")
            }
        }
    }

    @Test func theFastPathSplitsAsTheGeneralOne() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "b", "1", ".", "/", ":", " ", " ", "\t", "\"", "'", "\\", "#", "é"]
        var fast = 0
        for _ in 0..<20_000 {
            let line = String((0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            guard let plain = IPXfrmSyntax.plainWords(line) else { continue }
            fast += 1
            #expect(plain == (try? IPXfrmSyntax.quotedWords(line)), "line: \(line.debugDescription)")
        }
        #expect(fast > 2_000)
        // A batch file's usual lines take the fast path.
        #expect(IPXfrmSyntax.plainWords(#"ip xfrm policy add src 10.0.0.1/32 dir out ctx "system_u:object_r:ipsec_spd_t:s0" tmpl proto esp"#)?.count == 13)
    }
}

/// A long file is parsed in parts at once (IPXfrmSyntax+Batch.swift): the commands come out in file
/// order with their own line numbers, and the first syntax error by line wins, whichever part finds it.
struct LongBatchParseTests {
    static func file(_ n: Int, badLines: Set<Int> = []) -> String {
        (1...n).map { i in
            if badLines.contains(i) { return "policy add src 10.0.0.1 dst 10.0.0.2 dir sideways" }
            if i % 97 == 0 { return "# a comment" }
            return "policy add src 10.\(i / 65536).\(i / 256 % 256).\(i % 256)/32 dst 10.200.0.1/32 dir out"
        }.joined(separator: "\n")
    }

    @Test func commandsKeepFileOrderAndLines() throws {
        let batch = try IPXfrmSyntax.batch(Self.file(6000))
        let expected = (1...6000).filter { $0 % 97 != 0 }
        #expect(batch.lines == expected)
        for (op, line) in zip(batch.operations, batch.lines) {
            guard case .addPolicy(let p) = op else { Issue.record("line \(line): not a policy add"); return }
            #expect(p.selector.source.address == IPAddress("10.\(line / 65536).\(line / 256 % 256).\(line % 256)"))
        }
    }

    @Test func theFirstSyntaxErrorByLineWins() throws {
        for bad in [[5999], [4000, 5990], [17, 5999], [2999, 3001]] {
            #expect {
                _ = try IPXfrmSyntax.batch(Self.file(6000, badLines: Set(bad)))
            } throws: { error in
                (error as? IPXfrmSyntaxError)?.line == bad.min()
            }
        }
    }
}
