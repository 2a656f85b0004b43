public import IPsecModel
public import NetlinkProtocol
public import SecurityContexts

/// The requests salabel sends, built from the model, byte for byte as iproute2 6.1 builds the same
/// request (attribute order included; Specs/manager/wire-format.md lists each).
public enum XfrmRequest {
    /// `NLM_F_REQUEST | NLM_F_ACK`, as iproute2 sends changes.
    public static let changeFlags: NetlinkMessageFlags = [.request, .acknowledge]

    // MARK: SAs

    /// NEWSA (or UPDSA with `update`): `xfrm_usersa_info`, then `XFRMA_SEC_CTX`, `XFRMA_ALG_AEAD`,
    /// `XFRMA_ALG_CRYPT`, `XFRMA_ALG_AUTH`/`XFRMA_ALG_AUTH_TRUNC`, `XFRMA_ALG_COMP`, `XFRMA_ENCAP`,
    /// `XFRMA_REPLAY_ESN_VAL`, `XFRMA_MARK`, `XFRMA_IF_ID` — those present.
    ///
    /// Equivalent to `ip xfrm state add|update … ctx … <algorithms> … mark … if_id …`.
    /// - Throws: ``XfrmWireError`` for a context or algorithm that cannot be encoded.
    public static func addSA(_ sa: SecurityAssociation, update: Bool = false, sequence: UInt32 = 0) throws(XfrmWireError) -> XfrmMessage {
        let family = sa.family.wire
        guard sa.source.family == sa.family else {
            throw XfrmWireError(.badFamily, at: 0, "SA: expected source and destination of one family, found \(sa.source) and \(sa.destination)")
        }
        let info = XfrmUserSAInfo(
            selector: XfrmSelector(sa.selector, unspecifiedWhenAny: true),
            id: XfrmID(daddr: XfrmAddress(sa.destination), spi: sa.spi, proto: sa.proto.rawValue), saddr: XfrmAddress(sa.source),
            lifetime: sa.lifetime, seq: sa.sequence, reqid: sa.reqid, family: family, mode: sa.mode.rawValue,
            replayWindow: sa.replayWindowESN == nil ? sa.replayWindow : 0, flags: sa.flags)
        var attributes: [XfrmAttribute] = []
        if let context = sa.securityContext { attributes.append(.securityContext(try XfrmUserSecCtx(context))) }
        let algorithms = sa.algorithms
        if let a = algorithms.aead { attributes.append(.aead(try XfrmAlgo(a, layout: .aead))) }
        if let a = algorithms.encryption { attributes.append(.encryption(try XfrmAlgo(a, layout: .plain))) }
        if let a = algorithms.authentication {
            attributes.append(
                a.truncationBits == nil
                    ? .authentication(try XfrmAlgo(a, layout: .plain))
                    : .authenticationTruncated(try XfrmAlgo(a, layout: .auth)))
        }
        if let a = algorithms.compression { attributes.append(.compression(try XfrmAlgo(a, layout: .plain))) }
        if let e = sa.encapsulation {
            attributes.append(
                .encapsulation(
                    XfrmEncapTmpl(
                        type: e.type, sport: e.sourcePort, dport: e.destinationPort,
                        originalAddress: e.originalAddress.map(XfrmAddress.init) ?? .zero)))
        }
        if let window = sa.replayWindowESN { attributes.append(.replayStateESN(XfrmReplayStateESN(replayWindow: window))) }
        if let mark = sa.mark { attributes.append(.mark(mark)) }
        if let id = sa.interfaceID { attributes.append(.interfaceID(id)) }
        return XfrmMessage(type: update ? .updSA : .newSA, flags: changeFlags, sequence: sequence, body: .sa(info, attributes))
    }

