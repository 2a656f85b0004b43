/// A small deterministic generator (SplitMix64, Steele, Lea and Flood 2014) for reproducible random
/// tests: the same seed gives the same sequence on every run and machine, so a failure names its
/// seed and can be replayed. `state` is the generator's whole state.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An element of `items` (not empty) chosen by the next value modulo the count. Not
    /// `randomElement(using:)`, which draws differently: seeded tests keep the sequences they had.
    public mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
}
