/// Bytes from hex text, two digits a byte. Whitespace (line breaks and spaces, as in RFC listings
/// and hex dumps) is ignored; there is no `0x` prefix. An odd number of digits or a character that
/// is not a hex digit stops the test process: the test data itself is wrong.
public func hex(_ text: some StringProtocol) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }.map { $0 }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Lowercase hex of `bytes`, two digits a byte and no separator (`68656c6c6f`), as tshark, iproute2
/// and `xxd -p` print bytes.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef")
    var out = ""
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return out
}
