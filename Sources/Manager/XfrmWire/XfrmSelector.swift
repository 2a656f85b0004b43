/// `struct xfrm_selector` (56 bytes, 4-aligned): which packets an SA or SPD entry applies to.
///
/// ```
///  0 daddr        xfrm_address_t  network order
/// 16 saddr        xfrm_address_t  network order
/// 32 dport        __be16          network order (ICMP code for ICMP selectors)
/// 34 dport_mask   __be16          network order
/// 36 sport        __be16          network order (ICMP type for ICMP selectors)
/// 38 sport_mask   __be16          network order
/// 40 family       __u16           host order (AF_INET 2, AF_INET6 10, 0 = unspecified in SAs)
/// 42 prefixlen_d  __u8
/// 43 prefixlen_s  __u8
/// 44 proto        __u8            upper-layer protocol, 0 = any
/// 45 (pad 3)
/// 48 ifindex      int             host order
/// 52 user         __kernel_uid32_t host order
/// ```
public struct XfrmSelector: XfrmStruct {
    public static let size = 56
    public static let cName = "xfrm_selector"

    public var daddr: XfrmAddress
    public var saddr: XfrmAddress
    /// Host value of the big-endian `dport`.
    public var dport: UInt16
    public var dportMask: UInt16
    public var sport: UInt16
    public var sportMask: UInt16
    public var family: UInt16
    public var prefixlenD: UInt8
    public var prefixlenS: UInt8
    public var proto: UInt8
    public var ifindex: Int32
    public var user: UInt32

    public init(
        daddr: XfrmAddress = .zero, saddr: XfrmAddress = .zero, dport: UInt16 = 0, dportMask: UInt16 = 0, sport: UInt16 = 0,
        sportMask: UInt16 = 0, family: UInt16 = 0, prefixlenD: UInt8 = 0, prefixlenS: UInt8 = 0, proto: UInt8 = 0,
        ifindex: Int32 = 0, user: UInt32 = 0
    ) {
        self.daddr = daddr
        self.saddr = saddr
        self.dport = dport
        self.dportMask = dportMask
        self.sport = sport
        self.sportMask = sportMask
        self.family = family
        self.prefixlenD = prefixlenD
        self.prefixlenS = prefixlenS
        self.proto = proto
        self.ifindex = ifindex
        self.user = user
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        daddr = try XfrmAddress(decoding: bytes, at: offset)  // 0
        saddr = try XfrmAddress(decoding: bytes, at: offset + 16)  // 16
        r.pad(32)
        dport = r.big()  // 32
        dportMask = r.big()  // 34
        sport = r.big()  // 36
        sportMask = r.big()  // 38
        family = r.host()  // 40
        prefixlenD = r.u8()  // 42
        prefixlenS = r.u8()  // 43
        proto = r.u8()  // 44
        r.pad(3)  // 45
        ifindex = r.host()  // 48
        user = r.host()  // 52
    }

    public func write(to w: inout StructWriter) {
        daddr.write(to: &w)
        saddr.write(to: &w)
        w.big(dport)
        w.big(dportMask)
        w.big(sport)
        w.big(sportMask)
        w.host(family)
        w.u8(prefixlenD)
        w.u8(prefixlenS)
        w.u8(proto)
        w.pad(3)
        w.host(ifindex)
        w.host(user)
    }
}
