import DecisionEngine
public import IKEConfig
import IPsecModel
import Resolver
public import SecurityContexts
import XfrmManager

// The model's IKE daemons (Specs/scenarios/README.md, "What the model predicts", IKE): an ACQUIRE
// that one of the sending host's conns answers is negotiated with the peer's pluto, and the child
// SA pair it installs on both hosts carries the flow's label (Specs/manager/ike-handoff.md).

/// How one negotiation the model played ended, with what it checked on the way.
struct IKENegotiation {
    var established = false
    /// What happened, in order, for the step's notes.
    var notes: [String] = []
    /// The AVC records, each naming its kernel's host when the hosts have kernels of their own.
    var records: [AVCLine] = []
}

extension ScenarioModel {
    /// The SPI the model gives the next negotiated SA (pluto's come from the kernel's ALLOCSPI;
    /// the model's only need to be distinct).
    static let firstNegotiatedSPI: UInt32 = 0xc000_0000

    /// pluto's answer to the ACQUIRE `host` raised for `flow` under `entry`, in libreswan 4.10's
    /// order: the initiator's conn for the flow (``LibreswanConfiguration/acquireMatch(_:entryLabel:)``)
    /// and its own question, before it sends anything (``plutoAccepts(_:conn:daemon:)``); the IKE
    /// datagrams both ways (unlabeled, on pluto's bypass sockets: under the peer checks, the
    /// sender's `netif { egress }` and `node { sendto }`, the receiver's `netif { ingress }` and
    /// `node { recvfrom }` with the unlabeled peer as subject, and pluto's `peer { recv }`); the
    /// responder's conn for the received selectors and the same question (refused:
    /// TS_UNACCEPTABLE); then the responder's pluto installs its SA pair (the kernel's `association
    /// { setcontext }` on the label, which writes a record only when it is audited: permissive
    /// mode or domain, `auditallow`), then the initiator's. Any refusal ends the negotiation with no
    /// SA on either host.
    mutating func negotiate(host: String, flow: Flow, entry: PolicyEntry, label: SecurityContext) -> IKENegotiation? {
        guard let daemon = scenario.ikeDaemons[host], let config = ikeConfigurations[host],
            let peer = scenario.host(with: flow.destination), let peerDaemon = scenario.ikeDaemons[peer],
            let peerConfig = ikeConfigurations[peer]
        else { return nil }
        let acquired = AcquireFlow(
            source: flow.source, destination: flow.destination, upperProtocol: flow.upperProtocol, sourcePort: flow.sourcePort,
            destinationPort: flow.destinationPort, context: label)
        var n = IKENegotiation()
        guard case .served(let conn) = config.acquireMatch(acquired, entryLabel: entry.securityContext).outcome else { return nil }
        n.notes.append("ike: \(host)'s pluto answers the ACQUIRE carrying \(label) with conn \(conn.name)")
        if let why = plutoRefuses(label, conn: conn, daemon: daemon, host: host) {
            return refused(n, "\(host)'s pluto refuses the ACQUIRE: \(why) (libselinux; no kernel record)")
        }
        func run(_ checks: [ResolutionCheck], on side: String) -> Bool {
            for c in checks {
                if let r = c.record { n.records.append(line(r, on: side)) }
                n.notes.append("ike: " + c.description)
                if !c.passed { return false }
            }
            return true
        }
        // IKE_SA_INIT and IKE_AUTH (or CREATE_CHILD_SA on an IKE SA already up): one datagram each way.
        for (from, to, subject, receiverSubject) in [(host, peer, daemon, peerDaemon), (peer, host, peerDaemon, daemon)] {
            let sender = resolver(from), receiver = resolver(to)
            let dst = scenario.layout.hosts[to]!.address, src = scenario.layout.hosts[from]!.address
            if !run(sender.egressChecks(subject, destination: dst), on: from) { return refused(n, "an IKE datagram from \(from) is dropped on egress") }
            let delivery = receiver.deliver(receiver.inbound(secPath: []), to: receiverSubject, source: src)
            if !run(delivery.checks, on: to) { return refused(n, "\(to)'s pluto does not receive the IKE datagram") }
        }
        // The responder's conn for the received selectors (the flow seen from its side), and its
        // libselinux question on the received label.
        let reversed = AcquireFlow(
            source: flow.destination, destination: flow.source, upperProtocol: flow.upperProtocol, sourcePort: flow.destinationPort,
            destinationPort: flow.sourcePort, context: label)
        guard let answering = peerConfig.conns.first(where: { $0.mismatch(reversed, entryLabel: $0.secLabel) == nil }) else {
            return refused(n, "no conn of \(peer) holds the received traffic selectors (TS_UNACCEPTABLE)")
        }
        if let why = plutoRefuses(label, conn: answering, daemon: peerDaemon, host: peer) {
            return refused(n, "\(peer)'s pluto answers TS_UNACCEPTABLE: \(why) (libselinux; no kernel record)")
        }
        n.notes.append("ike: \(peer)'s conn \(answering.name) accepts the received label \(label) (its sec-label=\(answering.secLabel))")
        for (side, subject) in [(peer, peerDaemon), (host, daemon)] {
            let a = authorizers[side]!.setcontext(subject: subject, label: label)
            if let r = a.record { n.records.append(line(r, on: side)) }
            n.notes.append("ike: \(side)'s pluto adds the SAs: association { setcontext } \(subject) → \(label): \(a.reason)")
            if !a.granted { return refused(n, "\(side)'s kernel refuses the SAs (NEWSA: EACCES)") }
        }
        // Both hosts get the pair: initiator → responder and back, each with the flow's label.
        let template = entry.templates.first
        let a = scenario.layout.hosts[host]!.address, b = scenario.layout.hosts[peer]!.address
        for (from, to) in [(a, b), (b, a)] {
            let sa = SecurityAssociation(
                source: from, destination: to, spi: nextSPI(), proto: template?.proto ?? .esp, mode: template?.mode ?? .transport,
                reqid: template?.reqid ?? 0, algorithms: Self.negotiatedAlgorithms, securityContext: label)
            for side in [host, peer] { _ = try? kernels[side]!.perform(.addSA(sa)) }
        }
        acquires[host]?.removeAll { $0.source == a && $0.destination == b && $0.label == label }
        n.established = true
        n.notes.append("ike: child SA pair labeled \(label) installed on \(host) and \(peer)")
        return n
    }

