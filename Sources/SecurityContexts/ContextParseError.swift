// Errors for malformed context text and for levels, ranges and contexts that cannot be resolved
// against an `MLSVocabulary`.

/// A part of a security context, named in errors.
public enum ContextComponent: String, Sendable, Hashable, CustomStringConvertible {
    /// The SELinux user (`system_u`).
    case user
    /// The role (`system_r`).
    case role
    /// The type, or domain (`ipsec_t`).
    case type
    /// The sensitivity of a level (`s0` in `s0:c1`).
    case sensitivity
    /// One category name of a category set (`c1` in `s0:c1`).
    case category
    /// The MLS range (`s0-s1:c0.c3`).
    case range

    /// The name of the component.
    public var description: String { rawValue }
}

/// A context, level or range that is malformed (syntax) or that cannot be resolved against an
/// `MLSVocabulary` (meaning).
///
/// Syntax errors carry the byte `offset` in the input where the problem was found (0-based, in
/// UTF-8 bytes) and, where one applies, what was `expected` there. Resolution errors name the
/// offending sensitivity or category instead, and have no offset.
public struct ContextParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Sendable, Hashable {
        // Syntax (from parsing text or bytes).
        /// The input is empty.
        case empty
        /// The input is longer than the kernel accepts (`limit` bytes: PAGE_SIZE - 1). Never truncated.
        case tooLong(length: Int, limit: Int)
        /// A NUL byte inside the input (a single trailing NUL terminator is accepted from bytes).
        case embeddedNUL
        /// Whitespace, a control character, or a byte outside ASCII.
        case invalidCharacter(UInt8)
        /// A component is present but empty (`u::t`, `u:r:t:`, `s0:`, `s0:c1,,c2`).
        case emptyComponent(ContextComponent)
        /// The input ends before a required component (`u:r`).
        case missingComponent(ContextComponent)
        /// A character that may not appear here (a `:` too many, a `-` in a name of a level).
        case unexpectedCharacter(UInt8)
        /// A category range that is not `cA.cB` (`c5.`, `.c5`, `c0.c1.c2`).
        case malformedCategoryRange

        // Meaning (from resolving against an `MLSVocabulary`).
        /// The context has no MLS range, but the vocabulary requires one.
        case missingRange
        /// A sensitivity the vocabulary does not define (by name or alias).
        case unknownSensitivity(String)
        /// A category the vocabulary does not define (by name or alias).
        case unknownCategory(String)
        /// A category that no `level` statement allows with this sensitivity.
        case categoryNotAllowed(category: String, sensitivity: String)
        /// A category range whose first end comes after its second (`c5.c2`), as written.
        case reversedCategoryRange(low: String, high: String)
        /// A category range whose ends are the same category (`c5.c5`): the kernel rejects it in
        /// context strings (`mls_context_to_sid` requires the first end strictly lower).
        case degenerateCategoryRange(low: String, high: String)
        /// The high level of a range does not dominate the low level (canonical forms).
        case highDoesNotDominateLow(low: String, high: String)
    }

    /// What is wrong.
    public var kind: Kind
    /// The byte offset of the problem in the input, for syntax errors.
    public var offset: Int?
    /// What was expected at `offset`, when something specific was.
    public var expected: String?
    /// Extra detail (for example which name an alias stands for).
    public var note: String?

    /// Creates an error.
    public init(_ kind: Kind, at offset: Int? = nil, expected: String? = nil, note: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.expected = expected
        self.note = note
    }

    /// A one-line description of the problem, without the offset.
    public var message: String {
        var text: String
        switch kind {
        case .empty:
            text = "empty security context"
        case .tooLong(let length, let limit):
            text = "security context is \(length) bytes long; the kernel accepts at most \(limit)"
        case .embeddedNUL:
            text = "NUL byte inside the security context"
        case .invalidCharacter(let byte):
            text = "invalid character \(Self.describe(byte)) (whitespace, control characters and non-ASCII bytes are not allowed)"
        case .emptyComponent(let component):
            text = "empty \(component)"
        case .missingComponent(let component):
            text = "missing \(component)"
        case .unexpectedCharacter(let byte):
            text = "unexpected \(Self.describe(byte))"
        case .malformedCategoryRange:
            text = "malformed category range"
        case .missingRange:
            text = "the context has no MLS range"
        case .unknownSensitivity(let name):
            text = "unknown sensitivity '\(name)'"
        case .unknownCategory(let name):
            text = "unknown category '\(name)'"
        case .categoryNotAllowed(let category, let sensitivity):
            text = "category '\(category)' is not allowed with sensitivity '\(sensitivity)'"
        case .reversedCategoryRange(let low, let high):
            text = "category range '\(low).\(high)' is reversed"
        case .degenerateCategoryRange(let low, let high):
            text = "category range '\(low).\(high)' names one category twice"
        case .highDoesNotDominateLow(let low, let high):
            text = "high level '\(high)' does not dominate low level '\(low)'"
        }
        if let expected { text += "; expected \(expected)" }
        if let note { text += " (\(note))" }
        return text
    }

    /// `byte N: message` for syntax errors, `message` otherwise.
    public var description: String {
        if let offset { return "byte \(offset): \(message)" }
        return message
    }

    static func describe(_ byte: UInt8) -> String {
        switch byte {
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        default:
            let hex = String(byte, radix: 16, uppercase: true)
            return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
        }
    }
}
