import IPsecModel
import Testing

/// `[UInt8](hexDigits:)`, the one hex reader of keys (iproute2's `0x…` words, KeyMaterial) and of
/// the guest's request bytes: two digits a byte, either case, nothing else.
struct HexDigitsTests {
    @Test func digitsOfEitherCaseAreBytes() {
        #expect([UInt8](hexDigits: "00ff7Fa0") == [0x00, 0xff, 0x7f, 0xa0])
        #expect([UInt8](hexDigits: "") == [])
    }

    /// What `UInt8(_:radix:)` alone would let through: a sign; and an odd count, a prefix, a blank.
    @Test func anythingButPairsOfDigitsIsRefused() {
        for text in ["+f", "-1", "abc", "0x00", "0 ", "zz", "é0"] {
            #expect([UInt8](hexDigits: text) == nil, "\(text)")
        }
    }
}
