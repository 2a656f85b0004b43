public import IPsecModel

/// One entry of libreswan's secrets file (`ipsec.secrets(5)`): the two hosts' addresses as the IDs it
/// holds for, and the pre-shared key, written `LEFT RIGHT : PSK "…"`. The key is written as its hex
/// digits inside double quotes: libreswan takes a quoted PSK as the bytes of its characters, and
/// both hosts write the same characters from the same key file, so both hold the same secret.
///
/// The key's bytes appear only in ``text(censored:)`` with `censored: false`, which only the
/// writing of the secrets file calls.
public struct LibreswanSecret: Sendable, Hashable {
    public var left: IPAddress
    public var right: IPAddress
    public var psk: KeyMaterial
    /// The conn the secret is for (written as a comment, for people).
    public var conn: LibreswanConnName

    public init(left: IPAddress, right: IPAddress, psk: KeyMaterial, conn: LibreswanConnName) {
        self.left = left
        self.right = right
        self.psk = psk
        self.conn = conn
    }

    /// What stands for a key in censored text.
    public static let censored = "[censored]"

    /// The entry's lines; with `censored`, the key replaced by ``censored``.
    public func text(censored: Bool) -> String {
        let key = censored ? Self.censored : String(psk.exposedHex.dropFirst(2))
        return "# \(conn.text)\n\(left) \(right) : PSK \"\(key)\"\n"
    }
}
