/// A node's table from a small integer (an SPI, a port) to an object, in one open-addressing
/// array: a lookup is a multiply and, at a load under one half, a probe or two — where a
/// `Dictionary` runs SipHash over the key for every packet. The keys are the node's own (installed
/// SPIs, bound ports), never chosen by a sender, and the hash is seeded; a lookup of an absent key
/// ends at the first empty slot. Removal shifts the following entries back (no tombstones).
struct IntegerTable<Key: FixedWidthInteger, Value: AnyObject> {
    private var keys: [Key]
    private var values: [Value?]
    private var mask: Int
    private(set) var count = 0
    private let seed = UInt64.random(in: 1...UInt64.max) | 1

    init() {
        keys = Array(repeating: 0, count: 16)
        values = Array(repeating: nil, count: 16)
        mask = 15
    }

    @inline(__always)
    private func slot(_ key: Key) -> Int {
        let h = (UInt64(truncatingIfNeeded: key) ^ seed) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: h >> 32) & mask
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: Key) -> Int {
        var i = slot(key)
        while values[i] != nil && keys[i] != key { i = (i + 1) & mask }
        return i
    }

    /// The object at `key`, not retained: valid only while the table holds it.
    @inline(__always)
    func unretained(_ key: Key) -> Unmanaged<Value>? {
        values.withUnsafeBufferPointer { v in v[find(key)].map { Unmanaged.passUnretained($0) } }
    }

    subscript(key: Key) -> Value? {
        @inline(__always) get { values[find(key)] }
        set {
            let i = find(key)
            if let newValue {
                if values[i] == nil {
                    if (count + 1) * 2 > values.count { grow(); self[key] = newValue; return }
                    count += 1
                }
                keys[i] = key
                values[i] = newValue
            } else if values[i] != nil {
                remove(at: i)
            }
        }
    }

    private mutating func remove(at slot: Int) {
        var hole = slot
        values[hole] = nil
        count -= 1
        var j = hole
        while true {
            j = (j + 1) & mask
            guard values[j] != nil else { return }
            // An entry whose home is not cyclically in (hole, j] moves back into the hole.
            let home = self.slot(keys[j])
            let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
            if !stays {
                keys[hole] = keys[j]
                values[hole] = values[j]
                values[j] = nil
                hole = j
            }
        }
    }

    private mutating func grow() {
        let old = zip(keys, values).compactMap { k, v in v.map { (k, $0) } }
        keys = Array(repeating: 0, count: values.count * 2)
        values = Array(repeating: nil, count: keys.count)
        mask = keys.count - 1
        count = 0
        for (k, v) in old { self[k] = v }
    }
}
