import IPsecModel
import Testing
import TestSupport

/// `KeyMaterial`: its hex forms against TestSupport's hex codec (a separate implementation), its
/// equality against the byte arrays, over seeded random keys; and no printed form shows a key byte.
struct KeyMaterialTests {
    static func randomKeys(seed: UInt64, count: Int) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { n in (0..<(n % 70)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    }

    @Test func hexFormsAgreeWithAnIndependentCodec() {
        for bytes in Self.randomKeys(seed: 0x4B45_5953, count: 600) {
            let text = hexString(bytes)
            // iproute2 writes keys with 0x; the prefix is optional and either case is read.
            #expect(KeyMaterial(hex: "0x" + text)?.exposedBytes == bytes, "\(text)")
            #expect(KeyMaterial(hex: text)?.exposedBytes == bytes, "\(text)")
            #expect(KeyMaterial(hex: "0X" + text.uppercased())?.exposedBytes == bytes, "\(text)")
            let key = KeyMaterial(bytes)
            #expect(key.count == bytes.count)
            #expect(key.exposedHex == "0x" + text)
            #expect(hex(key.exposedHex.dropFirst(2)) == bytes)
        }
    }

    @Test func textThatIsNotWholeHexBytesIsRefused() {
        // A sign is not a hex digit, though Swift's UInt8("+f", radix: 16) and C's strtoul read one.
        for bad in ["0x1", "abc", "0xzz", "0x0g", "g0", "0x 00", "00 11", "0x00\n", "0xé0", "0x0x00", "0x+f", "+f", "0x-1", "-1ab"] {
            #expect(KeyMaterial(hex: bad) == nil, "\(bad)")
        }
    }

    @Test func equalityIsByteEquality() {
        let keys = Self.randomKeys(seed: 0x4551_55, count: 200)
        for (a, b) in zip(keys, keys.dropFirst(3)) {
            #expect((KeyMaterial(a) == KeyMaterial(b)) == (a == b))
            // The same bytes but one, and the same bytes with one more.
            if !a.isEmpty {
                var c = a
                c[c.count / 2] ^= 0x01
                #expect(KeyMaterial(a) != KeyMaterial(c))
            }
            #expect(KeyMaterial(a) != KeyMaterial(a + [0]))
            #expect(KeyMaterial(a) == KeyMaterial(Array(a)) && KeyMaterial(a).hashValue == KeyMaterial(Array(a)).hashValue)
        }
    }

    /// Printing, debug-printing, dumping or interpolating a key (alone, in an array, in an optional)
    /// shows its length, never its bytes in hex or decimal.
    @Test func printedFormsShowTheLengthOnly() {
        let bytes = hex("6149939e6d653a265cee681b0dd2f9b6e7ef8e7d")
        let key = KeyMaterial(bytes)
        var dumped = ""
        dump(key, to: &dumped)
        let forms = [String(describing: key), String(reflecting: key), "\(key)", "\([key])", String(describing: Optional(key)), dumped]
        for shown in forms {
            #expect(shown.contains("20"), "\(shown)")
            #expect(!shown.lowercased().contains("6149939e") && !shown.contains("\(bytes[0]), \(bytes[1])"), "\(shown)")
        }
    }
}
