/// Filling an ``AVTable`` from a binary policy's avtab (Specs/engine/binary-policy.md §3.4): each
/// (key, kind) may appear once, and the check costs no second table: the kinds seen for a key sit
/// in its slot.
extension AVTable {
    /// A table for `entries` distinct keys that never grows while they are placed.
    static func forReading(entries: Int) -> AVTable {
        AVTable(minimumCapacity: entries + 1)
    }

    /// Merges one access-vector record of kind `kindBit` (one bit of 0x7) into the entry for `key`;
    /// false, with nothing changed, when that key already had a record of that kind.
    /// - Precondition: no more distinct keys than the `entries` the table was made for.
    mutating func placeRecord(_ key: UInt64, _ entry: AVEntry, kindBit: UInt8) -> Bool {
        precondition((count + 1) * 2 <= slots.count, "more avtab records than the table was made for")
        let mask = self.mask
        let placed: Bool? = slots.withUnsafeMutableBufferPointer { slots in
            var i = AVTable.slot(key, mask)
            while true {
                let k = slots[i].key
                if k == key {
                    if slots[i].kinds & kindBit != 0 { return false }
                    slots[i].kinds |= kindBit
                    slots[i].entry.merge(entry)
                    return true
                }
                if k == 0 {
                    var v = AVEntry.empty
                    v.merge(entry)
                    slots[i] = Slot(key: key, entry: v, kinds: kindBit)
                    return nil
                }
                i = (i + 1) & mask
            }
        }
        guard let placed else {
            count += 1
            return true
        }
        return placed
    }
}
