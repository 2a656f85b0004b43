public import IPsecModel
import SecurityContexts

/// One step of an apply plan: the operation, the operation that undoes it (for rollback), and a
/// line for people (never containing keys).
public struct ApplyStep: Sendable, Hashable {
    public var operation: XfrmOperation
    public var undo: XfrmOperation?
    public var summary: String

    public init(operation: XfrmOperation, undo: XfrmOperation?, summary: String) {
        self.operation = operation
        self.undo = undo
        self.summary = summary
    }
}

/// Turns an apply file into what one host must hold, and that into the steps from the host's
/// current state (Specs/manager/apply.md):
/// - per association, the host gets an outbound SA (its address → the peer's) and an inbound one,
///   labeled with the association's context (initiator → responder) and reply context (responder →
///   initiator; the same by default), and an `out` and an `in` SPD entry labeled with
///   the policy context whose template names the SA by addresses and protocol, with SPI 0 (a
///   labeled template carries no SPI: the SA is chosen by its label, as libreswan and strongSwan do);
/// - an SA that already exists identically is left alone; one that differs is deleted and added
///   again (the kernel's UPDSA never relabels a valid SA: Specs/kernel/labeled-ipsec.md, edge case 19); an
///   SPD entry that differs is replaced with UPDPOLICY;
/// - every step carries its inverse, so a failed apply can be rolled back to the state before it.
public enum ApplyPlanner {
    /// What `host` must hold for `file`: its static associations' SAs and SPD entries (empty when every
    /// association of the host is keyed by IKE).
    ///
    /// With `ikeRoutes`, also the SPD entries libreswan routes for the host's IKE associations that
    /// it routes (`auto: ondemand` or `route`): the same `out` and `in` entries a static association
    /// gets, labeled with the SPD label, with no SA behind them (Specs/manager/ike-handoff.md, step 1).
    /// What a model of the host needs; `salabel apply` leaves them to pluto.
    public static func desired(_ file: ApplyFile, host: String, keys: KeyFile, ikeRoutes: Bool = false) throws(ApplyFile.Error) -> (
        sas: [SecurityAssociation], policies: [PolicyEntry]
    ) {
        guard let me = file.hosts[host] else {
            throw ApplyFile.Error(path: "--host", message: "no host \(host) in the file (hosts: \(file.hosts.keys.sorted().joined(separator: ", ")))")
        }
        var sas: [SecurityAssociation] = [], policies: [PolicyEntry] = []
        let mine = file.associations.filter { $0.between.0 == host || $0.between.1 == host }
        guard !mine.isEmpty else { throw ApplyFile.Error(path: "--host", message: "host \(host) takes part in no association") }
        // An association keyed by IKE is libreswan's to install (IKEConfig writes its conn).
        if ikeRoutes { policies = Self.ikeRoutes(file, host: host) }
        for a in mine where a.keying == .static {
            let initiator = a.between.0 == host
            let peer = file.hosts[initiator ? a.between.1 : a.between.0]!
            guard let pair = keys.keys[a.name] else {
                throw ApplyFile.Error(path: "key file", message: "no keys for association \(a.name) (run salabel keygen)")
            }
            // Forward = initiator → responder.
            let outKeys = initiator ? pair.forward : pair.reverse, inKeys = initiator ? pair.reverse : pair.forward
            let outSPI = initiator ? a.spis.0 : a.spis.1, inSPI = initiator ? a.spis.1 : a.spis.0
            // The forward SA carries the initiator's label, the reverse one the responder's replies'.
            let reply = a.replyContext ?? a.context
            sas.append(try sa(a, from: me.address, to: peer.address, spi: outSPI, keys: outKeys, label: initiator ? a.context : reply))
            sas.append(try sa(a, from: peer.address, to: me.address, spi: inSPI, keys: inKeys, label: initiator ? reply : a.context))
            policies += spdEntries(a, me: me.address, peer: peer.address, initiator: initiator)
        }
        // Associations between the same hosts with the same selector and SPD label (e.g. one per
        // domain, told apart by the SAs' labels) share one SPD entry: the kernel refuses a second
        // identical one (EEXIST).
        var unique: [PolicyEntry] = []
        for p in policies where !unique.contains(p) { unique.append(p) }
        return (sas, unique)
    }

