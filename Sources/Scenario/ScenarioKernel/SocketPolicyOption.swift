import IPsecModel
import Scenario
import XfrmWire

/// The value of a socket policy's `setsockopt(SOL_IP or SOL_IPV6, …)`, in the format of the key manager that
/// compiles it (`xfrm_user_policy` offers the bytes to each registered manager's `compile_policy`).
public enum SocketPolicyOption {
    /// `IP_IPSEC_POLICY` (linux/in.h): PF_KEY's format, compiled by `pfkey_compile_policy`
    /// (net/key/af_key.c; needs the af_key module).
    public static let ipsecPolicy: Int32 = 16
    /// `IP_XFRM_POLICY` (linux/in.h): xfrm_user's format, compiled by `xfrm_compile_policy`
    /// (net/xfrm/xfrm_user.c), which has no security context.
    public static let xfrmPolicy: Int32 = 17
    /// `SOL_IPV6` (linux/socket.h), the level of an IPv6 socket's options.
    public static let solIPv6: Int32 = 41
    /// `IPV6_IPSEC_POLICY` (linux/in6.h): PF_KEY's format on an IPv6 socket.
    public static let ipv6IPsecPolicy: Int32 = 34
    /// `IPV6_XFRM_POLICY` (linux/in6.h): xfrm_user's format on an IPv6 socket.
    public static let ipv6XfrmPolicy: Int32 = 35

    /// The level, option and bytes: PF_KEY's with a context (the only format that carries one),
    /// else xfrm_user's; `SOL_IP` for IPv4 templates, `SOL_IPV6` for IPv6 ones. Each compiler
    /// wants the option of its socket's family (`pfkey_compile_policy`, `xfrm_compile_policy`:
    /// EINVAL otherwise), and the socket's family is its templates' (the scenario's hosts').
    public static func value(_ sp: ScenarioStep.SocketPolicy) -> (level: Int32, name: Int32, bytes: [UInt8]) {
        let v6 = sp.entry.selector.source.address.family == .inet6
        if let raw = sp.rawContext {
            return (v6 ? solIPv6 : 0, v6 ? ipv6IPsecPolicy : ipsecPolicy, pfkey(sp.entry, context: Array(raw.utf8) + [0]))
        }
        return (v6 ? solIPv6 : 0, v6 ? ipv6XfrmPolicy : xfrmPolicy, xfrmUser(sp.entry))
    }

    /// PF_KEY's outbound IPsec policy (include/uapi/linux/pfkeyv2.h, every field host order, packed):
    /// `struct sadb_x_policy` (16 bytes: len in 8-byte units counting the requests, exttype
    /// `SADB_X_EXT_POLICY` 18, type `IPSEC_POLICY_IPSEC` 2, dir `IPSEC_DIR_OUTBOUND` 2, reserved,
    /// id 0, priority 0); one `struct sadb_x_ipsecrequest` (16 bytes: len in bytes, proto, mode
    /// `IPSEC_MODE_TRANSPORT` 1, level `IPSEC_LEVEL_REQUIRE` 2, reserved, reqid 0, reserved) per
    /// template, without addresses (a transport template has none, `parse_ipsecrequest`); then, with
    /// `context`, `struct sadb_x_sec_ctx` (8 bytes: len in 8-byte units with the header, exttype
    /// `SADB_X_EXT_SEC_CTX` 24, alg 1 `XFRM_SC_ALG_SELINUX`, doi 1 `XFRM_SC_DOI_LSM`, ctx_len in bytes)
    /// and the context, zero-padded to 8 bytes (`verify_sec_ctx_len` wants exactly that length).
    public static func pfkey(_ entry: PolicyEntry, context: [UInt8]?) -> [UInt8] {
        var bytes: [UInt8] = []
        func u16(_ v: Int) { bytes += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
        func u32(_ v: UInt32) { bytes += (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
        u16((16 + 16 * entry.templates.count) / 8)
        u16(18)
        u16(2)
        bytes += [2, 0]
        u32(0)
        u32(0)
        for t in entry.templates {
            u16(16)
            u16(Int(t.proto.rawValue))
            bytes += [1, 2]
            u16(0)
            u32(0)
            u32(0)
        }
        guard let context else { return bytes }
        let units = (8 + context.count + 7) / 8
        u16(units)
        u16(24)
        bytes += [1, 1]
        u16(context.count)
        bytes += context + [UInt8](repeating: 0, count: units * 8 - 8 - context.count)
        return bytes
    }

    /// xfrm_user's socket policy: `struct xfrm_userpolicy_info` (its selector, the entry's: every
    /// flow of its family; dir `XFRM_POLICY_OUT` 1) then a `struct xfrm_user_tmpl` per template,
    /// the same structs as NEWPOLICY's (Specs/kernel/layouts.md), with no attributes around them.
    public static func xfrmUser(_ entry: PolicyEntry) -> [UInt8] {
        let info = XfrmUserPolicyInfo(
            selector: XfrmSelector(entry.selector), lifetime: entry.lifetime, current: entry.current, priority: entry.priority,
            index: 0, dir: PolicyDirection.out.rawValue, action: entry.action.rawValue, flags: entry.flags, share: entry.share)
        var bytes: [UInt8] = []
        info.encode(into: &bytes)
        for t in entry.templates { XfrmUserTmpl(t).encode(into: &bytes) }
        return bytes
    }
}
