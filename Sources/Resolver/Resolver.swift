public import DecisionEngine
public import IPsecModel
public import SecurityContexts

/// One check a resolution made: what was asked, the answer, and the AVC record the kernel would
/// log for it (`nil` when nothing is logged: granted without auditallow, or dontaudit). When the
/// check is a permission check, ``access`` holds it as values: the class, permissions, contexts and
/// the policy's answer with its reasons.
public struct ResolutionCheck: Sendable, Hashable, CustomStringConvertible {
    public var what: String
    public var passed: Bool
    public var reason: String
    public var record: AuditRecord?
    /// The permission check behind it; nil for the resolver's other steps (a selector, a label
    /// compared, a template matched).
    public var access: AccessQuery?

    /// A check; `access` when it is a permission check.
    public init(what: String, passed: Bool, reason: String, record: AuditRecord?, access: AccessQuery? = nil) {
        self.what = what
        self.passed = passed
        self.reason = reason
        self.record = record
        self.access = access
    }

    public var description: String {
        "\(passed ? "✓" : "✗") \(what): \(reason)" + (record.map { "\n    \($0)" } ?? "")
    }
}

/// The label inbound traffic gets, and whether the packet survives the inbound policy check.
public struct InboundResolution: Sendable, Hashable {
    /// The peer label: the innermost labeled SA's context (`ckall = 0`), or the unlabeled context.
    public var peer: SecurityContext?
    /// Whether the label came from an SA (false: unlabeled traffic).
    public var labeledBySA: Bool
    /// The packet is dropped (nested SAs with different labels: `ckall = 1` fails, `XFRMINHDRERROR`).
    public var dropped: Bool
    public var checks: [ResolutionCheck]
}

/// Where an outbound flow goes: the SPD entry, the SA, or the ACQUIRE the kernel would send.
public struct OutboundResolution: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// No SPD entry applies: the flow leaves unprotected (as the kernel without a policy).
        case bypass
        /// The entry's action is block.
        case blocked(PolicyEntry)
        /// An SA serves the flow: the first template's (the innermost); with several templates,
        /// ``OutboundResolution/bundle`` holds each template's SA.
        case protected(PolicyEntry, SecurityAssociation)
        /// No usable SA: the kernel sends an ACQUIRE carrying `label` (the flow's context for a
        /// labeled entry, none for an unlabeled one) and the packet waits (`-EAGAIN`/`-EREMOTE`).
        case acquire(PolicyEntry, label: SecurityContext?)
        /// A labeled entry matched a flow without a label (SID 0): `-EINVAL`, no ACQUIRE
        /// (Specs/kernel/labeled-ipsec.md, edge 17).
        case invalid(PolicyEntry)
        /// No usable SA, but a larval SA for the template's endpoints exists: no new ACQUIRE,
        /// whatever labels the two flows carry (Specs/kernel/labeled-ipsec.md, edge 18); the packet waits.
        case acquireInProgress(PolicyEntry, PendingAcquire)
        /// No usable SA and no key manager listening: no larval SA, no ACQUIRE (`-ESRCH` → `-EAGAIN`;
        /// Specs/kernel/labeled-ipsec.md, edge 18).
        case noKeyManager(PolicyEntry)
    }

    public var outcome: Outcome
    public var checks: [ResolutionCheck]
    /// With ``Outcome/protected(_:_:)``: the SA of each of the entry's templates, in the entry's
    /// order, which is the order the kernel applies them (`xfrm_tmpl_resolve_one` fills `xfrm[]` by
    /// template, `xfrm_bundle_create` chains `xfrm[0]` first): the innermost first, the outermost
    /// last. One SA for a one-template entry; `.protected`'s SA is the first. Empty otherwise.
    public var bundle: [SecurityAssociation]
    /// With the outcomes of a missing SA (`acquire`, `acquireInProgress`, `noKeyManager`): the index
    /// in the entry's templates of the template that found none (the kernel stops at the first).
    public var template: Int?

    /// A resolution; `bundle` for `.protected`, `template` for a missing SA.
    public init(outcome: Outcome, checks: [ResolutionCheck], bundle: [SecurityAssociation] = [], template: Int? = nil) {
        self.outcome = outcome
        self.checks = checks
        self.bundle = bundle
        self.template = template
    }
}

