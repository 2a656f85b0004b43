public import IPsecModel
public import SecurityContexts

// A flow forwarded by a gateway (Specs/kernel/labeled-ipsec.md §b.5): the sender's SA ends at the
// gateway, which checks its FWD entries, looks the forwarded flow up in its own SPD with the inbound
// SA's label, makes the forwarding peer checks and the postroute checks, and sends the packet on in
// clear or through its own SA to the receiver.

extension PathTrace {
    /// Traces `flow` from `sender` through `gateway` to `receiver`, delivered to a socket labeled
    /// `socket`; with `reply`, the answer comes back through the same gateway. The sender's SAs must
    /// end at the gateway (a packet sent in clear goes to it by route); one the gateway would only
    /// pass on (an SA to the receiver itself) is not traced and stops at the gateway.
    public static func traceForwarded(
        _ flow: Flow, sender: Resolver, gateway: Resolver, gatewayAddress: IPAddress, receiver: Resolver, socket: SecurityContext,
        reply: Bool = true
    ) -> PathTrace {
        var legs: [Leg] = []
        let out = sender.outbound(flow)
        func undelivered() -> PathTrace {
            PathTrace(
                flow: flow, legs: legs, outbound: out.outcome, outboundTemplate: out.template, delivered: false, peerSeen: nil, reply: [],
                outboundBundle: out.carrying)
        }
        func stop(_ stage: Leg.Stage, at host: IPAddress, _ what: String, _ why: String) -> PathTrace {
            legs.append(dropped(stage, at: host, what, why))
            return undelivered()
        }
        // 1. The sender: in clear to the gateway, or through SAs that end there.
        let first: [SecurityAssociation]
        switch hop(out.outcome, bundle: out.bundle) {
        case .failure(let failure):
            legs.append(Leg(stage: .outbound, host: flow.source, checks: out.checks, passed: false, verdict: failure.verdict))
            return undelivered()
        case .success(let (bundle, verdict)):
            legs.append(Leg(stage: .outbound, host: flow.source, checks: out.checks, passed: true, verdict: verdict))
            if let outer = bundle.first, outer.destination != gatewayAddress {
                return stop(
                    .forwardPolicy, at: gatewayAddress, "SA spi 0x\(String(outer.spi, radix: 16)) to \(outer.destination)",
                    "it does not end at the gateway: the model traces only SAs that end there")
            }
            switch receivedPath(bundle, at: gateway) {
            case .failure(let missing): return stop(.forwardPolicy, at: gatewayAddress, missing.what, missing.reason)
            case .success(let path): first = path
            }
        }
        let onward = forwarded(flow, arrivedOn: first, gateway: gateway, gatewayAddress: gatewayAddress, receiver: receiver, socket: socket)
        legs += onward.legs
        guard onward.delivered else { return undelivered() }
        let seen = onward.peerSeen
        var replies: [PathTrace] = []
        if reply {
            let back = replyFlow(flow, from: receiver, socket: socket, seen: seen)
            replies.append(
                traceForwarded(
                    back, sender: receiver, gateway: gateway, gatewayAddress: gatewayAddress, receiver: sender, socket: flow.context ?? socket,
                    reply: false))
        }
        return PathTrace(
            flow: flow, legs: legs, outbound: out.outcome, outboundTemplate: out.template, delivered: true, peerSeen: seen, reply: replies,
            outboundBundle: out.carrying)
    }

    /// What a gateway does with a packet of `flow` that reached it through `path`: its legs from
    /// the gateway's FWD check to the receiver's delivery, whether the packet was delivered and the
    /// peer label the receiving socket reads.
    public struct Forwarded: Sendable, Hashable {
        /// The gateway's `forward-policy` and `forward` legs, then the receiver's
        /// `inbound-policy` and `delivery` legs, as far as the packet went.
        public var legs: [Leg]
        /// The packet reached the receiving socket.
        public var delivered: Bool
        /// The peer label the receiving socket reads (`nil`: not delivered, or unlabeled).
        public var peerSeen: SecurityContext?
    }

