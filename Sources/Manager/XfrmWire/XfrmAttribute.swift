public import IPsecModel
public import NetlinkProtocol

/// `XFRMA_*` attribute type numbers (Specs/kernel/layouts.md §2.2; Specs/kernel/labeled-ipsec.md §e.3 for 33
/// and up).
public struct XfrmAttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let algAuth = Self(rawValue: 1)  // XFRMA_ALG_AUTH
    public static let algCrypt = Self(rawValue: 2)  // XFRMA_ALG_CRYPT
    public static let algComp = Self(rawValue: 3)  // XFRMA_ALG_COMP
    public static let encap = Self(rawValue: 4)  // XFRMA_ENCAP
    public static let tmpl = Self(rawValue: 5)  // XFRMA_TMPL
    public static let sa = Self(rawValue: 6)  // XFRMA_SA
    public static let policy = Self(rawValue: 7)  // XFRMA_POLICY
    public static let secCtx = Self(rawValue: 8)  // XFRMA_SEC_CTX
    public static let ltimeVal = Self(rawValue: 9)  // XFRMA_LTIME_VAL
    public static let replayVal = Self(rawValue: 10)  // XFRMA_REPLAY_VAL
    public static let replayThresh = Self(rawValue: 11)  // XFRMA_REPLAY_THRESH
    public static let etimerThresh = Self(rawValue: 12)  // XFRMA_ETIMER_THRESH
    public static let srcAddr = Self(rawValue: 13)  // XFRMA_SRCADDR
    public static let coAddr = Self(rawValue: 14)  // XFRMA_COADDR
    public static let lastUsed = Self(rawValue: 15)  // XFRMA_LASTUSED
    public static let policyType = Self(rawValue: 16)  // XFRMA_POLICY_TYPE
    public static let migrate = Self(rawValue: 17)  // XFRMA_MIGRATE
    public static let algAEAD = Self(rawValue: 18)  // XFRMA_ALG_AEAD
    public static let algAuthTrunc = Self(rawValue: 20)  // XFRMA_ALG_AUTH_TRUNC
    public static let mark = Self(rawValue: 21)  // XFRMA_MARK
    public static let tfcPad = Self(rawValue: 22)  // XFRMA_TFCPAD
    public static let replayESNVal = Self(rawValue: 23)  // XFRMA_REPLAY_ESN_VAL
    public static let saExtraFlags = Self(rawValue: 24)  // XFRMA_SA_EXTRA_FLAGS
    public static let proto = Self(rawValue: 25)  // XFRMA_PROTO
    public static let addressFilter = Self(rawValue: 26)  // XFRMA_ADDRESS_FILTER
    public static let pad = Self(rawValue: 27)  // XFRMA_PAD
    public static let setMark = Self(rawValue: 29)  // XFRMA_SET_MARK (XFRMA_OUTPUT_MARK)
    public static let setMarkMask = Self(rawValue: 30)  // XFRMA_SET_MARK_MASK
    public static let ifID = Self(rawValue: 31)  // XFRMA_IF_ID
    public static let mtimerThresh = Self(rawValue: 32)  // XFRMA_MTIMER_THRESH
    public static let saDir = Self(rawValue: 33)  // XFRMA_SA_DIR

    public var description: String { "XFRMA \(rawValue)" }
}