/// Answers "what label does this traffic get, and may it pass?" from a mirror of the SAD/SPD and the shared
/// decision engine, following the kernel (Specs/kernel/labeled-ipsec.md §b, §c; Specs/resolver/semantics.md).
/// Every answer carries the checks it made. "edge N" in this module's comments and check reasons is edge N of
/// Specs/kernel/labeled-ipsec.md §g.
public struct Resolver: Sendable {
    /// The SAD and SPD. Changing it (or a flag below) empties ``decisions``.
    public var mirror: XfrmMirror { didSet { decisions.removeAll() } }
    public let authorizer: AssociationAuthorizer
    /// Whether a key manager listens for ACQUIREs (`km_is_alive`); without one, no larval SA is
    /// made and no ACQUIRE sent.
    public var keyManagerListening = true { didSet { decisions.removeAll() } }
    /// NetLabel is configured on the host: the peer checks are on (Specs/kernel/labeled-ipsec.md, edge 26).
    public var netLabelConfigured = false { didSet { decisions.removeAll() } }
    /// The kernel's NetLabel tables (Specs/kernel/labeled-ipsec.md, edge 22): what an arriving packet's
    /// NetLabel label is. Configured (``NetLabelState/enabled``), it turns the peer checks on (edge 26).
    public var netLabel = NetLabelState() { didSet { decisions.removeAll() } }
    /// SELinux xfrm contexts exist outside this mirror (another namespace; the kernel's count is
    /// global): the peer checks are on (Specs/kernel/labeled-ipsec.md, edge 26).
    public var labeledXfrmElsewhere = false { didSet { decisions.removeAll() } }
    /// The answers cached in front of the AVC by ``admit(_:secPath:socket:sid:)`` and
    /// ``remember(_:for:sender:generation:)`` (Specs/resolver/semantics.md, "The decision cache").
    public internal(set) var decisions = DecisionCache()

    /// Whether the peer checks run (`selinux_peerlbl_enabled`; Specs/kernel/labeled-ipsec.md, edge 26): the
    /// policy capability `always_check_network`, NetLabel configured, or at least one SELinux xfrm context (a
    /// labeled SA or SPD entry) on the machine.
    public var peerLabelingEnabled: Bool {
        authorizer.cache.server.policy.hasCapability("always_check_network") || netLabelConfigured || netLabel.enabled || labeledXfrmElsewhere
            || mirror.hasLabels
    }

    public init(mirror: XfrmMirror, authorizer: AssociationAuthorizer) {
        self.mirror = mirror
        self.authorizer = authorizer
    }

    /// The policy's `unlabeled` initial context: what unlabeled traffic and SID 0 are evaluated as.
    public var unlabeled: SecurityContext? {
        authorizer.cache.server.policy.initialSIDs.first { $0.name == "unlabeled" }?.context
    }

    /// An authorization as a check named `what`.
    public static func check(_ a: Authorization, _ what: String) -> ResolutionCheck {
        ResolutionCheck(
            what: what, passed: a.granted, reason: a.reason, record: a.record,
            access: AccessQuery(
                objectClass: "association", permissions: [a.permission.rawValue], source: a.source, target: a.target,
                check: a.check, undecided: a.check == nil ? a.reason : nil))
    }

    // MARK: - Inbound (§b.1, §b.2)

