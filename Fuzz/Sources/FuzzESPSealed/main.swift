// libFuzzer target for what lies behind the ICV: FuzzESPParser's random bytes never authenticate,
// so the decrypted path (padding, next header, the inner datagram, the node's inbound steps) is
// only reached by packets sealed with the SA's own key. Here the input describes a plaintext and a
// receiver's state, the packet is sealed with a known key through ESPCrypto (AES-GCM, RFC 4106; or
// AES-CBC with HMAC-SHA-256, RFC 3602/4868), and opened by the data plane.
//
// The first byte chooses the level:
// - even: one ESPSecurityAssociation. The rest of the input gives the cipher (key and ICV size),
//   ESN, the replay window (size, its top near 2^32 edges, packets already seen), the sequence
//   number of the packet, and its plaintext: a well-formed trailer (payload, padding 1, 2, 3, …,
//   pad length, next header), a raw one (any pad bytes and pad length), or (CBC) a raw ciphertext
//   of any length under a valid ICV; then maybe a corrupted byte or a truncation after sealing.
//   Invariants: the outcome is what a reference of RFC 4303 §2.4/§3.4.3 predicts (drop reason,
//   payload, next header, sequence number); an ESN packet within the window or less than 2^31
//   ahead of it infers its high bits; a packet dropped before authentication leaves the window as
//   it was, an authenticated one moves it; an accepted packet is a replay the second time; a
//   corrupted or truncated packet is never accepted; the library's own seal agrees (GCM: to the
//   byte; CBC: it opens to the same payload).
// - odd: a DataPlaneNode (transport or tunnel mode, IPv4 or IPv6, GCM or CBC, maybe ESN and a
//   packet/byte lifetime) receiving up to four packets through receiveESP: an inner UDP datagram
//   built from the input (or raw inner bytes, or another next header). Invariants: a well-formed
//   datagram from the client's address to the server's port 7 on the client's SA is delivered with
//   its data, SPI, sequence number and the SA's label; every other one is dropped with a reason;
//   a packet past a hard lifetime limit is never delivered.
// Seeds: Fuzz/corpus/espsealed.
import DataPlaneNode
import DecisionEngine
import ESPCrypto
import ESPDataPlane
import IPsecModel
import SecurityContexts
import XfrmManager

// MARK: - Input

/// Reads the fuzzer's input front to back; past its end every read gives zeros.
struct Input {
    var bytes: ArraySlice<UInt8>
    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
    var isEmpty: Bool { bytes.isEmpty }
    mutating func u8() -> UInt8 { bytes.popFirst() ?? 0 }
    mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }
    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }
    mutating func take(_ n: Int) -> [UInt8] {
        let k = min(n, bytes.count)
        defer { bytes.removeFirst(k) }
        return Array(bytes.prefix(k))
    }
    mutating func rest() -> [UInt8] { take(bytes.count) }
}

// MARK: - Sealing with the key, as a peer would

/// A sender with the key of an SA, building packets with any trailer and sequence number through
/// ESPCrypto's public API (ESPSecurityAssociation.seal always writes a valid trailer and the next
/// sequence number).
struct Sealer {
    enum Cipher { case gcm(ESPAESGCM), cbc(ESPAESCBC, HMACSHA256) }
    let spi: UInt32
    let esn: Bool
    let cipher: Cipher

    init?(_ sa: SecurityAssociation) {
        spi = sa.spi
        esn = sa.replayWindowESN != nil || sa.flags & 128 != 0
        let a = sa.algorithms
        if let aead = a.aead {
            guard let g = try? ESPAESGCM(keyMaterial: SecureBytes(aead.key.exposedBytes), icvSize: Int(aead.truncationBits ?? 128) / 8) else { return nil }
            cipher = .gcm(g)
        } else if let enc = a.encryption, let auth = a.authentication {
            guard let c = try? ESPAESCBC(key: SecureBytes(enc.key.exposedBytes)),
                let h = try? HMACSHA256(key: SecureBytes(auth.key.exposedBytes), icvSize: Int(auth.truncationBits ?? 128) / 8)
            else { return nil }
            cipher = .cbc(c, h)
        } else {
            return nil
        }
    }

