public import IPsecModel
public import NetlinkProtocol
import SecurityContexts

// Mapping between the kernel structs and the shared model (IPsecModel). Where the model cannot hold
// what the wire carries (a raw security label, an unspecified selector family, unknown attributes),
// the wire types keep it; see Specs/manager/wire-format.md "Model gaps".

extension XfrmSelector {
    /// The selector of a model traffic selector. The "any" selector of a family (zero addresses,
    /// prefixes, ports, protocol, interface, user) is sent with family 0, as iproute2 sends an SA
    /// without `sel` (the kernel then takes the SA's family).
    public init(_ s: TrafficSelector, unspecifiedWhenAny: Bool = false) {
        if unspecifiedWhenAny, s == TrafficSelector.any(s.family) {
            self.init()
            return
        }
        self.init(
            daddr: XfrmAddress(s.destination.address), saddr: XfrmAddress(s.source.address),
            dport: s.destinationPort, dportMask: s.destinationPortMask, sport: s.sourcePort, sportMask: s.sourcePortMask,
            family: s.family.wire, prefixlenD: UInt8(s.destination.length), prefixlenS: UInt8(s.source.length),
            proto: s.upperProtocol, ifindex: s.interfaceIndex, user: s.user)
    }

    /// The model selector; family 0 is read as `defaultFamily` (an SA's selector).
    /// - Throws: ``XfrmWireError/Code/badFamily``, ``XfrmWireError/Code/valueOutOfRange`` for a prefix
    ///   longer than the family's bits.
    public func trafficSelector(defaultFamily: UInt16? = nil) throws(XfrmWireError) -> TrafficSelector {
        let fam = family == 0 ? (defaultFamily ?? 0) : family
        let d = try daddr.ipAddress(family: fam, field: "xfrm_selector.daddr")
        let s = try saddr.ipAddress(family: fam, field: "xfrm_selector.saddr")
        guard let dp = IPPrefix(address: d, length: Int(prefixlenD)), let sp = IPPrefix(address: s, length: Int(prefixlenS)) else {
            throw XfrmWireError(.valueOutOfRange, at: 42, "xfrm_selector: prefix lengths \(prefixlenD)/\(prefixlenS) exceed the family's bits")
        }
        return TrafficSelector(
            source: sp, destination: dp, upperProtocol: proto, sourcePort: sport, sourcePortMask: sportMask,
            destinationPort: dport, destinationPortMask: dportMask, interfaceIndex: ifindex, user: user)
    }
}

extension XfrmUserTmpl {
    /// A model template.
    public init(_ t: PolicyTemplate) {
        self.init(
            id: XfrmID(daddr: XfrmAddress(t.destination), spi: t.spi, proto: t.proto.rawValue), family: t.family.wire,
            saddr: XfrmAddress(t.source), reqid: t.reqid, mode: t.mode.rawValue, share: t.share, optional: t.optional ? 1 : 0,
            aalgos: t.authAlgorithms, ealgos: t.encryptionAlgorithms, calgos: t.compressionAlgorithms)
    }

    /// The model template.
    /// - Throws: ``XfrmWireError/Code/badFamily``.
    public func policyTemplate() throws(XfrmWireError) -> PolicyTemplate {
        PolicyTemplate(
            source: try saddr.ipAddress(family: family, field: "xfrm_user_tmpl.saddr"),
            destination: try id.daddr.ipAddress(family: family, field: "xfrm_user_tmpl.id.daddr"),
            spi: id.spi, proto: IPsecProtocol(rawValue: id.proto), mode: XfrmMode(rawValue: mode), reqid: reqid, share: share,
            optional: optional != 0, authAlgorithms: aalgos, encryptionAlgorithms: ealgos, compressionAlgorithms: calgos)
    }
}

extension XfrmAlgo {
    /// An algorithm of the model in the given layout.
    public init(_ a: XfrmAlgorithm, layout: Layout) throws(XfrmWireError) {
        try self.init(layout: layout, name: a.name, key: a.key, keyBits: a.keyBits, truncationBits: a.truncationBits ?? 0)
    }

    /// The model algorithm (`truncationBits` nil for `xfrm_algo`).
    public var algorithm: XfrmAlgorithm {
        XfrmAlgorithm(name: name, key: key, keyBits: keyBits, truncationBits: layout == .plain ? nil : truncationBits)
    }
}

/// Where an attribute list is read from: the label it carries.
extension Array where Element == XfrmAttribute {
    /// The label of the first `XFRMA_SEC_CTX`, if any.
    public var label: XfrmSecurityLabel? { securityContext?.label }
}

