import Foundation
import IPsecModel

/// How a key reaches salabel on the command line: `0x…` hex (visible to every user of the machine
/// in `ps` and `/proc/PID/cmdline`), `@FILE` (a file only its owner may read or write, checked as
/// `apply` checks key files, ``KeyFile/readPrivate(_:limit:)``) or `-` (standard input).
/// Specs/manager/keys.md, "Keys on the command line".
public enum KeyArgument {
    /// Why a key could not be read. Never holds the key.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The most bytes read from a key file or standard input (hex of the longest key, with room for blanks).
    public static let maximumInputBytes = 4 * AlgorithmKeyRules.maximumKeyBytes + 64

    /// Reads a key given as hex, `@FILE` or `-`, and returns it as `0x…` hex. Errors never hold the key.
    public static func readKey(_ spec: String) throws(Failure) -> String {
        let text: String, origin: String
        if spec == "-" {
            origin = "standard input"
            let data = FileHandle.standardInput.readData(ofLength: maximumInputBytes + 1)
            guard data.count <= maximumInputBytes else { throw Failure(description: "the key on standard input is longer than \(maximumInputBytes) bytes") }
            text = String(decoding: data, as: UTF8.self)
        } else if spec.hasPrefix("@") {
            let path = String(spec.dropFirst())
            origin = path
            do { text = String(decoding: try KeyFile.readPrivate(path, limit: maximumInputBytes), as: UTF8.self) } catch {
                throw Failure(description: "\(error)")
            }
        } else {
            guard spec.hasPrefix("0x"), KeyMaterial(hex: spec) != nil else {
                throw Failure(description: "a key is hex starting with 0x, @FILE or - (standard input)")
            }
            return spec
        }
        var hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !hex.isEmpty else { throw Failure(description: "\(origin) holds no key") }
        if !hex.hasPrefix("0x") { hex = "0x" + hex }
        guard KeyMaterial(hex: hex) != nil else { throw Failure(description: "\(origin) does not hold a hex key (an even number of hex digits, 0x optional)") }
        return hex
    }

    /// The `ip xfrm state` words with every key given as `@FILE` or `-` read in: the word after an
    /// algorithm name (`enc NAME KEY`, `auth NAME KEY`, `auth-trunc NAME KEY BITS`, `aead NAME KEY BITS`).
    public static func resolvingKeyWords(_ words: [String]) throws(Failure) -> [String] {
        var out = words
        var i = 0
        while i < out.count {
            if ["enc", "auth", "auth-trunc", "aead"].contains(out[i]), i + 2 < out.count {
                let key = out[i + 2]
                if key == "-" || key.hasPrefix("@") { out[i + 2] = try readKey(key) }
                i += 3
                continue
            }
            i += 1
        }
        return out
    }
}
