public import DecisionEngine
import IPsecModel
public import SecurityContexts
import Synchronization

/// Why the manager did not carry out an operation.
public enum XfrmManagerError: Error, Sendable, CustomStringConvertible {
    /// The decision engine refused `association setcontext` for at least one label: nothing was
    /// sent to the kernel. Every check made is included, with its AVC record.
    case denied([Authorization])
    /// The engine allowed the operation (or it needed no check) and the kernel refused it: both
    /// sides are reported.
    case kernel(XfrmKernelError, authorizations: [Authorization])
    /// The kernel accepted a labeled SA or SPD entry but stored it without its context (read back
    /// right after): no security module implements the xfrm hooks, as on a kernel without SELinux.
    /// Labeled IPsec cannot work there; the manager removes what it added and fails closed.
    case labelNotStored(SecurityContext, object: String, kernel: String?)
    /// The engine could not be made (its policy could not be read or loaded): nothing was sent.
    case engineUnavailable(String)

    public var description: String {
        switch self {
        case .denied(let auths):
            let refused = auths.filter { !$0.granted }
            return "refused before reaching the kernel: \(refused.map { "association { setcontext } on \($0.target): \($0.reason)" }.joined(separator: "; "))"
        case .kernel(let e, let auths):
            let engine =
                auths.isEmpty
                ? "nothing was checked by the engine"
                : "the engine allowed setcontext on \(Set(auths.map(\.target.description)).sorted().joined(separator: ", "))"
            return "the kernel refused: \(e) (\(engine))"
        case .labelNotStored(let label, let object, let why):
            return "the kernel accepted the label \(label) on \(object) but stored none (read back without a context)"
                + (why.map { ": \($0)" } ?? "") + "; labeled IPsec needs SELinux enabled in the kernel"
        case .engineUnavailable(let why):
            return "the decision engine has no policy to check labels with: \(why)"
        }
    }

    /// The AVC records of the denials.
    public var records: [AuditRecord] {
        switch self {
        case .denied(let a), .kernel(_, let a): return a.compactMap(\.record)
        case .labelNotStored, .engineUnavailable: return []
        }
    }
}

/// A step of a transaction that failed, and what the rollback did.
public struct ApplyFailure: Error, Sendable, CustomStringConvertible {
    /// The step that failed and why.
    public var step: ApplyStep
    public var error: XfrmManagerError
    /// Steps that had been carried out and were undone.
    public var rolledBack: [ApplyStep]
    /// Undo operations that themselves failed (the state may differ from before).
    public var rollbackErrors: [(ApplyStep, XfrmManagerError)]

    public var description: String {
        var s = "\(step.summary): \(error)"
        if !rolledBack.isEmpty { s += "; rolled back \(rolledBack.count) step(s)" }
        for (st, e) in rollbackErrors { s += "; rollback of '\(st.summary)' failed: \(e)" }
        return s
    }
}

/// The xfrm manager: carries out operations on a kernel's SAD and SPD, asking the shared
/// decision engine first whether the caller may `association setcontext` on every label the
/// operation creates, looks up or removes (the kernel's checks C1–C4, made early so that a denial
/// comes with an AVC record and changes nothing). See Specs/manager/operations.md.
public final class XfrmManager: Sendable {
    public let kernel: any XfrmKernel
    /// The caller's context: the subject of the setcontext checks.
    public let subject: SecurityContext
    public let auditSubject: AuditSubject?
    /// Whether this kernel was seen to store labels (read back once, on the first labeled change).
    private let labelsStored = Mutex<Bool?>(nil)
    /// The engine's checks, or how to make them on first need.
    private let engine: Mutex<Engine>
    /// Whether the manager checks labels at all (known without loading a policy).
    public let checksLabels: Bool

    private enum Engine {
        case ready(AssociationAuthorizer?)
        case deferred(@Sendable () throws(XfrmManagerError) -> AssociationAuthorizer)
        case failed(XfrmManagerError)
    }

    public init(kernel: any XfrmKernel, authorizer: AssociationAuthorizer?, subject: SecurityContext, auditSubject: AuditSubject? = nil) {
        self.kernel = kernel
        self.engine = Mutex(.ready(authorizer))
        self.checksLabels = authorizer != nil
        self.subject = subject
        self.auditSubject = auditSubject
    }

    /// A manager whose engine is made the first time an operation has a label to check: a run
    /// that installs, lists or removes only unlabeled entries never compiles a policy (the
    /// embedded policy is most of a short command's start-up). `makeAuthorizer` is called at most
    /// once; when it throws (a policy that cannot be read), every operation that has a label to
    /// check fails with its error.
    public init(
        kernel: any XfrmKernel, deferredAuthorizer makeAuthorizer: @escaping @Sendable () throws(XfrmManagerError) -> AssociationAuthorizer,
        subject: SecurityContext, auditSubject: AuditSubject? = nil
    ) {
        self.kernel = kernel
        self.engine = Mutex(.deferred(makeAuthorizer))
        self.checksLabels = true
        self.subject = subject
        self.auditSubject = auditSubject
    }