extension SecurityAssociation {
    /// An SA from its kernel struct and attributes.
    ///
    /// The label is the model's only when it is an SELinux context; read a raw one with
    /// `attributes.label`.
    /// - Throws: ``XfrmWireError/Code/badFamily`` when the family is not 2 or 10.
    public init(xfrm info: XfrmUserSAInfo, attributes: [XfrmAttribute]) throws(XfrmWireError) {
        let source = try info.saddr.ipAddress(family: info.family, field: "xfrm_usersa_info.saddr")
        let destination = try info.id.daddr.ipAddress(family: info.family, field: "xfrm_usersa_info.id.daddr")
        var algorithms = SAAlgorithms()
        var encapsulation: UDPEncapsulation?
        var esn: UInt32?
        for attribute in attributes {
            switch attribute {
            case .aead(let a): algorithms.aead = a.algorithm
            case .encryption(let a): algorithms.encryption = a.algorithm
            case .authentication(let a), .authenticationTruncated(let a): algorithms.authentication = a.algorithm
            case .compression(let a): algorithms.compression = a.algorithm
            case .encapsulation(let e):
                encapsulation = UDPEncapsulation(
                    type: e.type, sourcePort: e.sport, destinationPort: e.dport,
                    originalAddress: e.originalAddress.isZero ? nil : try? e.originalAddress.ipAddress(family: info.family))
            case .replayStateESN(let r): esn = r.replayWindow
            default: break
            }
        }
        self.init(
            source: source, destination: destination, spi: info.id.spi, proto: IPsecProtocol(rawValue: info.id.proto),
            mode: XfrmMode(rawValue: info.mode), reqid: info.reqid, replayWindow: info.replayWindow, flags: info.flags,
            replayWindowESN: esn, selector: try info.selector.trafficSelector(defaultFamily: info.family), lifetime: info.lifetime,
            algorithms: algorithms, encapsulation: encapsulation, mark: attributes.mark, interfaceID: attributes.interfaceID,
            securityContext: attributes.label?.context, sequence: info.seq)
        self.current = info.current
    }
}

extension PolicyEntry {
    /// An SPD entry from its kernel struct and attributes.
    /// - Throws: ``XfrmWireError/Code/badFamily``; ``XfrmWireError/Code/valueOutOfRange`` for a
    ///   direction or action the model has no case for.
    public init(xfrm info: XfrmUserPolicyInfo, attributes: [XfrmAttribute]) throws(XfrmWireError) {
        var found = PolicyEntryAttributes()
        for attribute in attributes { found.take(attribute) }
        try self.init(xfrm: info, found, securityContext: found.securityContext?.label.context)
    }

    /// An SPD entry from its kernel struct and the attributes the model holds, with its label
    /// already read.
    init(xfrm info: XfrmUserPolicyInfo, _ found: PolicyEntryAttributes, securityContext: SecurityContext?) throws(XfrmWireError) {
        // 0–2: in, out, fwd; 3–4: a per-socket policy, XFRM_POLICY_MAX + in or out (sockets have no fwd).
        let socket = info.dir == 3 || info.dir == 4
        guard let direction = PolicyDirection(rawValue: socket ? info.dir - 3 : info.dir) else {
            throw XfrmWireError(.valueOutOfRange, at: 160, "xfrm_userpolicy_info.dir: expected 0 to 4, found \(info.dir)")
        }
        guard let action = PolicyAction(rawValue: info.action) else {
            throw XfrmWireError(.valueOutOfRange, at: 161, "xfrm_userpolicy_info.action: expected 0 or 1, found \(info.action)")
        }
        var templates: [PolicyTemplate] = []
        if let wire = found.templates {
            templates.reserveCapacity(wire.count)
            for t in wire { templates.append(try t.policyTemplate()) }
        }
        self.init(
            selector: try info.selector.trafficSelector(), direction: direction, priority: info.priority, index: info.index,
            action: action, flags: info.flags, share: info.share, lifetime: info.lifetime, templates: templates,
            mark: found.mark, interfaceID: found.interfaceID, securityContext: securityContext,
            policyType: found.policyType?.type ?? 0, isSocketPolicy: socket)
        self.current = info.current
    }
}

/// The attributes of an SPD entry's message that the model holds: the first of each kind, as
/// `[XfrmAttribute]`'s `templates`, `mark`, … read them.
struct PolicyEntryAttributes {
    var templates: [XfrmUserTmpl]?
    var mark: XfrmMark?
    var interfaceID: UInt32?
    var securityContext: XfrmUserSecCtx?
    var policyType: XfrmUserPolicyType?

