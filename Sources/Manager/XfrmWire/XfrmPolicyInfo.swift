public import IPsecModel

/// `struct xfrm_userpolicy_info` (168 bytes, 8-aligned; 164 on i386): an SPD entry, fixed part of
/// NEWPOLICY/UPDPOLICY and the kernel's policy dump entries and notifications.
///
/// ```
///   0 sel       xfrm_selector
///  56 lft       xfrm_lifetime_cfg
/// 120 curlft    xfrm_lifetime_cur
/// 152 priority  __u32  host order
/// 156 index     __u32  host order
/// 160 dir       __u8   XFRM_POLICY_IN 0, OUT 1, FWD 2
/// 161 action    __u8   XFRM_POLICY_ALLOW 0, BLOCK 1
/// 162 flags     __u8   XFRM_POLICY_LOCALOK 1, ICMP 2
/// 163 share     __u8   XFRM_SHARE_*
/// 164 (pad 4)
/// ```
public struct XfrmUserPolicyInfo: XfrmStruct {
    public static let size = 168
    public static let cName = "xfrm_userpolicy_info"

    public var selector: XfrmSelector
    public var lifetime: LifetimeConfig
    public var current: LifetimeCurrent
    public var priority: UInt32
    public var index: UInt32
    public var dir: UInt8
    public var action: UInt8
    public var flags: UInt8
    public var share: UInt8

    public init(
        selector: XfrmSelector = XfrmSelector(), lifetime: LifetimeConfig = LifetimeConfig(), current: LifetimeCurrent = LifetimeCurrent(),
        priority: UInt32 = 0, index: UInt32 = 0, dir: UInt8 = 0, action: UInt8 = 0, flags: UInt8 = 0, share: UInt8 = 0
    ) {
        self.selector = selector
        self.lifetime = lifetime
        self.current = current
        self.priority = priority
        self.index = index
        self.dir = dir
        self.action = action
        self.flags = flags
        self.share = share
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        selector = try XfrmSelector(decoding: bytes, at: offset)  // 0
        lifetime = try LifetimeConfig(decoding: bytes, at: offset + 56)  // 56
        current = try LifetimeCurrent(decoding: bytes, at: offset + 120)  // 120
        r.pad(152)
        priority = r.host()  // 152
        index = r.host()  // 156
        dir = r.u8()  // 160
        action = r.u8()  // 161
        flags = r.u8()  // 162
        share = r.u8()  // 163
    }

    public func write(to w: inout StructWriter) {
        selector.write(to: &w)
        lifetime.write(to: &w)
        current.write(to: &w)
        w.host(priority)
        w.host(index)
        w.u8(dir)
        w.u8(action)
        w.u8(flags)
        w.u8(share)
        w.pad(4)
    }
}

/// `struct xfrm_user_tmpl` (64 bytes): one template; `XFRMA_TMPL` carries an array of them.
///
/// ```
///  0 id        xfrm_id
/// 24 family    __u16  host order
/// 26 (pad 2)
/// 28 saddr     xfrm_address_t  network order
/// 44 reqid     __u32  host order
/// 48 mode      __u8
/// 49 share     __u8
/// 50 optional  __u8   1 = `level use`
/// 51 (pad 1)
/// 52 aalgos    __u32  host order (bit mask; iproute2 sends all ones)
/// 56 ealgos    __u32
/// 60 calgos    __u32
/// ```
public struct XfrmUserTmpl: XfrmStruct {
    public static let size = 64
    public static let cName = "xfrm_user_tmpl"

    public var id: XfrmID
    public var family: UInt16
    public var saddr: XfrmAddress
    public var reqid: UInt32
    public var mode: UInt8
    public var share: UInt8
    public var optional: UInt8
    public var aalgos: UInt32
    public var ealgos: UInt32
    public var calgos: UInt32