    /// The rest of a forwarded path (``traceForwarded(_:sender:gateway:gatewayAddress:receiver:socket:reply:)``
    /// from the gateway on): a packet of `flow` arrived at `gateway` through the SAs of `first` (the
    /// gateway's own copies, in `sec_path` order; empty: in clear) and is forwarded to `receiver`,
    /// whose socket is labeled `socket`. `salabel resolve` starts here for traffic on a gateway's SA.
    public static func forwarded(
        _ flow: Flow, arrivedOn first: [SecurityAssociation], gateway: Resolver, gatewayAddress: IPAddress, receiver: Resolver,
        socket: SecurityContext
    ) -> Forwarded {
        var legs: [Leg] = []
        func undelivered() -> Forwarded { Forwarded(legs: legs, delivered: false, peerSeen: nil) }
        func stop(_ stage: Leg.Stage, at host: IPAddress, _ what: String, _ why: String, checks: [ResolutionCheck] = []) -> Forwarded {
            legs.append(dropped(stage, at: host, what, why, checks: checks))
            return undelivered()
        }
        // 2. The gateway's FWD check (`ip_forward` → `xfrm4_policy_check(NULL, XFRM_POLICY_FWD, …)`,
        //    `ip6_forward` → `xfrm6_policy_check` for IPv6).
        let packet = Flow(
            context: nil, source: flow.source, destination: flow.destination, upperProtocol: flow.upperProtocol, sourcePort: flow.sourcePort,
            destinationPort: flow.destinationPort)
        let fwd = gateway.inboundPolicy(packet, secPath: first, direction: .fwd)
        legs.append(
            Leg(
                stage: .forwardPolicy, host: gatewayAddress, checks: fwd.checks, passed: fwd.accepted,
                verdict: fwd.accepted ? "accepted by the forward policy check" : "dropped by the forward policy check"))
        guard fwd.accepted else { return undelivered() }
        // 3. The forwarded flow's outbound lookup (`__xfrm_route_forward`): its label is the inbound
        //    SA's (`ckall = 1`), no socket.
        let label = Resolver.pathLabel(first).label
        let forwarded = Flow(
            context: label, source: flow.source, destination: flow.destination, upperProtocol: flow.upperProtocol, sourcePort: flow.sourcePort,
            destinationPort: flow.destinationPort)
        let onward = gateway.outbound(forwarded)
        var checks = onward.checks
        let second: [SecurityAssociation]
        let onwardVerdict: String
        switch hop(onward.outcome, bundle: onward.bundle) {
        case .failure(let failure):
            legs.append(Leg(stage: .forward, host: gatewayAddress, checks: checks, passed: false, verdict: "forwarded flow: " + failure.verdict))
            return undelivered()
        case .success(let (bundle, verdict)):
            onwardVerdict = verdict
            switch receivedPath(bundle, at: receiver) {
            case .failure(let missing): return stop(.forward, at: gatewayAddress, missing.what, missing.reason, checks: checks)
            case .success(let path): second = path
            }
        }
        // 4. `selinux_ip_forward`: the peer (the inbound SA's label) may come in by the interface
        //    from the source node; 5. `selinux_ip_postroute` on the last pass: the peer of the
        //    packet as it leaves — the same label in clear, none (`unlabeled`) once an SA of the
        //    gateway's took the packet (`xfrm_output` resets the `sec_path`).
        let peer = gateway.inbound(secPath: first).peer
        // The lookup's failed checks are skips (a polmatch denial passes an entry over, edge 15);
        // these decide.
        var decisive = peer.map { gateway.forwardChecks($0, source: flow.source) } ?? []
        if decisive.allSatisfy(\.passed) {
            let leaving = second.isEmpty ? peer : gateway.unlabeled
            let destination = second.first?.destination ?? flow.destination
            decisive += leaving.map { gateway.egressChecks($0, destination: destination, secmark: .forwardOut) } ?? []
        }
        checks += decisive
        let passed = decisive.allSatisfy(\.passed)
        legs.append(
            Leg(
                stage: .forward, host: gatewayAddress, checks: checks, passed: passed,
                verdict: passed ? "forwarded: " + onwardVerdict : "dropped by the forwarding checks"))
        guard passed else { return undelivered() }
        // 6. The receiver: its inbound policy check on what came from the gateway, then the socket.
        let policyCheck = receiver.inboundPolicy(packet, secPath: second)
        legs.append(
            Leg(
                stage: .inboundPolicy, host: flow.destination, checks: policyCheck.checks, passed: policyCheck.accepted,
                verdict: policyCheck.accepted ? "accepted by the inbound policy check" : "dropped by the inbound policy check"))
        guard policyCheck.accepted else { return undelivered() }
        let inbound = receiver.inbound(secPath: second)
        let delivery = receiver.deliver(inbound, to: socket, source: flow.source)
        let seen = delivery.delivered && inbound.labeledBySA ? inbound.peer : nil
        legs.append(deliveryLeg(delivery, to: socket, on: flow.destination, seen: seen, unlabeled: "unlabeled from the gateway"))
        return Forwarded(legs: legs, delivered: delivery.delivered, peerSeen: seen)
    }