    /// DELSA: `xfrm_usersa_id`, `XFRMA_SRCADDR`, `XFRMA_MARK` (when given and non-zero, as iproute2).
    /// Equivalent to `ip xfrm state delete src … dst … proto … spi … [mark …]`.
    public static func deleteSA(_ id: SAIdentifier, source: IPAddress, mark: XfrmMark? = nil, sequence: UInt32 = 0) -> XfrmMessage {
        XfrmMessage(type: .delSA, flags: changeFlags, sequence: sequence, body: saID(id, source: source, mark: mark))
    }

    /// EXPIRE sent by userspace (`xfrm_add_sa_expire`): `struct xfrm_user_expire`, whose state
    /// names the SA by `id` (daddr, SPI, protocol), `family` and `saddr`, then `hard`, and
    /// `XFRMA_MARK` when given and non-zero. A hard one deletes the SA with no SELinux check
    /// (Specs/kernel/labeled-ipsec.md, edge 35); a soft one only tells the key managers. iproute2
    /// has no command for it.
    public static func expireSA(_ id: SAIdentifier, source: IPAddress, hard: Bool, mark: XfrmMark? = nil, sequence: UInt32 = 0) -> XfrmMessage {
        let state = XfrmUserSAInfo(
            id: XfrmID(daddr: XfrmAddress(id.destination), spi: id.spi, proto: id.proto.rawValue), saddr: XfrmAddress(source),
            family: id.destination.family.wire)
        var attributes: [XfrmAttribute] = []
        if let mark, mark.value & mark.mask != 0 { attributes.append(.mark(mark)) }
        return XfrmMessage(type: .expire, flags: changeFlags, sequence: sequence, body: .expire(XfrmUserExpire(state: state, hard: hard ? 1 : 0), attributes))
    }

    /// POLEXPIRE sent by userspace (`xfrm_add_pol_expire`) for the SPD entry named by selector,
    /// direction and label (`XFRMA_SEC_CTX`): `struct xfrm_user_polexpire` (index 0), then `hard`;
    /// `XFRMA_POLICY_TYPE` for a non-main type, `XFRMA_MARK` when given and non-zero, as DELPOLICY.
    /// A hard one deletes the entry with no SELinux check on its label (the label given to find it
    /// is allocated as the sender's first: setcontext); Specs/kernel/labeled-ipsec.md, edge 35.
    /// iproute2 has no command for it.
    /// - Throws: ``XfrmWireError`` for a context that cannot be encoded.
    public static func expirePolicy(
        selector: TrafficSelector, direction: PolicyDirection, securityContext: SecurityContext?, hard: Bool,
        mark: XfrmMark? = nil, policyType: UInt8 = 0, sequence: UInt32 = 0
    ) throws(XfrmWireError) -> XfrmMessage {
        try policyExpire(XfrmSelector(selector), index: 0, direction, securityContext, hard, mark, policyType, sequence)
    }

    /// POLEXPIRE for the SPD entry named by index (no label; Specs/kernel/labeled-ipsec.md, edge 35:
    /// no check at all).
    public static func expirePolicy(
        index: UInt32, direction: PolicyDirection, hard: Bool, mark: XfrmMark? = nil, policyType: UInt8 = 0, sequence: UInt32 = 0
    ) -> XfrmMessage {
        // No context, so nothing can throw.
        (try? policyExpire(XfrmSelector(family: 2), index: index, direction, nil, hard, mark, policyType, sequence))!
    }

    private static func policyExpire(
        _ selector: XfrmSelector, index: UInt32, _ direction: PolicyDirection, _ context: SecurityContext?, _ hard: Bool, _ mark: XfrmMark?,
        _ policyType: UInt8, _ sequence: UInt32
    ) throws(XfrmWireError) -> XfrmMessage {
        var attributes: [XfrmAttribute] = []
        if policyType != 0 { attributes.append(.policyType(XfrmUserPolicyType(type: policyType))) }
        if let mark, mark.value & mark.mask != 0 { attributes.append(.mark(mark)) }
        if let context { attributes.append(.securityContext(try XfrmUserSecCtx(context))) }
        let info = XfrmUserPolicyInfo(selector: selector, index: index, dir: direction.rawValue)
        return XfrmMessage(
            type: .polExpire, flags: changeFlags, sequence: sequence, body: .policyExpire(XfrmUserPolExpire(policy: info, hard: hard ? 1 : 0), attributes))
    }

