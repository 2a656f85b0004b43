import SecurityContexts

extension PolicyDB {
    /// Reads a kernel binary policy (`policy.NN`, versions 15–33, with or without MLS) into the
    /// same database the compiler builds from policy.conf (Specs/engine/binary-policy.md §5).
    ///
    /// The bytes are outside input: every count is checked against the bytes left before anything
    /// is allocated from it, every symbol reference against its table, and the file must end
    /// exactly after its last section (§4). Versions newer than 33 are refused by name.
    /// - Throws: ``BinaryPolicyError`` with the byte offset, the section and what is wrong.
    public init(binary: some Collection<UInt8>) throws(BinaryPolicyError) {
        var reader = BinaryPolicyReader(Array(binary))
        self = try reader.read()
    }

    /// Reads a kernel binary policy as ``init(binary:)`` does, and also returns what the file
    /// carries that the database does not hold (its header, the extended-permission entries).
    public static func readBinary(_ binary: some Collection<UInt8>) throws(BinaryPolicyError) -> (policy: PolicyDB, extras: BinaryPolicyExtras) {
        var reader = BinaryPolicyReader(Array(binary))
        let policy = try reader.read()
        return (policy, reader.extras)
    }
}

/// What a binary policy carries that ``PolicyDB`` does not hold, read and checked but not kept,
/// with the header facts (Specs/engine/binary-policy.md §5, "What the binary carries").
public struct BinaryPolicyExtras: Sendable, Hashable {
    /// The header.
    public var header: BinaryPolicyHeader
    /// The number of extended-permission avtab entries (`allowxperm` and friends, §3.4.1).
    public var extendedPermissionEntries = 0
}

/// The reader: one pass over the file in section order (§3), symbol tables kept raw until all
/// are read (constraints name users, roles and types that come later), then mapped onto a
/// ``PolicyDB`` (§5) while the rule sections are read.
struct BinaryPolicyReader {
    var c: BinaryCursor
    var header = BinaryPolicyHeader(version: 0, mls: false, handleUnknown: .deny)
    var version: UInt32 { header.version }
    var extras: BinaryPolicyExtras { BinaryPolicyExtras(header: header, extendedPermissionEntries: xpermsCount) }
    var xpermsCount = 0

    // Raw sections (§3.1–§3.3).
    var capabilities = EBitmap(nodes: [])
    var permissive = EBitmap(nodes: [])
    var commons = RawTable<RawCommon>()
    var classes = RawTable<RawClass>()
    var roles = RawTable<RawRole>()
    var types = RawTable<RawType>()
    var users = RawTable<RawUser>()
    var bools = RawTable<RawBool>()
    var sensitivities = RawTable<RawSensitivity>()
    var categories = RawTable<RawCategory>()

    // Value → PolicyDB index, per table (§5). Dictionaries: their size follows the records read,
    // never a count (§4.1).
    var roleOf: [UInt32: Int] = [:]
    var typeOf: [UInt32: Int] = [:]
    var userOf: [UInt32: Int] = [:]
    var boolOf: [UInt32: Int] = [:]
    var sensitivityOf: [UInt32: Int] = [:]
    var categoryOf: [UInt32: Int] = [:]
    /// Offsets of the records, by index, for errors found after reading.
    var typeOffsets: [Int] = []
    var roleOffsets: [Int] = []
    var userOffsets: [Int] = []

    var db = PolicyDB()

    init(_ bytes: [UInt8]) { c = BinaryCursor(bytes) }

    /// Where each section of a valid file starts.
    static func sectionStarts(_ bytes: [UInt8]) throws(BinaryPolicyError) -> [BinaryPolicySection: Int] {
        var reader = BinaryPolicyReader(bytes)
        _ = try reader.read()
        return reader.c.sectionStarts
    }

    /// Reads the whole file (§3, in order).
    mutating func read() throws(BinaryPolicyError) -> PolicyDB {
        header = try BinaryPolicyHeader.read(&c)
        db.handleUnknown = header.handleUnknown
        if version >= 22 {
            c.section = .policyCapabilities
            capabilities = try c.ebitmap()
        }
        if version >= 23 {
            c.section = .permissiveMap
            permissive = try c.ebitmap()
        }
        try readCommons()
        try readClasses()
        try readRoles()
        try readTypes()
        try readUsers()
        if version >= 16 { try readBooleans() }
        if version >= 19 {
            try readSensitivities()
            try readCategories()
        }
        try mapSymbols()
        try readAVTab()
        if version >= 16 { try readConditionals() }
        try readRoleTransitions()
        try readRoleAllows()
        if version >= 25 { try readFilenameTransitions() }
        try readOContexts()
        try readGenfs()
        if version >= 19 { try readRangeTransitions() }
        try readTypeAttributeMap()
        try c.expectEnd()
        try validateBounds()
        db.extendedPermissionRuleCount = xpermsCount
        return db
    }

