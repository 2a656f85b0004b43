public import IPsecModel

// The model's `LifetimeConfig`, `LifetimeCurrent` and `XfrmMark` are the kernel structs field for
// field; their codecs live here.

/// `struct xfrm_lifetime_cfg` (64 bytes, 8-aligned), all `__u64` host order; `XFRM_INF` (all ones)
/// means no limit.
///
/// ```
///  0 soft_byte_limit            8 hard_byte_limit
/// 16 soft_packet_limit         24 hard_packet_limit
/// 32 soft_add_expires_seconds  40 hard_add_expires_seconds
/// 48 soft_use_expires_seconds  56 hard_use_expires_seconds
/// ```
extension LifetimeConfig: XfrmStruct {
    public static let size = 64
    public static let cName = "xfrm_lifetime_cfg"

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        self.init()
        softByteLimit = r.host()  // 0
        hardByteLimit = r.host()  // 8
        softPacketLimit = r.host()  // 16
        hardPacketLimit = r.host()  // 24
        softAddExpiresSeconds = r.host()  // 32
        hardAddExpiresSeconds = r.host()  // 40
        softUseExpiresSeconds = r.host()  // 48
        hardUseExpiresSeconds = r.host()  // 56
    }

    public func write(to w: inout StructWriter) {
        w.host(softByteLimit)
        w.host(hardByteLimit)
        w.host(softPacketLimit)
        w.host(hardPacketLimit)
        w.host(softAddExpiresSeconds)
        w.host(hardAddExpiresSeconds)
        w.host(softUseExpiresSeconds)
        w.host(hardUseExpiresSeconds)
    }
}

/// `struct xfrm_lifetime_cur` (32 bytes, 8-aligned), all `__u64` host order; also the payload of
/// `XFRMA_LTIME_VAL`.
///
/// ```
///  0 bytes  8 packets  16 add_time (seconds since the epoch)  24 use_time
/// ```
extension LifetimeCurrent: XfrmStruct {
    public static let size = 32
    public static let cName = "xfrm_lifetime_cur"

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        self.init()
        self.bytes = r.host()  // 0
        packets = r.host()  // 8
        addTime = r.host()  // 16
        useTime = r.host()  // 24
    }

    public func write(to w: inout StructWriter) {
        w.host(self.bytes)
        w.host(packets)
        w.host(addTime)
        w.host(useTime)
    }
}

/// `struct xfrm_mark` (8 bytes): payload of `XFRMA_MARK`.
///
/// ```
///  0 v  __u32 host order
///  4 m  __u32 host order
/// ```
extension XfrmMark: XfrmStruct {
    public static let size = 8
    public static let cName = "xfrm_mark"

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        let v: UInt32 = r.host()  // 0
        let m: UInt32 = r.host()  // 4
        self.init(value: v, mask: m)
    }

    public func write(to w: inout StructWriter) {
        w.host(value)
        w.host(mask)
    }
}

/// `struct xfrm_stats` (12 bytes), all `__u32` host order.
///
/// ```
///  0 replay_window  4 replay  8 integrity_failed
/// ```
public struct XfrmStats: XfrmStruct {
    public static let size = 12
    public static let cName = "xfrm_stats"

    public var replayWindow: UInt32
    public var replay: UInt32
    public var integrityFailed: UInt32

    public init(replayWindow: UInt32 = 0, replay: UInt32 = 0, integrityFailed: UInt32 = 0) {
        self.replayWindow = replayWindow
        self.replay = replay
        self.integrityFailed = integrityFailed
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        replayWindow = r.host()  // 0
        replay = r.host()  // 4
        integrityFailed = r.host()  // 8
    }

    public func write(to w: inout StructWriter) {
        w.host(replayWindow)
        w.host(replay)
        w.host(integrityFailed)
    }
}

/// `struct xfrm_replay_state` (12 bytes): payload of `XFRMA_REPLAY_VAL`, all `__u32` host order.
///
/// ```
///  0 oseq  4 seq  8 bitmap
/// ```
public struct XfrmReplayState: XfrmStruct {
    public static let size = 12
    public static let cName = "xfrm_replay_state"

