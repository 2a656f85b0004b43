// libFuzzer entry point for the netlink protocol layer (NetlinkProtocol).
//
// For arbitrary bytes as one received datagram: splitting never crashes; an error points inside the
// input; split messages re-encode (batch) and split back to the same messages; each message's payload
// as attributes decodes or fails inside the payload, and what decodes re-encodes to the same list;
// NLMSG_ERROR and NLMSG_DONE decode or fail, and what decodes encodes and decodes back to the same
// value; the request state machine takes every message without crashing; the trace formats every
// message.
import NetlinkProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetlinkFraming(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }
    let messages: [NetlinkMessage]
    do throws(NetlinkDecodingError) {
        messages = try NetlinkMessage.split(bytes)
    } catch {
        guard error.offset >= 0, error.offset < max(1, bytes.count) else { fatalError("error offset outside the input: \(error)") }
        checkAttributes(bytes)
        return 0
    }
    let reencoded = NetlinkMessage.batch(messages)
    guard (try? NetlinkMessage.split(reencoded)) == messages else { fatalError("batch/split round trip changed \(messages)") }

    var exchange = NetlinkExchange(
        NetlinkRequest(.request, type: 0x13), sequence: messages.first?.header.sequence ?? 1,
        portID: messages.first?.header.portID ?? 0)
    var dump = NetlinkExchange(
        NetlinkRequest(.dump, type: 0x15), sequence: messages.first?.header.sequence ?? 1,
        portID: messages.first?.header.portID ?? 0)
    for message in messages {
        checkAttributes(message.payload)
        switch message.type {
        case .error:
            if let error = try? NetlinkError(decoding: message) {
                guard let encoded = try? error.message(sequence: message.header.sequence, portID: message.header.portID),
                    let again = try? NetlinkError(decoding: encoded)
                else { fatalError("a decoded NLMSG_ERROR does not encode and decode: \(error)") }
                guard again == normalized(error) else { fatalError("NLMSG_ERROR round trip: \(error) -> \(again)") }
            }
        case .done:
            if let done = try? NetlinkDone(decoding: message) {
                guard let encoded = try? done.message(sequence: 1, portID: 2), (try? NetlinkDone(decoding: encoded)) == done else {
                    fatalError("NLMSG_DONE round trip: \(done)")
                }
            }
        default:
            break
        }
        exchange.consume(message)
        dump.consume(message, from: NetlinkSender(portID: 0, group: message.header.sequence & 1))
        _ = NetlinkTrace.format(message, extraHeaderSize: Int(message.header.type.rawValue % 200))
    }
    if let result = exchange.result, case .failure(let error) = result { _ = error.description }
    return 0
}

/// The echoed request's length as `NetlinkError.message` writes it (from the payload it carries).
private func normalized(_ error: NetlinkError) -> NetlinkError {
    var error = error
    if let payload = error.requestPayload { error.request.length = UInt32(16 + payload.count) }
    return error
}

/// Attributes over `bytes`: decoding fails inside the buffer or gives a list that re-encodes and
/// decodes to itself; validation (nests) agrees on the outer list.
private func checkAttributes(_ bytes: [UInt8]) {
    let attributes: [NetlinkAttribute]
    do throws(NetlinkDecodingError) {
        attributes = try NetlinkAttributeDecoder.decodeAll(bytes)
    } catch {
        guard error.offset >= 0, error.offset < bytes.count else { fatalError("attribute error offset outside the input: \(error)") }
        if (try? NetlinkAttributeDecoder.validate(bytes)) != nil { fatalError("validate accepted what decodeAll refused") }
        return
    }
    var encoder = NetlinkAttributeEncoder()
    for attribute in attributes {
        do { try encoder.append(attribute) } catch { fatalError("a decoded attribute does not encode: \(error)") }
    }
    guard (try? NetlinkAttributeDecoder.decodeAll(encoder.bytes)) == attributes else { fatalError("attribute round trip changed \(attributes)") }
    do {
        try NetlinkAttributeDecoder.validate(bytes)
    } catch {
        guard error.offset >= 0, error.offset < bytes.count else { fatalError("nested error offset outside the input: \(error)") }
    }
    for attribute in attributes {
        _ = attribute.string()
        _ = try? attribute.uint32()
    }
}
