public import DecisionEngine
public import IPsecModel
public import SecurityContexts

// `salabel why` (Specs/resolver/why.md): an AVC record of labeled networking explained against a
// host's SAD/SPD and a policy: the kernel check it comes from (Specs/kernel/labeled-ipsec.md §a),
// the policy's answer with its reasons, the SAs, SPD entries and ACQUIREs that carry its labels,
// and what would change the outcome. Nothing is guessed: what cannot be said is said so.

/// One AVC record explained.
public struct DenialExplanation: Sendable {
    /// An SA, SPD entry or pending ACQUIRE of the host that carries one of the record's labels.
    public enum Carrier: Sendable, Hashable {
        case sa(SecurityAssociation)
        case policy(PolicyEntry)
        case acquire(PendingAcquire)
    }

    /// What would change the outcome.
    public enum Fix: Sendable, Hashable {
        /// A policy statement, as audit2allow would write it; `neverallow` says whether the
        /// policy's source text takes it (checked by compiling it).
        case allowRule(String, neverallow: NeverallowCheck)
        /// A boolean that, set alone to `value`, grants the permissions (one fix for each of
        /// `SecurityServer.booleansGranting`, as audit2why lists "one of the following booleans").
        case boolean(name: String, value: Bool)
        /// A constraint denies it: the constraint as written; no rule can change that, only
        /// contexts (levels, users, roles, types) that satisfy it.
        case constraint(FailingConstraint)
        /// The SPD entry's label is one the flow's domain may not polmatch; these labels of the
        /// host's other SPD entries it may.
        case spdLabel(allowed: [SecurityContext])
        /// The peer is unlabeled: no labeled SA carried the packet. A flow gets a label only on an
        /// SA with its label, under a labeled SPD entry on the sender.
        case labelTheTraffic
        /// An ACQUIRE for the label is pending: no key manager has installed the SA.
        case keyManager(PendingAcquire)
        /// typebounds: a bounded type gets only what its bounding type gets on the same target
        /// (on the target's bounding type when the target is bounded too); the bounding type
        /// `parent` is refused it on `target` at `parentStages`. The fixes after it are the
        /// bounding type's.
        case bounds(parent: String, target: String, parentStages: [String])
    }

    /// Whether a proposed rule survives the policy's `neverallow` rules.
    public enum NeverallowCheck: Sendable, Hashable {
        case passes
        case violates(String)
        /// No source text to check against (a binary policy carries no neverallow).
        case notChecked(String)
    }

    public var logged: LoggedAuditRecord
    /// The kernel check it comes from; nil for a record of another kind.
    public var check: KernelCheck?
    /// The policy's answer for the record's permissions, now; nil when not asked.
    public var decision: AccessQuery?
    public var carriers: [Carrier]
    public var fixes: [Fix]
    /// Why the record is not explained (another class, contexts the policy does not know).
    public var unexplained: String?

    public var record: AuditRecord { logged.record }
}

/// Explains AVC records for one host (`salabel why`): its SAD/SPD and pending ACQUIREs (a live
/// mirror, or a scenario's or apply file's host) and the policy it runs.
public struct DenialExplainer: Sendable {
    public var resolver: Resolver
    /// The policy's source text, to check a proposed rule against its `neverallow` rules; nil for
    /// a binary policy.
    public var policyText: String?

    /// An explainer for the host `resolver` holds; `policyText` when the policy came as text.
    public init(resolver: Resolver, policyText: String?) {
        self.resolver = resolver
        self.policyText = policyText
    }

    var server: SecurityServer { resolver.authorizer.cache.server }

