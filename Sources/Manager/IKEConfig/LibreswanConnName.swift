/// The name of a conn salabel writes: `salabel-` and the association's name, so that salabel's conns
/// are told apart from others in pluto (`ipsec status`, `whack --name`) and `--remove` deletes only
/// its own. libreswan's parser takes almost any word (it reads `conn x/y` or `conn x#y`), but `%`
/// names are its own (`%default`) and whack takes the name as one argument, so salabel keeps to
/// letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 64 characters.
public struct LibreswanConnName: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The prefix of every conn salabel writes.
    public static let prefix = "salabel-"

    /// The conn's name, as written after `conn` and given to `ipsec auto`.
    public let text: String

    /// The conn name of the association `association`.
    /// - Throws: ``LibreswanConfigError/badConnName(_:why:)``.
    public init(association: String) throws(LibreswanConfigError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard let first = association.first, first.isASCII, first.isLetter || first.isNumber else {
            throw .badConnName(association, why: "it must start with a letter or digit")
        }
        guard association.allSatisfy({ allowed.contains($0) }) else {
            throw .badConnName(association, why: "only letters, digits, '.', '_' and '-' are allowed")
        }
        guard association.count <= 64 else { throw .badConnName(association, why: "more than 64 characters") }
        text = Self.prefix + association
    }

    /// A name read back from a file salabel wrote (it is not checked again).
    init(written: String) { text = written }

    public var description: String { text }
    public static func < (a: Self, b: Self) -> Bool { a.text < b.text }
}
