/// `struct xfrm_id` (24 bytes): the SAD key of an SA.
///
/// ```
///  0 daddr  xfrm_address_t  network order
/// 16 spi    __be32          network order
/// 20 proto  __u8            IPPROTO_ESP 50, IPPROTO_AH 51, IPPROTO_COMP 108
/// 21 (pad 3)
/// ```
public struct XfrmID: XfrmStruct {
    public static let size = 24
    public static let cName = "xfrm_id"

    public var daddr: XfrmAddress
    /// Host value of the big-endian SPI.
    public var spi: UInt32
    public var proto: UInt8

    public init(daddr: XfrmAddress = .zero, spi: UInt32 = 0, proto: UInt8 = 0) {
        self.daddr = daddr
        self.spi = spi
        self.proto = proto
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        daddr = try XfrmAddress(decoding: bytes, at: offset)  // 0
        r.pad(16)
        spi = r.big()  // 16
        proto = r.u8()  // 20
    }

    public func write(to w: inout StructWriter) {
        daddr.write(to: &w)
        w.big(spi)
        w.u8(proto)
        w.pad(3)
    }
}

/// `struct xfrm_usersa_id` (24 bytes): names an SA in DELSA/GETSA (with `XFRMA_SRCADDR`, `XFRMA_MARK`).
///
/// ```
///  0 daddr   xfrm_address_t  network order
/// 16 spi     __be32          network order
/// 20 family  __u16           host order
/// 22 proto   __u8
/// 23 (pad 1)
/// ```
public struct XfrmUserSAID: XfrmStruct {
    public static let size = 24
    public static let cName = "xfrm_usersa_id"

    public var daddr: XfrmAddress
    public var spi: UInt32
    public var family: UInt16
    public var proto: UInt8

    public init(daddr: XfrmAddress = .zero, spi: UInt32 = 0, family: UInt16 = 0, proto: UInt8 = 0) {
        self.daddr = daddr
        self.spi = spi
        self.family = family
        self.proto = proto
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        daddr = try XfrmAddress(decoding: bytes, at: offset)  // 0
        r.pad(16)
        spi = r.big()  // 16
        family = r.host()  // 20
        proto = r.u8()  // 22
    }

    public func write(to w: inout StructWriter) {
        daddr.write(to: &w)
        w.big(spi)
        w.host(family)
        w.u8(proto)
        w.pad(1)
    }
}

/// `struct xfrm_userpolicy_id` (64 bytes): names an SPD entry in DELPOLICY/GETPOLICY, by selector
/// (plus `XFRMA_SEC_CTX`, `XFRMA_MARK`, `XFRMA_IF_ID`) or by index (when `index` ≠ 0).
///
/// ```
///  0 sel    xfrm_selector
/// 56 index  __u32  host order
/// 60 dir    __u8   XFRM_POLICY_IN 0, OUT 1, FWD 2
/// 61 (pad 3)
/// ```
public struct XfrmUserPolicyID: XfrmStruct {
    public static let size = 64
    public static let cName = "xfrm_userpolicy_id"

    public var selector: XfrmSelector
    public var index: UInt32
    public var dir: UInt8

    public init(selector: XfrmSelector = XfrmSelector(), index: UInt32 = 0, dir: UInt8 = 0) {
        self.selector = selector
        self.index = index
        self.dir = dir
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        selector = try XfrmSelector(decoding: bytes, at: offset)  // 0
        r.pad(56)
        index = r.host()  // 56
        dir = r.u8()  // 60
    }

    public func write(to w: inout StructWriter) {
        selector.write(to: &w)
        w.host(index)
        w.u8(dir)
        w.pad(3)
    }
}

/// `struct xfrm_address_filter` (36 bytes): the payload of `XFRMA_ADDRESS_FILTER` in a GETSA dump
/// request. iproute2 6.1 sends it all zero on `ip xfrm state show` (Specs/kernel/layouts.md §4.5).
///
/// ```
///  0 saddr   xfrm_address_t  network order
/// 16 daddr   xfrm_address_t  network order
/// 32 family  __u16           host order
/// 34 splen   __u8
/// 35 dplen   __u8
/// ```
public struct XfrmAddressFilter: XfrmStruct {
    public static let size = 36
    public static let cName = "xfrm_address_filter"

    public var saddr: XfrmAddress
    public var daddr: XfrmAddress
    public var family: UInt16
    public var splen: UInt8
    public var dplen: UInt8

    public init(saddr: XfrmAddress = .zero, daddr: XfrmAddress = .zero, family: UInt16 = 0, splen: UInt8 = 0, dplen: UInt8 = 0) {
        self.saddr = saddr
        self.daddr = daddr
        self.family = family
        self.splen = splen
        self.dplen = dplen
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        saddr = try XfrmAddress(decoding: bytes, at: offset)  // 0
        daddr = try XfrmAddress(decoding: bytes, at: offset + 16)  // 16
        r.pad(32)
        family = r.host()  // 32
        splen = r.u8()  // 34
        dplen = r.u8()  // 35
    }

    public func write(to w: inout StructWriter) {
        saddr.write(to: &w)
        daddr.write(to: &w)
        w.host(family)
        w.u8(splen)
        w.u8(dplen)
    }
}