    /// The label of the SAs a packet came through (`selinux_xfrm_skb_sid_ingress`): the innermost
    /// labeled SA's (`ckall = 0`), and whether another labeled SA carries a different one (then
    /// `ckall = 1` fails). Unlabeled SAs never count.
    static func pathLabel(_ secPath: [SecurityAssociation]) -> (label: SecurityContext?, conflict: Bool) {
        var label: SecurityContext?
        for sa in secPath.reversed() {
            guard let ctx = sa.securityContext else { continue }
            if label == nil { label = ctx } else if label != ctx { return (label, true) }
        }
        return (label, false)
    }

    /// The peer label of a packet decapsulated through `secPath` (outermost SA first, as the kernel stores
    /// `sec_path`): the innermost labeled SA wins (`ckall = 0`); every labeled SA must carry the same label
    /// or the inbound policy check drops the packet (`ckall = 1`; Specs/kernel/labeled-ipsec.md, edge 20);
    /// unlabeled SAs in between never count; no labeled SA means unlabeled traffic.
    public func inbound(secPath: [SecurityAssociation]) -> InboundResolution {
        var checks: [ResolutionCheck] = []
        let (label, conflict) = Self.pathLabel(secPath)
        if conflict {
            checks.append(
                ResolutionCheck(
                    what: "labels of the nested SAs", passed: false,
                    reason: "they differ: the inbound policy check drops the packet (XFRMINHDRERROR)", record: nil))
            return InboundResolution(peer: nil, labeledBySA: false, dropped: true, checks: checks)
        }
        if let label {
            guard (try? authorizer.cache.server.sid(for: label)) != nil else {
                checks.append(
                    ResolutionCheck(
                        what: "peer label", passed: true,
                        reason: "the SA's label \(label) is not valid under the loaded policy: evaluated as unlabeled (edge 29)", record: nil))
                return InboundResolution(peer: unlabeled, labeledBySA: true, dropped: false, checks: checks)
            }
            checks.append(ResolutionCheck(what: "peer label", passed: true, reason: "from the SA: \(label)", record: nil))
            return InboundResolution(peer: label, labeledBySA: true, dropped: false, checks: checks)
        }
        checks.append(
            ResolutionCheck(
                what: "peer label", passed: true,
                reason: "no labeled SA: unlabeled (\(unlabeled?.description ?? "no unlabeled initial SID"))", record: nil))
        return InboundResolution(peer: unlabeled, labeledBySA: false, dropped: false, checks: checks)
    }

    /// The peer label of a packet that arrived on the SA named by (destination, SPI, protocol).
    public func inbound(destination: IPAddress, spi: UInt32, proto: IPsecProtocol) -> InboundResolution {
        guard let sa = mirror.sa(destination: destination, spi: spi, proto: proto) else {
            return InboundResolution(
                peer: nil, labeledBySA: false, dropped: true,
                checks: [
                    ResolutionCheck(
                        what: "SA dst \(destination) spi 0x\(String(spi, radix: 16)) proto \(proto)", passed: false,
                        reason: "no such SA: the packet is dropped (XFRMINNOSTATES)", record: nil)
                ])
        }
        return inbound(secPath: [sa])
    }

    // MARK: - SPD lookup (Specs/kernel/labeled-ipsec.md §c.1)