    var isCBC: Bool { if case .cbc = cipher { true } else { false } }
    var alignment: Int { isCBC ? 16 : 4 }
    var ivSize: Int { isCBC ? 16 : 8 }
    var icvSize: Int {
        switch cipher {
        case .gcm(let g): g.icvSize
        case .cbc(_, let h): h.icvSize
        }
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// payload ‖ 1, 2, 3, … ‖ pad length ‖ next header, padded to the alignment plus `extra` blocks.
    func wellFormed(_ payload: [UInt8], nextHeader: UInt8, extra: Int) -> [UInt8] {
        var pad = -(payload.count + 2) & (alignment - 1)
        for _ in 0..<extra where pad + alignment <= 255 { pad += alignment }
        return payload + (0..<pad).map { UInt8($0 + 1) } + [UInt8(pad), nextHeader]
    }

    /// The packet carrying `plaintext` (for CBC a multiple of 16 bytes) with sequence number `seq`.
    /// `rawBody` (CBC): these bytes stand for the ciphertext unencrypted, any length, with a valid ICV.
    func seal(_ plaintext: [UInt8], seq: UInt64, iv ivByte: UInt8, rawBody: Bool = false) -> [UInt8]? {
        let header = Self.be32(spi) + Self.be32(UInt32(truncatingIfNeeded: seq))
        let high = Self.be32(UInt32(truncatingIfNeeded: seq >> 32))
        switch cipher {
        case .gcm(let g):
            // RFC 4106 §3.1: the IV is the 64-bit sequence number (as the library's seal writes it).
            let iv = Self.be32(UInt32(truncatingIfNeeded: seq >> 32)) + Self.be32(UInt32(truncatingIfNeeded: seq))
            let aad = esn ? Self.be32(spi) + high + Self.be32(UInt32(truncatingIfNeeded: seq)) : header
            return try? g.seal(plaintext: plaintext, iv: iv, aad: aad, after: header + iv)
        case .cbc(let c, let h):
            let iv = (0..<16).map { UInt8(truncatingIfNeeded: Int(ivByte) &* 31 &+ $0) }
            let body: [UInt8]
            if rawBody {
                body = plaintext
            } else {
                guard let b = try? c.encrypt(plaintext, iv: iv) else { return nil }
                body = b
            }
            let covered = header + iv + body
            guard let icv = esn ? try? h.authenticationCode(covered, high) : try? h.authenticationCode(covered) else { return nil }
            return covered + icv
        }
    }
}

// MARK: - A reference of the receiver

/// An open's outcome, comparable with a reference's.
enum Outcome: Equatable, CustomStringConvertible {
    case accepted(data: [UInt8], nextHeader: UInt8, sequence: UInt64)
    case dropped(ESPDrop)
    init(_ r: Result<ESPPayload, ESPDrop>) {
        switch r {
        case .success(let p): self = .accepted(data: p.data, nextHeader: p.nextHeader, sequence: p.sequence)
        case .failure(let d): self = .dropped(d)
        }
    }
    static func drop(_ reason: ESPDropReason, _ sequence: UInt64? = nil) -> Outcome { .dropped(ESPDrop(reason: reason, sequence: sequence)) }
    var description: String {
        switch self {
        case .accepted(let d, let nh, let s): "accepted \(d.count) bytes, next header \(nh), seq \(s)"
        case .dropped(let d): "\(d)"
        }
    }
}

/// What RFC 4303 says the receiver does with the trailer of an authenticated plaintext.
func expectedTrailer(_ plain: [UInt8], seq: UInt64) -> Outcome {
    guard plain.count >= 2 else { return .drop(.badPadding, seq) }
    let nh = plain[plain.count - 1], padLength = Int(plain[plain.count - 2])
    guard padLength + 2 <= plain.count else { return .drop(.badPadding, seq) }
    let end = plain.count - 2 - padLength
    for i in 0..<padLength where plain[end + i] != UInt8(i + 1) { return .drop(.badPadding, seq) }
    if nh == 59 { return .drop(.dummy, seq) }
    return .accepted(data: Array(plain[..<end]), nextHeader: nh, sequence: seq)
}

/// The replay window as a set of received numbers (RFC 4303 §3.4.3), for full sequence numbers.
struct ReferenceWindow {
    let size: Int
    var top: UInt64 = 0
    var seen: Set<UInt64> = []
    func check(_ s: UInt64) -> ReplayWindow.Rejection? {
        if s == 0 { return .zero }
        if size == 0 || s > top { return nil }
        if top - s >= UInt64(size) { return .tooOld }
        return seen.contains(s) ? .replayed : nil
    }
    mutating func accept(_ s: UInt64) {
        top = max(top, s)
        seen.insert(s)
    }
}

func fail(_ message: String) -> Never { fatalError(message) }

func reason(_ r: ReplayWindow.Rejection) -> ESPDropReason {
    switch r {
    case .replayed: .replayed
    case .tooOld: .tooOld
    case .zero: .zeroSequence
    }
}

// MARK: - One ESP SA

let gcmKeys: [KeyMaterial] = [20, 28, 36].map { n in KeyMaterial((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }) }
let cbcKeys: [KeyMaterial] = [16, 24, 32].map { n in KeyMaterial((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }) }
let hmacKey = KeyMaterial((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 1) })
let windowSizes = [0, 1, 32, 64, 128, 4096]
/// Tops of the window near the edges of the 32-bit space (ESN: of its first three subspaces).
let edges: [UInt64] = [0, 1, 31, 64, 0x7FFF_FFFF, 0xFFFF_FF00, 0xFFFF_FFFF, 1 << 32, (1 << 32) + 63, 0x1_FFFF_FFC0, 2 << 32, 0x2_8000_0000]

