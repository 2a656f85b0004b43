public import ESPCrypto
public import IPsecModel

/// Why an ESP packet was dropped; each reason has a counter (``ESPCounters``).
public enum ESPDropReason: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Shorter than the ESP header, the IV, the trailer and the ICV together.
    case truncated
    /// The ciphertext is not a whole number of cipher blocks (CBC).
    case misaligned
    /// No SA with this SPI.
    case unknownSPI = "unknown SPI"
    /// The sequence number is a replay, below the window, or zero (RFC 4303 §3.4.3).
    case replayed, tooOld = "too old", zeroSequence = "zero sequence number"
    /// The ICV does not verify (RFC 4303 §3.4.4): the packet was altered or the key differs.
    case authenticationFailed = "authentication failed"
    /// The pad length exceeds the payload, or the padding bytes are not 1, 2, 3, … (RFC 4303 §2.4).
    case badPadding = "bad padding"
    /// Next header 59 (a dummy packet, RFC 4303 §2.6): discarded without error.
    case dummy
    public var description: String { rawValue }
}

/// A dropped packet: the reason, and the sequence number when it was read.
public struct ESPDrop: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: ESPDropReason
    public var sequence: UInt64?
    public init(reason: ESPDropReason, sequence: UInt64? = nil) {
        self.reason = reason
        self.sequence = sequence
    }
    public var description: String { "dropped: \(reason)" + (sequence.map { " (seq \($0))" } ?? "") }
}

/// Why an SA cannot be used by the data plane.
public enum ESPConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case notESP
    case unsupportedAlgorithms(String)
    case crypto(ESPCryptoError)
    case sequenceExhausted
    /// A key (or ICV length) that does not fit its algorithm (`AlgorithmKeyRules`, Specs/manager/keys.md).
    case key(AlgorithmKeyRules.Violation)
    /// A replay window larger than ``ReplayWindow/maximumSize`` (or negative): never clamped.
    case replayWindowOutOfRange(Int, maximum: Int)

    public var description: String {
        switch self {
        case .notESP: "the SA is not ESP"
        case .unsupportedAlgorithms(let s): "unsupported algorithms: \(s) (supported: rfc4106(gcm(aes)); cbc(aes) with hmac(sha256))"
        case .crypto(let e): "\(e)"
        case .sequenceExhausted: "the sequence number space is exhausted: the SA must be replaced (RFC 4303 §3.3.3)"
        case .key(let v): "\(v)"
        case .replayWindowOutOfRange(let n, let maximum): "a replay window of \(n) packets; the data plane takes 0 to \(maximum)"
        }
    }
}

/// One decrypted ESP payload.
public struct ESPPayload: Sendable, Hashable {
    /// The inner packet (transport mode: the upper-layer segment; tunnel mode: the inner IP packet).
    public var data: [UInt8]
    /// The Next Header field (e.g. 6 TCP, 17 UDP, 4 IPv4 in tunnel mode).
    public var nextHeader: UInt8
    /// The full (ESN: 64-bit) sequence number.
    public var sequence: UInt64
}

/// The data plane's view of one ESP SA (RFC 4303): its SPI, cipher and keys, and its sequence
/// state: the sender's counter or the receiver's replay window. Built from the one SA model the
/// manager installs (`SecurityAssociation`), so the same description drives the kernel and this
/// data plane. Keys live in the crypto objects (`SecureBytes` (ESPCrypto), wiped when freed) and never appear
/// in descriptions.
///
/// Packet layout (RFC 4303 §2): SPI (4) ‖ sequence number (4) ‖ IV ‖ ciphertext of (payload ‖
/// padding ‖ pad length ‖ next header) ‖ ICV.
/// - AES-GCM (RFC 4106): 8-byte IV = the 64-bit sequence number (unique per key); nonce = salt ‖
///   IV; AAD = SPI ‖ sequence (‖ high 32 bits first with ESN, §5); the ICV is GCM's tag.
/// - AES-CBC with HMAC-SHA-256-128 (RFC 3602, RFC 4868): 16-byte random IV; ICV = HMAC over SPI ‖
///   sequence ‖ IV ‖ ciphertext, with the high 32 bits of an ESN appended (RFC 4303 §2.2.1),
///   truncated to 16 bytes, compared in constant time.
public final class ESPSecurityAssociation {
    public enum Cipher { case gcm(ESPAESGCM), cbc(ESPAESCBC, HMACSHA256) }

