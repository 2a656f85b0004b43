/// The part of a binary policy file being read when an error was found (Specs/engine/binary-policy.md
/// §2–§3, in file order; `validation` is the checks made after the last byte, §4.4).
public enum BinaryPolicySection: String, Sendable, Hashable, CustomStringConvertible {
    case header
    case policyCapabilities = "policy capabilities"
    case permissiveMap = "permissive map"
    case commons, classes, roles, types, users, booleans, sensitivities, categories
    case avtab
    case conditionals = "conditional list"
    case roleTransitions = "role transitions"
    case roleAllows = "role allows"
    case filenameTransitions = "filename transitions"
    case initialSIDs = "initial SIDs"
    case fsContexts = "fs contexts"
    case portContexts = "port contexts"
    case netifContexts = "netif contexts"
    case nodeContexts = "node contexts"
    case fsUse = "fs_use"
    case node6Contexts = "node6 contexts"
    case ibpkeyContexts = "ibpkey contexts"
    case ibendportContexts = "ibendport contexts"
    case genfs
    case rangeTransitions = "range transitions"
    case typeAttributeMap = "type-attribute map"
    case validation

    public var description: String { rawValue }
}

/// Why a binary policy file was refused: where (byte offset and section) and what.
///
/// Every check of Specs/engine/binary-policy.md §4 throws one of these; nothing partial is
/// returned, and no count is trusted before the bytes it announces are known to exist (§4.1).
public struct BinaryPolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Hashable {
        /// The file ends before a field: `needed` bytes at the offset, `available` left.
        case truncated(needed: Int, available: Int)
        /// The first word is not the kernel policy magic `0xf97cff8c` (§4.2).
        case badMagic(found: UInt32)
        /// Magic `0xf97cff8d`: a policy module (.pp), not a kernel policy (§4.2).
        case policyModule
        /// The target string is not `SE Linux` (`XenFlask`: a Xen policy) (§4.2).
        case badTargetString(String)
        /// A version newer than the reader knows: 34 and 35 are named, others are unknown (§4.6).
        case unsupportedVersion(found: UInt32)
        /// A config word the reader does not accept (MLS below 19, handle_unknown 6, other bits).
        case badConfig(found: UInt32)
        /// `sym_num` or `ocon_num` differs from the version's table (§2.1).
        case badTableCounts(symbols: UInt32, ocontexts: UInt32)
        /// A count larger than the remaining bytes or the reader's caps allow (§4.1, §4.3).
        case countTooLarge(count: UInt32, limit: Int)
        /// A symbol value (or bit) that names nothing in its table (§4.3, §4.4).
        case indexOutOfRange(what: String, value: UInt32)
        /// An ebitmap that breaks an invariant of §1.5.
        case invalidEBitmap(String)
        /// A `bounds` chain that loops or is four links or longer (§3.3.5).
        case boundsCycle(String)
        /// A name that is empty, contains a NUL byte or is not UTF-8 (§1.2).
        case invalidName(String)
        /// A name or key that occurs twice where it must be unique.
        case duplicate(String)
        /// Any other rule of §3–§4 broken; the message says which.
        case invalid(String)
        /// Bytes after the last section (§4.1).
        case trailingBytes(count: Int)
    }

    /// The byte offset in the file where the offending field starts.
    public var offset: Int
    /// The section being read.
    public var section: BinaryPolicySection
    /// What is wrong.
    public var kind: Kind

    /// Creates an error.
    public init(offset: Int, section: BinaryPolicySection, kind: Kind) {
        self.offset = offset
        self.section = section
        self.kind = kind
    }

    /// One line: `binary policy: <section> at offset <n> (0x<hex>): <what>`.
    public var description: String {
        "binary policy: \(section) at offset \(offset) (0x\(String(offset, radix: 16))): \(message)"
    }

    /// The message without the place.
    public var message: String {
        switch kind {
        case .truncated(let needed, let available):
            return "truncated: \(needed) bytes needed, \(available) left"
        case .badMagic(let found):
            return "not an SELinux policy (magic 0x\(String(found, radix: 16)), expected 0xf97cff8c)"
        case .policyModule:
            return "a policy module (.pp), not a kernel policy"
        case .badTargetString(let s):
            return s == "XenFlask" ? "a Xen policy (XenFlask), not a Linux one" : "target string \(s.debugDescription) is not \"SE Linux\""
        case .unsupportedVersion(let v):
            switch v {
            case 34:
                return
                    "policy version 34 (extended permissions in conditional policy, libsepol 3.8) is newer than salabel reads (\(BinaryPolicyVersion.minimum)–\(BinaryPolicyVersion.maximum))"
            case 35:
                return
                    "policy version 35 (neveraudit types, libsepol 3.9) is newer than salabel reads (\(BinaryPolicyVersion.minimum)–\(BinaryPolicyVersion.maximum))"
            default:
                return "unknown policy version \(v) (salabel reads \(BinaryPolicyVersion.minimum)–\(BinaryPolicyVersion.maximum))"
            }
        case .badConfig(let c):
            return "invalid config word 0x\(String(c, radix: 16))"
        case .badTableCounts(let s, let o):
            return "table counts (\(s) symbol tables, \(o) ocontext tables) do not match the version"
        case .countTooLarge(let count, let limit):
            return "count \(count) is too large (at most \(limit) here)"
        case .indexOutOfRange(let what, let value):
            return "\(what) value \(value) is out of range or names nothing"
        case .invalidEBitmap(let why):
            return "invalid ebitmap: \(why)"
        case .boundsCycle(let why):
            return "bounds: \(why)"
        case .invalidName(let why):
            return "invalid name: \(why)"
        case .duplicate(let what):
            return "duplicate \(what)"
        case .invalid(let why):
            return why
        case .trailingBytes(let n):
            return "\(n) bytes after the last section"
        }
    }
}