    /// A leg at `host` that drops the packet after `checks`: `what` failed for `why` (no AVC record).
    private static func dropped(_ stage: Leg.Stage, at host: IPAddress, _ what: String, _ why: String, checks: [ResolutionCheck] = []) -> Leg {
        Leg(
            stage: stage, host: host, checks: checks + [ResolutionCheck(what: what, passed: false, reason: why, record: nil)], passed: false,
            verdict: "dropped")
    }

    /// A hop's packet: sent in clear, or through `bundle` (outermost first); otherwise why it is not sent.
    private static func hop(
        _ outcome: OutboundResolution.Outcome, bundle: [SecurityAssociation]
    ) -> Result<([SecurityAssociation], String), HopFailure> {
        switch outcome {
        case .bypass: return .success(([], "no SPD entry applies: sent without IPsec"))
        case .protected(_, let sa):
            let all = bundle.isEmpty ? [sa] : bundle
            let names = all.map { "spi 0x\(String($0.spi, radix: 16))" + ($0.securityContext.map { " labeled \($0)" } ?? " (unlabeled)") }
            return .success((all, "sent on SA " + names.joined(separator: " inside ")))
        case .blocked: return .failure(HopFailure("blocked by the SPD entry: dropped"))
        case .invalid: return .failure(HopFailure("EINVAL: a labeled SPD entry and a flow without a label; no ACQUIRE"))
        case .acquire(_, let label):
            return .failure(HopFailure("no usable SA: an ACQUIRE" + (label.map { " carrying \($0)" } ?? " without a label") + "; the packet waits"))
        case .acquireInProgress(_, let pending): return .failure(HopFailure("no usable SA; ACQUIRE seq \(pending.sequence) already in progress"))
        case .noKeyManager: return .failure(HopFailure("no usable SA and no key manager: no ACQUIRE"))
        }
    }

    /// The SAs of `bundle` as the host at its end holds them, in `sec_path` order; the first one it
    /// lacks, if any (the packet is then dropped, `XFRMINNOSTATES`).
    private static func receivedPath(_ bundle: [SecurityAssociation], at host: Resolver) -> Result<[SecurityAssociation], MissingSA> {
        var path: [SecurityAssociation] = []
        for s in bundle.reversed() {
            guard let mine = host.mirror.sa(destination: s.destination, spi: s.spi, proto: s.proto) else {
                return .failure(MissingSA(what: "SA dst \(s.destination) spi 0x\(String(s.spi, radix: 16)) proto \(s.proto)"))
            }
            path.append(mine)
        }
        return .success(path)
    }

    private struct HopFailure: Error {
        var verdict: String
        init(_ verdict: String) { self.verdict = verdict }
    }

    private struct MissingSA: Error {
        var what: String
        var reason: String { "the host has no such SA: dropped (XFRMINNOSTATES)" }
    }
}
