public import IPsecModel
public import SecurityContexts

extension Resolver {
    /// The peer label of a packet that passed the inbound policy check, with NetLabel's part
    /// (`selinux_skb_peerlbl_sid`; Specs/kernel/labeled-ipsec.md §b.3, edge 22): the SA label of
    /// `inbound`, NetLabel's label of the packet (``NetLabelState/arriving(from:cipsoLevel:netmsg:)``,
    /// a CIPSO option when the sender's kernel maps `flow`'s destination to a CIPSO DOI, carrying
    /// the sending socket's low level), reconciled by ``peerLabel(xfrm:netlabel:)``
    /// (`security_net_peersid_resolve`). Returns the resolution the delivery checks use (its
    /// `peer` their subject, `unlabeled` for none; dropped when NetLabel or the reconciliation
    /// fails, `-EACCES` with no AVC record) and the label the receiving socket reads (`nil`: none).
    public func withNetLabel(_ inbound: InboundResolution, flow: Flow, sender: Resolver) -> (InboundResolution, SecurityContext?) {
        let saLabel = inbound.labeledBySA ? inbound.peer : nil
        guard netLabel.enabled, !inbound.dropped else { return (inbound, saLabel) }
        var out = inbound
        func refuse(_ why: String) -> (InboundResolution, SecurityContext?) {
            out.dropped = true
            out.checks.append(ResolutionCheck(what: "peer label (selinux_skb_peerlbl_sid)", passed: false, reason: why + ": -EACCES, dropped", record: nil))
            return (out, nil)
        }
        var cipso: LevelSyntax?
        if let doi = sender.netLabel.optionDOI(to: flow.destination), let low = flow.context?.range?.low {
            // cipso_v4_validate / calipso_validate at the receiver: an unknown DOI drops the packet.
            guard netLabel.knows(doi: doi, family: flow.destination.family) else { return refuse("DOI \(doi) unknown to the receiver") }
            cipso = low
        }
        let netmsg = authorizer.cache.server.policy.initialSIDs.first { $0.name == "netmsg" }?.context
        switch netLabel.arriving(from: flow.source, cipsoLevel: cipso, netmsg: netmsg) {
        case .failure(let r): return refuse(r.reason)
        case .success(let label):
            let r = peerLabel(xfrm: saLabel, netlabel: label)
            switch r.outcome {
            case .refused(let errno):
                return refuse("NetLabel \(label), SA \(saLabel?.description ?? "none"): \(r.reason) (security_net_peersid_resolve \(errno))")
            case .peer(let p):
                out.checks.append(ResolutionCheck(what: "peer label", passed: true, reason: "NetLabel \(label): \(r.reason)", record: nil))
                out.peer = p ?? unlabeled
                return (out, p)
            }
        }
    }
}

extension Resolver {
    /// Whether a packet of `flow` sent over `bundle` reaches the receiver with its ESP header
    /// overwritten by a second CIPSO option (measured on 6.1 and 6.12; Specs/scenarios/README.md,
    /// kernel facts): a datagram socket is labeled per packet (`NLBL_REQSKB`: the default domain
    /// maps by address, so `netlbl_sock_setattr` cannot label the socket), in `selinux_ip_output`
    /// at LOCAL_OUT. A transport-mode SA keeps that IP header; `xfrm_output` zeroes `IPCB(skb)`,
    /// and the ESP packet passes LOCAL_OUT again, where `cipso_v4_skbuff_setattr`, seeing no option
    /// length, pushes a new option in front of the old one: the receiver reads the old option
    /// where the ESP header should be, finds no SA (`XfrmInNoStates`) and drops it, with no AVC
    /// record. A TCP socket carries its option in its own IP options (`NLBL_CONNLABELED` at
    /// connect, `NLBL_LABELED` for an accepted one), so `selinux_netlbl_skbuff_setsid` leaves its
    /// packets alone. A tunnel-mode SA puts a new outer header in front, so the inner option survives
    /// (measured, `netlabel-tunnel`). CALIPSO (IPv6) datagrams were not measured.
    public func cipsoRewrittenUnderESP(_ flow: Flow, bundle: [SecurityAssociation]) -> Bool {
        flow.upperProtocol == 17 && flow.destination.family == .inet && netLabel.optionDOI(to: flow.destination) != nil && flow.context?.range != nil
            && bundle.contains { $0.mode == .transport }
    }
}