    /// The engine's association checks; `nil` skips the early check (the kernel still makes it).
    /// A deferred engine is made here, on first use.
    /// - Throws: the error a deferred engine failed with.
    public var authorizer: AssociationAuthorizer? {
        get throws(XfrmManagerError) {
            try engine.withLock { (state) throws(XfrmManagerError) -> AssociationAuthorizer? in
                switch state {
                case .ready(let a): return a
                case .failed(let e): throw e
                case .deferred(let make):
                    do throws(XfrmManagerError) {
                        let a = try make()
                        state = .ready(a)
                        return a
                    } catch {
                        state = .failed(error)
                        throw error
                    }
                }
            }
        }
    }

    /// The labels whose `setcontext` the kernel checks for an operation (Specs/kernel/labeled-ipsec.md §a.1):
    /// the new label of an add or update; the label of what a delete removes (looked up first); every label a
    /// flush or deleteall would remove (all or nothing, edge 12); the label a selector lookup carries (edge 9).
    func labelsToCheck(_ op: XfrmOperation) throws(XfrmManagerError) -> [SecurityContext] {
        func query(_ q: XfrmOperation) throws(XfrmManagerError) -> XfrmResult {
            do { return try kernel.perform(q) } catch { throw .kernel(error, authorizations: []) }
        }
        switch op {
        case .addSA(let sa), .updateSA(let sa):
            return sa.securityContext.map { [$0] } ?? []
        case .addPolicy(let p), .updatePolicy(let p):
            return p.securityContext.map { [$0] } ?? []
        case .deleteSA(let id, let src, let mark):
            guard case .sa(let sa) = try query(.getSA(id, source: src, mark: mark)) else { return [] }
            return sa.securityContext.map { [$0] } ?? []
        case .deletePolicy(let key, let mark, let type, let ifID):
            switch key {
            case .index:
                // By index the kernel looks up without a label, then checks the entry's label to delete it.
                guard case .policy(let p) = try query(.getPolicy(key, mark: mark, policyType: type, interfaceID: ifID)) else { return [] }
                return p.securityContext.map { [$0] } ?? []
            case .selector(_, _, let ctx):
                return ctx.map { [$0] } ?? []
            }
        case .getPolicy(.index, _, _, _):
            return []
        case .getPolicy(.selector(_, _, let ctx), _, _, _):
            return ctx.map { [$0] } ?? []
        case .flushSA(let proto):
            guard case .sas(let all) = try query(.listSA(XfrmFilter())) else { return [] }
            return all.filter { proto.flushes($0.proto) }.compactMap(\.securityContext)
        case .deleteAllSA(let f):
            guard case .sas(let all) = try query(.listSA(f)) else { return [] }
            return all.compactMap(\.securityContext)
        case .flushPolicy(let type):
            guard case .policies(let all) = try query(.listPolicies(XfrmFilter())) else { return [] }
            return all.filter { $0.policyType == type }.compactMap(\.securityContext)
        case .deleteAllPolicies(let f):
            guard case .policies(let all) = try query(.listPolicies(f)) else { return [] }
            return all.compactMap(\.securityContext)
        case .getSA, .listSA, .listPolicies, .allocateSPI:
            return []
        }
    }

    /// The engine's verdict on an operation: every setcontext check it needs (one per distinct
    /// label). Throws `.denied` when any is refused.
    public func authorize(_ op: XfrmOperation) throws(XfrmManagerError) -> [Authorization] {
        guard checksLabels else { return [] }
        let labels = try labelsToCheck(op)
        guard !labels.isEmpty, let authorizer = try authorizer else { return [] }
        var seen = Set<SecurityContext>()
        var auths: [Authorization] = []
        for label in labels where seen.insert(label).inserted {
            auths.append(authorizer.setcontext(subject: subject, label: label, auditSubject: auditSubject))
        }
        if auths.contains(where: { !$0.granted }) { throw .denied(auths) }
        return auths
    }

    /// Authorizes, then performs one operation. A labeled add or update is read back once per
    /// manager (``checkLabelStored(after:)``); if the kernel dropped the label, the object is removed
    /// again and the call fails with ``XfrmManagerError/labelNotStored(_:object:kernel:)``.
    @discardableResult
    public func perform(_ op: XfrmOperation) throws(XfrmManagerError) -> (result: XfrmResult, authorizations: [Authorization]) {
        if storesLabels == false, XfrmManager.newLabel(op) != nil { throw labelNotStored(op) }
        let auths = try authorize(op)
        let result: XfrmResult
        do { result = try kernel.perform(op) } catch { throw .kernel(error, authorizations: auths) }
        do { try checkLabelStored(after: op) } catch {
            if let undo = XfrmManager.inverseOfAdd(op) { _ = try? kernel.perform(undo) }
            throw error
        }
        return (result, auths)
    }

