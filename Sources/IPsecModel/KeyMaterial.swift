/// Secret key bytes. Printing, dumping or reflecting a key shows only its length; the bytes are
/// overwritten with zeros when the last copy is released. Compared in constant time.
public struct KeyMaterial: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private final class Storage: @unchecked Sendable {
        var bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        deinit {
            bytes.withUnsafeMutableBytes { raw in
                for i in raw.indices { raw[i] = 0 }
            }
        }
    }

    private let storage: Storage

    public init(_ bytes: [UInt8]) { storage = Storage(bytes) }

    /// Parses a hex key (`0x` prefix optional, as iproute2 writes keys): hex digits only, two a byte
    /// (`[UInt8](hexDigits:)`).
    public init?(hex: String) {
        var text = Substring(hex)
        if text.hasPrefix("0x") || text.hasPrefix("0X") { text = text.dropFirst(2) }
        guard let bytes = [UInt8](hexDigits: text) else { return nil }
        self.init(bytes)
    }

    /// The number of bytes.
    public var count: Int { storage.bytes.count }

    /// Calls `body` with the key bytes; the only way to read them.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.bytes.withUnsafeBytes(body)
    }

    /// A copy of the bytes, for encoding into a netlink message or a key file. Callers wipe their copy.
    public var exposedBytes: [UInt8] { storage.bytes }

    /// The key as hex with `0x` (for writing key files, never for logs).
    public var exposedHex: String { "0x" + storage.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    public var description: String { "<\(count)-byte key redacted>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": count]) }

    public static func == (a: KeyMaterial, b: KeyMaterial) -> Bool {
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                guard x.count == y.count else { return false }
                var diff: UInt8 = 0
                for i in 0..<x.count { diff |= x[i] ^ y[i] }
                return diff == 0
            }
        }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(count) }
}