/// One attribute of an XFRM message: a typed value for the attributes salabel reads or writes, the
/// raw netlink attribute for every other one (kept and re-emitted byte for byte).
///
/// A known type whose payload has the wrong size is refused with
/// ``XfrmWireError/Code/badAttributeLength``; a known type with netlink flag bits set is kept raw.
public enum XfrmAttribute: Hashable, Sendable {
    /// `XFRMA_ALG_AUTH`: `xfrm_algo` (no truncation length).
    case authentication(XfrmAlgo)
    /// `XFRMA_ALG_CRYPT`: `xfrm_algo`.
    case encryption(XfrmAlgo)
    /// `XFRMA_ALG_COMP`: `xfrm_algo`.
    case compression(XfrmAlgo)
    /// `XFRMA_ENCAP`: `xfrm_encap_tmpl`.
    case encapsulation(XfrmEncapTmpl)
    /// `XFRMA_TMPL`: an array of `xfrm_user_tmpl`.
    case templates([XfrmUserTmpl])
    /// `XFRMA_SA`: the `xfrm_usersa_info` of a DELSA notification.
    case saInfo(XfrmUserSAInfo)
    /// `XFRMA_POLICY`: the `xfrm_userpolicy_info` of a DELPOLICY notification.
    case policyInfo(XfrmUserPolicyInfo)
    /// `XFRMA_SEC_CTX`: `xfrm_user_sec_ctx` and the context.
    case securityContext(XfrmUserSecCtx)
    /// `XFRMA_LTIME_VAL`: `xfrm_lifetime_cur`.
    case lifetimeValue(LifetimeCurrent)
    /// `XFRMA_REPLAY_VAL`: `xfrm_replay_state`.
    case replayState(XfrmReplayState)
    /// `XFRMA_REPLAY_THRESH`: `__u32`.
    case replayThreshold(UInt32)
    /// `XFRMA_ETIMER_THRESH`: `__u32`.
    case eventTimerThreshold(UInt32)
    /// `XFRMA_SRCADDR`: `xfrm_address_t`.
    case sourceAddress(XfrmAddress)
    /// `XFRMA_COADDR`: `xfrm_address_t`.
    case careOfAddress(XfrmAddress)
    /// `XFRMA_LASTUSED`: `__u64`.
    case lastUsed(UInt64)
    /// `XFRMA_POLICY_TYPE`: `xfrm_userpolicy_type`.
    case policyType(XfrmUserPolicyType)
    /// `XFRMA_MIGRATE`: an array of `xfrm_user_migrate` (MIGRATE).
    case migrations([XfrmUserMigrate])
    /// `XFRMA_ALG_AEAD`: `xfrm_algo_aead`.
    case aead(XfrmAlgo)
    /// `XFRMA_ALG_AUTH_TRUNC`: `xfrm_algo_auth`.
    case authenticationTruncated(XfrmAlgo)
    /// `XFRMA_MARK`: `xfrm_mark`.
    case mark(XfrmMark)
    /// `XFRMA_TFCPAD`: `__u32`.
    case tfcPadding(UInt32)
    /// `XFRMA_REPLAY_ESN_VAL`: `xfrm_replay_state_esn`.
    case replayStateESN(XfrmReplayStateESN)
    /// `XFRMA_SA_EXTRA_FLAGS`: `__u32`.
    case extraFlags(UInt32)
    /// `XFRMA_PROTO`: `__u8`.
    case proto(UInt8)
    /// `XFRMA_ADDRESS_FILTER`: `xfrm_address_filter`.
    case addressFilter(XfrmAddressFilter)
    /// `XFRMA_SET_MARK`: `__u32`.
    case setMark(UInt32)
    /// `XFRMA_SET_MARK_MASK`: `__u32`.
    case setMarkMask(UInt32)
    /// `XFRMA_IF_ID`: `__u32`.
    case interfaceID(UInt32)
    /// `XFRMA_MTIMER_THRESH`: `__u32`.
    case mappingTimerThreshold(UInt32)
    /// `XFRMA_SA_DIR`: `__u8` (1 in, 2 out).
    case saDirection(UInt8)
    /// Any other attribute (or a known type with flag bits), exactly as received.
    case other(NetlinkAttribute)

    /// The attribute type.
    public var type: XfrmAttributeType {
        switch self {
        case .authentication: .algAuth
        case .encryption: .algCrypt
        case .compression: .algComp
        case .encapsulation: .encap
        case .templates: .tmpl
        case .saInfo: .sa
        case .policyInfo: .policy
        case .securityContext: .secCtx
        case .lifetimeValue: .ltimeVal
        case .replayState: .replayVal
        case .replayThreshold: .replayThresh
        case .eventTimerThreshold: .etimerThresh
        case .sourceAddress: .srcAddr
        case .careOfAddress: .coAddr
        case .lastUsed: .lastUsed
        case .policyType: .policyType
        case .migrations: .migrate
        case .aead: .algAEAD
        case .authenticationTruncated: .algAuthTrunc
        case .mark: .mark
        case .tfcPadding: .tfcPad
        case .replayStateESN: .replayESNVal
        case .extraFlags: .saExtraFlags
        case .proto: .proto
        case .addressFilter: .addressFilter
        case .setMark: .setMark
        case .setMarkMask: .setMarkMask
        case .interfaceID: .ifID
        case .mappingTimerThreshold: .mtimerThresh
        case .saDirection: .saDir
        case .other(let attribute): XfrmAttributeType(rawValue: attribute.type)
        }
    }