    public let spi: UInt32
    public let extendedSequenceNumbers: Bool
    let cipher: Cipher
    /// Sender: the last sequence number used (0 before the first packet).
    public internal(set) var sent: UInt64 = 0
    /// Receiver: the replay window.
    public internal(set) var window: ReplayWindow

    /// - Parameters:
    ///   - sa: an ESP SA with `rfc4106(gcm(aes))`, or `cbc(aes)` and `hmac(sha256)` (128-bit ICV).
    ///   - windowSize: overrides the SA's replay window (`replay-window`, or the ESN bitmap size).
    public init(_ sa: SecurityAssociation, windowSize: Int? = nil) throws(ESPConfigurationError) {
        guard sa.proto == .esp else { throw .notESP }
        spi = sa.spi
        let esn = sa.replayWindowESN != nil || sa.flags & 128 != 0
        extendedSequenceNumbers = esn
        let size = windowSize ?? Int(sa.replayWindowESN ?? UInt32(sa.replayWindow))
        guard (0...ReplayWindow.maximumSize).contains(size) else { throw .replayWindowOutOfRange(size, maximum: ReplayWindow.maximumSize) }
        window = ReplayWindow(size: size, extendedSequenceNumbers: esn)
        let a = sa.algorithms
        // The keys of the algorithms this data plane runs must fit them (Specs/manager/keys.md): HMAC
        // itself takes a key of any length, ESP's HMAC-SHA-256-128 takes 32 bytes (RFC 4868 §2.1.1).
        do throws(AlgorithmKeyRules.Violation) {
            if let aead = a.aead, aead.name == "rfc4106(gcm(aes))" { try AlgorithmKeyRules.check(aead, role: .aead) }
            if let enc = a.encryption, enc.name == "cbc(aes)" { try AlgorithmKeyRules.check(enc, role: .encryption) }
            if let auth = a.authentication, auth.name == "hmac(sha256)" { try AlgorithmKeyRules.check(auth, role: .authentication) }
        } catch {
            throw .key(error)
        }
        do throws(ESPCryptoError) {
            if let aead = a.aead, aead.name == "rfc4106(gcm(aes))", a.encryption == nil, a.authentication == nil {
                cipher = .gcm(try ESPAESGCM(keyMaterial: SecureBytes(aead.key.exposedBytes), icvSize: Int(aead.truncationBits ?? 128) / 8))
                return
            }
            if let enc = a.encryption, enc.name == "cbc(aes)", let auth = a.authentication, auth.name == "hmac(sha256)", a.aead == nil {
                cipher = .cbc(
                    try ESPAESCBC(key: SecureBytes(enc.key.exposedBytes)),
                    try HMACSHA256(key: SecureBytes(auth.key.exposedBytes), icvSize: Int(auth.truncationBits ?? 128) / 8))
                return
            }
        } catch {
            throw .crypto(error)
        }
        let names = [a.aead, a.encryption, a.authentication].compactMap { $0?.name }
        throw .unsupportedAlgorithms(names.isEmpty ? "none" : names.joined(separator: ", "))
    }

    var ivSize: Int { if case .gcm = cipher { 8 } else { 16 } }
    var icvSize: Int {
        switch cipher {
        case .gcm(let g): g.icvSize
        case .cbc(_, let h): h.icvSize
        }
    }
    /// The payload ‖ padding ‖ 2 must be a multiple of this (RFC 4303 §2.4: 4 at least; the cipher
    /// block for CBC).
    var alignment: Int { if case .gcm = cipher { 4 } else { 16 } }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// Encapsulates one payload: the next sequence number, padding, encryption, ICV.
    public func seal(_ payload: [UInt8], nextHeader: UInt8) throws(ESPConfigurationError) -> [UInt8] {
        try payload.withTypedUnsafeBytes { (payload) throws(ESPConfigurationError) in try seal(payload, nextHeader: nextHeader) }
    }

