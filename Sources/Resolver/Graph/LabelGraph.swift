/// Who may talk to whom over labeled SAs, as a graph (Specs/resolver/graph.md): the hosts, the
/// domains on each, their SPD entries and SAs as nodes; the kernel's checks between them as edges,
/// each with the policy's decision and its reason.
public struct LabelGraph: Sendable, Hashable {
    /// One node; its ``id`` is stable across runs (it names the host and what the node is, never
    /// an order of discovery).
    public struct Node: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            /// A host (a scenario's or apply file's host, or a live namespace).
            case host
            /// A flow's or socket's context on a host.
            case domain
            /// An SPD entry of a host.
            case spd
            /// An SA, on the host that sends on it.
            case sa
        }

        public var id: String
        public var kind: Kind
        /// The host the node belongs to (its cluster).
        public var host: String
        /// What the node shows, one item a line.
        public var lines: [String]

        public init(id: String, kind: Kind, host: String, lines: [String]) {
            self.id = id
            self.kind = kind
            self.host = host
            self.lines = lines
        }
    }

    /// One edge: a check of the kernel's path between two nodes, or where an SA leads.
    public struct Edge: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            /// `association { polmatch }`: a flow's domain against an outbound SPD entry's label
            /// (D1, `selinux_xfrm_policy_lookup`).
            case polmatch
            /// `association { sendto }`: a flow's domain on an SA with exactly its label (D2,
            /// `selinux_xfrm_state_pol_flow_match`).
            case sendto
            /// An SA to the host of its destination address: the receiver must hold the SA (the
            /// SAD lookup, `xfrm_state_lookup`; `XFRMINNOSTATES` otherwise).
            case reaches
            /// `association { polmatch }` of the inbound policy check: the SA's label against an
            /// inbound SPD entry's (edge 21 of Specs/kernel/labeled-ipsec.md, `__xfrm_policy_check`).
            case inboundPolmatch = "inbound-polmatch"
            /// Delivery of the SA's traffic to a receiving domain: `peer { recv }` with
            /// `network_peer_controls` (`selinux_socket_sock_rcv_skb`), else `association {
            /// recvfrom }` (D3, `selinux_xfrm_sock_rcv_skb`).
            case receive
        }

        public var from: String
        public var to: String
        public var kind: Kind
        /// The host that sends the traffic the check is about.
        public var sender: String
        /// The host it is sent to, when known (an SPD entry whose template names no host of the
        /// graph leaves it nil).
        public var receiver: String?
        /// The check that decided the edge: the failing one when the edge is denied.
        public var check: ResolutionCheck
        public init(from: String, to: String, kind: Kind, sender: String, receiver: String?, check: ResolutionCheck) {
            self.from = from
            self.to = to
            self.kind = kind
            self.sender = sender
            self.receiver = receiver
            self.check = check
        }

        /// The edge holds: the check passed (a denial not enforced passes, as in the kernel).
        public var allowed: Bool { check.passed }

        /// The permission the edge stands for (`polmatch`, `sendto`, `peer recv`, …), or what
        /// was checked when it is not a permission.
        public var permission: String {
            guard let a = check.access else {
                switch kind {
                case .reaches: return "reaches"
                case .polmatch: return "no check (unlabeled entry)"
                default: return check.what
                }
            }
            let name = (a.objectClass == "association" ? "" : a.objectClass + " ") + a.permissions.joined(separator: " ")
            return kind == .inboundPolmatch ? name + " (inbound)" : name
        }

        /// Why a denied edge is denied, short: audit2why's stages, or what failed.
        public var reason: String {
            switch check.access?.decision {
            case .denied(let stages)?: return stages.joined(separator: ", ") + (check.passed ? " (not enforced)" : "")
            case .undecided(let why)?: return why
            case .allowed?: return "allowed"
            case nil: return check.reason
            }
        }
    }

    public var nodes: [Node]
    public var edges: [Edge]

    public init(nodes: [Node], edges: [Edge]) {
        self.nodes = nodes
        self.edges = edges
    }

    /// The graph as a dictionary: `nodes` [{`id`, `kind`, `host`, `lines`}] and `edges` [{`from`,
    /// `to`, `kind`, `sender`, `receiver` (when known), `permission`, `allowed`, `reason`, `check` (the `AccessQuery`, when one)}].
    public var json: [String: Any] {
        [
            "nodes": nodes.map { ["id": $0.id, "kind": $0.kind.rawValue, "host": $0.host, "lines": $0.lines] as [String: Any] },
            "edges": edges.map { e -> [String: Any] in
                var o: [String: Any] = [
                    "from": e.from, "to": e.to, "kind": e.kind.rawValue, "sender": e.sender, "permission": e.permission, "allowed": e.allowed,
                    "reason": e.reason,
                ]
                if let r = e.receiver { o["receiver"] = r }
                if let a = e.check.access { o["check"] = a.json }
                return o
            },
        ]
    }
}