func espSA(cbc: Bool, esn: Bool, variant: UInt8) -> SecurityAssociation {
    let algorithms: SAAlgorithms
    if cbc {
        let icvBits: UInt32 = [128, 128, 96, 256][Int(variant >> 2) % 4]
        algorithms = SAAlgorithms(
            encryption: XfrmAlgorithm(name: "cbc(aes)", key: cbcKeys[Int(variant) % 3]),
            authentication: XfrmAlgorithm(name: "hmac(sha256)", key: hmacKey, truncationBits: icvBits))
    } else {
        let icvBits: UInt32 = [128, 128, 96, 64][Int(variant >> 2) % 4]
        algorithms = SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: gcmKeys[Int(variant) % 3], truncationBits: icvBits))
    }
    return SecurityAssociation(
        source: IPAddress("192.0.2.1")!, destination: IPAddress("192.0.2.2")!, spi: 0x1234,
        replayWindow: esn ? 0 : 32, flags: esn ? 128 : 0, replayWindowESN: esn ? 128 : nil, algorithms: algorithms)
}

/// Moves a fresh receiver's window to `top` through authenticated packets, ESN subspace by
/// subspace, each step less than 2^31 ahead (so that the high bits are always inferred); then
/// marks `behind` numbers below it as received.
func prepare(_ esp: ESPSecurityAssociation, _ sealer: Sealer, _ ref: inout ReferenceWindow, top: UInt64, behind: [UInt64]) {
    var steps: [UInt64] = []
    if top > 0 {
        var s: UInt64 = 0
        while top - s > 0x4000_0000 { s += 0x4000_0000; steps.append(s) }
        steps.append(top)
    }
    for b in behind where b < top && top - b < 1 << 20 { steps.append(top - b) }
    for s in steps {
        let expectedRejection = ref.check(s)
        let lowered = sealer.esn && s < ref.top && ref.top - s >= UInt64(max(ref.size, 1))
        guard let packet = sealer.seal(sealer.wellFormed([0x11], nextHeader: 17, extra: 0), seq: s, iv: 1) else { fail("sealing failed") }
        let result = esp.open(packet)
        // ESN: a number below the window (with no window: below the top) is read in the next
        // subspace (RFC 4303 A2.2), and then fails the ICV.
        if lowered, result.failureReason == .authenticationFailed { continue }
        if let r = expectedRejection {
            guard result == .failure(ESPDrop(reason: reason(r), sequence: r == .zero ? 0 : UInt64(UInt32(truncatingIfNeeded: s)))) else {
                fail("setup seq \(s): expected \(r), got \(result)")
            }
            continue
        }
        guard case .success(let p) = result, p.sequence == s, p.data == [0x11] else { fail("setup seq \(s) (top \(ref.top)): \(result)") }
        ref.accept(s)
        guard esp.window.top == ref.top else { fail("window top \(esp.window.top), expected \(ref.top)") }
    }
}

