// libFuzzer target for the XFRM codecs: every input is decoded or refused with an XfrmWireError
// (never a trap), and what decodes re-encodes to bytes that decode to the same messages.
// Seeds: the capture buffers in Tests/XfrmWireTests/Captures (scripts turn them into binary files).
import XfrmWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let messages = try? XfrmMessage.decodeAll(bytes) else { return 0 }
    var again: [UInt8] = []
    for message in messages {
        guard let encoded = try? message.encoded() else { return 0 }  // e.g. an attribute grown past nla_len
        again += encoded
        _ = try? message.securityAssociation()
        _ = try? message.policyEntry()
        _ = message.label
    }
    guard let redecoded = try? XfrmMessage.decodeAll(again) else { fatalError("re-encoded bytes do not decode") }
    guard redecoded == messages else { fatalError("decode → encode → decode is not stable") }
    guard (try? redecoded.flatMap { try $0.encoded() }) == again else { fatalError("second encoding differs") }
    return 0
}