    /// Visits the SPD entries that pass `filter` as the kernel's dump is read, none collected
    /// (``XfrmKernel/visitPolicies(matching:restart:_:)``): what `perform(.listPolicies(filter))`
    /// lists, for dumps too large to hold twice. A list removes nothing and sets no label, so it
    /// needs no setcontext check.
    /// - Throws: ``XfrmManagerError/kernel(_:authorizations:)`` when the kernel refuses the dump.
    public func visitPolicies(matching filter: XfrmFilter, restart: () -> Void, _ visit: (PolicyEntry) -> Void) throws(XfrmManagerError) {
        do { try kernel.visitPolicies(matching: filter, restart: restart, visit) } catch { throw .kernel(error, authorizations: []) }
    }

    /// After a labeled add or update that the kernel accepted, reads the object back (once per
    /// manager: a kernel that stores one label stores them all) and throws
    /// ``XfrmManagerError/labelNotStored(_:object:kernel:)`` if it came back without its context.
    /// The kernel behaves so when no security module implements the xfrm hooks: it accepts the
    /// `XFRMA_SEC_CTX` attribute and keeps nothing (Specs/manager/operations.md, "Labels the kernel
    /// does not store").
    public func checkLabelStored(after op: XfrmOperation) throws(XfrmManagerError) {
        guard let label = XfrmManager.newLabel(op) else { return }
        switch labelsStored.withLock({ $0 }) {
        case true?: return
        case false?: throw labelNotStored(op)
        case nil: break
        }
        let back: XfrmResult?
        switch op {
        case .addSA(let sa), .updateSA(let sa):
            back = try? kernel.perform(.getSA(sa.identifier, source: sa.source, mark: sa.mark))
        case .addPolicy(let p), .updatePolicy(let p):
            let key = PolicyKey.selector(p.selector, p.direction, securityContext: label)
            back = try? kernel.perform(.getPolicy(key, mark: p.mark, policyType: p.policyType, interfaceID: p.interfaceID))
        default:
            return
        }
        let stored: SecurityContext?
        switch back {
        case .sa(let sa)?: stored = sa.securityContext
        case .policy(let p)?: stored = p.securityContext
        default: return  // Not found again (removed meanwhile): nothing learned.
        }
        labelsStored.withLock { $0 = stored != nil }
        if stored == nil { throw labelNotStored(op) }
    }

    /// The label an add or update gives its object (`nil` for other operations and unlabeled ones).
    static func newLabel(_ op: XfrmOperation) -> SecurityContext? {
        switch op {
        case .addSA(let sa), .updateSA(let sa): return sa.securityContext
        case .addPolicy(let p), .updatePolicy(let p): return p.securityContext
        default: return nil
        }
    }

    /// Whether this kernel stores labels: `nil` until a labeled change was read back.
    public var storesLabels: Bool? { labelsStored.withLock { $0 } }

    /// The operation that removes what an add put in (`nil` for anything else).
    static func inverseOfAdd(_ op: XfrmOperation) -> XfrmOperation? {
        switch op {
        case .addSA(let sa): return .deleting(sa)
        case .addPolicy(let p): return .deleting(p)
        default: return nil
        }
    }

    /// The refusal for a labeled change on a kernel that drops labels.
    func labelNotStored(_ op: XfrmOperation) -> XfrmManagerError {
        .labelNotStored(XfrmManager.newLabel(op) ?? op.securityContext!, object: XfrmManager.objectName(op), kernel: kernel.securityModuleSummary)
    }

    static func objectName(_ op: XfrmOperation) -> String {
        switch op {
        case .addSA(let sa), .updateSA(let sa): return "the SA spi 0x\(String(sa.spi, radix: 16)) to \(sa.destination)"
        case .addPolicy(let p), .updatePolicy(let p):
            return "the \(p.direction) SPD entry \(p.selector.source) → \(p.selector.destination)"
        default: return "an xfrm object"
        }
    }

    /// Carries out steps as one transaction: every step is authorized before the first is sent (a
    /// denial changes nothing); if the kernel refuses a step, the steps already done are undone in
    /// reverse order and the failure says what happened.
    public func transact(_ steps: [ApplyStep]) throws(ApplyFailure) -> [Authorization] {
        var auths: [Authorization] = []
        for step in steps {
            do { auths += try authorize(step.operation) } catch {
                throw ApplyFailure(step: step, error: error, rolledBack: [], rollbackErrors: [])
            }
        }
        var done: [ApplyStep] = []
        for step in steps {
            var failure: XfrmManagerError?
            do {
                _ = try kernel.perform(step.operation)
                done.append(step)
                try checkLabelStored(after: step.operation)
            } catch let e as XfrmKernelError {
                failure = .kernel(e, authorizations: auths)
            } catch let e as XfrmManagerError {
                failure = e
            } catch {
                failure = .kernel(XfrmKernelError(errno: 5, message: "\(error)"), authorizations: auths)
            }
            guard let failure else { continue }
            var undone: [ApplyStep] = []
            var undoErrors: [(ApplyStep, XfrmManagerError)] = []
            for previous in done.reversed() {
                guard let undo = previous.undo else { continue }
                do {
                    _ = try kernel.perform(undo)
                    undone.append(previous)
                } catch let e {
                    undoErrors.append((previous, .kernel(e, authorizations: [])))
                }
            }
            throw ApplyFailure(step: step, error: failure, rolledBack: undone, rollbackErrors: undoErrors)
        }
        return auths
    }
}