func fuzzSA(_ input: inout Input) {
    let config = input.u8(), variant = input.u8()
    let cbc = config & 1 != 0, esn = config & 2 != 0
    let size = windowSizes[Int(config >> 2) % windowSizes.count]
    let sa = espSA(cbc: cbc, esn: esn, variant: variant)
    guard let esp = try? ESPSecurityAssociation(sa, windowSize: size), let sealer = Sealer(sa) else { fail("the fuzz SA does not build") }

    // The window: a top near an edge (plus a small offset), and numbers already received below it.
    let edge = input.u8(), offset = UInt64(input.u8())
    var top = edges[Int(edge) % edges.count] &+ offset
    if !esn { top &= 0xFFFF_FFFF }
    if edge & 0x80 != 0 { top = 0 }
    let behind = (0..<Int(input.u8() % 5)).map { _ in UInt64(input.u16()) }
    var ref = ReferenceWindow(size: size)
    prepare(esp, sealer, &ref, top: top, behind: behind)

    // The packet's sequence number: near the top, or any low half with a high half near the top's.
    let how = input.u8()
    let seq: UInt64
    switch how % 4 {
    case 0, 1:
        let delta = Int64(Int16(bitPattern: input.u16()))
        seq = delta < 0 ? top &- UInt64(-delta) : top &+ UInt64(delta)
    case 2:
        let high = UInt64(UInt32(truncatingIfNeeded: top >> 32) &+ UInt32(truncatingIfNeeded: Int32(Int8(bitPattern: input.u8()) % 2)))
        seq = (esn ? high << 32 : 0) | UInt64(input.u32())
    default:
        seq = UInt64(input.u32()) | (esn ? UInt64(input.u8() % 4) << 32 : 0)
    }
    let sequence = esn ? seq : seq & 0xFFFF_FFFF

    // The plaintext.
    let shape = input.u8(), nextHeader = input.u8(), ivByte = input.u8()
    var rawBody = false
    var plain: [UInt8]
    switch shape % 4 {
    case 0, 1:
        let extra = Int(input.u8() % 20)
        plain = sealer.wellFormed(input.take(Int(input.u16() % 2048)), nextHeader: nextHeader, extra: extra)
    case 2:
        // Any pad bytes and pad length.
        let padLength = input.u8(), pads = input.take(Int(input.u8()))
        plain = input.take(Int(input.u16() % 2048)) + pads + [padLength, nextHeader]
        if cbc { plain = [UInt8](repeating: 0, count: -plain.count & 15) + plain }
    default:
        plain = input.take(Int(input.u16() % 600))
        if cbc { rawBody = true } else { plain += [nextHeader] }
    }
    guard var packet = sealer.seal(plain, seq: sequence, iv: ivByte, rawBody: rawBody) else {
        if cbc && !rawBody && plain.count % 16 != 0 { fail("unaligned CBC plaintext built") }
        return
    }

    // After sealing: a corrupted byte, a truncation, or none.
    let damage = input.u8()
    var damaged = false
    switch damage % 8 {
    case 6:
        let at = Int(input.u16()) % packet.count, mask = input.u8() | 1
        packet[at] ^= mask
        damaged = true
    case 7:
        let n = Int(input.u16()) % packet.count
        damaged = n != packet.count
        packet.removeLast(packet.count - n)
    default:
        break
    }

    let before = esp.window
    let result = esp.open(packet)
    let minimum = 8 + sealer.ivSize + sealer.icvSize + (cbc ? 16 : 4)
    if damaged {
        guard case .failure = result else { fail("a damaged packet was accepted: \(result)") }
        guard esp.window == before else {
            fail("a damaged packet moved the window: \(result)")
        }
        return
    }

    // The expected outcome, step by step.
    let low = UInt32(truncatingIfNeeded: sequence)
    let expected: Outcome
    let check = before.check(low)
    // Within the window, or less than 2^31 ahead of it, the ESN inference must be right.
    let withinWindow = sequence <= ref.top && ref.top - sequence < UInt64(max(size, 1))
    let ahead = sequence > ref.top && sequence - ref.top < 1 << 31 && ref.top > 0
    let inferable = !esn || withinWindow || ahead
    if inferable, case .failure(let r) = check, ref.check(sequence) != r {
        fail("the window refused \(sequence) as \(r); the reference says \(String(describing: ref.check(sequence))) (top \(ref.top), window \(size))")
    }
    if packet.count < minimum {
        expected = .drop(.truncated)
    } else if case .failure(let r) = check {
        expected = .drop(reason(r), r == .zero ? 0 : UInt64(low))
    } else if case .success(let inferred) = check, inferred != sequence {
        // ESN: the high bits the window inferred are not the sender's: the ICV does not verify.
        if inferable { fail("the window read \(inferred) for \(sequence) (top \(ref.top), window \(size), ESN \(esn))") }
        expected = .drop(.authenticationFailed, inferred)
    } else if rawBody && plain.count % 16 != 0 {
        expected = .drop(.misaligned, sequence)
    } else if rawBody {
        // Garbage decrypted: whatever the trailer says, but never a crash (checked below loosely).
        expected = Outcome(result)
    } else {
        if let r = ref.check(sequence) { fail("the window let \(sequence) through; the reference says \(r)") }
        expected = expectedTrailer(plain, seq: sequence)
    }
    guard Outcome(result) == expected else { fail("opened \(result), expected \(expected) (seq \(sequence), top \(ref.top), window \(size))") }

    switch result {
    case .success(let payload):
        guard esp.window.top == max(before.top, payload.sequence) else { fail("the window top did not move to \(payload.sequence)") }
        if size > 0 {
            guard esp.open(packet) == .failure(ESPDrop(reason: .replayed, sequence: UInt64(low))) else { fail("accepted twice") }
        }
    case .failure(let drop):
        if [.badPadding, .dummy].contains(drop.reason) {
            guard esp.window.top == max(before.top, sequence) else { fail("an authenticated packet did not move the window") }
        } else if esp.window != before {
            fail("a packet dropped (\(drop.reason)) before authentication moved the window")
        }
    }

    // The library's own seal: the first packet of a fresh SA, the same payload.
    if shape % 4 < 2, case .success(let payload) = result, payload.data.count <= 512 {
        guard let sender = try? ESPSecurityAssociation(sa, windowSize: size), let receiver = try? ESPSecurityAssociation(sa, windowSize: size),
            let own = try? sender.seal(payload.data, nextHeader: payload.nextHeader)
        else { fail("the library's seal failed") }
        if !cbc, let mine = sealer.seal(sealer.wellFormed(payload.data, nextHeader: payload.nextHeader, extra: 0), seq: 1, iv: 0), mine != own {
            fail("the library's GCM packet differs from RFC 4106's")
        }
        guard case .success(let again) = receiver.open(own), again.data == payload.data, again.nextHeader == payload.nextHeader, again.sequence == 1 else {
            fail("the library's packet does not open to its payload")
        }
    }
}

