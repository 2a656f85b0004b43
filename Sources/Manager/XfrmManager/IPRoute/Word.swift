/// One word of an `ip xfrm` command: its UTF-8 bytes where they lie (in a batch file's buffer, or
/// in a buffer the words of one command were gathered into). The parser compares words with its
/// keywords byte for byte and reads numbers and addresses from the bytes; a `String` is made only
/// for what is kept as text (a context, an algorithm or interface name) and for messages. A batch
/// file of 100,000 lines has two million words.
///
/// A word does not own its bytes: it is valid while the buffer it points into is (the parse of one
/// file or one command).
struct Word: CustomStringConvertible {
    let bytes: UnsafeBufferPointer<UInt8>

    /// The word as text.
    var string: String { String(decoding: bytes, as: UTF8.self) }
    var description: String { string }

    /// Whether the word is `literal` (ASCII), byte for byte.
    static func == (word: Word, literal: StaticString) -> Bool {
        guard word.bytes.count == literal.utf8CodeUnitCount else { return false }
        let l = literal.utf8Start
        for i in 0..<word.bytes.count where word.bytes[i] != l[i] { return false }
        return true
    }

    /// `case "src":` in a `switch` over a word.
    static func ~= (literal: StaticString, word: Word) -> Bool { word == literal }

    /// Whether the word starts with `prefix` (ASCII).
    func hasPrefix(_ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        let p = prefix.utf8Start
        for i in 0..<prefix.utf8CodeUnitCount where bytes[i] != p[i] { return false }
        return true
    }

    /// An unsigned number in decimal (digits only) or `0x` hex, that fits `T`; `nil` otherwise.
    /// What does not look like either (a sign, a space) is read as Swift's `T(String)` reads it,
    /// so that every spelling the parser accepted before is accepted still.
    func number<T: FixedWidthInteger & UnsignedInteger>(as _: T.Type = T.self) -> T? {
        if hasPrefix("0x") || hasPrefix("0X") {
            guard bytes.count > 2 else { return nil }
            var v: T = 0
            for b in bytes[2...] {
                let d: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
                default: return T(string.dropFirst(2), radix: 16)
                }
                let (shifted, o1) = v.multipliedReportingOverflow(by: 16)
                let (sum, o2) = shifted.addingReportingOverflow(T(d))
                if o1 || o2 { return nil }
                v = sum
            }
            return v
        }
        guard !bytes.isEmpty else { return nil }
        var v: T = 0
        for b in bytes {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return T(string) }
            let (shifted, o1) = v.multipliedReportingOverflow(by: 10)
            let (sum, o2) = shifted.addingReportingOverflow(T(b - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            v = sum
        }
        return v
    }

    /// The words of `strings` (a command as a shell passes it), gathered into one buffer that
    /// lives while `body` runs.
    static func withWords<R>(_ strings: [String], _ body: ([Word]) throws(IPXfrmSyntaxError) -> R) throws(IPXfrmSyntaxError) -> R {
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(strings.count)
        for s in strings {
            let start = buffer.count
            buffer.append(contentsOf: s.utf8)
            ranges.append(start..<buffer.count)
        }
        let result: Result<R, IPXfrmSyntaxError> = buffer.withUnsafeBufferPointer { all in
            do throws(IPXfrmSyntaxError) {
                return .success(try body(ranges.map { Word(bytes: UnsafeBufferPointer(rebasing: all[$0])) }))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