    /// GETSA for one SA (the kernel answers with a NEWSA). Equivalent to `ip xfrm state get …`.
    public static func getSA(_ id: SAIdentifier, source: IPAddress, mark: XfrmMark? = nil, sequence: UInt32 = 0) -> XfrmMessage {
        XfrmMessage(type: .getSA, flags: .request, sequence: sequence, body: saID(id, source: source, mark: mark))
    }

    private static func saID(_ id: SAIdentifier, source: IPAddress, mark: XfrmMark?) -> XfrmMessage.Body {
        var attributes: [XfrmAttribute] = [.sourceAddress(XfrmAddress(source))]
        if let mark, mark.value & mark.mask != 0 { attributes.append(.mark(mark)) }
        return .saID(
            XfrmUserSAID(daddr: XfrmAddress(id.destination), spi: id.spi, family: id.destination.family.wire, proto: id.proto.rawValue),
            attributes)
    }

    /// ALLOCSPI: `xfrm_userspi_info` (lifetimes zero, as iproute2), `XFRMA_MARK` when non-zero. The
    /// kernel answers with a NEWSA of the larval SA and its SPI.
    /// Equivalent to `ip xfrm state allocspi src … dst … proto … [mode …] [reqid …] [seq …] [min … max …]`.
    public static func allocateSPI(
        source: IPAddress, destination: IPAddress, proto: IPsecProtocol = .esp, mode: XfrmMode = .transport,
        reqid: UInt32 = 0, acquireSequence: UInt32 = 0, range: ClosedRange<UInt32>? = nil,
        mark: XfrmMark? = nil, sequence: UInt32 = 0
    ) -> XfrmMessage {
        var lifetime = LifetimeConfig()
        lifetime.softByteLimit = 0
        lifetime.hardByteLimit = 0
        lifetime.softPacketLimit = 0
        lifetime.hardPacketLimit = 0
        let info = XfrmUserSAInfo(
            id: XfrmID(daddr: XfrmAddress(destination), spi: 0, proto: proto.rawValue), saddr: XfrmAddress(source),
            lifetime: lifetime, seq: acquireSequence, reqid: reqid, family: destination.family.wire, mode: mode.rawValue)
        let range = range ?? (0x100...(proto == .comp ? 0xffff : 0x0fff_ffff))
        var attributes: [XfrmAttribute] = []
        if let mark, mark.value & mark.mask != 0 { attributes.append(.mark(mark)) }
        return XfrmMessage(
            type: .allocSPI, flags: .request, sequence: sequence,
            body: .allocSPI(XfrmUserSPIInfo(info: info, min: range.lowerBound, max: range.upperBound), attributes))
    }

    /// FLUSHSA: `xfrm_usersa_flush` (17-byte message, as iproute2). `nil` sends proto 0, which the
    /// kernel matches against every SA (`xfrm_id_proto_match`), as `ip xfrm state flush` does;
    /// `.any` (255, `IPSEC_PROTO_ANY`) flushes ESP, AH and IPComp only. Equivalent to
    /// `ip xfrm state flush [proto …]`.
    public static func flushSA(proto: IPsecProtocol? = nil, sequence: UInt32 = 0) -> XfrmMessage {
        XfrmMessage(
            type: .flushSA, flags: changeFlags, sequence: sequence,
            body: .flushSA(XfrmUserSAFlush(proto: proto?.rawValue ?? 0), padding: [], []))
    }

    /// A GETSA dump with the all-zero `XFRMA_ADDRESS_FILTER` iproute2 6.1 sends (Specs/kernel/layouts.md
    /// §4.5), or another filter, or none. Equivalent to `ip xfrm state show`.
    public static func dumpSAs(filter: XfrmAddressFilter? = XfrmAddressFilter(), sequence: UInt32 = 0) -> XfrmMessage {
        XfrmMessage(type: .getSA, flags: [.request, .dump], sequence: sequence, body: .dump(filter.map { [.addressFilter($0)] } ?? []))
    }