extension Result where Failure == ESPDrop {
    var failureReason: ESPDropReason? { if case .failure(let d) = self { d.reason } else { nil } }
}

// MARK: - A node

let client = try! SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
let server = try! SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
/// The nodes' shared state lives as long as the process. LeakSanitizer does not recognize a pointer
/// stored in a Swift multi-payload enum with its case in the pointer's spare bits (the compiled
/// policy's constraint nodes, `ConstraintNode.names(_, _, Bitset)`), so it reports what these
/// globals hold at exit as leaked: their allocations are excluded. What an input allocates is not.
@_silgen_name("__lsan_disable") func lsanDisable()
@_silgen_name("__lsan_enable") func lsanEnable()
func global<T>(_ make: () -> T) -> T {
    lsanDisable()
    defer { lsanEnable() }
    return make()
}
let authorizer = global { AssociationAuthorizer(cache: AccessVectorCache(server: try! SecurityServer.embedded())) }

/// The server side of an apply file: its address, its SAs (the inbound ones first) and SPD.
struct Site {
    let client: IPAddress, server: IPAddress
    let sas: [SecurityAssociation]
    let policies: [PolicyEntry]
}

func site(mode: String, v6: Bool) -> Site {
    let yaml = """
        hosts:
          client: { address: \(v6 ? "fd00:77::1" : "10.77.0.1") }
          server: { address: \(v6 ? "fd00:77::2" : "10.77.0.2") }
        associations:
          - { name: echo, between: [client, server], context: \(client), reply_context: \(server),
              policy_context: system_u:object_r:ipsec_spd_t:s0, mode: \(mode), selector: { proto: udp, port: 7 } }
          - { name: other, between: [client, server], context: \(client), reply_context: \(server),
              policy_context: system_u:object_r:ipsec_spd_t:s0, mode: \(mode), encryption: cbc(aes), authentication: hmac(sha256),
              selector: { proto: udp, port: 40007 } }
        """
    let file = try! ApplyFile(yaml: yaml)
    var counter: UInt8 = 0
    let keys = KeyFile.generate(for: file) { n in
        (0..<n).map { _ in
            counter &+= 1; return counter
        }
    }
    let d = try! ApplyPlanner.desired(file, host: "server", keys: keys)
    let c = file.hosts["client"]!.address, s = file.hosts["server"]!.address
    return Site(client: c, server: s, sas: d.sas.filter { $0.destination == s } + d.sas.filter { $0.destination != s }, policies: d.policies)
}