    /// The SPD lookup of one direction (`xfrm_policy_lookup`): entries whose direction and selector match
    /// (per-socket policies apply to their own socket only, and are not looked up for other flows),
    /// smaller priority first, then insertion order. An unlabeled entry matches with no check
    /// (Specs/kernel/labeled-ipsec.md, edge 13); a labeled one needs `polmatch` from `subject` (the flow's
    /// label outbound, the SA's label inbound; `unlabeled` without one) to its label, and a denial only hides
    /// it (`-ESRCH`: the lookup goes on, edge 15). Each check made is appended to `checks`.
    func spdLookup(
        _ direction: PolicyDirection, _ flow: Flow, subject: SecurityContext?, policyType: UInt8? = nil, checks: inout [ResolutionCheck]
    ) -> PolicyEntry? {
        let candidates = mirror.policies.enumerated()
            .filter {
                !$0.element.isSocketPolicy && $0.element.direction == direction && $0.element.selector.matches(flow)
                    && (policyType == nil || $0.element.policyType == policyType)
            }
            .sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }
            .map(\.element)
        let entry = direction == .in ? "inbound SPD entry" : direction == .fwd ? "forward SPD entry" : "SPD entry"
        for p in candidates
        where matches(
            p, subject: subject, name: "\(entry) index \(p.index)", unlabeled: "an unlabeled entry matches every flow, no check (edge 13)",
            note: { _ in direction != .out ? " (subject: the SA's label, edge 21)" : "" }, checks: &checks)
        {
            return p
        }
        return nil
    }

    /// The SPD entry of `direction` and `policyType` that `flow` finds (`xfrm_policy_lookup_bytype`),
    /// with the checks made: the subject of each `polmatch` is the flow's label, or the unlabeled
    /// context for a flow without one (SID 0). Linux 6.12 and later find the SPD entry of an
    /// `XFRM_MSG_MIGRATE` this way, with a flow built from the request's selector and no label
    /// (`xfrm_migrate_policy_find`; Specs/kernel/labeled-ipsec.md, edge 36).
    public func lookup(_ direction: PolicyDirection, _ flow: Flow, policyType: UInt8) -> (entry: PolicyEntry?, checks: [ResolutionCheck]) {
        var checks: [ResolutionCheck] = []
        let entry = spdLookup(direction, flow, subject: flow.context ?? unlabeled, policyType: policyType, checks: &checks)
        return (entry, checks)
    }

    /// Whether one SPD entry or socket policy applies to a flow whose label is `subject`
    /// (`security_xfrm_policy_lookup`): an unlabeled one with no check (Specs/kernel/labeled-ipsec.md,
    /// edge 13, `unlabeled` saying why), a labeled one when `polmatch` from `subject` to its label
    /// is granted (a denial is `-ESRCH`, edge 15; `note(granted)` is added to the check's
    /// description). The check made is appended to `checks`; `name` names the entry in it.
    func matches(
        _ p: PolicyEntry, subject: SecurityContext?, name: String, unlabeled: String, note: (Bool) -> String,
        checks: inout [ResolutionCheck]
    ) -> Bool {
        guard let label = p.securityContext else {
            checks.append(ResolutionCheck(what: "\(name) (unlabeled)", passed: true, reason: unlabeled, record: nil))
            return true
        }
        guard let subject else {
            checks.append(ResolutionCheck(what: "polmatch on \(label)", passed: false, reason: "no label and no unlabeled context", record: nil))
            return false
        }
        let a = authorizer.polmatch(flow: subject, policyLabel: label)
        checks.append(Self.check(a, "polmatch \(subject) → \(name) \(label)" + note(a.granted)))
        return a.granted
    }

    // MARK: - Outbound (Specs/kernel/labeled-ipsec.md §c.1, §c.2, §c.3)

    /// The per-socket policy lookup (`xfrm_sk_policy_lookup`, run before the SPD's for a socket
    /// that has one): when `policy`'s selector matches the flow, an unlabeled policy applies with no
    /// check (Specs/kernel/labeled-ipsec.md, edge 13); a labeled one needs `polmatch` from `subject`
    /// to its label (`security_xfrm_policy_lookup`), and a denial (`-ESRCH`) leaves the socket as if
    /// it had none: the SPD lookup follows (edge 15). Each check made is appended to `checks`.
    func socketPolicyLookup(_ policy: PolicyEntry, _ flow: Flow, subject: SecurityContext?, checks: inout [ResolutionCheck]) -> PolicyEntry? {
        guard policy.selector.matches(flow) else {
            checks.append(
                ResolutionCheck(what: "socket policy", passed: false, reason: "its selector does not match the flow: the SPD is looked up", record: nil))
            return nil
        }
        let applies = matches(
            policy, subject: subject, name: "socket policy",
            unlabeled: "an unlabeled policy matches every flow of its socket, no check (edge 13); the SPD is not looked up",
            note: { $0 ? "" : " (ESRCH: as if the socket had none, the SPD is looked up, edge 15)" }, checks: &checks)
        return applies ? policy : nil
    }

    /// The SPD lookup, SA selection and ACQUIRE prediction for an outbound flow; `socketPolicy` is
    /// the sending socket's outbound per-socket policy (`IP_IPSEC_POLICY`/`IP_XFRM_POLICY`), looked
    /// up first (`socketPolicyLookup`).
    public func outbound(_ flow: Flow, socketPolicy: PolicyEntry? = nil) -> OutboundResolution {
        var checks: [ResolutionCheck] = []
        let subject = flow.context ?? unlabeled
        let chosen =
            socketPolicy.flatMap { socketPolicyLookup($0, flow, subject: subject, checks: &checks) }
            ?? spdLookup(.out, flow, subject: subject, checks: &checks)
        guard let policy = chosen else {
            checks.append(ResolutionCheck(what: "SPD lookup", passed: true, reason: "no entry applies: the flow leaves unprotected", record: nil))
            return OutboundResolution(outcome: .bypass, checks: checks)
        }
        if policy.action == .block { return OutboundResolution(outcome: .blocked(policy), checks: checks) }
        if policy.securityContext != nil && flow.context == nil {
            checks.append(
                ResolutionCheck(
                    what: "ACQUIRE label", passed: false,
                    reason: "a labeled entry and a flow without a label (SID 0): EINVAL, no ACQUIRE (edge 17)", record: nil))
            return OutboundResolution(outcome: .invalid(policy), checks: checks)
        }
        // Every template in order, each resolved to an SA with the flow (its label included, edge
        // 14): `xfrm_tmpl_resolve_one`. The first template is the first transform applied, so the
        // innermost (`xfrm_bundle_create` chains `xfrm[0]` first); a tunnel template's endpoints
        // become the addresses of the templates after it.
        guard !policy.templates.isEmpty else {
            return OutboundResolution(outcome: .bypass, checks: checks)
        }
        var bundle: [SecurityAssociation] = []
        var (local, remote) = (flow.source, flow.destination)
        let nested = policy.templates.count > 1
        for (n, t) in policy.templates.enumerated() {
            let src = t.source == .any(t.family) ? local : t.source
            let dst = t.destination == .any(t.family) ? remote : t.destination
            let prefix = nested ? "template \(n + 1) (\(t.proto) \(t.mode)): " : ""
            switch selectSA(t, policy: policy, flow: flow, source: src, destination: dst, prefix: prefix, checks: &checks) {
            case .found(let sa):
                bundle.append(sa)
                (local, remote) = (src, dst)
            case .missing(let outcome):
                // Not modelled: an optional template (`level use`), which the kernel passes over
                // after its `xfrm_state_find` raised the ACQUIRE, sending the packet on without it.
                return OutboundResolution(outcome: outcome, checks: checks, template: n)
            }
        }
        guard let first = bundle.first else { return OutboundResolution(outcome: .bypass, checks: checks) }
        return OutboundResolution(outcome: .protected(policy, first), checks: checks, bundle: bundle)
    }

    /// What one template resolves to: an SA, or the outcome of its missing one.
    enum TemplateSA {
        case found(SecurityAssociation)
        case missing(OutboundResolution.Outcome)
    }

    /// SA selection for one template (`xfrm_state_find`, `xfrm_state_look_at`; Specs/kernel/labeled-ipsec.md
    /// §c.2): each candidate SA is checked on its own, `sendto` included, so every template of a nested
    /// entry needs an SA carrying the flow's label; without one, the ACQUIRE logic of §c.3 for this template.
    func selectSA(
        _ t: PolicyTemplate, policy: PolicyEntry, flow: Flow, source src: IPAddress, destination dst: IPAddress, prefix: String,
        checks: inout [ResolutionCheck]
    ) -> TemplateSA {
        // The kernel prefers the most recently added SA (`curlft.add_time`); SAs from a scenario
        // (add time 0) or with equal times go by the mirror's order, the newest first. The reqid
        // must be the template's exactly (`xfrm_state_find`: `x->props.reqid == tmpl->reqid`, so a
        // template's reqid 0 finds only SAs of reqid 0); the SPI only when the template names one.
        let candidatesSA = mirror.newestFirst().filter {
            $0.proto == t.proto && $0.mode == t.mode && $0.source == src && $0.destination == dst
                && $0.reqid == t.reqid && (t.spi == 0 || $0.spi == t.spi)
        }.enumerated().sorted { ($0.element.current.addTime, -$0.offset) > ($1.element.current.addTime, -$1.offset) }.map(\.element)
        // An SA with SPI 0 in a dump is a larval SA (state ACQ): an ACQUIRE in progress, never used.
        let larval = candidatesSA.first { $0.spi == 0 }
        for sa in candidatesSA where sa.spi != 0 {  // the most recently added first
            let what = prefix + "SA spi 0x\(String(sa.spi, radix: 16))" + (sa.securityContext.map { " \($0)" } ?? " (unlabeled)")
            guard sa.selector.matches(flow) || sa.selector == TrafficSelector.any(sa.family) else {
                checks.append(ResolutionCheck(what: what, passed: false, reason: "its selector does not match the flow", record: nil))
                continue
            }
            switch (policy.securityContext, sa.securityContext) {
            case (nil, nil):
                checks.append(ResolutionCheck(what: what, passed: true, reason: "unlabeled entry, unlabeled SA: match", record: nil))
                return .found(sa)
            case (nil, _?):
                checks.append(ResolutionCheck(what: what, passed: false, reason: "a labeled SA never serves an unlabeled entry (edge 13)", record: nil))
            case (_?, nil):
                checks.append(ResolutionCheck(what: what, passed: false, reason: "a labeled entry never uses an unlabeled SA (edge 14)", record: nil))
            case (_?, let saCtx?):
                guard saCtx == flow.context else {
                    checks.append(
                        ResolutionCheck(what: what, passed: false, reason: "its label is not the flow's (exact equality, range included: edge 14)", record: nil)
                    )
                    continue
                }
                let a = authorizer.sendto(flow: flow.context!, saLabel: saCtx)
                checks.append(Self.check(a, "sendto on \(what)"))
                if a.granted { return .found(sa) }
            }
        }
        let inProgress =
            mirror.acquires.first { $0.blocks(t, source: src, destination: dst) }
            ?? larval.map {
                PendingAcquire(
                    source: $0.source, destination: $0.destination, proto: $0.proto, mode: $0.mode, reqid: $0.reqid,
                    label: $0.securityContext, sequence: $0.sequence)
            }
        if let pending = inProgress {
            checks.append(
                ResolutionCheck(
                    what: prefix + "SA selection", passed: false,
                    reason: "no usable SA; a larval SA (ACQUIRE seq \(pending.sequence)" + (pending.label.map { " for \($0)" } ?? "")
                        + ") is in progress for these endpoints: no new ACQUIRE, whatever the label (edge 18)", record: nil))
            return .missing(.acquireInProgress(policy, pending))
        }
        guard keyManagerListening else {
            checks.append(
                ResolutionCheck(
                    what: prefix + "SA selection", passed: false,
                    reason: "no usable SA and no key manager listening: no larval SA, no ACQUIRE (ESRCH → EAGAIN, edge 18)", record: nil))
            return .missing(.noKeyManager(policy))
        }
        let label = policy.securityContext == nil ? nil : flow.context
        checks.append(
            ResolutionCheck(
                what: prefix + "SA selection", passed: false,
                reason: "no usable SA: ACQUIRE " + (label.map { "carrying the flow's label \($0) (edge 17)" } ?? "without a label"), record: nil))
        return .missing(.acquire(policy, label: label))
    }
}
