public import SELinuxPolicy

/// The versions of the kernel binary policy format the reader knows (§2.1).
public enum BinaryPolicyVersion {
    /// The oldest version read (`POLICYDB_VERSION_BASE`).
    public static let minimum: UInt32 = 15
    /// The newest version read (`POLICYDB_VERSION_COMP_FTRANS`).
    public static let maximum: UInt32 = 33

    /// `sym_num` and `ocon_num` for a known version (§2.1).
    static func tableCounts(_ version: UInt32) -> (symbols: UInt32, ocontexts: UInt32) {
        let symbols: UInt32 = version >= 19 ? 8 : version >= 16 ? 6 : 5
        let ocontexts: UInt32 = version >= 31 ? 9 : version >= 17 ? 7 : 6
        return (symbols, ocontexts)
    }
}

/// The header of a kernel binary policy (§2).
public struct BinaryPolicyHeader: Sendable, Hashable {
    /// The kernel policy magic number (`POLICYDB_MAGIC`, little-endian on disk).
    public static let magic: UInt32 = 0xf97c_ff8c
    /// The magic of policy modules (`.pp`), refused.
    public static let moduleMagic: UInt32 = 0xf97c_ff8d

    /// The format version, 15…33.
    public var version: UInt32
    /// Whether the MLS flag is set.
    public var mls: Bool
    /// `handle_unknown` from the config word.
    public var handleUnknown: HandleUnknown

    /// Whether `bytes` starts with the kernel policy magic: the way to tell a binary policy from a
    /// policy.conf, never the file name.
    public static func hasMagic(_ bytes: some Collection<UInt8>) -> Bool {
        var it = bytes.makeIterator()
        var v: UInt32 = 0
        for i in 0..<4 {
            guard let b = it.next() else { return false }
            v |= UInt32(b) << UInt32(8 * i)
        }
        return v == magic
    }

    /// Reads and checks the header (§2, §4.2).
    static func read(_ c: inout BinaryCursor) throws(BinaryPolicyError) -> BinaryPolicyHeader {
        c.section = .header
        let magicAt = c.offset
        let m = try c.u32()
        if m == moduleMagic { throw c.error(.policyModule, at: magicAt) }
        guard m == magic else { throw c.error(.badMagic(found: m), at: magicAt) }
        let lenAt = c.offset
        let len = try c.u32()
        guard len >= 1, len <= 32, Int(len) <= c.remaining else {
            throw c.error(.badTargetString("length \(len)"), at: lenAt)
        }
        let strAt = c.offset
        let target = String(decoding: try c.raw(Int(len)), as: UTF8.self)
        guard target == "SE Linux" else { throw c.error(.badTargetString(target), at: strAt) }
        let versionAt = c.offset
        let version = try c.u32()
        guard version >= BinaryPolicyVersion.minimum, version <= BinaryPolicyVersion.maximum else {
            throw c.error(.unsupportedVersion(found: version), at: versionAt)
        }
        let configAt = c.offset
        let config = try c.u32()
        let mls = config & 1 != 0
        let handle: HandleUnknown
        switch config & 6 {
        case 0: handle = .deny
        case 2: handle = .reject
        case 4: handle = .allow
        default: throw c.error(.badConfig(found: config), at: configAt)
        }
        guard config & ~7 == 0, !mls || version >= 19 else { throw c.error(.badConfig(found: config), at: configAt) }
        let countsAt = c.offset
        let symbols = try c.u32()
        let ocontexts = try c.u32()
        let expected = BinaryPolicyVersion.tableCounts(version)
        guard symbols == expected.symbols, ocontexts == expected.ocontexts else {
            throw c.error(.badTableCounts(symbols: symbols, ocontexts: ocontexts), at: countsAt)
        }
        return BinaryPolicyHeader(version: version, mls: mls, handleUnknown: handle)
    }
}
