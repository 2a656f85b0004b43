/// The receiver's anti-replay window of one SA (RFC 4303 §3.4.3), with extended sequence numbers
/// (ESN, RFC 4303 Appendix A2). Sequence numbers are checked twice, as the RFC orders it: ``check(_:)``
/// before the ICV is verified (cheap rejection of duplicates and old packets, and the inference of
/// the high 32 bits an ESN packet does not carry), ``accept(_:)`` only after the ICV verified, so
/// that a forged packet never moves the window.
///
/// The window covers `size` sequence numbers ending at the highest authenticated one, `top`: a
/// number above `top` is new; one inside the window is new unless its bit is set; one below the
/// window is too old.
public struct ReplayWindow: Sendable, Hashable {
    /// Why a sequence number was refused.
    public enum Rejection: String, Error, Sendable, Hashable, CustomStringConvertible {
        /// Already received (its bit is set, or it is `top`).
        case replayed
        /// Below the window: older than `top - size + 1`.
        case tooOld = "too old"
        /// Zero: the first packet of an SA carries 1, and without ESN the counter never wraps to 0
        /// (RFC 4303 §3.3.3).
        case zero
        public var description: String { rawValue }
    }

    /// The window's size in sequence numbers (the kernel's `replay_window`, or the bitmap length
    /// of `XFRMA_REPLAY_ESN_VAL`). Zero disables the check (every authenticated number passes,
    /// but the high bits of an ESN number are still inferred).
    public let size: Int
    /// Whether the SA uses 64-bit extended sequence numbers (only the low 32 bits are on the wire).
    public let extendedSequenceNumbers: Bool
    /// The highest authenticated sequence number so far (0 before the first).
    public private(set) var top: UInt64 = 0
    /// Bit `i` of the bitmap is sequence number `top - i`.
    private var bits: [UInt64]

    /// The largest window this implementation keeps (the kernel's limit for `XFRMA_REPLAY_ESN_VAL`
    /// bitmaps is 4096 bits per page of state; RFC 4303 recommends 64 or more).
    public static let maximumSize = 65536

    /// - Parameters:
    ///   - size: 0 (no replay protection) to 65536.
    ///   - extendedSequenceNumbers: 64-bit sequence numbers.
    ///   - top: the highest sequence number already received (an SA's state taken over, e.g. the
    ///     kernel's `seq`/`seq_hi` of `XFRMA_REPLAY_ESN_VAL`); numbers up to it count as received.
    public init(size: Int, extendedSequenceNumbers: Bool, top: UInt64 = 0) {
        precondition(size >= 0 && size <= Self.maximumSize, "replay window size out of range")
        self.size = size
        self.extendedSequenceNumbers = extendedSequenceNumbers
        bits = Array(repeating: 0, count: max(1, (size + 63) / 64))
        self.top = top
        if top > 0 { for i in bits.indices { bits[i] = .max } }
    }

    /// The full sequence number of a packet that carries `low` (RFC 4303 Appendix A2.2), and
    /// whether the window lets it through before authentication.
    public func check(_ low: UInt32) -> Result<UInt64, Rejection> {
        let sequence = extendedSequenceNumbers ? infer(low) : UInt64(low)
        if sequence == 0 { return .failure(.zero) }
        guard size > 0 else { return .success(sequence) }
        if sequence > top { return .success(sequence) }
        let behind = top - sequence
        if behind >= UInt64(size) { return .failure(.tooOld) }
        return isSet(Int(behind)) ? .failure(.replayed) : .success(sequence)
    }

    /// Records an authenticated sequence number (one ``check(_:)`` let through).
    public mutating func accept(_ sequence: UInt64) {
        if sequence > top {
            shift(by: sequence - top)
            top = sequence
            set(0)
        } else if size > 0, top - sequence < UInt64(size) {
            set(Int(top - sequence))
        }
    }

    /// Appendix A2.2: the high half of the number a packet carrying `low` most likely has, given
    /// the window: the same as `top`'s, one more (the packet is past a wrap of the low half), or one
    /// less (the window spans a wrap and the packet is in its older part).
    func infer(_ low: UInt32) -> UInt64 {
        let tl = UInt32(truncatingIfNeeded: top), th = UInt32(truncatingIfNeeded: top >> 32)
        let w = UInt32(truncatingIfNeeded: max(size, 1))
        let bottom = tl &- w &+ 1
        let high: UInt32
        if tl >= w - 1 {
            // The window lies within one 2^32 subspace.
            high = low >= bottom ? th : th &+ 1
        } else {
            // The window spans two subspaces: [bottom, 2^32) belongs to the previous one.
            high = low >= bottom ? th &- 1 : th
        }
        // Before the first packet (top = 0) nothing can be "older": stay in subspace 0.
        if top == 0 || (th == 0 && high == UInt32.max) { return UInt64(low) }
        return UInt64(high) << 32 | UInt64(low)
    }

    private func isSet(_ i: Int) -> Bool { bits[i / 64] & (1 << UInt64(i % 64)) != 0 }
    private mutating func set(_ i: Int) { bits[i / 64] |= 1 << UInt64(i % 64) }

    /// Moves every bit `n` places towards the old end (bit i becomes bit i + n).
    private mutating func shift(by n: UInt64) {
        let total = bits.count * 64
        if n >= UInt64(total) {
            for i in bits.indices { bits[i] = 0 }
            return
        }
        let words = Int(n / 64), offset = UInt64(n % 64)
        for i in stride(from: bits.count - 1, through: 0, by: -1) {
            let source = i - words
            var value: UInt64 = source >= 0 ? bits[source] << offset : 0
            if offset > 0, source - 1 >= 0 { value |= bits[source - 1] >> (64 - offset) }
            bits[i] = value
        }
    }
}