    /// The SPD entries pluto routes on `host` for its associations keyed by IKE that it routes
    /// (`auto: ondemand` or `route`): what ``desired(_:host:keys:ikeRoutes:)`` adds with `ikeRoutes`.
    public static func ikeRoutes(_ file: ApplyFile, host: String) -> [PolicyEntry] {
        guard let me = file.hosts[host] else { return [] }
        var routes: [PolicyEntry] = []
        for a in file.associations where a.between.0 == host || a.between.1 == host {
            guard case .ike(let options) = a.keying, options.auto != .add else { continue }
            let initiator = a.between.0 == host
            let peer = file.hosts[initiator ? a.between.1 : a.between.0]!
            for p in spdEntries(a, me: me.address, peer: peer.address, initiator: initiator) where !routes.contains(p) { routes.append(p) }
        }
        return routes
    }

    /// The `out` and `in` SPD entries of association `a` on the host at `me`. The responder's port
    /// is the destination port of initiator → responder traffic.
    private static func spdEntries(_ a: ApplyFile.Association, me: IPAddress, peer: IPAddress, initiator: Bool) -> [PolicyEntry] {
        let outSel = selector(a, from: me, to: peer, peerIsResponder: initiator)
        let inSel = selector(a, from: peer, to: me, peerIsResponder: !initiator)
        return [
            PolicyEntry(
                selector: outSel, direction: .out, priority: a.priority,
                templates: [PolicyTemplate(source: me, destination: peer, proto: a.proto, mode: a.mode, reqid: a.reqid)],
                securityContext: a.policyContext),
            PolicyEntry(
                selector: inSel, direction: .in, priority: a.priority,
                templates: [PolicyTemplate(source: peer, destination: me, proto: a.proto, mode: a.mode, reqid: a.reqid)],
                securityContext: a.policyContext),
        ]
    }

    private static func sa(_ a: ApplyFile.Association, from: IPAddress, to: IPAddress, spi: UInt32, keys: KeyFile.Keys, label: SecurityContext) throws(ApplyFile
        .Error) -> SecurityAssociation
    {
        var algs = SAAlgorithms()
        if let name = a.aead {
            guard let k = keys.aead else { throw ApplyFile.Error(path: "key file: \(a.name)", message: "no aead key") }
            algs.aead = XfrmAlgorithm(name: name, key: k, truncationBits: a.icvBits)
        }
        if let name = a.encryption {
            guard let k = keys.encryption else { throw ApplyFile.Error(path: "key file: \(a.name)", message: "no encryption key") }
            algs.encryption = XfrmAlgorithm(name: name, key: k)
        }
        if let name = a.authentication {
            guard let k = keys.authentication else { throw ApplyFile.Error(path: "key file: \(a.name)", message: "no authentication key") }
            algs.authentication = XfrmAlgorithm(name: name, key: k, truncationBits: a.icvBits)
        }
        // The keys must fit their algorithms (Specs/manager/keys.md) before any step is planned,
        // so that a dry run refuses what the real run would.
        for (algorithm, role) in [(algs.aead, AlgorithmKeyRules.Role.aead), (algs.encryption, .encryption), (algs.authentication, .authentication)] {
            guard let algorithm else { continue }
            do { try AlgorithmKeyRules.check(algorithm, role: role) } catch {
                let direction = spi == a.spis.0 ? "forward" : "reverse"
                throw ApplyFile.Error(
                    path: "key file: \(a.name).\(direction).\(role)", message: "\(error.algorithm): \(error.message) (salabel keygen --force writes new keys)")
            }
        }
        return SecurityAssociation(
            source: from, destination: to, spi: spi, proto: a.proto, mode: a.mode, reqid: a.reqid,
            replayWindow: 32, lifetime: a.lifetime, algorithms: algs, securityContext: label)
    }

    private static func selector(_ a: ApplyFile.Association, from: IPAddress, to: IPAddress, peerIsResponder: Bool) -> TrafficSelector {
        var s = TrafficSelector(source: IPPrefix(host: from), destination: IPPrefix(host: to), upperProtocol: a.upperProtocol)
        if a.port != 0 {
            if peerIsResponder { s.destinationPort = a.port; s.destinationPortMask = 0xFFFF } else { s.sourcePort = a.port; s.sourcePortMask = 0xFFFF }
        }
        return s
    }

