// Byte sequences from Specs/kernel/layouts.md (§3, §4): iproute2 6.1.0 on Linux 6.18, each command in a fresh
// network namespace. The placeholders of the captures are kept in the text: `aa aa aa aa` is nlmsg_seq,
// `bb bb bb bb` the requester's port id in the kernel's replies; `capture(_:)` fills them in.

import TestSupport

enum Golden {
    /// The sequence number substituted for `aa aa aa aa`.
    static let sequence: UInt32 = 0x5A1A_0001
    /// The port id substituted for `bb bb bb bb`.
    static let portID: UInt32 = 0x0001_E240

    /// §3 A: `XFRMA_SEC_CTX`, iproute2 form (ctx_len 33 with the NUL), 48 bytes: nla_len 45 + 3 padding.
    static let secCtxA = capture(
        """
        2d 00 08 00 29 00 08 00 01 01 21 00 73 79 73 74
        65 6d 5f 75 3a 6f 62 6a 65 63 74 5f 72 3a 69 70
        73 65 63 5f 73 70 64 5f 74 3a 73 30 00 00 00 00
        """)

    /// §3 B: `XFRMA_SEC_CTX` without the NUL (ctx_len 32), 44 bytes, no padding.
    static let secCtxB = capture(
        """
        2c 00 08 00 28 00 08 00 01 01 20 00 73 79 73 74
        65 6d 5f 75 3a 6f 62 6a 65 63 74 5f 72 3a 69 70
        73 65 63 5f 73 70 64 5f 74 3a 73 30
        """)

    /// §3 C: `XFRMA_SEC_CTX` as an SELinux kernel echoes A in a dump (ctx_len 34, nla_len 46), 48 bytes.
    static let secCtxC = capture(
        """
        2e 00 08 00 2a 00 08 00 01 01 22 00 73 79 73 74
        65 6d 5f 75 3a 6f 62 6a 65 63 74 5f 72 3a 69 70
        73 65 63 5f 73 70 64 5f 74 3a 73 30 00 00 00 00
        """)

    /// §4.1: `XFRM_MSG_NEWPOLICY` request (300 bytes) of
    /// `ip xfrm policy add src 127.0.0.1 dst 127.0.0.1 proto tcp dir out ctx "system_u:object_r:ipsec_spd_t:s0" tmpl proto ah mode transport level required`.
    static let newPolicy = capture(
        """
        2c 01 00 00 13 00 05 00 aa aa aa aa 00 00 00 00
        7f 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
        7f 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 02 00 20 20 06 00 00 00
        00 00 00 00 00 00 00 00 ff ff ff ff ff ff ff ff
        ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff
        ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        01 00 00 00 00 00 00 00 44 00 05 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        33 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        ff ff ff ff ff ff ff ff ff ff ff ff 2d 00 08 00
        29 00 08 00 01 01 21 00 73 79 73 74 65 6d 5f 75
        3a 6f 62 6a 65 63 74 5f 72 3a 69 70 73 65 63 5f
        73 70 64 5f 74 3a 73 30 00 00 00 00
        """)

    /// §4.2: the kernel's ACK for §4.1 (36 bytes): `NLMSG_ERROR`, `NLM_F_CAPPED`, error 0, the request header.
    static let ack = capture(
        """
        24 00 00 00 02 00 00 01 aa aa aa aa bb bb bb bb
        00 00 00 00 2c 01 00 00 13 00 05 00 aa aa aa aa
        00 00 00 00
        """)

    /// §4.3: `XFRM_MSG_NEWSA` request (376 bytes) of
    /// `ip xfrm state add src 127.0.0.1 dst 127.0.0.1 proto ah spi 0x200 ctx "system_u:object_r:ipsec_spd_t:s0" auth sha1 0123456789012345`.
    static let newSA = capture(
        """
        78 01 00 00 10 00 05 00 aa aa aa aa 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 7f 00 00 01 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 02 00 33 00 00 00
        7f 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
        ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff
        ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00
        2d 00 08 00 29 00 08 00 01 01 21 00 73 79 73 74
        65 6d 5f 75 3a 6f 62 6a 65 63 74 5f 72 3a 69 70
        73 65 63 5f 73 70 64 5f 74 3a 73 30 00 00 00 00
        58 00 01 00 73 68 61 31 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 80 00 00 00 30 31 32 33 34 35 36 37
        38 39 30 31 32 33 34 35
        """)

    /// §4.4: the kernel's NACK for §4.3 (428 bytes): `NLM_F_ACK_TLVS`, error −93, the whole request,
    /// `NLMSGERR_ATTR_MSG` "Requested type not found".
    static let nack = capture(
        """
        ac 01 00 00 02 00 00 02 aa aa aa aa bb bb bb bb
        a3 ff ff ff 78 01 00 00 10 00 05 00 aa aa aa aa
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 7f 00 00 01
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 00
        33 00 00 00 7f 00 00 01 00 00 00 00 00 00 00 00
        00 00 00 00 ff ff ff ff ff ff ff ff ff ff ff ff
        ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff
        ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00
        00 00 00 00 2d 00 08 00 29 00 08 00 01 01 21 00
        73 79 73 74 65 6d 5f 75 3a 6f 62 6a 65 63 74 5f
        72 3a 69 70 73 65 63 5f 73 70 64 5f 74 3a 73 30
        00 00 00 00 58 00 01 00 73 68 61 31 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 80 00 00 00 30 31 32 33
        34 35 36 37 38 39 30 31 32 33 34 35 1d 00 01 00
        52 65 71 75 65 73 74 65 64 20 74 79 70 65 20 6e
        6f 74 20 66 6f 75 6e 64 00 00 00 00
        """)

    /// §4.5: `XFRM_MSG_GETSA` dump request of `ip xfrm state show` (56 bytes).
    static let getSA = capture(
        """
        38 00 00 00 12 00 01 03 aa aa aa aa 00 00 00 00
        28 00 1a 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        00 00 00 00 00 00 00 00
        """)

    /// §4.6: `XFRM_MSG_GETPOLICY` dump request of `ip xfrm policy show` (16 bytes, header only).
    static let getPolicy = capture(
        """
        10 00 00 00 15 00 01 03 aa aa aa aa 00 00 00 00
        """)

    /// The bytes of a hex dump, with the capture placeholders filled in: `aa aa aa aa` →
    /// ``sequence``, `bb bb bb bb` → ``portID`` (host order).
    static func capture(_ hex: String, sequence: UInt32 = Golden.sequence, portID: UInt32 = Golden.portID) -> [UInt8] {
        let tokens = hex.split(whereSeparator: { $0 == " " || $0 == "\n" })
        var bytes: [UInt8] = []
        var index = 0
        while index < tokens.count {
            let four = tokens[index..<min(index + 4, tokens.count)].map(String.init)
            if four == ["aa", "aa", "aa", "aa"] {
                bytes += withUnsafeBytes(of: sequence, Array.init)
                index += 4
            } else if four == ["bb", "bb", "bb", "bb"] {
                bytes += withUnsafeBytes(of: portID, Array.init)
                index += 4
            } else {
                bytes += TestSupport.hex(tokens[index])
                index += 1
            }
        }
        return bytes
    }

    /// The 32 bytes of the security context string of §3 and §4.
    static let contextString = Array("system_u:object_r:ipsec_spd_t:s0".utf8)
}
