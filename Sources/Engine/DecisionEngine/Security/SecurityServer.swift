public import SecurityContexts
public import SELinuxPolicy
import Synchronization

/// The in-process security server: a loaded policy, its booleans, the SID table, enforcing mode.
/// It computes access and transition decisions exactly as the kernel's security server does
/// (`security/selinux/ss/services.c`); the ``AccessVectorCache`` caches its answers.
///
/// Thread-safe. Decisions read an immutable ``PolicySnapshot``; a boolean change or a reload
/// installs a new snapshot with a higher sequence number and tells every registered cache.
public final class SecurityServer: DecisionBackend, Sendable {
    private struct State {
        var snapshot: PolicySnapshot
        var sids = SIDTable()
        var enforcing: Bool
        var listeners: [@Sendable (UInt32) -> Void] = []
    }

    private let state: Mutex<State>
    public let backendName = "in-process"

    /// Loads a compiled policy.
    /// - Parameters:
    ///   - policy: the compiled policy.
    ///   - enforcing: `false` for permissive mode (denials are audited, not enforced).
    ///   - booleans: values that override the policy's defaults.
    /// - Throws: `DecisionError.unavailable` if a boolean is unknown.
    public init(policy: PolicyDB, enforcing: Bool = true, booleans: [String: Bool] = [:]) throws(DecisionError) {
        let values = try SecurityServer.booleanValues(policy, current: policy.bools.map(\.defaultValue), overrides: booleans)
        let snapshot = PolicySnapshot(policy: policy, rules: RuleSet(policy: policy, booleans: values), seqno: 1)
        state = Mutex(State(snapshot: snapshot, enforcing: enforcing))
    }

    /// Parses, compiles and loads policy text.
    public convenience init(policyText: String, file: String, enforcing: Bool = true, booleans: [String: Bool] = [:]) throws(PolicyLoadError) {
        let db: PolicyDB
        do { db = try PolicyCompiler.compile(text: policyText, file: file) } catch { throw .policy(error) }
        do { try self.init(policy: db, enforcing: enforcing, booleans: booleans) } catch { throw .decision(error) }
    }

    /// The policy, rules and sequence number in force now.
    public var snapshot: PolicySnapshot { state.withLock { $0.snapshot } }
    /// The compiled policy.
    public var policy: PolicyDB { snapshot.policy }
    /// The current policy sequence number (bumped by reloads and boolean changes).
    public var seqno: UInt32 { snapshot.seqno }

    public var enforcing: Bool { state.withLock { $0.enforcing } }

    /// Switches between enforcing and permissive mode (`/sys/fs/selinux/enforce`). Cached decisions
    /// stay valid: the mode is applied when a decision is enforced.
    public func setEnforcing(_ value: Bool) { state.withLock { $0.enforcing = value } }

    /// Registers a callback told the new sequence number after every reload or boolean change (the
    /// kernel's `avc_ss_reset`).
    public func onPolicyChange(_ callback: @escaping @Sendable (UInt32) -> Void) {
        state.withLock { $0.listeners.append(callback) }
    }

    /// Sets booleans (all or nothing) and re-evaluates conditional rules.
    public func setBooleans(_ values: [String: Bool]) throws(DecisionError) {
        let (seqno, listeners) = try state.withLock { (s: inout State) throws(DecisionError) -> (UInt32, [@Sendable (UInt32) -> Void]) in
            let policy = s.snapshot.policy
            let v = try SecurityServer.booleanValues(policy, current: s.snapshot.rules.booleans, overrides: values)
            s.snapshot = PolicySnapshot(policy: policy, rules: RuleSet(policy: policy, booleans: v), seqno: s.snapshot.seqno &+ 1)
            return (s.snapshot.seqno, s.listeners)
        }
        for l in listeners { l(seqno) }
    }

    /// The current value of every boolean.
    public var booleans: [String: Bool] {
        let snap = snapshot
        return Dictionary(uniqueKeysWithValues: snap.policy.bools.enumerated().map { ($1.name, snap.rules.booleans[$0]) })
    }

