// A text dump of netlink messages in the layout of libmnl's `mnl_nlmsg_fprintf` (libmnl 1.0.4), so a
// trace of salabel can be compared line by line with one of a C tool built on libmnl (`nft --debug`).
// The layout was taken from the output of libmnl 1.0.4, not from its source; NetlinkProtocolTests
// compares it with that output.

/// Formats netlink messages as libmnl's `mnl_nlmsg_fprintf` does.
///
/// For each message: a header block (length, type and the flag letters `R` request, `M` multi, `A`
/// ack, `E` echo, sequence number, port id), then the payload in 4-byte rows. For a control message
/// (type below 0x10) every row is raw. Otherwise the first `extraHeaderSize` bytes are marked
/// `extra header`, and the rest is read as attributes: a coloured row for each attribute header
/// (length, `N`ested / net-`B`yteorder flags, type) and `data` rows with the printable characters.
/// As in libmnl, a row that starts with type 0 where a header is expected is not printed, a nested
/// attribute's contents are shown as attributes, and an extra-header size that is not a multiple of 4
/// marks every row as extra header.
public enum NetlinkTrace {
    /// The lines for one message, each ending in a newline.
    ///
    /// - Parameters:
    ///   - message: the message.
    ///   - extraHeaderSize: the size of the family header before the attributes (for XFRM,
    ///     `sizeof(struct xfrm_userpolicy_info)` = 168 for `XFRM_MSG_NEWPOLICY`).
    public static func format(_ message: NetlinkMessage, extraHeaderSize: Int = 0) -> String {
        var bytes = message.header.encoded
        bytes.append(contentsOf: message.payload)
        let length = Int(message.header.length)
        // Rows are 4 bytes from the header on, up to nlmsg_len; bytes past the payload read as the
        // (zero) padding.
        while bytes.count < netlinkAlign(max(length, NetlinkHeader.size)) { bytes.append(0) }

        let separator = "----------------\t------------------\n"
        var text = separator
        text += "|  \(digits(UInt64(message.header.length), 10))  |\t| message length |\n"
        let flags = message.flags
        let letters = String([
            flags.contains(.request) ? "R" : "-", flags.contains(.multipart) ? "M" : "-",
            flags.contains(.acknowledge) ? "A" : "-", flags.contains(.echo) ? "E" : "-",
        ])
        text += "| \(digits(UInt64(message.type.rawValue), 5)) | \(letters) |\t|  type | flags  |\n"
        text += "|  \(digits(UInt64(message.header.sequence), 10))  |\t| sequence number|\n"
        text += "|  \(digits(UInt64(message.header.portID), 10))  |\t|     port ID    |\n"
        text += separator

        let escape = "\u{1B}"
        var extraRemaining = extraHeaderSize
        var dataRemaining = 0
        var offset = NetlinkHeader.size
        while offset < length {
            let row = Array(bytes[offset..<(offset + 4)])
            let hex = "| " + row.map(hexByte).joined(separator: " ") + "  |\t"
            if message.type.isControl {
                text += hex + "|                |\n"
            } else if extraRemaining != 0 {
                // Counts down by 4; a size that is not a multiple of 4 never reaches 0 (libmnl uses an
                // unsigned counter), so every row is extra header.
                extraRemaining = extraRemaining > 0 ? extraRemaining - 4 : extraRemaining
                if extraRemaining < 0 { extraRemaining = -1 }
                text += hex + "|  extra header  |\n"
            } else if dataRemaining == 0, row.hostInteger(at: 2, as: UInt16.self) & NetlinkAttribute.typeMask != 0 {
                let attributeLength: UInt16 = row.hostInteger(at: 0)
                let rawType: UInt16 = row.hostInteger(at: 2)
                let nested = rawType & NetlinkAttribute.Flags.nested.rawValue != 0
                let byteOrder = rawType & NetlinkAttribute.Flags.networkByteOrder.rawValue != 0
                text += "|\(escape)[1;31m\(digits(UInt64(attributeLength), 5))\(escape)[0m|"
                text += "\(escape)[1;32m\(nested ? "N" : "-")\(byteOrder ? "B" : "-")\(escape)[0m|"
                text += "\(escape)[1;34m\(digits(UInt64(rawType & NetlinkAttribute.typeMask), 5))\(escape)[0m|\t"
                text += "|len |flags| type|\n"
                if !nested { dataRemaining = netlinkAlign(Int(attributeLength)) - NetlinkAttribute.headerSize }
            } else if dataRemaining > 0 {
                dataRemaining -= 4
                let characters = row.map { (0x20...0x7E).contains($0) ? " " + String(UnicodeScalar($0)) : "  " }.joined()
                text += hex + "|      data      |\t" + characters + "\n"
            }
            offset += 4
        }
        text += separator
        return text
    }

    /// The lines for several messages (one datagram), in order.
    public static func format(_ messages: [NetlinkMessage], extraHeaderSize: (NetlinkMessageType) -> Int = { _ in 0 }) -> String {
        messages.map { format($0, extraHeaderSize: extraHeaderSize($0.type)) }.joined()
    }

    private static func digits(_ value: UInt64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let text = String(byte, radix: 16)
        return byte < 0x10 ? "0" + text : text
    }
}
