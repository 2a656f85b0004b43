import ESPDataPlane
import Foundation
import Glibc
public import IPsecModel
import LinuxSystem  // Errno, SocketDescriptor
import XfrmManager

// The userspace ESP data plane on real UDP sockets, one SA given in `ip xfrm state add` words, for
// the wire-compatibility checks against the kernel's ESP (`salabel esp-wire`,
// Tests/KernelVMTests/ESPWireCompatibilityVMTests.swift): the same words configure the kernel and
// salabel. Each run reports what happened as typed events, one per datagram, as it happens; keys
// never appear in an event or an error.

/// Why an ESP-wire run could not start or go on. The text never contains a key.
public struct ESPWireError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// A bad `--state` line or SA: an algorithm, mode or protocol the data plane does not run.
        case input
        /// Options that do not fit the SA (tunnel-mode addresses for a transport SA, a message too long).
        case usage
        /// A socket the system refused.
        case system
        /// The capture file asked for could not be written.
        case output
    }
    public var kind: Kind
    public var description: String
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// `SOL_UDP` (17), its option `UDP_ENCAP` (100) and that option's value `UDP_ENCAP_ESPINUDP` (2): linux/udp.h.
let solUDP: Int32 = 17
let udpEncap: Int32 = 100
let udpEncapESPInUDP: Int32 = 2

public enum ESPWire {
    // MARK: The SA

    /// The SA in `ip xfrm state add` words (the leading `ip xfrm state add|update` optional), read by
    /// the parser of `salabel xfrm`. An error never repeats a key: a word that stands where a key
    /// stands is replaced by `<key>`. ESP only; encapsulation, if any, is espinudp (RFC 3948).
    public static func securityAssociation(stateWords line: String) throws(ESPWireError) -> SecurityAssociation {
        var words: [String]
        do { words = try IPXfrmSyntax.words(line) } catch { throw ESPWireError(.input, "--state: \(error.message)") }
        if words.first == "ip" { words.removeFirst() }
        if words.first == "xfrm" { words.removeFirst() }
        if words.first == "state" { words.removeFirst() }
        if let verb = words.first, verb == "add" || verb == "update" { words.removeFirst() }
        let keys = Set(
            words.indices.compactMap { i -> String? in
                guard ["enc", "auth", "auth-trunc", "aead"].contains(words[i]), i + 2 < words.count else { return nil }
                return words[i + 2]
            }.filter { $0.count >= 4 })
        func redacted(_ text: String) -> String {
            keys.reduce(text) { $0.replacingOccurrences(of: $1, with: "<key>") }
        }
        let operation: XfrmOperation
        do { operation = try IPXfrmSyntax.parse(words: ["state", "add"] + words) } catch {
            // Word numbers count from the first word after `state add`.
            let at = error.word > 2 ? "word \(error.word - 2): " : ""
            throw ESPWireError(.input, "--state: \(at)\(redacted(error.message))")
        }
        guard case .addSA(let sa) = operation else { throw ESPWireError(.input, "--state: not a state") }
        guard sa.proto == .esp else { throw ESPWireError(.input, "--state: proto \(sa.proto): salabel's data plane runs ESP only") }
        if let encap = sa.encapsulation, encap.type != 2 {
            throw ESPWireError(.input, "--state: encap type \(encap.type): the data plane runs espinudp (RFC 3948) only")
        }
        return sa
    }

    /// The data plane's transform for `sa`; an unsupported algorithm is a clear error (no key in it).
    static func transform(_ sa: SecurityAssociation) throws(ESPWireError) -> ESPSecurityAssociation {
        do { return try ESPSecurityAssociation(sa) } catch {
            throw ESPWireError(.input, "--state (spi 0x\(String(sa.spi, radix: 16))): \(error)")
        }
    }

    /// A UDP socket bound to `address`.
    static func open(_ address: SocketAddress) throws(ESPWireError) -> UDPSocket {
        do { return try UDPSocket(binding: address) } catch {
            throw ESPWireError(.system, "bind to port \(address.port): \(Errno(rawValue: error.errno).name)")
        }
    }

    /// The wall clock, for pcap timestamps.
    static func now() -> (UInt32, UInt32) {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return (UInt32(truncatingIfNeeded: t.tv_sec), UInt32(t.tv_nsec / 1000))
    }

    /// Writes a capture, if one was asked for.
    static func write(_ file: Pcap?, to path: String?) throws(ESPWireError) {
        guard let path, let file else { return }
        guard FileManager.default.createFile(atPath: path, contents: Data(file.bytes)) else {
            throw ESPWireError(.output, "cannot write the pcap file \(path)")
        }
    }

    // MARK: encap-socket

    /// Holds a UDP socket with `UDP_ENCAP_ESPINUDP` on `port`, so that the kernel decapsulates ESP in
    /// UDP arriving there; calls `ready` once the option is set, then sleeps for `seconds` (nil:
    /// until the process is killed).
    public static func holdEncapSocket(port: UInt16, family: IPAddress.Family, seconds: Double?, ready: () -> Void) throws(ESPWireError) {
        let socket = try open(SocketAddress(.any(family), port))
        do { try SocketDescriptor(rawValue: socket.fd).setOption(level: solUDP, udpEncap, udpEncapESPInUDP) } catch {
            throw ESPWireError(.system, "setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP): \(error.name)")
        }
        ready()
        if let seconds {
            var left = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
            var rest = timespec()
            while case .failure(.interrupted) = valueOrErrno(retryOnInterrupt: false, { nanosleep(&left, &rest) }) { left = rest }
        } else {
            while true { pause() }
        }
    }

    /// SIGPIPE off, for a run whose output may be a closed pipe.
    public static func ignoreBrokenPipes() { signal(SIGPIPE, SIG_IGN) }
}