    /// Replaces the policy. Existing SIDs keep their numbers; a context that is not valid under the
    /// new policy keeps its SID and is evaluated as the `unlabeled` initial context (as the kernel's
    /// sidtab conversion does: `convert_context` stores the old context's string, and
    /// `sidtab_search` answers with the unlabeled entry for it). In permissive mode a context whose
    /// names all exist in the new policy stays mapped even when the new policy finds it invalid
    /// (`convert_context_handle_invalid_context` refuses it only when enforcing). A boolean the old
    /// policy also had keeps its value (`security_preserve_bools`); the others take the new
    /// policy's defaults.
    public func reload(_ policy: PolicyDB) throws(DecisionError) {
        let (seqno, listeners) = state.withLock { s -> (UInt32, [@Sendable (UInt32) -> Void]) in
            var values = policy.bools.map(\.defaultValue)
            for (i, b) in s.snapshot.policy.bools.enumerated() {
                if let j = policy.boolIndex[b.name], i < s.snapshot.rules.booleans.count { values[j] = s.snapshot.rules.booleans[i] }
            }
            let snapshot = PolicySnapshot(policy: policy, rules: RuleSet(policy: policy, booleans: values), seqno: s.snapshot.seqno &+ 1)
            let unlabeled = SecurityServer.unlabeled(policy)
            var sids = SIDTable()
            for (text, _) in s.sids.entries {
                let kept = s.enforcing ? nil : try? policy.resolveNames(text)
                let resolved = (try? policy.resolve(text)) ?? kept ?? unlabeled ?? ResolvedContext(user: 0, role: 0, type: 0)
                sids.append(resolved, text: text)
            }
            s.snapshot = snapshot
            s.sids = sids
            return (snapshot.seqno, s.listeners)
        }
        for l in listeners { l(seqno) }
    }

    private static func booleanValues(_ policy: PolicyDB, current: [Bool], overrides: [String: Bool]) throws(DecisionError) -> [Bool] {
        var values = current
        for (name, value) in overrides {
            guard let i = policy.boolIndex[name] else { throw .unavailable("unknown boolean \(name)") }
            values[i] = value
        }
        return values
    }

    private static func unlabeled(_ policy: PolicyDB) -> ResolvedContext? {
        guard let ctx = policy.initialSIDs.first(where: { $0.name == "unlabeled" })?.context else { return nil }
        return try? policy.resolve(ctx)
    }

    // MARK: - SIDs

    /// The SID of a context (validating it first, as `security_context_to_sid` does).
    public func sid(for context: SecurityContext) throws(DecisionError) -> SID {
        if let sid = state.withLock({ $0.sids.lookup(context) }) { return sid }
        let resolved = try snapshot.policy.resolve(context)
        guard let sid = state.withLock({ $0.sids.intern(resolved, text: context) }) else {
            throw .unavailable("the SID table is full")
        }
        return sid
    }

    /// The SID of a context given as text.
    public func sid(forText text: String) throws(DecisionError) -> SID {
        let context: SecurityContext
        do { context = try SecurityContext(parsing: text) } catch { throw .invalidContext(text, reason: error.description) }
        return try sid(for: context)
    }

    /// The context of a SID, with primary names (`security_sid_to_context`).
    public func context(of sid: SID) -> SecurityContext? {
        guard let entry = state.withLock({ $0.sids.entry(sid) }) else { return nil }
        return snapshot.policy.context(entry.resolved)
    }

    /// The SID of an initial SID by name (`kernel`, `unlabeled`, ...), if the policy gives it a context.
    public func initialSID(_ name: String) throws(DecisionError) -> SID {
        guard let ctx = policy.initialSIDs.first(where: { $0.name == name })?.context else {
            throw .unavailable("the policy has no context for initial SID \(name)")
        }
        return try sid(for: ctx)
    }

    /// The 1-based value of a class, if the policy defines it.
    public func classValue(_ name: String) -> Int? { policy.classValues[name] }

    /// A class's value and a permission's access-vector bit, if the policy defines both
    /// (libselinux `string_to_security_class` + `string_to_av_perm`).
    public func permission(_ cls: String, _ perm: String) -> (classValue: Int, bit: UInt32)? {
        guard let c = classValue(cls), let b = policy.classes[c - 1].permissionBits[perm] else { return nil }
        return (c, 1 << UInt32(b))
    }

    /// The access-vector bits of the permissions of `cls` the policy defines (others add nothing).
    func permissionBits(_ cls: String, _ permissions: [String]) -> UInt32 {
        permissions.reduce(0) { $0 | (permission(cls, $1)?.bit ?? 0) }
    }

