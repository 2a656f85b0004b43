/// `struct xfrm_encap_tmpl` (24 bytes): payload of `XFRMA_ENCAP` (UDP encapsulation of ESP).
///
/// ```
///  0 encap_type   __u16  host order (UDP_ENCAP_ESPINUDP_NON_IKE 1, UDP_ENCAP_ESPINUDP 2, TCP_ENCAP_ESPINTCP 7)
///  2 encap_sport  __be16 network order
///  4 encap_dport  __be16 network order
///  6 (pad 2)
///  8 encap_oa     xfrm_address_t network order
/// ```
public struct XfrmEncapTmpl: XfrmStruct {
    public static let size = 24
    public static let cName = "xfrm_encap_tmpl"

    public var type: UInt16
    public var sport: UInt16
    public var dport: UInt16
    public var originalAddress: XfrmAddress

    public init(type: UInt16, sport: UInt16, dport: UInt16, originalAddress: XfrmAddress = .zero) {
        self.type = type
        self.sport = sport
        self.dport = dport
        self.originalAddress = originalAddress
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        type = r.host()  // 0
        sport = r.big()  // 2
        dport = r.big()  // 4
        r.pad(2)  // 6
        originalAddress = try XfrmAddress(decoding: bytes, at: offset + 8)  // 8
    }

    public func write(to w: inout StructWriter) {
        w.host(type)
        w.big(sport)
        w.big(dport)
        w.pad(2)
        originalAddress.write(to: &w)
    }
}

/// `struct xfrm_userpolicy_type` (6 bytes, 2-aligned): payload of `XFRMA_POLICY_TYPE`.
///
/// ```
/// 0 type       __u8   XFRM_POLICY_TYPE_MAIN 0, SUB 1
/// 1 (pad 1)
/// 2 reserved1  __u16  host order
/// 4 reserved2  __u8
/// 5 (pad 1)
/// ```
public struct XfrmUserPolicyType: XfrmStruct {
    public static let size = 6
    public static let cName = "xfrm_userpolicy_type"

    public var type: UInt8
    public var reserved1: UInt16
    public var reserved2: UInt8

    public init(type: UInt8, reserved1: UInt16 = 0, reserved2: UInt8 = 0) {
        self.type = type
        self.reserved1 = reserved1
        self.reserved2 = reserved2
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        type = r.u8()  // 0
        r.pad(1)  // 1
        reserved1 = r.host()  // 2
        reserved2 = r.u8()  // 4
    }

    public func write(to w: inout StructWriter) {
        w.u8(type)
        w.pad(1)
        w.host(reserved1)
        w.u8(reserved2)
        w.pad(1)
    }
}

/// `struct xfrm_usersa_flush` (1 byte): the payload of FLUSHSA.
///
/// ```
/// 0 proto  __u8  IPSEC_PROTO_ANY 255 = every IPsec protocol
/// ```
public struct XfrmUserSAFlush: XfrmStruct {
    public static let size = 1
    public static let cName = "xfrm_usersa_flush"

    public var proto: UInt8

    public init(proto: UInt8) { self.proto = proto }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        proto = r.u8()  // 0
    }

    public func write(to w: inout StructWriter) { w.u8(proto) }
}