    public init(
        id: XfrmID = XfrmID(), family: UInt16 = 0, saddr: XfrmAddress = .zero, reqid: UInt32 = 0, mode: UInt8 = 0, share: UInt8 = 0,
        optional: UInt8 = 0, aalgos: UInt32 = .max, ealgos: UInt32 = .max, calgos: UInt32 = .max
    ) {
        self.id = id
        self.family = family
        self.saddr = saddr
        self.reqid = reqid
        self.mode = mode
        self.share = share
        self.optional = optional
        self.aalgos = aalgos
        self.ealgos = ealgos
        self.calgos = calgos
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        id = try XfrmID(decoding: bytes, at: offset)  // 0
        r.pad(24)
        family = r.host()  // 24
        r.pad(2)  // 26
        saddr = try XfrmAddress(decoding: bytes, at: offset + 28)  // 28
        r.pad(16)
        reqid = r.host()  // 44
        mode = r.u8()  // 48
        share = r.u8()  // 49
        optional = r.u8()  // 50
        r.pad(1)  // 51
        aalgos = r.host()  // 52
        ealgos = r.host()  // 56
        calgos = r.host()  // 60
    }

    public func write(to w: inout StructWriter) {
        id.write(to: &w)
        w.host(family)
        w.pad(2)
        saddr.write(to: &w)
        w.host(reqid)
        w.u8(mode)
        w.u8(share)
        w.u8(optional)
        w.pad(1)
        w.host(aalgos)
        w.host(ealgos)
        w.host(calgos)
    }
}

/// `struct xfrm_user_polexpire` (176 bytes; 168 on i386): POLEXPIRE.
///
/// ```
///   0 pol   xfrm_userpolicy_info
/// 168 hard  __u8
/// 169 (pad 7)
/// ```
public struct XfrmUserPolExpire: XfrmStruct {
    public static let size = 176
    public static let cName = "xfrm_user_polexpire"

    public var policy: XfrmUserPolicyInfo
    public var hard: UInt8

    public init(policy: XfrmUserPolicyInfo, hard: UInt8) {
        self.policy = policy
        self.hard = hard
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        policy = try XfrmUserPolicyInfo(decoding: bytes, at: offset)  // 0
        r.pad(168)
        hard = r.u8()  // 168
    }

    public func write(to w: inout StructWriter) {
        policy.write(to: &w)
        w.u8(hard)
        w.pad(7)
    }
}

/// `struct xfrm_user_acquire` (280 bytes; 276 on i386): ACQUIRE, sent by the kernel when no SA
/// serves an outbound flow. The flow's label comes in `XFRMA_SEC_CTX`.
///
/// ```
///   0 id      xfrm_id         the larval SA's id (spi 0)
///  24 saddr   xfrm_address_t  network order
///  40 sel     xfrm_selector   built from the flow
///  96 policy  xfrm_userpolicy_info  the policy that matched
/// 264 aalgos  __u32 host order
/// 268 ealgos  __u32
/// 272 calgos  __u32
/// 276 seq     __u32   the acquire sequence number (non-zero)
/// ```
public struct XfrmUserAcquire: XfrmStruct {
    public static let size = 280
    public static let cName = "xfrm_user_acquire"

    public var id: XfrmID
    public var saddr: XfrmAddress
    public var selector: XfrmSelector
    public var policy: XfrmUserPolicyInfo
    public var aalgos: UInt32
    public var ealgos: UInt32
    public var calgos: UInt32
    public var seq: UInt32

    public init(
        id: XfrmID, saddr: XfrmAddress, selector: XfrmSelector, policy: XfrmUserPolicyInfo,
        aalgos: UInt32, ealgos: UInt32, calgos: UInt32, seq: UInt32
    ) {
        self.id = id
        self.saddr = saddr
        self.selector = selector
        self.policy = policy
        self.aalgos = aalgos
        self.ealgos = ealgos
        self.calgos = calgos
        self.seq = seq
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        id = try XfrmID(decoding: bytes, at: offset)  // 0
        saddr = try XfrmAddress(decoding: bytes, at: offset + 24)  // 24
        selector = try XfrmSelector(decoding: bytes, at: offset + 40)  // 40
        policy = try XfrmUserPolicyInfo(decoding: bytes, at: offset + 96)  // 96
        r.pad(264)
        aalgos = r.host()  // 264
        ealgos = r.host()  // 268
        calgos = r.host()  // 272
        seq = r.host()  // 276
    }

    public func write(to w: inout StructWriter) {
        id.write(to: &w)
        saddr.write(to: &w)
        selector.write(to: &w)
        policy.write(to: &w)
        w.host(aalgos)
        w.host(ealgos)
        w.host(calgos)
        w.host(seq)
    }
}
