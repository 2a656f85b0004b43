import Foundation
public import IPsecModel

/// The keys of an apply file's SAs, shared by both hosts the way setkey files are: a YAML file with
/// mode 0600, one entry per association and direction. `salabel keygen` writes it with fresh keys
/// from OpenSSL's RNG; `salabel apply` reads it (and writes it first when it does not exist).
///
///     echo:
///       forward: { aead: 0x… }                   # initiator → responder
///       reverse: { aead: 0x… }
public struct KeyFile: Sendable, Hashable {
    /// The keys of one SA: an AEAD key, or encryption and/or authentication keys.
    public struct Keys: Sendable, Hashable {
        public var aead: KeyMaterial?
        public var encryption: KeyMaterial?
        public var authentication: KeyMaterial?
    }

    /// Association name → (initiator→responder, responder→initiator).
    public var keys: [String: (forward: Keys, reverse: Keys)]

    public static func == (a: KeyFile, b: KeyFile) -> Bool {
        a.keys.count == b.keys.count && a.keys.allSatisfy { k, v in b.keys[k].map { $0.forward == v.forward && $0.reverse == v.reverse } ?? false }
    }

    public func hash(into h: inout Hasher) { h.combine(keys.count) }

    /// Default key sizes in bits: AEAD `rfc4106(gcm(aes))` AES-128 + 32-bit salt, `cbc(aes)` 128,
    /// `hmac(sha256)` 256 (RFC 4868), `hmac(sha1)` 160.
    public static func defaultBits(aead: String?, encryption: String?, authentication: String?) -> (aead: Int, encryption: Int, authentication: Int) {
        let authBits: Int
        switch authentication {
        case "hmac(sha1)", "sha1": authBits = 160
        case "hmac(sha384)": authBits = 384
        case "hmac(sha512)": authBits = 512
        default: authBits = 256
        }
        return (160, 128, authBits)
    }

    /// Fresh keys for every association of `file` that has none in `existing`, from `random`
    /// (OpenSSL's RNG in salabel; a function from a byte count to that many random bytes).
    public static func generate(for file: ApplyFile, keeping existing: KeyFile? = nil, random: (Int) throws -> [UInt8]) rethrows -> KeyFile {
        var out = existing ?? KeyFile(keys: [:])
        for a in file.associations where out.keys[a.name] == nil {
            let bits = defaultBits(aead: a.aead, encryption: a.encryption, authentication: a.authentication)
            func one() throws -> Keys {
                Keys(aead: try a.aead.map { _ in KeyMaterial(try random(Int(a.keyBits ?? UInt32(bits.aead)) / 8)) },
                     encryption: try a.encryption.map { _ in KeyMaterial(try random(Int(a.keyBits ?? UInt32(bits.encryption)) / 8)) },
                     authentication: try a.authentication.map { _ in KeyMaterial(try random(bits.authentication / 8)) })
            }
            out.keys[a.name] = (try one(), try one())
        }
        return out
    }

    /// Parses a key file.
    public init(yaml text: String) throws(ApplyFile.Error) {
        let root: Any?
        do { root = try YAMLDocument.load(text) } catch { throw ApplyFile.Error(path: "key file", message: error.message) }
        guard let top = root as? [String: Any] else { throw ApplyFile.Error(path: "key file", message: "expected a mapping of association names") }
        var keys: [String: (Keys, Keys)] = [:]
        for (name, value) in top {
            guard let dirs = value as? [String: Any], let f = dirs["forward"] as? [String: Any], let r = dirs["reverse"] as? [String: Any], dirs.count == 2 else {
                throw ApplyFile.Error(path: "key file: \(name)", message: "expected { forward: {…}, reverse: {…} }")
            }
            func parse(_ m: [String: Any], _ dir: String) throws(ApplyFile.Error) -> Keys {
                var k = Keys()
                for (role, hex) in m {
                    guard let key = KeyMaterial(hex: "\(hex)"), key.count > 0 else {
                        throw ApplyFile.Error(path: "key file: \(name).\(dir).\(role)", message: "expected a hex key (0x…)")
                    }
                    switch role {
                    case "aead": k.aead = key
                    case "encryption": k.encryption = key
                    case "authentication": k.authentication = key
                    default: throw ApplyFile.Error(path: "key file: \(name).\(dir).\(role)", message: "unknown key role (aead, encryption, authentication)")
                    }
                }
                return k
            }
            keys[name] = (try parse(f, "forward"), try parse(r, "reverse"))
        }
        self.keys = keys
    }

    public init(keys: [String: (forward: Keys, reverse: Keys)]) { self.keys = keys }

    /// The file's text. It holds secrets: write it only with ``write(to:)``.
    func yamlText() -> String {
        var text = "# salabel key file: secret. Keep it mode 0600 and share it only with the peer host.\n"
        for name in keys.keys.sorted() {
            let (f, r) = keys[name]!
            func line(_ k: Keys) -> String {
                var parts: [String] = []
                if let a = k.aead { parts.append("aead: \"\(a.exposedHex)\"") }
                if let e = k.encryption { parts.append("encryption: \"\(e.exposedHex)\"") }
                if let a = k.authentication { parts.append("authentication: \"\(a.exposedHex)\"") }
                return "{ " + parts.joined(separator: ", ") + " }"
            }
            text += "\(name):\n  forward: \(line(f))\n  reverse: \(line(r))\n"
        }
        return text
    }

    /// Writes the file with mode 0600 (created so; never readable by others, even briefly).
    public func write(to path: String) throws(ApplyFile.Error) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ApplyFile.Error(path: path, message: "cannot create the key file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { throw ApplyFile.Error(path: path, message: "cannot set mode 0600: \(String(cString: strerror(errno)))") }
        var bytes = Array(yamlText().utf8)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ApplyFile.Error(path: path, message: "cannot write the key file: \(String(cString: strerror(errno)))") }
            off += n
        }
    }

    /// Reads a key file, refusing one that others may read.
    public static func read(from path: String) throws(ApplyFile.Error) -> KeyFile {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ApplyFile.Error(path: path, message: "cannot read the key file: \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o077 == 0 else {
            throw ApplyFile.Error(path: path, message: "the key file is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ApplyFile.Error(path: path, message: "cannot read the key file")
        }
        return try KeyFile(yaml: text)
    }
}