    /// Explains one record.
    public func explain(_ logged: LoggedAuditRecord) -> DenialExplanation {
        let r = logged.record
        var e = DenialExplanation(logged: logged, check: nil, decision: nil, carriers: [], fixes: [], unexplained: nil)
        let policy = server.policy
        let unlabeled = resolver.unlabeled
        guard
            let check = KernelCheck.identify(
                tclass: r.tclass, permissions: r.permissions, peerControls: policy.hasCapability("network_peer_controls"),
                targetIsUnlabeled: unlabeled.map { Self.sameLabel($0, r.tcontext) } ?? false)
        else {
            e.unexplained =
                "\(r.tclass) { \(r.permissions.joined(separator: " ")) } is not a check of labeled networking: "
                + "salabel why explains association, peer, netif, node and packet records"
            return e
        }
        e.check = check
        e.carriers = carriers(r)
        // The policy's answer now, as the record's permissions are asked (a cache of its own: the
        // host's AVC is left as it was).
        let named: NamedAccessCheck
        do {
            named = try AccessVectorCache(server: server).check(
                source: r.scontext.description, target: r.tcontext.description, objectClass: r.tclass, permissions: r.permissions)
        } catch {
            e.unexplained = "the policy cannot decide it: \(error)"
            return e
        }
        let decision: AccessQuery.Decision = named.denied.isEmpty ? .allowed : .denied(stages: named.reasons)
        e.decision = AccessQuery(
            objectClass: r.tclass, permissions: r.permissions, source: named.source, target: named.target, decision: decision,
            enforced: !named.granted)
        guard case .denied(let stages) = decision else {
            if r.result == .denied {
                e.unexplained = "this policy allows it: the record was written under another policy, other booleans, or a type since changed"
            }
            return e
        }
        e.fixes = fixes(r, denied: named.denied, stages: stages, unlabeled: unlabeled)
        return e
    }

    /// Every record of a log explained, in order.
    public func explain(_ records: [LoggedAuditRecord]) -> [DenialExplanation] { records.map(explain) }

    static func sameLabel(_ a: SecurityContext, _ b: SecurityContext) -> Bool { a.description == b.description }

    // MARK: - What carries the labels

