/// Values as libreswan's configuration parser reads them (`lib/libipsecconf/parser.l` @v4.10): a
/// bare word ends at white space and a `#` may start a comment, so a value with anything but the
/// plain characters below is written in double quotes; a value with a double quote, a backslash or
/// a control character is refused rather than escaped (no label or address salabel writes has one).
public enum LibreswanValue {
    /// Characters written bare: letters, digits and `. _ - : / , % @ +` (a context's `:` and MLS `,`
    /// included; the tests check that libreswan reads each form back unchanged).
    static let bare = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/,%@+")

    /// `value` as it goes after `keyword=`: bare when it can be, else in double quotes.
    /// - Throws: ``LibreswanConfigError/unwritableValue(keyword:why:)`` for an empty value or one with
    ///   a double quote, backslash or control character.
    public static func written(_ value: String, keyword: String) throws(LibreswanConfigError) -> String {
        guard !value.isEmpty else { throw .unwritableValue(keyword: keyword, why: "an empty value") }
        for scalar in value.unicodeScalars where scalar == "\"" || scalar == "\\" || scalar.value < 0x20 || scalar.value == 0x7F {
            throw .unwritableValue(keyword: keyword, why: "a double quote, backslash or control character")
        }
        return value.allSatisfy { bare.contains($0) } ? value : "\"\(value)\""
    }
}

/// Why a libreswan configuration cannot be written.
public enum LibreswanConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A value libreswan's parser could not read back as written (the keyword it was for).
    case unwritableValue(keyword: String, why: String)
    /// An association name that cannot name a conn.
    case badConnName(String, why: String)

    public var description: String {
        switch self {
        case .unwritableValue(let keyword, let why): return "\(keyword)= cannot be written: \(why)"
        case .badConnName(let name, let why): return "the association name \(name) cannot name a libreswan conn: \(why)"
        }
    }
}