    /// Decodes one netlink attribute.
    /// - Throws: ``XfrmWireError`` with offsets relative to the attribute's payload.
    public init(_ attribute: NetlinkAttribute) throws(XfrmWireError) {
        self = try attribute.payload.withUnsafeBytesThrowing { payload throws(XfrmWireError) in
            try XfrmAttribute(rawType: attribute.rawType, payload: payload)
        }
    }

    /// Decodes one attribute read in place (a received datagram): its `nla_type` as on the wire,
    /// flag bits included, and its payload. The same as ``init(_:)``; only an attribute kept raw
    /// (``other(_:)``) copies its payload.
    /// - Throws: ``XfrmWireError`` with offsets relative to the attribute's payload.
    public init(rawType: UInt16, payload p: UnsafeRawBufferPointer) throws(XfrmWireError) {
        guard rawType & ~NetlinkAttribute.typeMask == 0 else {
            self = .other(NetlinkAttribute(rawType: rawType, payload: Array(p)))
            return
        }
        let name = XfrmAttributeName(type: rawType)
        switch XfrmAttributeType(rawValue: rawType) {
        case .algAuth: self = .authentication(try XfrmAlgo(payload: p, layout: .plain))
        case .algCrypt: self = .encryption(try XfrmAlgo(payload: p, layout: .plain))
        case .algComp: self = .compression(try XfrmAlgo(payload: p, layout: .plain))
        case .encap: self = .encapsulation(try .decodeExactly(p, attribute: name.description))
        case .tmpl:
            guard p.count % XfrmUserTmpl.size == 0 else {
                throw XfrmWireError(.badAttributeLength, at: 0, "XFRMA_TMPL: expected a multiple of 64 bytes (xfrm_user_tmpl), found \(p.count)")
            }
            var templates: [XfrmUserTmpl] = []
            for offset in stride(from: 0, to: p.count, by: XfrmUserTmpl.size) {
                templates.append(try XfrmUserTmpl(decoding: p, at: offset))
            }
            self = .templates(templates)
        case .sa: self = .saInfo(try .decodeExactly(p, attribute: name.description))
        case .policy: self = .policyInfo(try .decodeExactly(p, attribute: name.description))
        case .secCtx: self = .securityContext(try XfrmUserSecCtx(payload: p))
        case .ltimeVal: self = .lifetimeValue(try .decodeExactly(p, attribute: name.description))
        case .replayVal: self = .replayState(try .decodeExactly(p, attribute: name.description))
        case .replayThresh: self = .replayThreshold(try Self.u32(p, name))
        case .etimerThresh: self = .eventTimerThreshold(try Self.u32(p, name))
        case .srcAddr: self = .sourceAddress(try .decodeExactly(p, attribute: name.description))
        case .coAddr: self = .careOfAddress(try .decodeExactly(p, attribute: name.description))
        case .lastUsed:
            guard p.count == 8 else { throw Self.sizeError(name, 8, p.count) }
            var r = try StructReader(p, at: 0, size: 8, name: name.description)
            self = .lastUsed(r.host())
        case .policyType: self = .policyType(try .decodeExactly(p, attribute: name.description))
        case .migrate:
            guard !p.isEmpty, p.count % XfrmUserMigrate.size == 0 else {
                throw XfrmWireError(
                    .badAttributeLength, at: 0, "XFRMA_MIGRATE: expected a non-zero multiple of 76 bytes (xfrm_user_migrate), found \(p.count)")
            }
            var migrations: [XfrmUserMigrate] = []
            for offset in stride(from: 0, to: p.count, by: XfrmUserMigrate.size) {
                migrations.append(try XfrmUserMigrate(decoding: p, at: offset))
            }
            self = .migrations(migrations)
        case .algAEAD: self = .aead(try XfrmAlgo(payload: p, layout: .aead))
        case .algAuthTrunc: self = .authenticationTruncated(try XfrmAlgo(payload: p, layout: .auth))
        case .mark: self = .mark(try .decodeExactly(p, attribute: name.description))
        case .tfcPad: self = .tfcPadding(try Self.u32(p, name))
        case .replayESNVal: self = .replayStateESN(try XfrmReplayStateESN(payload: p))
        case .saExtraFlags: self = .extraFlags(try Self.u32(p, name))
        case .proto: self = .proto(try Self.u8(p, name))
        case .addressFilter: self = .addressFilter(try .decodeExactly(p, attribute: name.description))
        case .setMark: self = .setMark(try Self.u32(p, name))
        case .setMarkMask: self = .setMarkMask(try Self.u32(p, name))
        case .ifID: self = .interfaceID(try Self.u32(p, name))
        case .mtimerThresh: self = .mappingTimerThreshold(try Self.u32(p, name))
        case .saDir: self = .saDirection(try Self.u8(p, name))
        default: self = .other(NetlinkAttribute(rawType: rawType, payload: Array(p)))
        }
    }