let sites = global { [site(mode: "transport", v6: false), site(mode: "tunnel", v6: false), site(mode: "transport", v6: true), site(mode: "tunnel", v6: true)] }

func fuzzNode(_ input: inout Input) {
    let config = input.u8()
    let s = sites[Int(config) % sites.count]
    let tunnel = config % 2 == 1
    let esn = config & 4 != 0
    let limit = input.u8()
    // The SA the packets come on: the GCM one (port 7) or the CBC one (port 40007).
    let which = Int(config >> 3) % 2
    var sas = s.sas
    guard let index = sas.firstIndex(where: { $0.destination == s.server && ($0.algorithms.aead != nil) == (which == 0) }) else { fail("no inbound SA") }
    if esn { sas[index].flags |= 128; sas[index].replayWindowESN = 64 }
    switch limit % 4 {
    case 1: sas[index].lifetime.softPacketLimit = 1; sas[index].lifetime.hardPacketLimit = 2
    case 2: sas[index].lifetime.softByteLimit = UInt64(limit >> 2); sas[index].lifetime.hardByteLimit = UInt64(limit >> 2) + 40
    default: break
    }
    let sa = sas[index]
    guard sa.destination == s.server, let sealer = Sealer(sa) else { fail("no inbound SA") }
    let node: DataPlaneNode
    do { node = try DataPlaneNode(address: s.server, sas: sas, policies: s.policies, authorizer: authorizer) } catch {
        fail("the node does not build: \(error)")
    }
    guard (try? node.bind(port: 7, context: server)) != nil, (try? node.bind(port: 40007, context: server)) != nil else { fail("bind refused") }

    var seq = UInt64(input.u8() % 4) + 1
    if esn && config & 0x20 != 0 { seq = 0xFFFF_FFFE }
    var delivered = 0
    var hardExpired = false
    // A jump of the sequence number may leave a fresh ESN window in the wrong subspace for good.
    var jumped = false
    for _ in 0..<Int(input.u8() % 4) + 1 {
        if input.isEmpty && delivered > 0 { break }
        let kind = input.u8()
        let port: UInt16 = kind & 0x10 != 0 ? input.u16() : (which == 0 ? 7 : 40007)
        let sourcePort = kind & 0x20 != 0 ? input.u16() : 40000
        let fromClient = kind & 0x40 == 0
        let data = input.take(Int(input.u16() % 1500))
        let d = UDPDatagram(source: fromClient ? s.client : s.server, destination: s.server, sourcePort: sourcePort, destinationPort: port, data: data)
        var inner: [UInt8], nh: UInt8
        var wellFormed = true
        switch kind % 8 {
        case 6:
            inner = input.take(Int(input.u16() % 1500)); nh = tunnel ? (kind & 0x80 != 0 ? 41 : 4) : 17
            wellFormed = false
        case 7:
            inner = tunnel ? d.packet(identification: input.u16()) : d.segment()
            let at = Int(input.u16()) % max(inner.count, 1)
            if !inner.isEmpty { inner[at] ^= input.u8() | 1 }
            nh = tunnel ? d.tunnelNextHeader : 17
            wellFormed = false
        case 5:
            inner = tunnel ? d.packet() : d.segment(); nh = input.u8()
            wellFormed = nh == (tunnel ? d.tunnelNextHeader : 17)
        default:
            inner = tunnel ? d.packet(identification: UInt16(kind)) : d.segment(); nh = tunnel ? d.tunnelNextHeader : 17
        }
        if kind & 0x08 != 0 { seq = seq &+ UInt64(input.u8()); jumped = true }
        guard let packet = sealer.seal(sealer.wellFormed(inner, nextHeader: nh, extra: Int(kind >> 6)), seq: seq, iv: kind) else { fail("sealing failed") }
        seq += 1
        let result = node.receiveESP(packet)
        let expired = node.takeExpireEvents()
        if expired.contains(where: \.hard) { hardExpired = true }
        switch result.outcome {
        case .delivered(let delivery):
            if hardExpired && !expired.contains(where: \.hard) { fail("delivered on an SA past its hard limit") }
            // What was sealed, as the data plane's parsers read it (transport mode: no UDP checksum,
            // the ICV covered it).
            let sent =
                tunnel
                ? try? UDPDatagram(packet: inner, nextHeader: nh)
                : try? UDPDatagram(segment: inner, source: sa.source, destination: sa.destination, verifyingChecksum: false)
            guard let sent, !wellFormed || sent.data == data else { fail("delivered \(delivery) from an inner packet that does not parse as built") }
            guard delivery.data == sent.data, delivery.spi == sa.spi, delivery.sequence == seq - 1, delivery.peer == sa.securityContext,
                delivery.port == sent.destinationPort, delivery.sourcePort == sent.sourcePort, delivery.source == sent.source
            else {
                fail("delivered \(delivery), sealed \(sent)")
            }
            delivered += 1
        case .dropped(let why):
            let expectedDelivery = wellFormed && fromClient && port == (which == 0 ? 7 : 40007) && !hardExpired && !data.isEmpty
            if expectedDelivery, !jumped, sa.lifetime.hardPacketLimit == .max, sa.lifetime.hardByteLimit == .max {
                fail("a well-formed datagram on the client's SA to port \(port) was dropped: \(why)")
            }
        }
    }
    _ = node.counters
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }
    var input = Input(all)
    if input.u8() & 1 == 0 { fuzzSA(&input) } else { fuzzNode(&input) }
    return 0
}
