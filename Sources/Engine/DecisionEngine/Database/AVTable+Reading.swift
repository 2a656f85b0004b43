/// Filling an ``AVTable`` from a binary policy's avtab (Specs/engine/binary-policy.md §3.4): each
/// (key, kind) may appear once, and the check costs no second table.
extension AVTable {
    /// A table for `entries` distinct keys that never grows while they are placed, and its per-slot
    /// record of the kinds seen.
    static func forReading(entries: Int) -> (table: AVTable, kinds: [UInt8]) {
        let table = AVTable(minimumCapacity: entries + 1)
        return (table, Array(repeating: 0, count: table.keys.count))
    }

    /// Merges one access-vector record of kind `kindBit` (one bit of 0x7) into the entry for `key`;
    /// false, with nothing changed, when that key already had a record of that kind.
    /// - Precondition: no more distinct keys than the `entries` the table was made for.
    mutating func placeRecord(_ key: UInt64, _ entry: AVEntry, kindBit: UInt8, kinds: inout [UInt8]) -> Bool {
        precondition((count + 1) * 2 <= keys.count && kinds.count == keys.count, "more avtab records than the table was made for")
        var i = AVTable.slot(key, mask)
        while true {
            let k = keys[i]
            if k == key {
                if kinds[i] & kindBit != 0 { return false }
                kinds[i] |= kindBit
                values[i].merge(entry)
                return true
            }
            if k == 0 {
                keys[i] = key
                var v = AVEntry.empty
                v.merge(entry)
                values[i] = v
                kinds[i] = kindBit
                count += 1
                return true
            }
            i = (i + 1) & mask
        }
    }
}