    mutating func take(_ attribute: XfrmAttribute) {
        switch attribute {
        case .templates(let t) where templates == nil: templates = t
        case .mark(let m) where mark == nil: mark = m
        case .interfaceID(let i) where interfaceID == nil: interfaceID = i
        case .securityContext(let c) where securityContext == nil: securityContext = c
        case .policyType(let t) where policyType == nil: policyType = t
        default: break
        }
    }
}

/// Reads the SPD entries of a policy dump from the received bytes, in place: the payload is not
/// copied, the attributes are not collected, and a label shared by consecutive entries is parsed
/// once (the decoder keeps the last one). One decoder per dump.
///
/// ```swift
/// var decoder = XfrmPolicyDumpDecoder()
/// try connection.dump(type: XfrmMessageType.getPolicy.netlink, restart: { entries.removeAll() }) { header, payload in
///     if let entry = try decoder.policyEntry(header: header, payload: payload) { entries.append(entry) }
/// }
/// ```
public struct XfrmPolicyDumpDecoder {
    private var lastLabel: (attribute: XfrmUserSecCtx, context: SecurityContext?)?

    public init() {}

    /// The SPD entry one message carries, read where it was received: exactly what
    /// `XfrmMessage(decoding:)` and then ``XfrmMessage/policyEntry()`` give for the same message,
    /// errors included (decoding errors at their offset in the message, header included).
    ///
    /// - Parameters:
    ///   - header: the message's header.
    ///   - payload: the bytes after the header, up to `nlmsg_len`.
    /// - Returns: the entry; `nil` for a message that carries none.
    /// - Throws: ``XfrmWireError``.
    public mutating func policyEntry(header: NetlinkHeader, payload: UnsafeRawBufferPointer) throws(XfrmWireError) -> PolicyEntry? {
        let type = XfrmMessageType(rawValue: header.type.rawValue)
        guard type == .newPolicy || type == .updPolicy else {
            // Not an entry of a dump: decoded as any message.
            return try XfrmMessage(decoding: NetlinkMessage(received: header, payload: Array(payload))).policyEntry()
        }
        let info: XfrmUserPolicyInfo
        var found = PolicyEntryAttributes()
        do {
            info = try XfrmUserPolicyInfo(decoding: payload, at: 0)
            try XfrmMessage.forEachAttribute(payload, from: XfrmUserPolicyInfo.size) { found.take($0) }
        } catch {
            throw error.shifted(by: NetlinkHeader.size)
        }
        return try PolicyEntry(xfrm: info, found, securityContext: found.securityContext.flatMap { context(of: $0) })
    }

    /// The SELinux context of a label attribute, parsed once for a run of entries that share it.
    private mutating func context(of attribute: XfrmUserSecCtx) -> SecurityContext? {
        if let last = lastLabel, last.attribute == attribute { return last.context }
        let context = attribute.label.context
        lastLabel = (attribute, context)
        return context
    }
}

extension XfrmMessage {
    /// The SA a NEWSA/UPDSA (dump entry, notification, GETSA or ALLOCSPI reply), a DELSA
    /// notification (`XFRMA_SA`) or an EXPIRE carries.
    public func securityAssociation() throws(XfrmWireError) -> SecurityAssociation? {
        switch body {
        case .sa(let info, let a): return try SecurityAssociation(xfrm: info, attributes: a)
        case .expire(let e, let a): return try SecurityAssociation(xfrm: e.state, attributes: a)
        case .saID(_, let a):
            for case .saInfo(let info) in a { return try SecurityAssociation(xfrm: info, attributes: a) }
            return nil
        default: return nil
        }
    }

    /// The SPD entry a NEWPOLICY/UPDPOLICY, a DELPOLICY notification (`XFRMA_POLICY`) or a
    /// POLEXPIRE carries; for an ACQUIRE, the policy that matched.
    public func policyEntry() throws(XfrmWireError) -> PolicyEntry? {
        switch body {
        case .policy(let info, let a): return try PolicyEntry(xfrm: info, attributes: a)
        case .policyExpire(let e, let a): return try PolicyEntry(xfrm: e.policy, attributes: a)
        case .policyID(_, let a):
            for case .policyInfo(let info) in a { return try PolicyEntry(xfrm: info, attributes: a) }
            return nil
        case .acquire(let q, let a): return try PolicyEntry(xfrm: q.policy, attributes: a.filter { $0.type != .secCtx })
        default: return nil
        }
    }

    /// The label of the message's `XFRMA_SEC_CTX` (for an ACQUIRE: the flow's label).
    public var label: XfrmSecurityLabel? { body.attributes.label }
}