    /// An error at a recorded offset, in a section other than the current one.
    func error(_ kind: BinaryPolicyError.Kind, at offset: Int, in section: BinaryPolicySection) -> BinaryPolicyError {
        BinaryPolicyError(offset: offset, section: section, kind: kind)
    }

    // MARK: References (§4.4)

    /// The index of a type or attribute value.
    func type(_ value: UInt32, at offset: Int, what: String = "type") throws(BinaryPolicyError) -> Int {
        guard let t = typeOf[value] else { throw c.error(.indexOutOfRange(what: what, value: value), at: offset) }
        return t
    }

    /// The index of a type value that is not an attribute.
    func concreteType(_ value: UInt32, at offset: Int, what: String = "type") throws(BinaryPolicyError) -> Int {
        let t = try type(value, at: offset, what: what)
        guard !db.types[t].isAttribute else { throw c.error(.invalid("\(what) \(db.types[t].name) is an attribute"), at: offset) }
        return t
    }

    func role(_ value: UInt32, at offset: Int) throws(BinaryPolicyError) -> Int {
        guard let r = roleOf[value] else { throw c.error(.indexOutOfRange(what: "role", value: value), at: offset) }
        return r
    }

    func user(_ value: UInt32, at offset: Int) throws(BinaryPolicyError) -> Int {
        guard let u = userOf[value] else { throw c.error(.indexOutOfRange(what: "user", value: value), at: offset) }
        return u
    }

    func objectClass(_ value: UInt32, at offset: Int) throws(BinaryPolicyError) -> Int {
        guard value >= 1, Int(value) <= db.classes.count else { throw c.error(.indexOutOfRange(what: "class", value: value), at: offset) }
        return Int(value)
    }

    /// A symbol ebitmap (bit = value − 1) mapped to indices through `table`.
    func mapped(_ bitmap: EBitmap, _ table: [UInt32: Int], what: String, section: BinaryPolicySection? = nil) throws(BinaryPolicyError)
        -> Bitset
    {
        var out = Bitset()
        try bitmap.forEachBit { (bit) throws(BinaryPolicyError) in
            guard bit < Int(UInt32.max), let i = table[UInt32(bit + 1)] else {
                throw error(.indexOutOfRange(what: what, value: UInt32(truncatingIfNeeded: bit + 1)), at: bitmap.offset, in: section ?? c.section)
            }
            out.insert(i)
        }
        return out
    }

    /// A level mapped onto the MLS vocabulary (§1.6, §5).
    func level(_ raw: RawLevel, section: BinaryPolicySection? = nil) throws(BinaryPolicyError) -> MLSLevel {
        guard let s = sensitivityOf[raw.sensitivity] else {
            throw error(.indexOutOfRange(what: "sensitivity", value: raw.sensitivity), at: raw.offset, in: section ?? c.section)
        }
        var cats = CategorySet()
        try raw.categories.forEachBit { (bit) throws(BinaryPolicyError) in
            guard bit < Int(UInt32.max), let i = categoryOf[UInt32(bit + 1)] else {
                throw error(
                    .indexOutOfRange(what: "category", value: UInt32(truncatingIfNeeded: bit + 1)), at: raw.categories.offset, in: section ?? c.section)
            }
            cats.insert(i)
        }
        return MLSLevel(sensitivity: s, categories: cats)
    }

    /// A range: with MLS, mapped and valid; without, the placeholder (§1.6).
    func range(_ raw: RawRange, section: BinaryPolicySection? = nil) throws(BinaryPolicyError) -> MLSRange? {
        guard let mls = db.mls else {
            try placeholder(raw.low, section: section)
            try placeholder(raw.high, section: section)
            return nil
        }
        let r = MLSRange(low: try level(raw.low, section: section), high: try level(raw.high, section: section))
        guard mls.isValid(r) else { throw error(.invalid("invalid MLS range \(mls.text(r))"), at: raw.low.offset, in: section ?? c.section) }
        return r
    }

    /// The non-MLS placeholder level: sensitivity 0, no category (§1.6).
    func placeholder(_ raw: RawLevel, section: BinaryPolicySection? = nil) throws(BinaryPolicyError) {
        guard raw.sensitivity == 0, raw.categories.isEmpty else {
            throw error(.invalid("an MLS level in a policy without MLS"), at: raw.offset, in: section ?? c.section)
        }
    }
}
