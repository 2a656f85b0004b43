public import DecisionEngine
public import IPsecModel
public import SecurityContexts

/// What the inbound policy check and delivery decided for one packet
/// (``Resolver/admit(_:secPath:socket:sid:)``).
public struct InboundAdmission: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// The inbound policy check accepted it and every delivery check granted it.
        case delivered
        /// The inbound policy check refused it: the failed check's reason.
        case refused(String)
        /// The inbound policy check accepted it, but no socket receives it.
        case noSocket
        /// A delivery check denied it (the checks' records say which).
        case denied
    }

    /// What was decided.
    public var outcome: Outcome
    /// The checks made, in order: the inbound policy check's, then delivery's.
    public var checks: [ResolutionCheck]
}

// The resolver as the userspace data plane uses it (Specs/dataplane/node.md): SAs installed and
// removed, ACQUIREs recorded and answered, labels mapped to SIDs, and the per-packet questions
// answered through the one decision cache, so that a node never reaches into the mirror or the AVC.
extension Resolver {
    // MARK: - The policy

    /// A number that changes whenever the policy's decisions may have changed (a reload or a
    /// boolean change): the AVC's `AccessVectorCache/generation`.
    public var policyGeneration: UInt32 { authorizer.cache.generation }

    /// The SID of a context, validating it under the loaded policy (`security_context_to_sid`).
    public func sid(for context: SecurityContext) throws(DecisionError) -> SID {
        try authorizer.cache.server.sid(for: context)
    }

    /// The label the policy evaluates an SA's label as: the label itself when the loaded policy
    /// knows it, else the `unlabeled` context (Specs/kernel/labeled-ipsec.md, edge 29).
    public func evaluatedLabel(_ label: SecurityContext) -> SecurityContext {
        (try? sid(for: label)) != nil ? label : (unlabeled ?? label)
    }

    /// `association { setcontext }` from `subject` on `label`: what a key manager needs to add or
    /// delete an SA with that label (`selinux_xfrm_alloc_user`, `selinux_xfrm_state_delete`).
    public func setcontextCheck(_ label: SecurityContext, by subject: SecurityContext) -> ResolutionCheck {
        Self.check(authorizer.setcontext(subject: subject, label: label), "association { setcontext } \(subject) → \(label)")
    }

    // MARK: - SAs and ACQUIREs

    /// The SAs, in the order they were installed.
    public var sas: [SecurityAssociation] { mirror.sas }

    /// The SA with this identity (destination, SPI, protocol), if installed.
    public func sa(_ id: SAIdentifier) -> SecurityAssociation? {
        mirror.sa(destination: id.destination, spi: id.spi, proto: id.proto)
    }

    /// Installs an SA (`XFRM_MSG_NEWSA`), replacing one with the same kernel key. It answers the
    /// pending ACQUIRE for its endpoints (the kernel replaces the larval SA). Empties the cache.
    public mutating func install(_ sa: SecurityAssociation) {
        mirror.insert(sa)
    }

    /// Removes the SA with `sa`'s kernel key (`XFRM_MSG_DELSA`, a hard expiry); `false` when there
    /// was none. Empties the cache.
    @discardableResult
    public mutating func remove(_ sa: SecurityAssociation) -> Bool {
        mirror.remove(sa)
    }

    /// Records the larval SA of an ACQUIRE just sent, so that further flows to its endpoints wait
    /// without a new one (Specs/kernel/labeled-ipsec.md, edge 18), until an SA for them is installed or it expires.
    public mutating func recordAcquire(_ pending: PendingAcquire) {
        mirror.acquires.append(pending)
    }

    /// Drops larval SAs older than the mirror's lifetime for them at time `now` (the caller's
    /// clock); the cache is kept when none expires.
    public mutating func expireAcquires(now: Double) {
        if mirror.hasExpiredAcquires(now: now) { mirror.expireAcquires(now: now) }
    }

    // MARK: - Per packet, through the cache

    /// Whether the cache answers an inbound packet's question: the packet (its inner addresses and
    /// UDP ports) that came through the SA with key `sa` (`nil`: in clear) is accepted by the
    /// inbound policy check and delivered to the socket with SID `socket`, writing no record.
    /// `false`: ask ``admit(_:secPath:socket:sid:)``. (`mutating` only so that a caller holding
    /// the resolver in a class's property asks it in place rather than copying it.)
    @inline(__always)
    public mutating func admitsFromCache(
        source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
        through sa: SADKey?, socket: SID
    ) -> Bool {
        decisions.delivers(.inbound(source, destination, sourcePort, destinationPort, sa: sa, socket: socket), generation: policyGeneration)
    }

    /// The inbound policy check (``inboundPolicy(_:secPath:inboundDefaultBlock:direction:)``) then, when a
    /// socket (`socket`, SID `sid`) receives the packet, delivery to it
    /// (``deliver(_:to:interface:source:)``, the peer label from `secPath`), with every check and
    /// reason. A delivery that wrote no record is cached for
    /// ``admitsFromCache(source:destination:sourcePort:destinationPort:through:socket:)``.
    public mutating func admit(_ packet: Flow, secPath: [SecurityAssociation], socket: SecurityContext?, sid: SID) -> InboundAdmission {
        let generation = policyGeneration
        let policy = inboundPolicy(packet, secPath: secPath)
        var checks = policy.checks
        guard policy.accepted else {
            return InboundAdmission(outcome: .refused(policy.checks.last(where: { !$0.passed })?.reason ?? "refused"), checks: checks)
        }
        guard let socket else { return InboundAdmission(outcome: .noSocket, checks: checks) }
        let delivery = deliver(inbound(secPath: secPath), to: socket, source: packet.source)
        checks += delivery.checks
        guard delivery.delivered else { return InboundAdmission(outcome: .denied, checks: checks) }
        if Self.cacheable(checks) {
            let key = DecisionCache.Key.inbound(
                packet.source, packet.destination, packet.sourcePort, packet.destinationPort,
                sa: secPath.last.map(SADKey.init), socket: sid)
            decisions.insert(key, generation: generation)
        }
        return InboundAdmission(outcome: .delivered, checks: checks)
    }

    /// The cached resolution of an outbound flow (its addresses and UDP ports) from a socket with
    /// SID `sender`: an SA that serves it, with the checks its first datagram made. `nil`: ask
    /// ``outbound(_:socketPolicy:)``. (`mutating` for the same reason as
    /// ``admitsFromCache(source:destination:sourcePort:destinationPort:through:socket:)``.)
    public mutating func route(
        source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
        sender: SID
    ) -> DecisionCache.Route? {
        decisions.route(.outbound(source, destination, sourcePort, destinationPort, sender: sender), generation: policyGeneration)
    }

    /// Caches an outbound resolution (the caller's checks after it, such as the egress checks,
    /// included) for ``route(source:destination:sourcePort:destinationPort:sender:)``: only an SA that serves the flow, and only when no
    /// check wrote a record. `generation` is the ``policyGeneration`` read before it was computed.
    public mutating func remember(_ resolution: OutboundResolution, for flow: Flow, sender: SID, generation: UInt32) {
        guard case .protected = resolution.outcome, Self.cacheable(resolution.checks) else { return }
        decisions.insert(
            .outbound(flow.source, flow.destination, flow.sourcePort, flow.destinationPort, sender: sender),
            generation: generation, route: resolution)
    }

    /// Whether an allowing answer may be cached: no check wrote a record (a denial, an
    /// `auditallow` or a permissive grant goes to the AVC every time).
    static func cacheable(_ checks: [ResolutionCheck]) -> Bool {
        checks.allSatisfy { $0.record == nil }
    }
}