    /// Whether an installed SA already is what is wanted (kernel-reported fields aside).
    static func equivalent(_ have: SecurityAssociation, _ want: SecurityAssociation) -> Bool {
        have.source == want.source && have.mode == want.mode && have.reqid == want.reqid && have.securityContext == want.securityContext
            && have.algorithms == want.algorithms && have.encapsulation == want.encapsulation && have.replayWindow == want.replayWindow
            && have.interfaceID == want.interfaceID && have.selector == want.selector && have.lifetime == want.lifetime
    }

    static func equivalent(_ have: PolicyEntry, _ want: PolicyEntry) -> Bool {
        have.templates == want.templates && have.priority == want.priority && have.action == want.action && have.flags == want.flags
    }

    /// Whether `have` is `want` as a kernel that drops labels stores it: no label, and everything
    /// else the same (key and contents).
    static func strippedOfLabel(_ have: PolicyEntry, matches want: PolicyEntry) -> Bool {
        guard have.securityContext == nil else { return false }
        var unlabeled = want
        unlabeled.securityContext = nil
        return have.hasSameKernelKey(as: unlabeled) && equivalent(have, unlabeled)
    }

    private static func label(_ ctx: SecurityContext?) -> String { ctx.map { " ctx \($0)" } ?? " (unlabeled)" }

    /// The steps that bring the current state to the desired one; empty when nothing changes.
    public static func plan(
        desired: (sas: [SecurityAssociation], policies: [PolicyEntry]),
        current: (sas: [SecurityAssociation], policies: [PolicyEntry])
    ) -> [ApplyStep] {
        var steps: [ApplyStep] = []
        for want in desired.sas {
            if let have = current.sas.first(where: { $0.hasSameKernelKey(as: want) }) {
                if equivalent(have, want) { continue }
                steps.append(
                    ApplyStep(
                        operation: .deleting(have), undo: .addSA(have),
                        summary: "replace SA \(want.identifier): delete the old one\(label(have.securityContext))"))
            }
            steps.append(
                ApplyStep(operation: .addSA(want), undo: .deleting(want), summary: "add SA src \(want.source) \(want.identifier)\(label(want.securityContext))")
            )
        }
        for want in desired.policies {
            if let have = current.policies.first(where: { $0.hasSameKernelKey(as: want) }) {
                if equivalent(have, want) { continue }
                steps.append(
                    ApplyStep(
                        operation: .updatePolicy(want), undo: .updatePolicy(have),
                        summary: "update policy \(want.selector.source) → \(want.selector.destination) dir \(want.direction)\(label(want.securityContext))"))
            } else {
                steps.append(
                    ApplyStep(
                        operation: .addPolicy(want), undo: .deleting(want),
                        summary: "add policy \(want.selector.source) → \(want.selector.destination) dir \(want.direction)\(label(want.securityContext))"))
            }
        }
        return steps
    }

    /// The steps that take the desired state away (`salabel apply --remove`): policies first, then SAs.
    public static func removal(
        desired: (sas: [SecurityAssociation], policies: [PolicyEntry]),
        current: (sas: [SecurityAssociation], policies: [PolicyEntry])
    ) -> [ApplyStep] {
        var steps: [ApplyStep] = []
        for want in desired.policies {
            if let have = current.policies.first(where: { $0.hasSameKernelKey(as: want) }) {
                steps.append(
                    ApplyStep(
                        operation: .deleting(have), undo: .addPolicy(have),
                        summary: "delete policy \(have.selector.source) → \(have.selector.destination) dir \(have.direction)\(label(have.securityContext))"))
            } else if want.securityContext != nil, let have = current.policies.first(where: { strippedOfLabel($0, matches: want) }) {
                // A kernel without an xfrm security module stored this entry without its label
                // (Specs/manager/batch.md): it is still the file's entry, and removal must find it.
                steps.append(
                    ApplyStep(
                        operation: .deleting(have), undo: .addPolicy(have),
                        summary:
                            "delete policy \(have.selector.source) → \(have.selector.destination) dir \(have.direction) (stored without its label \(want.securityContext!): this kernel drops labels)"
                    ))
            }
        }
        for want in desired.sas {
            if let have = current.sas.first(where: { $0.hasSameKernelKey(as: want) }) {
                steps.append(ApplyStep(operation: .deleting(have), undo: .addSA(have), summary: "delete SA \(have.identifier)\(label(have.securityContext))"))
            }
        }
        return steps
    }
}