    /// The host's SAs, SPD entries and pending ACQUIREs with the record's labels, as the check
    /// reads them (addresses from `saddr`/`daddr` narrow the SAs when the record has them).
    func carriers(_ r: AuditRecord) -> [DenialExplanation.Carrier] {
        let mirror = resolver.mirror
        let field = Dictionary(r.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let saddr = field["saddr"].flatMap(IPAddress.init), daddr = field["daddr"].flatMap(IPAddress.init)
        func sas(labeled label: SecurityContext) -> [DenialExplanation.Carrier] {
            mirror.sas.filter {
                $0.securityContext.map { Self.sameLabel($0, label) } == true && (saddr == nil || $0.source == saddr)
                    && (daddr == nil || $0.destination == daddr)
            }.map { .sa($0) }
        }
        func entries(labeled label: SecurityContext) -> [DenialExplanation.Carrier] {
            mirror.policies.filter { $0.securityContext.map { Self.sameLabel($0, label) } == true }.map { .policy($0) }
        }
        let acquires = pendingAcquires(r).map { DenialExplanation.Carrier.acquire($0) }
        switch (r.tclass, r.permissions.first ?? "") {
        case ("association", "setcontext"): return sas(labeled: r.tcontext) + entries(labeled: r.tcontext) + acquires
        case ("association", "polmatch"): return entries(labeled: r.tcontext) + sas(labeled: r.scontext) + acquires
        case ("association", _), ("peer", _): return sas(labeled: r.tcontext) + acquires
        case ("netif", "ingress"), ("node", "recvfrom"): return sas(labeled: r.scontext) + acquires
        default: return acquires
        }
    }

    // MARK: - What would change it

    func fixes(_ r: AuditRecord, denied: [String], stages: [String], unlabeled: SecurityContext?) -> [DenialExplanation.Fix] {
        var out = policyFixes(r, denied: denied, stages: stages)
        // Labeled networking's own ways out.
        if r.tclass == "association", r.permissions.contains("polmatch") {
            var seen = Set<String>()
            let labels = resolver.mirror.policies.compactMap(\.securityContext).filter { seen.insert($0.description).inserted }
                .sorted { $0.description < $1.description }
                .filter { !Self.sameLabel($0, r.tcontext) && resolver.authorizer.polmatch(flow: r.scontext, policyLabel: $0).check?.denied == 0 }
            if !labels.isEmpty { out.append(.spdLabel(allowed: labels)) }
        }
        let unlabeledPeer = unlabeled.map { Self.sameLabel($0, r.tcontext) && (r.tclass == "peer" || r.tclass == "association") } ?? false
        let unlabeledSubject = unlabeled.map { Self.sameLabel($0, r.scontext) && (r.tclass == "netif" || r.tclass == "node") } ?? false
        if unlabeledPeer || unlabeledSubject { out.append(.labelTheTraffic) }
        out += pendingAcquires(r).map { .keyManager($0) }
        return out
    }

    /// What the policy's statements could change, stage by stage: the allow rule and booleans for
    /// a TE denial, the failing constraints, and for a typebounds denial the bounding type's own
    /// answer with its fixes (security/selinux/ss/services.c: `type_attribute_bounds_av`).
    func policyFixes(_ r: AuditRecord, denied: [String], stages: [String]) -> [DenialExplanation.Fix] {
        var out: [DenialExplanation.Fix] = []
        if stages.contains("TERULE") {
            // audit2allow's form: one permission bare, several in braces; `self` for the source's own type.
            let perms = denied.count == 1 ? denied[0] : "{ \(denied.joined(separator: " ")) }"
            let target = r.tcontext.type == r.scontext.type ? "self" : r.tcontext.type
            let rule = "allow \(r.scontext.type) \(target):\(r.tclass) \(perms);"
            out.append(.allowRule(rule, neverallow: neverallowCheck(rule)))
            out += booleans(r, denied: denied)
        }
        if stages.contains("CONSTRAINT") {
            let failing = (try? server.failingConstraints(source: r.scontext, target: r.tcontext, objectClass: r.tclass, permissions: denied)) ?? []
            for c in failing { out.append(.constraint(c)) }
        }
        if stages.contains("BOUNDS"), let parent = boundingRecord(r) {
            let named = try? AccessVectorCache(server: server).check(
                source: parent.scontext.description, target: parent.tcontext.description, objectClass: r.tclass, permissions: denied)
            let parentStages = named?.reasons ?? []
            out.append(.bounds(parent: parent.scontext.type, target: parent.tcontext.type, parentStages: parentStages))
            if let named, !named.denied.isEmpty { out += policyFixes(parent, denied: named.denied, stages: parentStages) }
        }
        return out
    }

    /// The record as the bounding types see it: the source's bounding type, and the target's when
    /// it is bounded too; nil when the source is not bounded.
    func boundingRecord(_ r: AuditRecord) -> AuditRecord? {
        let db = server.policy
        guard let s = db.typeIndex[r.scontext.type], let b = db.types[s].bounds else { return nil }
        var parent = r
        parent.scontext.type = db.types[b].name
        if let t = db.typeIndex[r.tcontext.type], let tb = db.types[t].bounds { parent.tcontext.type = db.types[tb].name }
        return parent
    }

    /// The host's pending ACQUIREs carrying either of the record's labels.
    func pendingAcquires(_ r: AuditRecord) -> [PendingAcquire] {
        resolver.mirror.acquires.filter { a in a.label.map { Self.sameLabel($0, r.scontext) || Self.sameLabel($0, r.tcontext) } == true }
    }

    /// Compiles the policy's source text with `rule` added: whether a `neverallow` refuses it.
    func neverallowCheck(_ rule: String) -> DenialExplanation.NeverallowCheck {
        guard let policyText else { return .notChecked("a binary policy carries no neverallow rules") }
        guard let text = PolicyConfRules.adding(rule, to: policyText) else {
            return .notChecked("the policy text has no `user` statement to add the rule before")
        }
        do {
            _ = try PolicyCompiler.compile(text: text, file: "policy + fix")
            return .passes
        } catch {
            let text = "\(error)"
            return text.contains("neverallow") ? .violates(text) : .notChecked("the policy with the rule does not compile: \(text)")
        }
    }

    /// The booleans that, each set alone, grant the denied permissions (SecurityServer.booleansGranting).
    func booleans(_ r: AuditRecord, denied: [String]) -> [DenialExplanation.Fix] {
        let found = (try? server.booleansGranting(source: r.scontext, target: r.tcontext, objectClass: r.tclass, permissions: denied)) ?? []
        return found.map { .boolean(name: $0.name, value: $0.value) }
    }
}