    public var oseq: UInt32
    public var seq: UInt32
    public var bitmap: UInt32

    public init(oseq: UInt32 = 0, seq: UInt32 = 0, bitmap: UInt32 = 0) {
        self.oseq = oseq
        self.seq = seq
        self.bitmap = bitmap
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        oseq = r.host()  // 0
        seq = r.host()  // 4
        bitmap = r.host()  // 8
    }

    public func write(to w: inout StructWriter) {
        w.host(oseq)
        w.host(seq)
        w.host(bitmap)
    }
}

/// `struct xfrm_replay_state_esn` (24 bytes + `bmp_len` × 4): payload of `XFRMA_REPLAY_ESN_VAL`,
/// all `__u32` host order.
///
/// ```
///  0 bmp_len  4 oseq  8 seq  12 oseq_hi  16 seq_hi  20 replay_window  24 bmp[bmp_len]
/// ```
///
/// The kernel accepts the 24-byte header alone whatever `bmp_len` says (`xfrm_user.c:verify_replay`),
/// and iproute2 sends exactly that (`bmp_len` = window / 32, no bitmap words); so the bitmap is either
/// absent or `bmp_len` words long.
public struct XfrmReplayStateESN: Hashable, Sendable {
    public static let headerSize = 24
    public static let cName = "xfrm_replay_state_esn"

    /// `bmp_len`, in 32-bit words.
    public var bmpLen: UInt32
    public var oseq: UInt32
    public var seq: UInt32
    public var oseqHi: UInt32
    public var seqHi: UInt32
    public var replayWindow: UInt32
    /// `bmp`: empty, or `bmp_len` words.
    public var bitmap: [UInt32]

    /// A state for a window of `replayWindow` packets as iproute2 sends it: `bmp_len` =
    /// ⌈window / 32⌉, no bitmap words.
    public init(replayWindow: UInt32, oseq: UInt32 = 0, seq: UInt32 = 0, oseqHi: UInt32 = 0, seqHi: UInt32 = 0) {
        self.bmpLen = UInt32((UInt64(replayWindow) + 31) / 32)
        self.oseq = oseq
        self.seq = seq
        self.oseqHi = oseqHi
        self.seqHi = seqHi
        self.replayWindow = replayWindow
        self.bitmap = []
    }

    /// Decodes an attribute payload: exactly 24 bytes, or `24 + 4 × bmp_len`.
    public init(payload bytes: [UInt8]) throws(XfrmWireError) {
        self = try bytes.withUnsafeBytesThrowing { raw throws(XfrmWireError) in try Self(payload: raw) }
    }

    /// Decodes an attribute payload read in place.
    public init(payload bytes: UnsafeRawBufferPointer) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: 0, size: Self.headerSize, name: Self.cName)
        bmpLen = r.host()  // 0
        oseq = r.host()  // 4
        seq = r.host()  // 8
        oseqHi = r.host()  // 12
        seqHi = r.host()  // 16
        replayWindow = r.host()  // 20
        let full = UInt64(Self.headerSize) + UInt64(bmpLen) * 4
        guard bytes.count == Self.headerSize || UInt64(bytes.count) == full else {
            throw XfrmWireError(
                .badAttributeLength, at: 0,
                "\(Self.cName): expected 24 or \(full) bytes (bmp_len \(bmpLen)), found \(bytes.count)")
        }
        var bitmap: [UInt32] = []
        while r.offset < bytes.count { bitmap.append(r.host()) }  // 24
        self.bitmap = bitmap
    }

    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendHost(bmpLen)
        bytes.appendHost(oseq)
        bytes.appendHost(seq)
        bytes.appendHost(oseqHi)
        bytes.appendHost(seqHi)
        bytes.appendHost(replayWindow)
        for word in bitmap { bytes.appendHost(word) }
        return bytes
    }
}
