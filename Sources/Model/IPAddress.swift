/// An IPv4 or IPv6 address, kept as its bytes in network order (4 or 16 bytes).
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

    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public let bytes: [UInt8]

    public var family: Family { bytes.count == 4 ? .inet : .inet6 }

    /// An address from its bytes; `nil` unless there are 4 or 16.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// The all-zero address of a family (`0.0.0.0`, `::`).
    public static func any(_ family: Family) -> IPAddress { IPAddress(bytes: Array(repeating: 0, count: family.byteCount))! }

    /// Parses dotted-quad IPv4 or RFC 4291 text IPv6 (with `::` and an embedded IPv4 tail).
    public init?(_ text: String) {
        if let v4 = IPAddress.parseIPv4(Substring(text)) {
            bytes = v4
        } else if let v6 = IPAddress.parseIPv6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    /// Dotted-quad IPv4: four decimal parts of 1–3 digits, each at most 255, none with a leading
    /// zero (`01` would be octal to inet_aton). Read byte by byte: batch files carry thousands.
    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(4)
        var value = 0, digits = 0
        for b in text.utf8 {
            if b == UInt8(ascii: ".") {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(value))
                value = 0
                digits = 0
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if digits == 1 && value == 0 { return nil }
                digits += 1
                value = value * 10 + Int(b - UInt8(ascii: "0"))
                guard digits <= 3, value <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(value))
        return out
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
                    guard let v4 = parseIPv4(item) else { return nil }
                    out += v4
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
        if bytes.count == 4 {
            // Dotted quad, written digit by digit (a dump prints tens of thousands).
            var text: [UInt8] = []
            text.reserveCapacity(15)
            for (i, b) in bytes.enumerated() {
                if i > 0 { text.append(UInt8(ascii: ".")) }
                if b >= 100 { text.append(UInt8(ascii: "0") + b / 100) }
                if b >= 10 { text.append(UInt8(ascii: "0") + b / 10 % 10) }
                text.append(UInt8(ascii: "0") + b % 10)
            }
            return String(decoding: text, as: UTF8.self)
        }
        let g = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
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

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.bytes.count != b.bytes.count ? a.bytes.count < b.bytes.count : a.bytes.lexicographicallyPrecedes(b.bytes)
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
        guard let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")) else {
            guard let a = IPAddress(text) else { return nil }
            self.init(host: a)
            return
        }
        guard let a = IPAddress(String(text[..<slash])) else { return nil }
        let digits = text[text.utf8.index(after: slash)...]
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let n = Int(digits) else { return nil }
        self.init(address: a, length: n)
    }

    public var description: String { "\(address)/\(length)" }

    /// Whether `a` lies in this prefix.
    public func contains(_ a: IPAddress) -> Bool {
        guard a.family == address.family else { return false }
        var bits = length
        for i in 0..<a.bytes.count where bits > 0 {
            let take = min(8, bits)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if a.bytes[i] & mask != address.bytes[i] & mask { return false }
            bits -= take
        }
        return true
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
