public import DecisionEngine
import IPsecModel
import SecurityContexts

/// A batch file's commands, run against one kernel: `salabel xfrm batch` (Specs/manager/batch.md).
///
/// By default a batch is one transaction, like `salabel apply`: every command must take effect, or
/// the kernel's SAD and SPD are put back as they were before the first one. With
/// ``Mode-swift.enum/continueOnError`` it behaves as `ip -force -batch`: every command is tried,
/// each failure is reported, and what succeeded stays.
///
/// Consecutive adds and updates travel as netlink batches (one datagram carries many requests),
/// after the engine has authorized every label they set; other commands run one at a time, each
/// authorized against the kernel's state at that point.
public struct XfrmBatch: Sendable {
    /// What a failed command does to the rest of the batch.
    public enum Mode: Sendable, Hashable {
        /// All or nothing: the first failure stops the batch and restores the state before it.
        case transaction
        /// `ip -force`: every command is tried; the ones that succeeded stay.
        case continueOnError
    }

    /// One command of the batch and where it came from.
    public struct Command: Sendable, Hashable {
        public var operation: XfrmOperation
        /// 1-based line in the batch file (0 when not from a file).
        public var line: Int

        public init(_ operation: XfrmOperation, line: Int = 0) {
            self.operation = operation
            self.line = line
        }
    }

    /// The operations, in order, and the line each came from (kept apart: the kernel is handed
    /// slices of the operations without a copy).
    public var operations: [XfrmOperation]
    public var lines: [Int]
    public var mode: Mode

    /// The commands, with their lines.
    public var commands: [Command] { zip(operations, lines).map { Command($0, line: $1) } }

    public init(_ commands: [Command], mode: Mode = .transaction) {
        self.init(operations: commands.map(\.operation), lines: commands.map(\.line), mode: mode)
    }

    /// A batch of `operations`; `lines[k]` is the 1-based line of operation `k` (0 when none).
    public init(operations: [XfrmOperation], lines: [Int], mode: Mode = .transaction) {
        precondition(operations.count == lines.count, "one line per operation")
        self.operations = operations
        self.lines = lines
        self.mode = mode
    }

    /// Runs the batch through `manager` and reports what took effect. Never throws: every
    /// failure, and the rollback that followed it, is in the report.
    public func run(with manager: XfrmManager) -> XfrmBatchReport {
        var runner = XfrmBatchRunner(batch: self, manager: manager)
        return runner.run()
    }
}

/// A command that did not take effect, and why.
public struct XfrmBatchFailure: Sendable {
    /// 0-based position of the command in the batch; `nil` when the batch failed before its first
    /// command (the dump of the state to restore could not be taken).
    public var index: Int?
    /// 1-based line in the batch file (0 when not from a file or not tied to a command).
    public var line: Int
    public var error: XfrmManagerError
}

/// What restoring the state before a failed transaction did.
public struct XfrmBatchRollback: Sendable {
    /// How many changes were sent to put the kernel back as it was (deletes of what the batch
    /// added, re-adds of what it removed or replaced).
    public var changes: Int
    /// Restoring changes the kernel refused: the state differs from before by these.
    public var errors: [XfrmKernelError]

    /// Whether the state before the batch was restored entirely.
    public var complete: Bool { errors.isEmpty }
}

/// The outcome of a batch: what took effect, what failed, what was rolled back, and the answers
/// of the commands that ask for something (get, list).
public struct XfrmBatchReport: Sendable {
    /// Number of commands in the batch.
    public var total: Int
    /// Number of commands whose change is in the kernel when the run ends (0 after a rollback).
    public var effective: Int
    public var failures: [XfrmBatchFailure]
    /// Present when a transaction failed and the state before it was restored.
    public var rollback: XfrmBatchRollback?
    /// The answers of gets and lists, with the 0-based position of their command.
    public var answers: [(index: Int, result: XfrmResult)]
    /// Every setcontext check the engine made, with its AVC record when denied.
    public var authorizations: [Authorization]

    /// Whether every command took effect.
    public var succeeded: Bool { failures.isEmpty }
}

/// The state machine behind ``XfrmBatch/run(with:)``.
struct XfrmBatchRunner {
    let batch: XfrmBatch
    let manager: XfrmManager
    var report: XfrmBatchReport
    /// What the kernel held before the first change, when the batch removes or replaces anything
    /// (a transaction restores it after a failure).
    var snapshot: XfrmSnapshot?
    /// The operations of the commands, in order (one copy, handed to the kernel in slices).
    let ops: [XfrmOperation]
    /// Positions of the adds that took effect so far, in order (undone by deletes when no snapshot
    /// was needed).
    var added: [Int] = []
    /// SAs and SPD entries that took effect as updates (restored from the snapshot).
    var updated = XfrmSnapshot.Keys()
    /// The engine's answer per label and operation kind, so a run of adds asks once per label.
    var granted: [SecurityContext: Authorization] = [:]
    var lastAnswer: Authorization?

    init(batch: XfrmBatch, manager: XfrmManager) {
        self.batch = batch
        self.manager = manager
        ops = batch.operations
        report = XfrmBatchReport(total: batch.operations.count, effective: 0, failures: [], rollback: nil, answers: [], authorizations: [])
    }

    mutating func run() -> XfrmBatchReport {
        if batch.mode == .transaction && ops.contains(where: XfrmSnapshot.needsSnapshot) {
            do { snapshot = try XfrmSnapshot.take(of: manager.kernel) } catch {
                report.failures.append(XfrmBatchFailure(index: nil, line: 0, error: .kernel(error, authorizations: [])))
                return report
            }
        }
        var i = 0
        while i < ops.count {
            var j = i
            while j < ops.count && Self.travelsInRun(ops[j]) { j += 1 }
            let ok = j > i ? runOfChanges(i..<j) : single(i)
            if !ok && batch.mode == .transaction {
                rollBack()
                return report
            }
            i = max(j, i + 1)
        }
        return report
    }

