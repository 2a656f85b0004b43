public import IPsecModel

/// `struct xfrm_usersa_info` (224 bytes, 8-aligned; 220 on i386): an SA, fixed part of NEWSA/UPDSA
/// and of the kernel's NEWSA dump entries and notifications; also inside EXPIRE and `XFRMA_SA`.
///
/// ```
///   0 sel            xfrm_selector
///  56 id             xfrm_id
///  80 saddr          xfrm_address_t   network order
///  96 lft            xfrm_lifetime_cfg
/// 160 curlft         xfrm_lifetime_cur
/// 192 stats          xfrm_stats
/// 204 seq            __u32  host order
/// 208 reqid          __u32  host order
/// 212 family         __u16  host order
/// 214 mode           __u8   XFRM_MODE_*
/// 215 replay_window  __u8
/// 216 flags          __u8   XFRM_STATE_*
/// 217 (pad 7)
/// ```
public struct XfrmUserSAInfo: XfrmStruct {
    public static let size = 224
    public static let cName = "xfrm_usersa_info"

    public var selector: XfrmSelector
    public var id: XfrmID
    public var saddr: XfrmAddress
    public var lifetime: LifetimeConfig
    public var current: LifetimeCurrent
    public var stats: XfrmStats
    public var seq: UInt32
    public var reqid: UInt32
    public var family: UInt16
    public var mode: UInt8
    public var replayWindow: UInt8
    public var flags: UInt8

    public init(
        selector: XfrmSelector = XfrmSelector(), id: XfrmID = XfrmID(), saddr: XfrmAddress = .zero,
        lifetime: LifetimeConfig = LifetimeConfig(), current: LifetimeCurrent = LifetimeCurrent(), stats: XfrmStats = XfrmStats(),
        seq: UInt32 = 0, reqid: UInt32 = 0, family: UInt16 = 0, mode: UInt8 = 0, replayWindow: UInt8 = 0, flags: UInt8 = 0
    ) {
        self.selector = selector
        self.id = id
        self.saddr = saddr
        self.lifetime = lifetime
        self.current = current
        self.stats = stats
        self.seq = seq
        self.reqid = reqid
        self.family = family
        self.mode = mode
        self.replayWindow = replayWindow
        self.flags = flags
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        selector = try XfrmSelector(decoding: bytes, at: offset)  // 0
        id = try XfrmID(decoding: bytes, at: offset + 56)  // 56
        saddr = try XfrmAddress(decoding: bytes, at: offset + 80)  // 80
        lifetime = try LifetimeConfig(decoding: bytes, at: offset + 96)  // 96
        current = try LifetimeCurrent(decoding: bytes, at: offset + 160)  // 160
        stats = try XfrmStats(decoding: bytes, at: offset + 192)  // 192
        r.pad(204)
        seq = r.host()  // 204
        reqid = r.host()  // 208
        family = r.host()  // 212
        mode = r.u8()  // 214
        replayWindow = r.u8()  // 215
        flags = r.u8()  // 216
    }

    public func write(to w: inout StructWriter) {
        selector.write(to: &w)
        id.write(to: &w)
        saddr.write(to: &w)
        lifetime.write(to: &w)
        current.write(to: &w)
        stats.write(to: &w)
        w.host(seq)
        w.host(reqid)
        w.host(family)
        w.u8(mode)
        w.u8(replayWindow)
        w.u8(flags)
        w.pad(7)
    }
}

/// `struct xfrm_userspi_info` (232 bytes; 228 on i386): the ALLOCSPI request.
///
/// ```
///   0 info  xfrm_usersa_info
/// 224 min   __u32  host order
/// 228 max   __u32  host order
/// ```
public struct XfrmUserSPIInfo: XfrmStruct {
    public static let size = 232
    public static let cName = "xfrm_userspi_info"

    public var info: XfrmUserSAInfo
    public var min: UInt32
    public var max: UInt32

    public init(info: XfrmUserSAInfo, min: UInt32, max: UInt32) {
        self.info = info
        self.min = min
        self.max = max
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        info = try XfrmUserSAInfo(decoding: bytes, at: offset)  // 0
        r.pad(224)
        min = r.host()  // 224
        max = r.host()  // 228
    }

    public func write(to w: inout StructWriter) {
        info.write(to: &w)
        w.host(min)
        w.host(max)
    }
}

/// `struct xfrm_user_expire` (232 bytes; 224 on i386): EXPIRE, soft or hard.
///
/// ```
///   0 state  xfrm_usersa_info
/// 224 hard   __u8  0 soft, 1 hard
/// 225 (pad 7)
/// ```
public struct XfrmUserExpire: XfrmStruct {
    public static let size = 232
    public static let cName = "xfrm_user_expire"

    public var state: XfrmUserSAInfo
    public var hard: UInt8

    public init(state: XfrmUserSAInfo, hard: UInt8) {
        self.state = state
        self.hard = hard
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        state = try XfrmUserSAInfo(decoding: bytes, at: offset)  // 0
        r.pad(224)
        hard = r.u8()  // 224
    }

    public func write(to w: inout StructWriter) {
        state.write(to: &w)
        w.u8(hard)
        w.pad(7)
    }
}
