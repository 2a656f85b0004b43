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

    public var description: String {
        switch self {
        case .notESP: "the SA is not ESP"
        case .unsupportedAlgorithms(let s): "unsupported algorithms: \(s) (supported: rfc4106(gcm(aes)); cbc(aes) with hmac(sha256))"
        case .crypto(let e): "\(e)"
        case .sequenceExhausted: "the sequence number space is exhausted: the SA must be replaced (RFC 4303 §3.3.3)"
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
/// data plane. Keys live in the crypto objects (``SecureBytes``, wiped when freed) and never appear
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
        window = ReplayWindow(size: min(max(size, 0), ReplayWindow.maximumSize), extendedSequenceNumbers: esn)
        let a = sa.algorithms
        do throws(ESPCryptoError) {
            if let aead = a.aead, aead.name == "rfc4106(gcm(aes))", a.encryption == nil, a.authentication == nil {
                cipher = .gcm(try ESPAESGCM(keyMaterial: SecureBytes(aead.key.exposedBytes), icvSize: Int(aead.truncationBits ?? 128) / 8))
                return
            }
            if let enc = a.encryption, enc.name == "cbc(aes)", let auth = a.authentication, auth.name == "hmac(sha256)", a.aead == nil {
                cipher = .cbc(try ESPAESCBC(key: SecureBytes(enc.key.exposedBytes)),
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
        let limit: UInt64 = extendedSequenceNumbers ? .max : UInt64(UInt32.max)
        guard sent < limit else { throw .sequenceExhausted }
        sent += 1
        return try seal(payload, nextHeader: nextHeader, sequence: sent, iv: nil)
    }

    /// The encapsulation of `seal(_:nextHeader:)` with a given sequence number and, for tests
    /// against published vectors, a given IV (never in use: an IV must not repeat under a key).
    func seal(_ payload: [UInt8], nextHeader: UInt8, sequence seq: UInt64, iv fixedIV: [UInt8]?) throws(ESPConfigurationError) -> [UInt8] {
        let header = Self.be32(spi) + Self.be32(UInt32(truncatingIfNeeded: seq))
        let padCount = (alignment - (payload.count + 2) % alignment) % alignment
        var plain = payload
        plain.reserveCapacity(payload.count + padCount + 2)
        for i in 0..<padCount { plain.append(UInt8(i + 1)) }
        plain.append(UInt8(padCount))
        plain.append(nextHeader)
        do throws(ESPCryptoError) {
            switch cipher {
            case .gcm(let g):
                let iv = fixedIV ?? (Self.be32(UInt32(truncatingIfNeeded: seq >> 32)) + Self.be32(UInt32(truncatingIfNeeded: seq)))
                let aad = extendedSequenceNumbers ? Self.be32(spi) + Self.be32(UInt32(truncatingIfNeeded: seq >> 32)) + Array(header[4..<8]) : header
                return try g.seal(plaintext: plain, iv: iv, aad: aad, after: header + iv)
            case .cbc(let c, let h):
                let iv: [UInt8]
                if let fixedIV { iv = fixedIV } else {
                    iv = try SecureBytes.random(count: 16).withUnsafeBytes { (b: UnsafeRawBufferPointer) -> [UInt8] in Array(b) }
                }
                let body = header + iv + (try c.encrypt(plain, iv: iv))
                let icv = extendedSequenceNumbers ? try h.authenticationCode(body, Self.be32(UInt32(truncatingIfNeeded: seq >> 32)))
                                                  : try h.authenticationCode(body)
                return body + icv
            }
        } catch {
            throw .crypto(error)
        }
    }

    /// Decapsulates one packet: replay check, ICV, decryption, padding and next header, then the
    /// window moves. Every failure is a drop with its reason; the window only moves for a packet
    /// that authenticated.
    public func open(_ packet: [UInt8]) -> Result<ESPPayload, ESPDrop> {
        let minimum = 8 + ivSize + icvSize + (alignment == 16 ? 16 : 4)
        guard packet.count >= minimum else { return .failure(ESPDrop(reason: .truncated)) }
        let wireSPI = UInt32(packet[0]) << 24 | UInt32(packet[1]) << 16 | UInt32(packet[2]) << 8 | UInt32(packet[3])
        guard wireSPI == spi else { return .failure(ESPDrop(reason: .unknownSPI)) }
        let low = UInt32(packet[4]) << 24 | UInt32(packet[5]) << 16 | UInt32(packet[6]) << 8 | UInt32(packet[7])
        let seq: UInt64
        switch window.check(low) {
        case .success(let s): seq = s
        case .failure(.replayed): return .failure(ESPDrop(reason: .replayed, sequence: UInt64(low)))
        case .failure(.tooOld): return .failure(ESPDrop(reason: .tooOld, sequence: UInt64(low)))
        case .failure(.zero): return .failure(ESPDrop(reason: .zeroSequence, sequence: 0))
        }
        let iv = Array(packet[8..<(8 + ivSize)])
        let plain: [UInt8]
        switch cipher {
        case .gcm(let g):
            let aad = extendedSequenceNumbers ? Self.be32(spi) + Self.be32(UInt32(truncatingIfNeeded: seq >> 32)) + Self.be32(low)
                                              : Array(packet[0..<8])
            // Ciphertext and ICV are contiguous: one copy.
            guard let p = try? g.open(sealed: Array(packet[(8 + ivSize)...]), iv: iv, aad: aad) else {
                return .failure(ESPDrop(reason: .authenticationFailed, sequence: seq))
            }
            plain = p
        case .cbc(let c, let h):
            let body = Array(packet[(8 + ivSize)..<(packet.count - icvSize)])
            let icv = Array(packet[(packet.count - icvSize)...])
            let covered = Array(packet[0..<(packet.count - icvSize)])
            let ok = extendedSequenceNumbers ? (try? h.verify(icv, for: covered, Self.be32(UInt32(truncatingIfNeeded: seq >> 32))))
                                             : (try? h.verify(icv, for: covered))
            guard ok == true else { return .failure(ESPDrop(reason: .authenticationFailed, sequence: seq)) }
            guard body.count % 16 == 0 else { return .failure(ESPDrop(reason: .misaligned, sequence: seq)) }
            guard let p = try? c.decrypt(body, iv: iv) else { return .failure(ESPDrop(reason: .misaligned, sequence: seq)) }
            plain = p
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
        return .success(ESPPayload(data: Array(plain[..<dataEnd]), nextHeader: nextHeader, sequence: seq))
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