    /// Encapsulates one payload read where it lies (a receive buffer, a slice of a larger packet),
    /// without copying it into an array first: the same packet as the `[UInt8]` form gives.
    ///
    /// - Parameters:
    ///   - payload: the inner packet; only read during the call.
    ///   - nextHeader: the Next Header field (e.g. 6 TCP, 17 UDP, 4 IPv4 in tunnel mode).
    /// - Returns: the ESP packet (SPI ‖ sequence number ‖ IV ‖ ciphertext ‖ ICV).
    /// - Throws: ``ESPConfigurationError/sequenceExhausted`` when the SA must be replaced, or
    ///   ``ESPConfigurationError/crypto(_:)`` when libcrypto fails.
    public func seal(_ payload: UnsafeRawBufferPointer, nextHeader: UInt8) throws(ESPConfigurationError) -> [UInt8] {
        let limit: UInt64 = extendedSequenceNumbers ? .max : UInt64(UInt32.max)
        guard sent < limit else { throw .sequenceExhausted }
        sent += 1
        return try seal(payload, nextHeader: nextHeader, sequence: sent, iv: nil)
    }

    /// The encapsulation of `seal(_:nextHeader:)` with a given sequence number and, for tests
    /// against published vectors, a given IV (never in use: an IV must not repeat under a key).
    func seal(_ payload: [UInt8], nextHeader: UInt8, sequence seq: UInt64, iv fixedIV: [UInt8]?) throws(ESPConfigurationError) -> [UInt8] {
        try payload.withTypedUnsafeBytes { (payload) throws(ESPConfigurationError) in
            guard let fixedIV else { return try seal(payload, nextHeader: nextHeader, sequence: seq, iv: nil) }
            return try fixedIV.withTypedUnsafeBytes { (iv) throws(ESPConfigurationError) in
                try seal(payload, nextHeader: nextHeader, sequence: seq, iv: iv)
            }
        }
    }