    // MARK: SPD entries

    /// NEWPOLICY (or UPDPOLICY with `update`): `xfrm_userpolicy_info`, then `XFRMA_POLICY_TYPE` (only
    /// for a non-main type), `XFRMA_TMPL`, `XFRMA_MARK`, `XFRMA_SEC_CTX`, `XFRMA_IF_ID` — those present.
    /// Equivalent to `ip xfrm policy add|update SELECTOR dir … [ctx …] [mark …] [if_id …] tmpl …`.
    public static func addPolicy(_ p: PolicyEntry, update: Bool = false, sequence: UInt32 = 0) throws(XfrmWireError) -> XfrmMessage {
        for t in p.templates where t.source.family != t.destination.family {
            throw XfrmWireError(.badFamily, at: 0, "template: expected source and destination of one family, found \(t.source) and \(t.destination)")
        }
        let info = XfrmUserPolicyInfo(
            selector: XfrmSelector(p.selector), lifetime: p.lifetime, current: p.current, priority: p.priority,
            index: p.index, dir: p.direction.rawValue + (p.isSocketPolicy ? 3 : 0), action: p.action.rawValue, flags: p.flags, share: p.share)
        var attributes: [XfrmAttribute] = []
        if p.policyType != 0 { attributes.append(.policyType(XfrmUserPolicyType(type: p.policyType))) }
        if !p.templates.isEmpty { attributes.append(.templates(p.templates.map(XfrmUserTmpl.init))) }
        if let mark = p.mark { attributes.append(.mark(mark)) }
        if let context = p.securityContext { attributes.append(.securityContext(try XfrmUserSecCtx(context))) }
        if let id = p.interfaceID { attributes.append(.interfaceID(id)) }
        return XfrmMessage(type: update ? .updPolicy : .newPolicy, flags: changeFlags, sequence: sequence, body: .policy(info, attributes))
    }

    /// DELPOLICY by selector: the label is part of the key (Specs/kernel/labeled-ipsec.md, edge 10), so it is
    /// sent when the entry has one.
    /// Equivalent to `ip xfrm policy delete SELECTOR dir … [ctx …] [mark …] [if_id …]`.
    public static func deletePolicy(
        selector: TrafficSelector, direction: PolicyDirection, securityContext: SecurityContext?,
        mark: XfrmMark? = nil, interfaceID: UInt32? = nil, policyType: UInt8 = 0,
        sequence: UInt32 = 0
    ) throws(XfrmWireError) -> XfrmMessage {
        try policyID(
            .delPolicy, XfrmUserPolicyID(selector: XfrmSelector(selector), index: 0, dir: direction.rawValue),
            securityContext, mark, interfaceID, policyType, sequence)
    }

    /// DELPOLICY by index (no label needed; Specs/kernel/labeled-ipsec.md, edge 9).
    /// Equivalent to `ip xfrm policy delete index … dir …`.
    public static func deletePolicy(
        index: UInt32, direction: PolicyDirection, mark: XfrmMark? = nil, interfaceID: UInt32? = nil,
        policyType: UInt8 = 0, sequence: UInt32 = 0
    ) -> XfrmMessage {
        // No context, so nothing can throw.
        (try? policyID(
            .delPolicy, XfrmUserPolicyID(selector: XfrmSelector(family: 2), index: index, dir: direction.rawValue),
            nil, mark, interfaceID, policyType, sequence))!
    }

