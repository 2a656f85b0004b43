public import IPsecModel

/// `struct xfrm_user_migrate` (76 bytes, 4-aligned): one SA's move in an `XFRM_MSG_MIGRATE`;
/// `XFRMA_MIGRATE` carries an array of them (Specs/kernel/layouts.md §1.3).
///
/// ```
///  0 old_daddr   xfrm_address_t network order
/// 16 old_saddr   xfrm_address_t network order
/// 32 new_daddr   xfrm_address_t network order
/// 48 new_saddr   xfrm_address_t network order
/// 64 proto       __u8
/// 65 mode        __u8
/// 66 reserved    __u16
/// 68 reqid       __u32  host order
/// 72 old_family  __u16  host order
/// 74 new_family  __u16  host order
/// ```
public struct XfrmUserMigrate: XfrmStruct {
    public static let size = 76
    public static let cName = "xfrm_user_migrate"

    public var oldDaddr: XfrmAddress
    public var oldSaddr: XfrmAddress
    public var newDaddr: XfrmAddress
    public var newSaddr: XfrmAddress
    public var proto: UInt8
    public var mode: UInt8
    public var reserved: UInt16
    public var reqid: UInt32
    public var oldFamily: UInt16
    public var newFamily: UInt16

    public init(
        oldDaddr: XfrmAddress, oldSaddr: XfrmAddress, newDaddr: XfrmAddress, newSaddr: XfrmAddress, proto: UInt8, mode: UInt8,
        reserved: UInt16 = 0, reqid: UInt32, oldFamily: UInt16, newFamily: UInt16
    ) {
        self.oldDaddr = oldDaddr
        self.oldSaddr = oldSaddr
        self.newDaddr = newDaddr
        self.newSaddr = newSaddr
        self.proto = proto
        self.mode = mode
        self.reserved = reserved
        self.reqid = reqid
        self.oldFamily = oldFamily
        self.newFamily = newFamily
    }

    /// The wire form of a migration of the model.
    public init(_ m: SAMigration) {
        self.init(
            oldDaddr: XfrmAddress(m.oldDestination), oldSaddr: XfrmAddress(m.oldSource), newDaddr: XfrmAddress(m.newDestination),
            newSaddr: XfrmAddress(m.newSource), proto: m.proto.rawValue, mode: m.mode.rawValue, reqid: m.reqid,
            oldFamily: m.oldFamily.wire, newFamily: m.newFamily.wire)
    }

    public init(decoding bytes: UnsafeRawBufferPointer, at offset: Int) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: offset, size: Self.size, name: Self.cName)
        oldDaddr = try XfrmAddress(decoding: bytes, at: offset)  // 0
        oldSaddr = try XfrmAddress(decoding: bytes, at: offset + 16)  // 16
        newDaddr = try XfrmAddress(decoding: bytes, at: offset + 32)  // 32
        newSaddr = try XfrmAddress(decoding: bytes, at: offset + 48)  // 48
        r.pad(64)
        proto = r.u8()  // 64
        mode = r.u8()  // 65
        reserved = r.host()  // 66
        reqid = r.host()  // 68
        oldFamily = r.host()  // 72
        newFamily = r.host()  // 74
    }

    public func write(to w: inout StructWriter) {
        oldDaddr.write(to: &w)
        oldSaddr.write(to: &w)
        newDaddr.write(to: &w)
        newSaddr.write(to: &w)
        w.u8(proto)
        w.u8(mode)
        w.host(reserved)
        w.host(reqid)
        w.host(oldFamily)
        w.host(newFamily)
    }
}