    /// The resolved context of a SID; an unknown SID is the unlabeled context, as in the kernel.
    func resolved(_ sid: SID, _ snapshot: PolicySnapshot) -> ResolvedContext? {
        state.withLock { $0.sids.entry(sid)?.resolved } ?? SecurityServer.unlabeled(snapshot.policy)
    }

    // MARK: - Decisions on SIDs

    /// The access vector for two SIDs and a class value (`security_compute_av`). A SID without an
    /// entry is evaluated as the unlabeled context; a class value out of range denies everything
    /// (or allows everything under `handle_unknown allow`).
    public func computeAV(_ ssid: SID, _ tsid: SID, classValue c: Int) -> AVDecision {
        let snap = snapshot
        guard c >= 1 && c <= snap.policy.classes.count else {
            let allowAll = snap.policy.handleUnknown == .allow
            return AVDecision(allowed: allowAll ? ~0 : 0, auditAllow: 0, auditDeny: ~0, permissive: false, seqno: snap.seqno)
        }
        guard let s = resolved(ssid, snap), let t = resolved(tsid, snap) else {
            return AVDecision(allowed: 0, auditAllow: 0, auditDeny: ~0, permissive: false, seqno: snap.seqno)
        }
        return snap.computeAV(s, t, classValue: c)
    }

    // MARK: - DecisionBackend

    public func computeAccess(source: SecurityContext, target: SecurityContext, objectClass: String) throws(DecisionError) -> AccessDecision {
        let snap = snapshot
        let s = try snap.policy.resolve(source), t = try snap.policy.resolve(target)
        guard let c = snap.policy.classValues[objectClass] else {
            if snap.policy.handleUnknown == .allow {
                return AccessDecision(objectClass: objectClass, allowed: [], auditAllow: [], auditDeny: [], permissiveDomain: false, unknownAllowed: true)
            }
            throw .unknownClass(objectClass)
        }
        let d = snap.computeAV(s, t, classValue: c)
        return AccessDecision(
            objectClass: objectClass,
            allowed: snap.policy.permissionNames(d.allowed, classValue: c),
            auditAllow: snap.policy.permissionNames(d.auditAllow, classValue: c),
            auditDeny: snap.policy.permissionNames(d.auditDeny, classValue: c),
            permissiveDomain: d.permissive,
            unknownAllowed: snap.policy.handleUnknown == .allow)
    }

    public func computeTransition(_ kind: TransitionKind, source: SecurityContext, target: SecurityContext, objectClass: String, objectName: String?)
        throws(DecisionError) -> SecurityContext
    {
        let snap = snapshot
        let s = try snap.policy.resolve(source), t = try snap.policy.resolve(target)
        guard let c = snap.policy.classValues[objectClass] else { throw .unknownClass(objectClass) }
        let (n, valid) = snap.computeTransition(kind, s, t, classValue: c, objectName: objectName)
        guard n.low != nil || !snap.policy.mlsEnabled else {
            throw .invalidTransition(source.description, reason: "the source and target ranges share no sensitivity (default_range glblub)")
        }
        let context = snap.policy.context(n)
        if !valid && enforcing {
            throw .invalidTransition(context.description, reason: snap.policy.invalidityReason(n) ?? "invalid")
        }
        return context
    }

    /// Whether `task` may relabel an object of the class from `old` to `new` under the class's
    /// validatetrans rules (`security_validate_transition`). In permissive mode a refusal is
    /// reported (`false`) but the kernel would not enforce it.
    public func validateTransition(old: SecurityContext, new: SecurityContext, task: SecurityContext, objectClass: String) throws(DecisionError) -> Bool {
        let snap = snapshot
        let o = try snap.policy.resolve(old), n = try snap.policy.resolve(new), t = try snap.policy.resolve(task)
        guard let c = snap.policy.classValues[objectClass] else { throw .unknownClass(objectClass) }
        return snap.validateTransition(old: o, new: n, task: t, classValue: c)
    }

    public func validate(_ context: SecurityContext) throws(DecisionError) {
        _ = try snapshot.policy.resolve(context)
    }
}

/// A policy that could not be loaded.
public enum PolicyLoadError: Error, Sendable, CustomStringConvertible {
    case policy(PolicyError)
    /// A binary policy file that could not be read.
    case binary(file: String, BinaryPolicyError)
    case decision(DecisionError)
    case io(String)

    public var description: String {
        switch self {
        case .policy(let e): return e.description
        case .binary(let file, let e): return "\(file): \(e)"
        case .decision(let e): return e.description
        case .io(let s): return s
        }
    }
}