    /// GETPOLICY by selector (the kernel answers with a NEWPOLICY).
    public static func getPolicy(
        selector: TrafficSelector, direction: PolicyDirection, securityContext: SecurityContext?,
        mark: XfrmMark? = nil, interfaceID: UInt32? = nil, policyType: UInt8 = 0,
        sequence: UInt32 = 0
    ) throws(XfrmWireError) -> XfrmMessage {
        try policyID(
            .getPolicy, XfrmUserPolicyID(selector: XfrmSelector(selector), index: 0, dir: direction.rawValue),
            securityContext, mark, interfaceID, policyType, sequence)
    }

    /// GETPOLICY by index.
    public static func getPolicy(
        index: UInt32, direction: PolicyDirection, mark: XfrmMark? = nil, interfaceID: UInt32? = nil,
        policyType: UInt8 = 0, sequence: UInt32 = 0
    ) -> XfrmMessage {
        (try? policyID(
            .getPolicy, XfrmUserPolicyID(selector: XfrmSelector(family: 2), index: index, dir: direction.rawValue),
            nil, mark, interfaceID, policyType, sequence))!
    }

    /// MIGRATE (`xfrm_do_migrate`): `xfrm_userpolicy_id` naming the SPD entry by selector and
    /// direction (index 0), `XFRMA_POLICY_TYPE` for a non-main type, then `XFRMA_MIGRATE` with one
    /// `xfrm_user_migrate` per SA. The kernel finds the entry by selector, direction and type only
    /// (`xfrm_migrate_policy_find`: no label, no mark), clones each SA found to its new addresses
    /// (the clone's label allocated again as the sender's, edge 36 of
    /// Specs/kernel/labeled-ipsec.md) and rewrites the matching templates. iproute2 has no command
    /// for it; IKE daemons send it for MOBIKE.
    public static func migrate(
        selector: TrafficSelector, direction: PolicyDirection, migrations: [SAMigration], policyType: UInt8 = 0,
        sequence: UInt32 = 0
    ) -> XfrmMessage {
        var attributes: [XfrmAttribute] = []
        if policyType != 0 { attributes.append(.policyType(XfrmUserPolicyType(type: policyType))) }
        attributes.append(.migrations(migrations.map(XfrmUserMigrate.init)))
        return XfrmMessage(
            type: .migrate, flags: changeFlags, sequence: sequence,
            body: .policyID(XfrmUserPolicyID(selector: XfrmSelector(selector), index: 0, dir: direction.rawValue), attributes))
    }

    private static func policyID(
        _ type: XfrmMessageType, _ id: XfrmUserPolicyID, _ context: SecurityContext?, _ mark: XfrmMark?,
        _ interfaceID: UInt32?, _ policyType: UInt8, _ sequence: UInt32
    ) throws(XfrmWireError) -> XfrmMessage {
        var attributes: [XfrmAttribute] = []
        if policyType != 0 { attributes.append(.policyType(XfrmUserPolicyType(type: policyType))) }
        if let mark, mark.value & mark.mask != 0 { attributes.append(.mark(mark)) }
        if let context { attributes.append(.securityContext(try XfrmUserSecCtx(context))) }
        if let interfaceID { attributes.append(.interfaceID(interfaceID)) }
        return XfrmMessage(type: type, flags: type == .getPolicy ? .request : changeFlags, sequence: sequence, body: .policyID(id, attributes))
    }

    /// FLUSHPOLICY; `XFRMA_POLICY_TYPE` only for a non-main type. Equivalent to `ip xfrm policy flush [ptype …]`.
    public static func flushPolicies(policyType: UInt8 = 0, sequence: UInt32 = 0) -> XfrmMessage {
        XfrmMessage(
            type: .flushPolicy, flags: changeFlags, sequence: sequence,
            body: .flushPolicy(policyType == 0 ? [] : [.policyType(XfrmUserPolicyType(type: policyType))]))
    }

    /// A GETPOLICY dump (header only, as iproute2). Equivalent to `ip xfrm policy show`.
    public static func dumpPolicies(sequence: UInt32 = 0) -> XfrmMessage {
        XfrmMessage(type: .getPolicy, flags: [.request, .dump], sequence: sequence, body: .dump([]))
    }
}
