public import IPsecModel
import SecurityContexts

/// The verdict of the inbound policy check on one packet.
public struct InboundPolicyCheck: Sendable, Hashable {
    /// The packet passes the check (and goes on to the socket's checks).
    public var accepted: Bool
    /// The entry that applied, if any.
    public var entry: PolicyEntry?
    public var checks: [ResolutionCheck]
}

extension Resolver {
    /// The inbound policy check `__xfrm_policy_check` (Specs/kernel/labeled-ipsec.md §b.2) for a packet
    /// (`packet`: its addresses, protocol and ports, as decapsulated) that came through `secPath`
    /// (outermost SA first; empty for plain traffic):
    /// 1. the flow's label is the SAs' label with `ckall = 1`: labeled SAs that differ drop the
    ///    packet (edge 20);
    /// 2. every SA must match its own selector (`XFRMINSTATEMISMATCH`);
    /// 3. SPD lookup in direction `in`, by priority, with `polmatch` whose subject is the SA label
    ///    (or `unlabeled` for plain traffic) and whose target is the entry's label (edge 21); a
    ///    denial hides the entry, an unlabeled entry matches every packet;
    /// 4. no entry: accepted, unless a tunnel-mode SA was used without a policy, or the namespace's
    ///    default for `in` is block (`inboundDefaultBlock`);
    /// 5. an entry: `block` drops; `allow` needs every non-optional template matched by an SA of the
    ///    path (protocol, mode, reqid, SPI, and the addresses for tunnel mode; labels are never
    ///    compared), the last template against the outermost SA, then each template before it further
    ///    in, and no tunnel SA left unmatched (`XFRMINTMPLMISMATCH`).
    ///
    /// With `direction` `.fwd` it is the same check on a packet the host forwards (`ip_forward`,
    /// Specs/kernel/labeled-ipsec.md §b.5): the FWD entries, the SA's label still the subject.
    public func inboundPolicy(
        _ packet: Flow, secPath: [SecurityAssociation], inboundDefaultBlock: Bool = false, direction: PolicyDirection = .in
    ) -> InboundPolicyCheck {
        let name = direction == .fwd ? "forward" : "inbound"
        var checks: [ResolutionCheck] = []
        func drop(_ what: String, _ why: String, entry: PolicyEntry? = nil) -> InboundPolicyCheck {
            checks.append(ResolutionCheck(what: what, passed: false, reason: why, record: nil))
            return InboundPolicyCheck(accepted: false, entry: entry, checks: checks)
        }
        // 1. The flow label, ckall = 1.
        let (label, conflict) = Self.pathLabel(secPath)
        if conflict { return drop("labels of the nested SAs", "they differ: the packet is dropped (XFRMINHDRERROR, edge 20)") }
        // 2. Each SA's own selector.
        for sa in secPath where !(sa.selector.matches(packet) || sa.selector == TrafficSelector.any(sa.family)) {
            return drop("selector of SA spi 0x\(String(sa.spi, radix: 16))", "the packet does not match it (XFRMINSTATEMISMATCH)")
        }
        // 3. SPD lookup, direction in, the SA's label as subject.
        let chosen = spdLookup(direction, packet, subject: label ?? unlabeled, checks: &checks)
        // 4. No entry.
        guard let policy = chosen else {
            if let tunnel = secPath.first(where: { $0.mode == .tunnel }) {
                return drop("\(name) policy", "no entry applies, but tunnel SA spi 0x\(String(tunnel.spi, radix: 16)) was used: dropped")
            }
            if inboundDefaultBlock { return drop("\(name) policy", "no entry applies and the default for in is block: dropped") }
            checks.append(ResolutionCheck(what: "\(name) policy", passed: true, reason: "no entry applies: accepted", record: nil))
            return InboundPolicyCheck(accepted: true, entry: nil, checks: checks)
        }
        // 5. The entry's action and templates.
        if policy.action == .block { return drop("\(name) SPD entry index \(policy.index)", "its action is block: dropped", entry: policy) }
        var next = 0
        // The last template is the outermost transform, met first in the path: the kernel walks the
        // templates from the last to the first (`for (i = xfrm_nr-1, k = 0; i >= 0; i--)
        // k = xfrm_policy_ok(tpp[i], sp, k, …)` in `__xfrm_policy_check`).
        for (n, t) in policy.templates.enumerated().reversed() {
            let found = secPath[next...].firstIndex { sa in
                sa.proto == t.proto && sa.mode == t.mode && (t.reqid == 0 || sa.reqid == t.reqid) && (t.spi == 0 || sa.spi == t.spi)
                    && (t.mode != .tunnel || (sa.source == t.source && sa.destination == t.destination))
            }
            if let found {
                // Transport SAs skipped over are tolerated; a tunnel SA is not.
                if let skipped = secPath[next..<found].first(where: { $0.mode == .tunnel }) {
                    return drop(
                        "template \(n + 1) of \(name) entry index \(policy.index)",
                        "tunnel SA spi 0x\(String(skipped.spi, radix: 16)) is not in the policy (XFRMINTMPLMISMATCH)", entry: policy)
                }
                next = found + 1
            } else if !t.optional {
                return drop(
                    "template \(n + 1) of \(name) entry index \(policy.index) (\(t.proto) \(t.mode))",
                    secPath.isEmpty
                        ? "the packet came without IPsec: dropped (XFRMINTMPLMISMATCH)"
                        : "no SA of the path matches it: dropped (XFRMINTMPLMISMATCH)", entry: policy)
            }
        }
        if let extra = secPath[next...].first(where: { $0.mode == .tunnel }) {
            return drop(
                "\(name) entry index \(policy.index)", "tunnel SA spi 0x\(String(extra.spi, radix: 16)) is not in the policy (XFRMINTMPLMISMATCH)",
                entry: policy)
        }
        checks.append(
            ResolutionCheck(
                what: "templates of \(name) entry index \(policy.index)", passed: true,
                reason: policy.templates.isEmpty ? "none: accepted" : "matched by the SA path (labels are not compared)", record: nil))
        return InboundPolicyCheck(accepted: true, entry: policy, checks: checks)
    }
}