    /// Builds the whole packet in one array, SPI ‖ sequence ‖ IV ‖ payload ‖ padding ‖ pad length ‖
    /// next header ‖ ICV, then encrypts the payload and trailer where they lie and writes the ICV
    /// after them: one allocation and one copy of the payload per packet.
    func seal(
        _ payload: UnsafeRawBufferPointer, nextHeader: UInt8, sequence seq: UInt64,
        iv fixedIV: UnsafeRawBufferPointer?
    ) throws(ESPConfigurationError) -> [UInt8] {
        let ivSize = self.ivSize, icvSize = self.icvSize
        if let fixedIV, fixedIV.count != ivSize { throw .crypto(.invalidIVLength(fixedIV.count, expected: ivSize)) }
        // alignment is a power of two (4 or 16): the padding that rounds payload ‖ 2 up to it,
        // without a division.
        let padCount = -(payload.count + 2) & (alignment - 1)
        let textStart = 8 + ivSize
        let textCount = payload.count + padCount + 2
        let total = textStart + textCount + icvSize
        let spi = self.spi, esn = extendedSequenceNumbers, cipher = self.cipher
        var failure: ESPCryptoError?
        let packet = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            // Every byte is written below before the array is returned (the ICV last; on a failure
            // the array is discarded), and UInt8 needs no other initialization. All offsets are
            // within `total`; no pointer into the buffer outlives this closure.
            initialized = total
            let packet = UnsafeMutableRawBufferPointer(buffer)
            packet.storeBytes(of: spi.bigEndian, toByteOffset: 0, as: UInt32.self)
            packet.storeBytes(of: UInt32(truncatingIfNeeded: seq).bigEndian, toByteOffset: 4, as: UInt32.self)
            let ivBytes = UnsafeMutableRawBufferPointer(rebasing: packet[8..<textStart])
            let text = UnsafeMutableRawBufferPointer(rebasing: packet[textStart..<(textStart + textCount)])
            text.copyMemory(from: payload)
            for i in 0..<padCount { text[payload.count + i] = UInt8(i + 1) }
            text[textCount - 2] = UInt8(padCount)
            text[textCount - 1] = nextHeader
            let icv = UnsafeMutableRawBufferPointer(rebasing: packet[(total - icvSize)...])
            do throws(ESPCryptoError) {
                switch cipher {
                case .gcm(let g):
                    // RFC 4106 §3.1: the IV is the 64-bit sequence number.
                    if let fixedIV { ivBytes.copyMemory(from: fixedIV) } else { ivBytes.storeBytes(of: seq.bigEndian, as: UInt64.self) }
                    if esn {
                        // RFC 4106 §5: SPI ‖ 64-bit sequence number, on the stack.
                        let aad = (spi.bigEndian, UInt32(truncatingIfNeeded: seq >> 32).bigEndian, UInt32(truncatingIfNeeded: seq).bigEndian)
                        try withUnsafeBytes(of: aad) { (aad) throws(ESPCryptoError) in
                            try g.sealInPlace(text, iv: UnsafeRawBufferPointer(ivBytes), aad: aad, icv: icv.baseAddress!)
                        }
                    } else {
                        // The AAD is the 8-byte header itself: read in place, and disjoint from the
                        // text that is encrypted in place after it.
                        try g.sealInPlace(
                            text, iv: UnsafeRawBufferPointer(ivBytes), aad: UnsafeRawBufferPointer(rebasing: packet[0..<8]),
                            icv: icv.baseAddress!)
                    }
                case .cbc(let c, let h):
                    if let fixedIV { ivBytes.copyMemory(from: fixedIV) } else { try ESPAESCBC.randomIV(into: ivBytes) }
                    try c.encryptInPlace(text, iv: UnsafeRawBufferPointer(ivBytes))
                    let covered = UnsafeRawBufferPointer(rebasing: packet[..<(total - icvSize)])
                    if esn {
                        // RFC 4303 §2.2.1: the high 32 bits of the ESN follow the packet in the ICV's input.
                        try withUnsafeBytes(of: UInt32(truncatingIfNeeded: seq >> 32).bigEndian) { (high) throws(ESPCryptoError) in
                            try h.authenticate(covered, high, into: icv)
                        }
                    } else {
                        try h.authenticate(covered, into: icv)
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw .crypto(failure) }
        return packet
    }

    /// Decapsulates one packet: replay check, ICV, decryption, padding and next header, then the
    /// window moves. Every failure is a drop with its reason; the window only moves for a packet
    /// that authenticated.
    public func open(_ packet: [UInt8]) -> Result<ESPPayload, ESPDrop> {
        packet.withUnsafeBytes { open($0) }
    }

    /// Decapsulates a packet inside a larger buffer (e.g. after an outer IP or UDP header), without
    /// copying it out first: the same result as the `[UInt8]` form gives.
    public func open(_ packet: ArraySlice<UInt8>) -> Result<ESPPayload, ESPDrop> {
        packet.withUnsafeBytes { open($0) }
    }

    /// Decapsulates a packet read where it lies (a receive buffer): the same checks, drop reasons
    /// and replay-window updates as the `[UInt8]` form. Only the decrypted payload is copied out.
    ///
    /// - Parameter packet: the ESP packet (from the SPI to the ICV); only read during the call.
    public func open(_ packet: UnsafeRawBufferPointer) -> Result<ESPPayload, ESPDrop> {
        let ivSize = self.ivSize, icvSize = self.icvSize
        let minimum = 8 + ivSize + icvSize + (alignment == 16 ? 16 : 4)
        guard packet.count >= minimum else { return .failure(ESPDrop(reason: .truncated)) }
        // Every offset below is within the `minimum` bytes checked above, or computed from
        // packet.count - icvSize, which is at least 8 + ivSize.
        let wireSPI = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard wireSPI == spi else { return .failure(ESPDrop(reason: .unknownSPI)) }
        let low = UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let seq: UInt64
        switch window.check(low) {
        case .success(let s): seq = s
        case .failure(.replayed): return .failure(ESPDrop(reason: .replayed, sequence: UInt64(low)))
        case .failure(.tooOld): return .failure(ESPDrop(reason: .tooOld, sequence: UInt64(low)))
        case .failure(.zero): return .failure(ESPDrop(reason: .zeroSequence, sequence: 0))
        }
        let iv = UnsafeRawBufferPointer(rebasing: packet[8..<(8 + ivSize)])
        let body = UnsafeRawBufferPointer(rebasing: packet[(8 + ivSize)..<(packet.count - icvSize)])
        let icv = UnsafeRawBufferPointer(rebasing: packet[(packet.count - icvSize)...])
        var plain: [UInt8]
        switch cipher {
        case .gcm(let g):
            let opened: [UInt8]?
            if extendedSequenceNumbers {
                // RFC 4106 §5: SPI ‖ 64-bit sequence number, on the stack.
                let aad = (spi.bigEndian, UInt32(truncatingIfNeeded: seq >> 32).bigEndian, low.bigEndian)
                opened = withUnsafeBytes(of: aad) { try? g.open(ciphertext: body, icv: icv.baseAddress!, iv: iv, aad: $0) }
            } else {
                opened = try? g.open(ciphertext: body, icv: icv.baseAddress!, iv: iv, aad: UnsafeRawBufferPointer(rebasing: packet[0..<8]))
            }
            guard let opened else { return .failure(ESPDrop(reason: .authenticationFailed, sequence: seq)) }
            plain = opened
        case .cbc(let c, let h):
            let covered = UnsafeRawBufferPointer(rebasing: packet[..<(packet.count - icvSize)])
            let ok =
                extendedSequenceNumbers
                ? withUnsafeBytes(of: UInt32(truncatingIfNeeded: seq >> 32).bigEndian) { try? h.verify(icv, for: covered, $0) }
                : (try? h.verify(icv, for: covered))
            guard ok == true else { return .failure(ESPDrop(reason: .authenticationFailed, sequence: seq)) }
            guard body.count % 16 == 0 else { return .failure(ESPDrop(reason: .misaligned, sequence: seq)) }
            var failed = false
            plain = [UInt8](unsafeUninitializedCapacity: body.count) { out, initialized in
                // UInt8: every byte is written by the decryption (or the array is discarded).
                initialized = body.count
                do throws(ESPCryptoError) { try c.decrypt(body, into: out.baseAddress, iv: iv) } catch { failed = true }
            }
            guard !failed else { return .failure(ESPDrop(reason: .misaligned, sequence: seq)) }
        }
        // Authenticated: the window moves even if the trailer is bad (the packet was genuine).
        window.accept(seq)
        guard plain.count >= 2 else { return .failure(ESPDrop(reason: .badPadding, sequence: seq)) }
        let nextHeader = plain[plain.count - 1]
        let padLength = Int(plain[plain.count - 2])
        guard padLength + 2 <= plain.count else { return .failure(ESPDrop(reason: .badPadding, sequence: seq)) }
        let dataEnd = plain.count - 2 - padLength
        for i in 0..<padLength where plain[dataEnd + i] != UInt8(i + 1) {
            return .failure(ESPDrop(reason: .badPadding, sequence: seq))
        }
        if nextHeader == 59 { return .failure(ESPDrop(reason: .dummy, sequence: seq)) }
        // The payload is the decrypted array itself, cut before its trailer (no copy).
        plain.removeLast(padLength + 2)
        return .success(ESPPayload(data: plain, nextHeader: nextHeader, sequence: seq))
    }
}

/// Drop counters, one per reason.
public struct ESPCounters: Sendable, Hashable {
    public private(set) var accepted = 0
    public private(set) var dropped: [ESPDropReason: Int] = [:]
    public init() {}
    public mutating func count(_ r: Result<ESPPayload, ESPDrop>) {
        switch r {
        case .success: accepted += 1
        case .failure(let d): dropped[d.reason, default: 0] += 1
        }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` whose closure throws a typed error (the standard library's is `rethrows`,
    /// which erases the type to `any Error`).
    fileprivate func withTypedUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeBytes { bytes in Result { () throws(E) in try body(bytes) } }.get()
    }
}
