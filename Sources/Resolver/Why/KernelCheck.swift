// Which check of the kernel an AVC record of labeled networking comes from
// (Specs/kernel/labeled-ipsec.md §a: C1–C4, D1–D4, and the peer checks under
// network_peer_controls), told from its class and permission, and for `association { sendto }` from
// the policy's capability and the target.

/// A check of the kernel's labeled networking that writes AVC records: where it is made (the
/// kernel function), what its subject and target are, and its row in Specs/kernel/labeled-ipsec.md §a.
public struct KernelCheck: Sendable, Hashable {
    /// Its row of Specs/kernel/labeled-ipsec.md §a (`C1–C4`, `D1`, …), or the table the peer
    /// checks are in (`peer checks`).
    public var id: String
    /// Where the kernel makes it (`security/selinux/…`).
    public var function: String
    /// What the check decides, in a sentence.
    public var meaning: String
    /// What the record's `scontext` and `tcontext` are in this check.
    public var subject: String
    public var target: String
    /// The stage of a packet's path it belongs to, as `salabel trace` names them (`outbound`,
    /// `inbound-policy`, `delivery`), or `xfrm request` for the control plane.
    public var stage: String

    /// The check behind a record of class `tclass` for `permissions`, or nil when it is not one of
    /// labeled networking (`association`, `peer`, `netif`, `node`, `packet`).
    /// `peerControls`: the policy has `network_peer_controls`; `targetIsUnlabeled`: the target is
    /// the policy's unlabeled context (D4's target).
    public static func identify(tclass: String, permissions: [String], peerControls: Bool, targetIsUnlabeled: Bool) -> KernelCheck? {
        let perm = permissions.first ?? ""
        switch (tclass, perm) {
        case ("association", "setcontext"):
            return KernelCheck(
                id: "C1–C4, C6", function: "selinux_xfrm_alloc_user, selinux_xfrm_policy_delete, selinux_xfrm_state_delete",
                meaning:
                    "an xfrm request (add, update, delete or flush of an SA or SPD entry) that creates, looks up or removes this label, or a MIGRATE whose clone of an SA allocates the SA's label again (clone_security, edge 36)",
                subject: "the task that sent the request", target: "the label of the SA or SPD entry", stage: "xfrm request")
        case ("association", "polmatch"):
            return KernelCheck(
                id: "D1", function: "selinux_xfrm_policy_lookup (from xfrm_policy_lookup)",
                meaning: "an SPD lookup: a flow may use an SPD entry only if its label may polmatch the entry's; a denial skips the entry (edge 15)",
                subject:
                    "the flow's label (outbound), or the label of the SA the packet came on (the inbound policy check, edge 21); the unlabeled context for a flow without one, such as forwarded plaintext or, on Linux 6.12 and later, the lookup of a MIGRATE's SPD entry (xfrm_migrate_policy_find builds a flow without a label: a key manager's MOBIKE move finds a labeled entry only if the unlabeled context may polmatch it, edge 36)",
                target: "the SPD entry's label", stage: "outbound or inbound-policy")
        case ("association", "sendto") where peerControls || !targetIsUnlabeled:
            return KernelCheck(
                id: "D2", function: "selinux_xfrm_state_pol_flow_match (from xfrm_state_find)",
                meaning: "SA selection: a flow may use an SA only if the SA carries exactly its label and the label may sendto it",
                subject: "the flow's label", target: "the SA's label", stage: "outbound")
        case ("association", "sendto"):
            return KernelCheck(
                id: "D4", function: "selinux_xfrm_postroute_last (without network_peer_controls)",
                meaning: "an outgoing packet of a socket that no labeled SA carries", subject: "the sending socket",
                target: "the unlabeled context", stage: "outbound")
        case ("association", "recvfrom"):
            return KernelCheck(
                id: "D3", function: "selinux_xfrm_sock_rcv_skb (without network_peer_controls)",
                meaning: "delivery to a socket: it may receive from the label of the SA the packet came on (unlabeled without one)",
                subject: "the receiving socket", target: "the packet's SA label, or the unlabeled context", stage: "delivery")
        case ("peer", _):
            return KernelCheck(
                id: "peer checks", function: "selinux_socket_sock_rcv_skb",
                meaning: "delivery to a socket: it may receive from the packet's peer label (the SA's label, unlabeled without a labeled SA)",
                subject: "the receiving socket", target: "the peer label", stage: "delivery")
        case ("netif", "ingress"), ("node", "recvfrom"):
            return KernelCheck(
                id: "peer checks", function: "selinux_inet_sys_rcv_skb (socket receive), selinux_ip_forward (forwarding)",
                meaning: "a packet arriving: its peer label may come in on this interface (netif) from this node (node)",
                subject: "the packet's peer label", target: "the interface's or the source node's label", stage: "delivery")
        case ("netif", "egress"), ("node", "sendto"):
            return KernelCheck(
                id: "peer checks", function: "selinux_ip_postroute",
                meaning: "a packet leaving: its sender may send out of this interface (netif) to this node (node)",
                subject: "the sending socket (the connection's context for a SYN-ACK, the peer for a forwarded packet)",
                target: "the interface's or the destination node's label", stage: "outbound")
        case ("packet", _):
            return KernelCheck(
                id: "peer checks", function: "selinux_ip_postroute, selinux_ip_forward, selinux_socket_sock_rcv_skb (secmark)",
                meaning: "a packet's secmark label: the socket or peer may send, receive or forward packets so marked",
                subject: "the socket or peer", target: "the packet's secmark label", stage: "outbound or delivery")
        default:
            return nil
        }
    }
}
