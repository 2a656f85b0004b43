/// An IPv4 or IPv6 address: its family and its bytes in network order (4 or 16), kept inline (two
/// words, no allocation: batch files and dumps carry tens of thousands).
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible, Codable {
    /// The address family, with the kernel's numbers (`AF_INET` 2, `AF_INET6` 10).
    public enum Family: UInt16, Sendable, Hashable, Codable {
        case inet = 2
        case inet6 = 10

        /// The address length in bytes.
        public var byteCount: Int { self == .inet ? 4 : 16 }
        /// The longest prefix length.
        public var bitCount: Int { byteCount * 8 }
    }

    public let family: Family
    /// Bytes 0–7 and 8–15 in network order, read as big-endian integers; an IPv4 address is the
    /// top 32 bits of `high` (the rest zero), so that comparing (high, low) is comparing bytes.
    private let high: UInt64, low: UInt64

    private init(family: Family, high: UInt64, low: UInt64) {
        self.family = family
        self.high = high
        self.low = low
    }

    /// An IPv4 address from its 32-bit value (`a.b.c.d` is `a << 24 | b << 16 | c << 8 | d`).
    public init(ipv4 value: UInt32) {
        self.init(family: .inet, high: UInt64(value) << 32, low: 0)
    }

    /// An address from its bytes; `nil` unless there are 4 or 16.
    public init?(bytes: some Collection<UInt8>) {
        let count = bytes.count
        guard count == 4 || count == 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high |= UInt64(b) << (56 - 8 * UInt64(i)) } else { low |= UInt64(b) << (56 - 8 * UInt64(i - 8)) }
        }
        self.init(family: count == 4 ? .inet : .inet6, high: high, low: low)
    }

    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public var bytes: [UInt8] {
        (0..<family.byteCount).map { self[byte: $0] }
    }

    /// Byte `i` in network order (`i` below the family's byte count).
    public subscript(byte i: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: i < 8 ? high >> (56 - 8 * UInt64(i)) : low >> (56 - 8 * UInt64(i - 8)))
    }

    /// The IPv4 address as a 32-bit value; `nil` for IPv6.
    public var ipv4: UInt32? { family == .inet ? UInt32(truncatingIfNeeded: high >> 32) : nil }

    /// The 16-byte form (an IPv4 address in the first 4 bytes, the rest zero) as two big-endian
    /// words: bytes 0–7 and 8–15. For codecs that lay the address out in a 16-byte field.
    public var words: (high: UInt64, low: UInt64) { (high, low) }

    /// An address of `family` from its 16-byte form's words (for IPv4, only the top 32 bits of
    /// `high` are kept).
    public init(family: Family, words: (high: UInt64, low: UInt64)) {
        if family == .inet {
            self.init(family: .inet, high: words.high & 0xFFFF_FFFF_0000_0000, low: 0)
        } else {
            self.init(family: .inet6, high: words.high, low: words.low)
        }
    }

    /// Appends the address's bytes (4 or 16) in network order.
    public func append(to out: inout [UInt8]) {
        for i in 0..<family.byteCount { out.append(self[byte: i]) }
    }

    /// The all-zero address of a family (`0.0.0.0`, `::`).
    public static func any(_ family: Family) -> IPAddress { IPAddress(family: family, high: 0, low: 0) }

    /// Whether the first `length` bits of `self` and `other` (of one family) are the same.
    func sharesPrefix(of length: Int, with other: IPAddress) -> Bool {
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? ~0 : ~(~0 >> UInt64(bits)) }
        return (high ^ other.high) & mask(length) == 0 && (low ^ other.low) & mask(length - 64) == 0
    }

    /// Parses dotted-quad IPv4 or RFC 4291 text IPv6 (with `::` and an embedded IPv4 tail).
    public init?(_ text: String) {
        var text = text
        guard let a = text.withUTF8({ IPAddress(utf8: $0) }) else { return nil }
        self = a
    }

    /// Parses dotted-quad IPv4 or IPv6 text from its UTF-8 bytes.
    public init?(utf8 text: UnsafeBufferPointer<UInt8>) {
        if let v4 = IPAddress.parseIPv4(text) {
            self.init(ipv4: v4)
        } else if let v6 = IPAddress.parseIPv6(String(decoding: text, as: UTF8.self)) {
            self.init(bytes: v6)!
        } else {
            return nil
        }
    }

    /// Dotted-quad IPv4: four decimal parts of 1–3 digits, each at most 255, none with a leading
    /// zero (`01` would be octal to inet_aton). Read byte by byte: batch files carry thousands.
    static func parseIPv4(_ text: some Collection<UInt8>) -> UInt32? {
        var out: UInt32 = 0
        var parts = 0
        var value: UInt32 = 0, digits = 0
        for b in text {
            if b == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                out = out << 8 | value
                parts += 1
                value = 0
                digits = 0
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if digits == 1 && value == 0 { return nil }
                digits += 1
                value = value * 10 + UInt32(b - UInt8(ascii: "0"))
                guard digits <= 3, value <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return out << 8 | value
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.count <= 45 else { return nil }
        // Split at the one "::" if there is one (a second one is invalid).
        let chars = Array(text)
        var halves = [text]
        if let i = (0..<(max(chars.count - 1, 0))).first(where: { chars[$0] == ":" && chars[$0 + 1] == ":" }) {
            let rest = String(chars[(i + 2)...])
            if rest.hasPrefix(":") || rest.contains("::") { return nil }
            halves = [String(chars[..<i]), rest]
        }
        func groups(_ s: String) -> [UInt8]? {
            if s.isEmpty { return [] }
            var out: [UInt8] = []
            let items = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if i == items.count - 1, item.contains(".") {
                    guard let v4 = parseIPv4(item.utf8) else { return nil }
                    out += [UInt8(v4 >> 24), UInt8(v4 >> 16 & 0xFF), UInt8(v4 >> 8 & 0xFF), UInt8(v4 & 0xFF)]
                    continue
                }
                guard !item.isEmpty, item.count <= 4, let v = UInt16(item, radix: 16) else { return nil }
                out += [UInt8(v >> 8), UInt8(v & 0xFF)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    /// `a.b.c.d`, or RFC 5952 text for IPv6 (lower case, the longest run of two or more zero
    /// groups as `::`, the first such run on ties).
    public var description: String {
        if family == .inet {
            // Dotted quad, written digit by digit (a dump prints tens of thousands).
            var text: [UInt8] = []
            text.reserveCapacity(15)
            for i in 0..<4 {
                let b = self[byte: i]
                if i > 0 { text.append(UInt8(ascii: ".")) }
                if b >= 100 { text.append(UInt8(ascii: "0") + b / 100) }
                if b >= 10 { text.append(UInt8(ascii: "0") + b / 10 % 10) }
                text.append(UInt8(ascii: "0") + b % 10)
            }
            return String(decoding: text, as: UTF8.self)
        }
        let g = (0..<8).map { UInt16(truncatingIfNeeded: ($0 < 4 ? high : low) >> (48 - 16 * UInt64($0 % 4))) }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    /// IPv4 before IPv6, then by bytes.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.family != b.family { return a.family == .inet }
        return a.high != b.high ? a.high < b.high : a.low < b.low
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = a
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An address with a prefix length: `10.0.0.0/8`, `2001:db8::/32`.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible, Codable {
    public let address: IPAddress
    public let length: Int

    /// A prefix; `nil` when the length exceeds the family's bits.
    public init?(address: IPAddress, length: Int) {
        guard length >= 0, length <= address.family.bitCount else { return nil }
        self.address = address
        self.length = length
    }

    /// A single host (`/32` or `/128`).
    public init(host: IPAddress) {
        address = host
        length = host.family.bitCount
    }

    /// Parses `ADDRESS[/LENGTH]` (no length means a host prefix).
    public init?(_ text: String) {
        var text = text
        guard let p = text.withUTF8({ IPPrefix(utf8: $0) }) else { return nil }
        self = p
    }

    /// Parses `ADDRESS[/LENGTH]` from its UTF-8 bytes.
    public init?(utf8 text: UnsafeBufferPointer<UInt8>) {
        guard let slash = text.firstIndex(of: UInt8(ascii: "/")) else {
            guard let a = IPAddress(utf8: text) else { return nil }
            self.init(host: a)
            return
        }
        guard let a = IPAddress(utf8: UnsafeBufferPointer(rebasing: text[..<slash])) else { return nil }
        let digits = text[(slash + 1)...]
        guard !digits.isEmpty else { return nil }
        var n = 0
        for d in digits {
            guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { return nil }
            n = min(n * 10 + Int(d - UInt8(ascii: "0")), 1_000)  // any length above 128 is refused below
        }
        self.init(address: a, length: n)
    }

    public var description: String { "\(address)/\(length)" }

    /// Whether `a` lies in this prefix.
    public func contains(_ a: IPAddress) -> Bool {
        a.family == address.family && a.sharesPrefix(of: length, with: address)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let p = IPPrefix(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP prefix: \(text)"))
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
