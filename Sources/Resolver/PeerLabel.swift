public import SecurityContexts

/// A NetLabel label a packet may also carry (Specs/kernel/labeled-ipsec.md §b.3), by its kernel type
/// (`include/net/netlabel.h`: `NONE 0, MGMT 1, RIPSO 2, CIPSOV4 3, CIPSOV6 4, UNLABELED 5,
/// ADDRSELECT 6, CALIPSO 7`).
public enum NetLabel: Sendable, Hashable, CustomStringConvertible {
    /// NetLabel is off, or the packet has no NetLabel label.
    case none
    /// A static or fallback label (`NETLBL_NLTYPE_UNLABELED`): it yields to an SA label.
    case fallback(SecurityContext)
    /// A CIPSO (IPv4) label: only MLS data on the wire, built on the `netmsg` initial SID's
    /// user:role:type (`security_netlbl_secattr_to_sid`).
    case cipso(SecurityContext)
    /// A CALIPSO (IPv6) label, likewise.
    case calipso(SecurityContext)

    public var context: SecurityContext? {
        switch self {
        case .none: nil
        case .fallback(let c), .cipso(let c), .calipso(let c): c
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .fallback(let c): "fallback \(c)"
        case .cipso(let c): "CIPSO \(c)"
        case .calipso(let c): "CALIPSO \(c)"
        }
    }
}

/// The peer label of a packet, from its SA label and its NetLabel label
/// (`security_net_peersid_resolve`).
public struct PeerLabelResolution: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// The peer label; `nil` is SID 0 (no label: access checks use `unlabeled`, userspace
        /// sees none).
        case peer(SecurityContext?)
        /// The labels conflict (`-EACCES`): the packet is dropped, a connection refused.
        case refused(errno: String)
    }

    public var outcome: Outcome
    public var reason: String

    /// The peer label, or `nil` for no label or a refusal.
    public var peer: SecurityContext? {
        if case .peer(let p) = outcome { return p }
        return nil
    }
}

extension Resolver {
    /// Reconciles the SA label (`xfrm`, the innermost labeled SA's; `nil` for none) with a NetLabel
    /// label as `security_net_peersid_resolve` does (Specs/kernel/labeled-ipsec.md, edge 22):
    /// - no SA label: the NetLabel label, possibly none;
    /// - no NetLabel label, or a fallback one: the SA label (a fallback always yields);
    /// - CIPSO/CALIPSO and an SA label: with MLS off, no label (SID 0) and no error; with MLS on, the
    ///   SA label when the two MLS ranges are equal, else `-EACCES`.
    public func peerLabel(xfrm: SecurityContext?, netlabel: NetLabel) -> PeerLabelResolution {
        guard let xfrm else {
            return PeerLabelResolution(
                outcome: .peer(netlabel.context),
                reason: netlabel.context == nil ? "no SA label, no NetLabel label: no peer label" : "no SA label: the NetLabel label")
        }
        switch netlabel {
        case .none:
            return PeerLabelResolution(outcome: .peer(xfrm), reason: "the SA label")
        case .fallback:
            return PeerLabelResolution(outcome: .peer(xfrm), reason: "a fallback NetLabel label yields to the SA label")
        case .cipso(let n), .calipso(let n):
            guard let vocabulary = authorizer.cache.server.policy.mls else {
                return PeerLabelResolution(outcome: .peer(nil), reason: "both labels and MLS off: nothing to compare, no peer label (SID 0)")
            }
            let a: MLSRange, b: MLSRange
            do {
                a = try vocabulary.resolve(n)
                b = try vocabulary.resolve(xfrm)
            } catch {
                return PeerLabelResolution(outcome: .refused(errno: "EINVAL"), reason: "a label the policy does not know: \(error) (EINVAL)")
            }
            if a == b {
                return PeerLabelResolution(outcome: .peer(xfrm), reason: "equal MLS ranges: the SA label (the richer one)")
            }
            return PeerLabelResolution(
                outcome: .refused(errno: "EACCES"),
                reason: "the NetLabel range \(n.range.map(\.description) ?? "-") differs from the SA's \(xfrm.range.map(\.description) ?? "-"): EACCES")
        }
    }

    /// The context of a connection accepted by a socket labeled `socket` from a peer labeled `peer`
    /// (`selinux_conn_sid`; Specs/kernel/labeled-ipsec.md, edge 23): the socket's user, role and type with
    /// the peer's MLS range; the socket's own context for no peer label or a policy without MLS. The accepted
    /// socket's replies are classified with it, so they need an SA labeled with exactly this.
    public func connectionContext(socket: SecurityContext, peer: SecurityContext?) -> SecurityContext {
        guard let peer, authorizer.cache.server.policy.mls != nil else { return socket }
        var c = socket
        c.range = peer.range
        return c
    }
}

/// What a receiving application reads of the peer label (Specs/kernel/labeled-ipsec.md §b.4).
public enum PeerSecurityOption {
    /// The socket classes `SO_PEERSEC` answers for (`selinux_socket_getpeersec_stream`).
    public static let streamClasses: Set<String> = ["tcp_socket", "unix_stream_socket", "sctp_socket"]

    /// `getsockopt(SO_PEERSEC)` (getpeercon) on a socket of class `socketClass` whose peer label is `peer`
    /// (`nil`: SID 0), into a buffer of `bufferLength` bytes (Specs/kernel/labeled-ipsec.md, edge 24): the
    /// context and its length, NUL included; `ENOPROTOOPT` for another class or no label; `ERANGE` with the
    /// required length for a short buffer.
    public static func getPeerSec(socketClass: String, peer: SecurityContext?, bufferLength: Int = 4096) -> Result<
        (context: String, length: Int), PeerSecurityError
    > {
        guard streamClasses.contains(socketClass), let peer else { return .failure(PeerSecurityError(errno: "ENOPROTOOPT", requiredLength: nil)) }
        let text = peer.description
        let length = text.utf8.count + 1
        guard bufferLength >= length else { return .failure(PeerSecurityError(errno: "ERANGE", requiredLength: length)) }
        return .success((text, length))
    }

    /// The `SCM_SECURITY` control message payload an IPv4 datagram socket with `IP_PASSSEC` gets
    /// (Specs/kernel/labeled-ipsec.md, edge 25): the context with its NUL; `nil` (no control message) for
    /// IPv6, without `IP_PASSSEC`, or without a peer label.
    public static func scmSecurity(ipv4: Bool, passSec: Bool, peer: SecurityContext?) -> [UInt8]? {
        guard ipv4, passSec, let peer else { return nil }
        return Array(peer.description.utf8) + [0]
    }
}

/// A peer-label query that fails, with the errno name and, for `ERANGE`, the length needed.
public struct PeerSecurityError: Error, Sendable, Hashable {
    public var errno: String
    public var requiredLength: Int?

    public init(errno: String, requiredLength: Int?) {
        self.errno = errno
        self.requiredLength = requiredLength
    }
}
