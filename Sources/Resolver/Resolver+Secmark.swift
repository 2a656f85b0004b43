public import SecurityContexts

/// A permission of class `packet`: what the kernel's secmark checks ask of a packet's subject
/// (security/selinux/hooks.c).
public enum SecmarkPermission: String, Sendable, Hashable {
    /// A local socket's packet leaving (`selinux_ip_postroute`, `selinux_ip_postroute_compat`).
    case send
    /// A packet delivered to a socket (`selinux_sock_rcv_skb_compat`, `selinux_socket_sock_rcv_skb`).
    case recv
    /// A forwarded packet coming in (`selinux_ip_forward`).
    case forwardIn = "forward_in"
    /// A forwarded packet leaving (`selinux_ip_postroute`, no socket).
    case forwardOut = "forward_out"
}

// The secmark checks (Specs/kernel/labeled-ipsec.md §a.2): `packet { send recv forward_in
// forward_out }` on the packet's secmark label. The model has no SECMARK rules (iptables'
// SECMARK target), so every packet's secmark is 0, judged as the unlabeled context (edge 28), and
// the checks run only when `selinux_secmark_enabled` is true through the policy capability
// `always_check_network` (its other cause, a SECMARK rule, never is).
extension Resolver {
    /// Whether the secmark checks run (`selinux_secmark_enabled`): the policy has
    /// `always_check_network`.
    public var secmarkEnabled: Bool {
        authorizer.cache.server.policy.hasCapability("always_check_network")
    }

    /// The secmark check of a packet whose subject is `subject` (the socket, or the peer for a
    /// forwarded packet): `packet { permission }` on the unlabeled context, the label of a packet
    /// no SECMARK rule marked. Empty when the secmark checks are off.
    public func secmarkChecks(_ subject: SecurityContext, _ permission: SecmarkPermission) -> [ResolutionCheck] {
        guard secmarkEnabled else { return [] }
        let what = "packet { \(permission.rawValue) } \(subject) → secmark 0 (always_check_network)"
        guard let unlabeled else {
            return [ResolutionCheck(what: what, passed: false, reason: "no decision: the policy has no unlabeled initial SID", record: nil)]
        }
        return [check(subject, unlabeled, "packet", permission.rawValue, what: what)]
    }
}
