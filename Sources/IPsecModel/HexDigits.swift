extension Array where Element == UInt8 {
    /// Bytes from hexadecimal digits, two a byte, nothing else (no `0x`, no sign, no blank:
    /// `UInt8(_:radix:)` alone would take `+f` as a byte); nil for an odd count or any other
    /// character. ``KeyMaterial/init(hex:)`` reads keys with it.
    public init?(hexDigits text: some StringProtocol) {
        let digits = Array<UInt8>(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        self = out
    }
}
