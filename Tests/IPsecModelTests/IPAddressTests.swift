import Glibc
import IPsecModel
import Testing
import TestSupport

/// `IPAddress` keeps its bytes inline. Its text forms are checked against glibc's `inet_pton` and
/// `inet_ntop` (an independent implementation), its order and prefix matching against the byte
/// arrays themselves, over seeded random addresses (zero runs included, for `::`).
struct IPAddressTests {
    static func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        // Zero some 16-bit groups so that `::` runs of every length and place occur.
        for g in 0..<(count / 2) where rng.next() % 3 == 0 { bytes[2 * g] = 0; bytes[2 * g + 1] = 0 }
        return bytes
    }

    static func ntop(_ bytes: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, 64) }
        return String(cString: out)
    }

    static func pton(_ text: String) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buf) == 1 { return Array(buf[..<4]) }
        if inet_pton(AF_INET6, text, &buf) == 1 { return buf }
        return nil
    }

    /// glibc prints IPv4-mapped and -compatible IPv6 addresses with a dotted tail, salabel with hex
    /// groups only (RFC 5952 §5 recommends the dotted tail there). Those two forms are left out of the text comparison.
    static func hasDottedTail(_ bytes: [UInt8]) -> Bool {
        bytes.count == 16 && bytes[0..<10].allSatisfy { $0 == 0 } && (bytes[10..<12] == [0xFF, 0xFF] || bytes[10..<12] == [0, 0])
    }

    @Test func bytesTextAndBackAgreeWithGlibc() throws {
        var rng = SplitMix64(seed: 12)
        for n in 0..<4_000 {
            let bytes = Self.randomBytes(n % 2 == 0 ? 4 : 16, &rng)
            let a = try #require(IPAddress(bytes: bytes))
            #expect(a.bytes == bytes)
            #expect(a.family == (bytes.count == 4 ? .inet : .inet6))
            #expect((0..<bytes.count).map { a[byte: $0] } == bytes)
            var appended: [UInt8] = [0xEE]
            a.append(to: &appended)
            #expect(appended == [0xEE] + bytes)
            if !Self.hasDottedTail(bytes) { #expect(a.description == Self.ntop(bytes), "\(bytes)") }
            // glibc's text parses back to the same address, and ours to the same bytes as glibc's.
            #expect(IPAddress(Self.ntop(bytes)) == a)
            #expect(Self.pton(a.description) == bytes)
            if bytes.count == 4 {
                let v = bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                #expect(a.ipv4 == v && IPAddress(ipv4: v) == a)
            } else {
                #expect(a.ipv4 == nil)
            }
        }
    }

    @Test func textThatGlibcRefusesIsRefused() {
        for text in [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", ":::", "1::2::3",
            "12345::", "::g", "1.2.3.-4", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8:9",
        ] {
            #expect(Self.pton(text) == nil, "glibc takes \(text)")
            #expect(IPAddress(text) == nil, "salabel takes \(text)")
        }
    }

    @Test func orderIsFamilyThenBytes() throws {
        var rng = SplitMix64(seed: 7)
        let all = (0..<600).map { n in Self.randomBytes(n % 3 == 0 ? 4 : 16, &rng) }
        let reference = all.sorted { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
        let ours = try all.map { try #require(IPAddress(bytes: $0)) }.sorted().map(\.bytes)
        #expect(ours == reference)
        // Equal bytes are equal addresses with equal hashes; the same bytes in two families are not.
        #expect(Set(all.map { IPAddress(bytes: $0)! }).count == Set(all).count)
        #expect(IPAddress("0.0.0.0") != IPAddress("::") && IPAddress.any(.inet) == IPAddress("0.0.0.0"))
    }

    @Test func prefixContainsAsTheBytesSay() throws {
        var rng = SplitMix64(seed: 99)
        for n in 0..<3_000 {
            let count = n % 2 == 0 ? 4 : 16
            let base = Self.randomBytes(count, &rng)
            var other = base
            // Flip one bit somewhere, or none.
            let bit = Int(rng.next() % UInt64(count * 8 + 1))
            if bit < count * 8 { other[bit / 8] ^= 0x80 >> UInt8(bit % 8) }
            let length = Int(rng.next() % UInt64(count * 8 + 1))
            let p = try #require(IPPrefix(address: IPAddress(bytes: base)!, length: length))
            let expected = bit >= count * 8 || bit >= length
            #expect(p.contains(IPAddress(bytes: other)!) == expected, "\(base) \(other) /\(length)")
        }
        #expect(!IPPrefix("0.0.0.0/0")!.contains(IPAddress("::")!))
        #expect(IPPrefix("::/0")!.contains(IPAddress("2001:db8::1")!))
    }

    @Test func prefixText() {
        #expect(IPPrefix("10.1.2.3/8")?.length == 8 && IPPrefix("10.1.2.3/8")?.address == IPAddress("10.1.2.3"))
        #expect(IPPrefix("10.1.2.3")?.length == 32 && IPPrefix("2001:db8::")?.length == 128)
        #expect(IPPrefix("10.1.2.3/0032")?.length == 32)
        for bad in ["10.1.2.3/33", "10.1.2.3/", "/8", "10.1.2.3/8/8", "10.1.2.3/-1", "10.1.2.3/ 8", "2001:db8::/129", "10.1.2.3/99999999999999999999"] {
            #expect(IPPrefix(bad) == nil, "\(bad)")
        }
    }
}