    private static func sizeError(_ name: XfrmAttributeName, _ expected: Int, _ found: Int) -> XfrmWireError {
        XfrmWireError(.badAttributeLength, at: 0, "\(name): expected a \(expected)-byte payload, found \(found) bytes")
    }

    private static func u32(_ p: UnsafeRawBufferPointer, _ name: XfrmAttributeName) throws(XfrmWireError) -> UInt32 {
        guard p.count == 4 else { throw sizeError(name, 4, p.count) }
        var r = try StructReader(p, at: 0, size: 4, name: name.description)
        return r.host()
    }

    private static func u8(_ p: UnsafeRawBufferPointer, _ name: XfrmAttributeName) throws(XfrmWireError) -> UInt8 {
        guard p.count == 1 else { throw sizeError(name, 1, p.count) }
        return p[0]
    }

    private static func u32Bytes(_ value: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendHost(value)
        return bytes
    }

    /// The payload on the wire.
    public var payload: [UInt8] {
        switch self {
        case .authentication(let a), .encryption(let a), .compression(let a), .aead(let a), .authenticationTruncated(let a): a.encoded
        case .encapsulation(let e): e.encoded
        case .templates(let t):
            {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(t.count * XfrmUserTmpl.size)
                for template in t { template.encode(into: &bytes) }
                return bytes
            }()
        case .saInfo(let s): s.encoded
        case .policyInfo(let p): p.encoded
        case .securityContext(let c): c.encoded
        case .lifetimeValue(let l): l.encoded
        case .replayState(let r): r.encoded
        case .replayThreshold(let v), .eventTimerThreshold(let v), .tfcPadding(let v), .extraFlags(let v), .setMark(let v),
            .setMarkMask(let v), .interfaceID(let v), .mappingTimerThreshold(let v):
            Self.u32Bytes(v)
        case .sourceAddress(let a), .careOfAddress(let a): a.encoded
        case .lastUsed(let v):
            {
                var bytes: [UInt8] = []; bytes.appendHost(v); return bytes
            }()
        case .policyType(let t): t.encoded
        case .migrations(let m):
            {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(m.count * XfrmUserMigrate.size)
                for migration in m { migration.encode(into: &bytes) }
                return bytes
            }()
        case .mark(let m): m.encoded
        case .replayStateESN(let r): r.encoded
        case .proto(let v), .saDirection(let v): [v]
        case .addressFilter(let f): f.encoded
        case .other(let attribute): attribute.payload
        }
    }

    /// The netlink attribute.
    public var netlinkAttribute: NetlinkAttribute {
        if case .other(let attribute) = self { return attribute }
        return NetlinkAttribute(type: type.rawValue, payload: payload)
    }
}

/// An attribute's name in error messages (`XFRMA type 5`), made only when one is written.
struct XfrmAttributeName: CustomStringConvertible {
    let type: UInt16
    var description: String { "XFRMA type \(type)" }
}

extension Array where Element == XfrmAttribute {
    /// The first attribute of a type.
    public func first(_ type: XfrmAttributeType) -> XfrmAttribute? { first { $0.type == type } }

    /// The first `XFRMA_SEC_CTX`.
    public var securityContext: XfrmUserSecCtx? {
        for case .securityContext(let c) in self { return c }
        return nil
    }

    /// The first `XFRMA_MARK`.
    public var mark: XfrmMark? {
        for case .mark(let m) in self { return m }
        return nil
    }

    /// The first `XFRMA_IF_ID`.
    public var interfaceID: UInt32? {
        for case .interfaceID(let v) in self { return v }
        return nil
    }

    /// The templates of the first `XFRMA_TMPL`.
    public var templates: [XfrmUserTmpl]? {
        for case .templates(let t) in self { return t }
        return nil
    }

    /// The first `XFRMA_POLICY_TYPE`.
    public var policyType: XfrmUserPolicyType? {
        for case .policyType(let t) in self { return t }
        return nil
    }
}
