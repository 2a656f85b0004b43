// The reserved words of the kernel policy language, looked up by the lexer (Lexer.swift) in one
// hash table.

/// The keyword table: words of up to 16 bytes packed (folded to lower case) into two integers, in
/// an open-addressing hash table.
struct KeywordTable: Sendable {
    struct Entry: Sendable {
        var low: UInt64
        var high: UInt64
        var kind: TokenKind
        var keyword: Keyword
    }

    static let slotCount = 512
    /// `slots[i].kind == .endOfFile` marks an empty slot.
    let slots: [Entry]

    static let shared = KeywordTable()

    init() {
        var slots = [Entry](
            repeating: Entry(low: 0, high: 0, kind: .endOfFile, keyword: .none),
            count: KeywordTable.slotCount)
        func add(_ word: String, _ kind: TokenKind, _ keyword: Keyword) {
            let (low, high) = KeywordTable.pack(Array(word.utf8))
            var slot = KeywordTable.slot(low, high)
            while slots[slot].kind != .endOfFile { slot = (slot + 1) & (KeywordTable.slotCount - 1) }
            slots[slot] = Entry(low: low, high: high, kind: kind, keyword: keyword)
        }
        for keyword in Keyword.allCases where keyword != .none {
            add(keyword.spelling, .keyword, keyword)
        }
        // Operators spelled as words.
        add("or", .or, .none)
        add("and", .and, .none)
        add("not", .not, .none)
        add("xor", .xor, .none)
        add("eq", .equals, .none)
        self.slots = slots
    }

    @inline(__always) static func slot(_ low: UInt64, _ high: UInt64) -> Int {
        let mixed = (low &* 0x9E37_79B9_7F4A_7C15) ^ (high &* 0xC2B2_AE3D_27D4_EB4F)
        return Int(truncatingIfNeeded: mixed >> 55)  // 9 bits: 0..<512
    }

    /// Packs up to 16 bytes, folded to lower case, little end first.
    static func pack<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> (UInt64, UInt64) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            let folded = (byte >= 65 && byte <= 90) ? byte | 0x20 : byte
            if i < 8 {
                low |= UInt64(folded) << (UInt64(i) * 8)
            } else {
                high |= UInt64(folded) << (UInt64(i - 8) * 8)
            }
        }
        return (low, high)
    }

    /// The keyword packed as `low`, `high`, if any.
    @inline(__always) func lookup(_ low: UInt64, _ high: UInt64) -> Entry? {
        var slot = KeywordTable.slot(low, high)
        while true {
            let entry = slots[slot]
            if entry.kind == .endOfFile { return nil }
            if entry.low == low && entry.high == high { return entry }
            slot = (slot + 1) & (KeywordTable.slotCount - 1)
        }
    }
}