    private func refused(_ n: IKENegotiation, _ why: String) -> IKENegotiation {
        var n = n
        n.notes.append("ike: no child SA: " + why)
        return n
    }

    /// Why pluto refuses to negotiate `label` on `conn`, or nil: libreswan 4.10's
    /// `sec_label_within_range` (`programs/pluto/labeled_ipsec.c`) asks libselinux's
    /// `selinux_check_access` whether the label may `polmatch` the conn's `sec-label=`, then whether
    /// pluto's own domain may `setcontext` it. The initiator asks when the ACQUIRE comes, before
    /// any IKE datagram; the responder for the label it receives. libselinux's AVC asks the kernel's
    /// security server and writes no kernel record; permissive mode and permissive domains grant.
    /// `host` is the daemon's: libselinux asks that host's kernel.
    public func plutoRefuses(_ label: SecurityContext, conn: LibreswanConn, daemon: SecurityContext, host: String) -> String? {
        if !userspaceAllows(label, conn.secLabel, "polmatch", host: host) {
            return "\(label) may not polmatch sec-label=\(conn.secLabel) of conn \(conn.name)"
        }
        if !userspaceAllows(daemon, label, "setcontext", host: host) {
            return "its domain \(daemon) may not setcontext \(label)"
        }
        return nil
    }

    /// libselinux's answer (`selinux_check_access`) for `association { perm }`.
    func userspaceAllows(_ source: SecurityContext, _ target: SecurityContext, _ perm: String, host: String) -> Bool {
        guard let d = try? servers[host]!.computeAccess(source: source, target: target, objectClass: "association") else { return false }
        return d.allowed.contains(perm) || d.permissiveDomain || !scenario.enforcing(host: host)
    }

    /// The algorithm of the model's negotiated SAs, with a zero key as every key in the model:
    /// AES-GCM with a 128-bit ICV, the one AEAD salabel's data plane carries, so that it can play the
    /// steps after a negotiation (libreswan's proposal decides the kernel's; no outcome depends on it).
    static let negotiatedAlgorithms = SAAlgorithms(
        aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: KeyMaterial(Array(repeating: 0, count: 20)), truncationBits: 128))

    mutating func nextSPI() -> UInt32 {
        negotiatedSPIs += 1
        return Self.firstNegotiatedSPI + negotiatedSPIs
    }
}