    /// Adds and updates: their setcontext checks need no lookup, so a run of them is authorized
    /// whole and then sent together.
    static func travelsInRun(_ op: XfrmOperation) -> Bool {
        switch op {
        case .addSA, .updateSA, .addPolicy, .updatePolicy: return true
        default: return false
        }
    }

    /// Authorizes then sends a run of adds and updates. Returns whether all took effect.
    mutating func runOfChanges(_ range: Range<Int>) -> Bool {
        var allowed: [Int] = []
        allowed.reserveCapacity(range.count)
        var ok = true
        for k in range {
            if let refusal = authorize(ops[k]) {
                fail(k, refusal)
                ok = false
                if batch.mode == .transaction { return false }
            } else {
                allowed.append(k)
            }
        }
        // Usually every command of the run may go: the kernel gets a slice, not a copy.
        let results =
            allowed.count == range.count
            ? manager.kernel.perform(batch: ops[range])
            : manager.kernel.perform(batch: allowed.map { ops[$0] }[...])
        var firstLabeled: Int?
        for (k, result) in zip(allowed, results) {
            switch result {
            case .success:
                tookEffect(k)
                if firstLabeled == nil && XfrmManager.newLabel(ops[k]) != nil { firstLabeled = k }
            case .failure(let e):
                fail(k, .kernel(e, authorizations: authorizations(for: ops[k])))
                ok = false
            }
        }
        // A kernel without an xfrm security module accepts a label and stores none: read one back.
        // If it was dropped, so were the others: each labeled change of the run fails, and (going on
        // after failures) the labeled adds are taken out again, since they hold no label.
        if let k = firstLabeled {
            do { try manager.checkLabelStored(after: ops[k]) } catch {
                let labeled = zip(allowed, results).filter { k, r in
                    if case .success = r { return XfrmManager.newLabel(ops[k]) != nil }
                    return false
                }.map(\.0)
                for k in labeled { fail(k, manager.labelNotStored(ops[k])) }
                if batch.mode == .continueOnError {
                    let adds = labeled.filter { XfrmManager.inverseOfAdd(ops[$0]) != nil }
                    _ = manager.kernel.perform(batch: adds.reversed().compactMap { XfrmManager.inverseOfAdd(ops[$0]) }[...])
                    added.removeAll { adds.contains($0) }
                    report.effective -= adds.count
                }
                return false
            }
        }
        return ok
    }

    /// Runs one command that is not an add or update (its authorization may look at the kernel).
    mutating func single(_ k: Int) -> Bool {
        let op = ops[k]
        do {
            let (result, auths) = try manager.perform(op)
            report.authorizations += auths
            if op.isChange {
                tookEffect(k)
            } else {
                report.answers.append((k, result))
            }
            return true
        } catch {
            fail(k, error)
            return false
        }
    }

    /// The engine's refusal of an add or update, or `nil` when it may go ahead.
    mutating func authorize(_ op: XfrmOperation) -> XfrmManagerError? {
        guard let label = XfrmManager.newLabel(op) else { return nil }
        if manager.storesLabels == false { return manager.labelNotStored(op) }
        guard manager.checksLabels else { return nil }
        // A file repeats a few labels on thousands of lines: the last answer first, then the table.
        if let last = lastAnswer, last.target == label { return last.granted ? nil : .denied([last]) }
        if let known = granted[label] {
            lastAnswer = known
            return known.granted ? nil : .denied([known])
        }
        do {
            let auths = try manager.authorize(op)
            report.authorizations += auths
            for a in auths { granted[a.target] = a }
            return nil
        } catch {
            if case .denied(let auths) = error {
                report.authorizations += auths
                for a in auths { granted[a.target] = a }
            }
            return error
        }
    }

    func authorizations(for op: XfrmOperation) -> [Authorization] {
        XfrmManager.newLabel(op).flatMap { granted[$0] }.map { [$0] } ?? []
    }

    mutating func tookEffect(_ k: Int) {
        report.effective += 1
        switch ops[k] {
        case .addSA, .addPolicy: added.append(k)
        case .updateSA(let sa): updated.sas.insert(XfrmSnapshot.key(sa))
        case .updatePolicy(let p): updated.policies.insert(XfrmSnapshot.key(p))
        default: break
        }
    }

    mutating func fail(_ k: Int, _ error: XfrmManagerError) {
        report.failures.append(XfrmBatchFailure(index: k, line: batch.lines[k], error: error))
    }

    /// Puts the kernel back as it was before the batch: from the snapshot when one was taken,
    /// else by deleting what the batch added (all it could have changed).
    mutating func rollBack() {
        guard report.effective > 0 || !added.isEmpty else {
            report.rollback = XfrmBatchRollback(changes: 0, errors: [])
            return
        }
        let undo: [XfrmOperation]
        var errors: [XfrmKernelError] = []
        if let snapshot {
            do { undo = try snapshot.restoringChanges(in: manager.kernel, updated: updated) } catch {
                report.rollback = XfrmBatchRollback(changes: 0, errors: [error])
                report.effective = 0
                return
            }
        } else {
            undo = added.reversed().compactMap { XfrmManager.inverseOfAdd(ops[$0]) }
        }
        for case .failure(let e) in manager.kernel.perform(batch: undo[...]) { errors.append(e) }
        report.rollback = XfrmBatchRollback(changes: undo.count, errors: errors)
        report.effective = 0
    }
}
