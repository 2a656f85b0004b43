import Foundation
import SecurityContexts
import Testing
import TestSupport

/// Parsing, printing and the string conformances of `SecurityContext`, `LevelSyntax`, `RangeSyntax`.
@Suite struct ParsingTests {
    // MARK: Valid input

    struct Valid: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: SecurityContext
        /// What `description` prints, when it differs from `text`.
        var printed: String? = nil
        var testDescription: String { text }
    }

    static let s0 = LevelSyntax(sensitivity: "s0")

    static let valid: [Valid] = [
        Valid(text: "u:r:t", expected: SecurityContext(user: "u", role: "r", type: "t")),
        Valid(
            text: "system_u:object_r:etc_t:s0",
            expected: SecurityContext(user: "system_u", role: "object_r", type: "etc_t", range: RangeSyntax(low: s0))),
        Valid(
            text: "user.name-1:role_r:type-t.x:s0",
            expected: SecurityContext(user: "user.name-1", role: "role_r", type: "type-t.x", range: RangeSyntax(low: s0))),
        Valid(
            text: "u:r:t:s0:c0",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(low: LevelSyntax(sensitivity: "s0", categories: [.single("c0")])))),
        Valid(
            text: "u:r:t:s0:c0.c1023",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(low: LevelSyntax(sensitivity: "s0", categories: [.range("c0", "c1023")])))),
        Valid(
            text: "u:r:t:s0:c0,c3.c5,c9",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(low: LevelSyntax(sensitivity: "s0", categories: [.single("c0"), .range("c3", "c5"), .single("c9")])))),
        Valid(
            text: "u:r:t:s0-s15:c0.c1023",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(low: s0, high: LevelSyntax(sensitivity: "s15", categories: [.range("c0", "c1023")])))),
        Valid(
            text: "u:r:t:s0:c1-s1:c2,c3",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(
                    low: LevelSyntax(sensitivity: "s0", categories: [.single("c1")]),
                    high: LevelSyntax(sensitivity: "s1", categories: [.single("c2"), .single("c3")])))),
        // Syntactically equal low and high: kept as written, printed once.
        Valid(
            text: "u:r:t:s0-s0",
            expected: SecurityContext(user: "u", role: "r", type: "t", range: RangeSyntax(low: s0, high: s0)),
            printed: "u:r:t:s0"),
        Valid(
            text: "u:r:t:s0:c1-s0:c1",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(
                    low: LevelSyntax(sensitivity: "s0", categories: [.single("c1")]),
                    high: LevelSyntax(sensitivity: "s0", categories: [.single("c1")]))),
            printed: "u:r:t:s0:c1"),
        // Not canonical, but syntactically fine: parsing keeps what was written.
        Valid(
            text: "u:r:t:s0:c5,c1,c5.c9",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(low: LevelSyntax(sensitivity: "s0", categories: [.single("c5"), .single("c1"), .range("c5", "c9")])))),
        Valid(
            text: "u:r:t:unclassified:finance",
            expected: SecurityContext(
                user: "u", role: "r", type: "t",
                range: RangeSyntax(low: LevelSyntax(sensitivity: "unclassified", categories: [.single("finance")])))),
    ]

    @Test(arguments: valid)
    func parsesValid(_ entry: Valid) throws {
        let context = try SecurityContext(parsing: entry.text)
        #expect(context == entry.expected)
        #expect(context.description == (entry.printed ?? entry.text))
        // From bytes, with and without a terminator.
        #expect(try SecurityContext(bytes: Array(entry.text.utf8)) == entry.expected)
        #expect(try SecurityContext(bytes: Array(entry.text.utf8) + [0]) == entry.expected)
        // Round trip: printing then parsing gives the same context, up to a high level equal to the low one.
        let reparsed = try SecurityContext(parsing: context.description)
        #expect(reparsed.description == context.description)
        #expect(Self.normalized(reparsed) == Self.normalized(context))
        #expect(SecurityContext(entry.text) == entry.expected)
    }

    /// The context with a high level that equals the low level dropped.
    static func normalized(_ context: SecurityContext) -> SecurityContext {
        var result = context
        if let range = result.range, range.high == range.low { result.range = RangeSyntax(low: range.low) }
        return result
    }

    // MARK: Invalid input

    struct Invalid: Sendable, CustomTestStringConvertible {
        var text: String
        var kind: ContextParseError.Kind
        var offset: Int
        var testDescription: String { text.debugDescription }
    }

    static let invalid: [Invalid] = [
        Invalid(text: "", kind: .empty, offset: 0),
        Invalid(text: "u", kind: .missingComponent(.role), offset: 1),
        Invalid(text: "u:", kind: .emptyComponent(.role), offset: 2),
        Invalid(text: "u:r", kind: .missingComponent(.type), offset: 3),
        Invalid(text: "u:r:", kind: .emptyComponent(.type), offset: 4),
        Invalid(text: ":r:t", kind: .emptyComponent(.user), offset: 0),
        Invalid(text: "u::t", kind: .emptyComponent(.role), offset: 2),
        Invalid(text: "u:r::s0", kind: .emptyComponent(.type), offset: 4),
        Invalid(text: "u:r:t:", kind: .emptyComponent(.sensitivity), offset: 6),
        Invalid(text: "u:r:t::c0", kind: .emptyComponent(.sensitivity), offset: 6),
        Invalid(text: "u:r:t:-s0", kind: .emptyComponent(.sensitivity), offset: 6),
        Invalid(text: "u:r:t:s0-", kind: .emptyComponent(.sensitivity), offset: 9),
        Invalid(text: "u:r:t:s0-:c1", kind: .emptyComponent(.sensitivity), offset: 9),
        Invalid(text: "u:r:t:s0:", kind: .emptyComponent(.category), offset: 9),
        Invalid(text: "u:r:t:s0:,c1", kind: .emptyComponent(.category), offset: 9),
        Invalid(text: "u:r:t:s0:c0,,c1", kind: .emptyComponent(.category), offset: 12),
        Invalid(text: "u:r:t:s0:c0,", kind: .emptyComponent(.category), offset: 12),
        Invalid(text: "u:r:t:s0:c0-s1:", kind: .emptyComponent(.category), offset: 15),
        Invalid(text: "u:r:t:s0:-s1", kind: .emptyComponent(.category), offset: 9),
        // Too many ':' in the wrong place.
        Invalid(text: "u:r:t:s0:c0:c1", kind: .unexpectedCharacter(UInt8(ascii: ":")), offset: 11),
        Invalid(text: "u:r:t:s0:c0-s1:c1:c2", kind: .unexpectedCharacter(UInt8(ascii: ":")), offset: 17),
        // Bad category range syntax.
        Invalid(text: "u:r:t:s0:c5.", kind: .malformedCategoryRange, offset: 12),
        Invalid(text: "u:r:t:s0:c5.,c6", kind: .malformedCategoryRange, offset: 12),
        Invalid(text: "u:r:t:s0:c5.-s1", kind: .malformedCategoryRange, offset: 12),
        Invalid(text: "u:r:t:s0:.c5", kind: .malformedCategoryRange, offset: 9),
        Invalid(text: "u:r:t:s0:c0..c5", kind: .malformedCategoryRange, offset: 12),
        Invalid(text: "u:r:t:s0:c0.c1.c2", kind: .malformedCategoryRange, offset: 14),
        // Range syntax.
        Invalid(text: "u:r:t:s0-s1-s2", kind: .unexpectedCharacter(UInt8(ascii: "-")), offset: 11),
        Invalid(text: "u:r:t:s0:c0-s1:c1-s2", kind: .unexpectedCharacter(UInt8(ascii: "-")), offset: 17),
        Invalid(text: "u:r:t:s0.c1", kind: .unexpectedCharacter(UInt8(ascii: ".")), offset: 8),
        Invalid(text: "u:r:t:s0,c1", kind: .unexpectedCharacter(UInt8(ascii: ",")), offset: 8),
        // Characters.
        Invalid(text: "u r:t", kind: .invalidCharacter(0x20), offset: 1),
        Invalid(text: " u:r:t", kind: .invalidCharacter(0x20), offset: 0),
        Invalid(text: "u:r:t\n", kind: .invalidCharacter(0x0A), offset: 5),
        Invalid(text: "u:r:t:s0\t", kind: .invalidCharacter(0x09), offset: 8),
        Invalid(text: "u:r:t\u{7F}", kind: .invalidCharacter(0x7F), offset: 5),
        Invalid(text: "u:r:t\u{1B}", kind: .invalidCharacter(0x1B), offset: 5),
        Invalid(text: "u:r:tä", kind: .invalidCharacter(0xC3), offset: 5),
        Invalid(text: "u:r:t\0", kind: .embeddedNUL, offset: 5),
        Invalid(text: "u\0:r:t:s0", kind: .embeddedNUL, offset: 1),
        Invalid(text: "u$:r:t", kind: .unexpectedCharacter(UInt8(ascii: "$")), offset: 1),
        Invalid(text: "u:r/x:t", kind: .unexpectedCharacter(UInt8(ascii: "/")), offset: 3),
        Invalid(text: "u:r:t$", kind: .unexpectedCharacter(UInt8(ascii: "$")), offset: 5),
        Invalid(text: "u:r:t:s$0", kind: .unexpectedCharacter(UInt8(ascii: "$")), offset: 7),
        Invalid(text: "u:r:t:s0:c$", kind: .unexpectedCharacter(UInt8(ascii: "$")), offset: 10),
        Invalid(text: "u:r:t:s0:c1.c$", kind: .unexpectedCharacter(UInt8(ascii: "$")), offset: 13),
    ]

    @Test(arguments: invalid)
    func rejectsInvalid(_ entry: Invalid) {
        let error = #expect(throws: ContextParseError.self) { try SecurityContext(parsing: entry.text) }
        #expect(error?.kind == entry.kind)
        #expect(error?.offset == entry.offset)
        #expect(error?.description.hasPrefix("byte \(entry.offset): ") == true)
        #expect(SecurityContext(entry.text) == nil)
    }

    @Test func messagesSayWhatWasExpected() throws {
        func message(_ text: String) -> String {
            do {
                _ = try SecurityContext(parsing: text)
                return "parsed"
            } catch {
                return error.description
            }
        }
        #expect(
            message("u:r:t:s0:c0:c1")
                == "byte 11: unexpected ':'; expected ',', '-' or end of input (a level has one ':', between its sensitivity and its categories)")
        #expect(message("u:r:t:s0:c5.") == "byte 12: malformed category range; expected a category name after '.'")
        #expect(message("u:r") == "byte 3: missing type; expected ':' and a type")
        #expect(message("u::t") == "byte 2: empty role; expected a role name")
        #expect(message("u:r:t:s0-s1-s2") == "byte 11: unexpected '-'; expected ':' or end of input (a range has one '-')")
        #expect(message("u:r:t\n") == "byte 5: invalid character byte 0x0A (whitespace, control characters and non-ASCII bytes are not allowed)")
        #expect(
            message("u:r:t:s0:c0.c1.c2")
                == "byte 14: malformed category range; expected ',', '-' or end of input (a category range has two ends)")
    }

    // MARK: Length and NUL

    @Test func lengthBoundary() throws {
        let prefix = "u:r:"
        let longest = prefix + String(repeating: "a", count: 4095 - prefix.utf8.count)
        #expect(longest.utf8.count == 4095)
        let context = try SecurityContext(parsing: longest)
        #expect(context.type.utf8.count == 4091)
        #expect(context.description == longest)

        let tooLong = longest + "a"
        let error = #expect(throws: ContextParseError.self) { try SecurityContext(parsing: tooLong) }
        #expect(error?.kind == .tooLong(length: 4096, limit: 4095))
        #expect(error?.offset == 4095)

        // Never truncated, whatever comes after the limit.
        let wayTooLong = longest + String(repeating: "b", count: 10_000)
        #expect(throws: ContextParseError(.tooLong(length: 14_095, limit: 4095), at: 4095)) {
            try SecurityContext(parsing: wayTooLong)
        }

        // Bytes: the limit counts the terminator too, as the kernel counts ctx_len.
        #expect(try SecurityContext(bytes: Array(longest.utf8)) == context)
        let shorter = String(longest.dropLast())
        #expect(try SecurityContext(bytes: Array(shorter.utf8) + [0]).description == shorter)
        #expect(throws: ContextParseError(.tooLong(length: 4096, limit: 4095), at: 4095)) {
            try SecurityContext(bytes: Array(longest.utf8) + [0])
        }
        #expect(SecurityContext.maximumLength == 4095)

        // Levels and ranges have the same limit.
        let longLevel = "s0:" + String(repeating: "c", count: 4093)
        #expect(throws: ContextParseError(.tooLong(length: 4096, limit: 4095), at: 4095)) {
            try LevelSyntax(parsing: longLevel)
        }
    }

    @Test func nulBytes() throws {
        #expect(throws: ContextParseError(.embeddedNUL, at: 3)) { try SecurityContext(bytes: Array("u:r\0:t".utf8)) }
        // One trailing terminator is accepted; a second is an embedded NUL.
        #expect(try SecurityContext(bytes: Array("u:r:t\0".utf8)).description == "u:r:t")
        #expect(throws: ContextParseError(.embeddedNUL, at: 5)) { try SecurityContext(bytes: Array("u:r:t\0\0".utf8)) }
        #expect(throws: ContextParseError(.empty, at: 0, expected: "a security context")) { try SecurityContext(bytes: [0]) }
        #expect(throws: ContextParseError(.empty, at: 0, expected: "a security context")) { try SecurityContext(bytes: [UInt8]()) }
        // From a String, a NUL is never a terminator.
        #expect(throws: ContextParseError(.embeddedNUL, at: 5)) { try SecurityContext(parsing: "u:r:t\0") }
        // Bytes of any collection, e.g. a slice of a netlink buffer.
        let buffer: [UInt8] = [9, 9] + Array("u:r:t:s0".utf8) + [0, 7]
        #expect(try SecurityContext(bytes: buffer[2..<11]).description == "u:r:t:s0")
        #expect(try SecurityContext(parsing: "u:r:t:s0").bytes == Array("u:r:t:s0".utf8))
    }

    // MARK: Levels and ranges alone

    @Test func levelsAndRanges() throws {
        #expect(try LevelSyntax(parsing: "s2:c0.c3,c7") == LevelSyntax(sensitivity: "s2", categories: [.range("c0", "c3"), .single("c7")]))
        #expect(try LevelSyntax(parsing: "s0").description == "s0")
        #expect(throws: ContextParseError(.unexpectedCharacter(UInt8(ascii: "-")), at: 2, expected: "':' or end of input")) {
            try LevelSyntax(parsing: "s0-s1")
        }
        #expect(throws: ContextParseError(.unexpectedCharacter(UInt8(ascii: "-")), at: 5, expected: "',' or end of input")) {
            try LevelSyntax(parsing: "s0:c1-s1")
        }
        let range = try RangeSyntax(parsing: "s0-s3:c0.c1023")
        #expect(range.low == LevelSyntax(sensitivity: "s0"))
        #expect(range.high == LevelSyntax(sensitivity: "s3", categories: [.range("c0", "c1023")]))
        #expect(range.description == "s0-s3:c0.c1023")
        #expect(try RangeSyntax(parsing: "s1:c2").effectiveHigh == LevelSyntax(sensitivity: "s1", categories: [.single("c2")]))
        #expect(RangeSyntax("s0-s0")?.description == "s0")
        #expect(RangeSyntax("s0 - s1") == nil)
        #expect(LevelSyntax("s0:c1")?.categories == [.single("c1")])
        #expect(CategoryItem.range("c0", "c9").description == "c0.c9")
    }

    // MARK: Codable

    @Test func codableAsStrings() throws {
        let context = try SecurityContext(parsing: "system_u:system_r:ipsec_t:s0-s15:c0.c1023")
        let data = try JSONEncoder().encode(["peer": context])
        #expect(String(decoding: data, as: UTF8.self) == #"{"peer":"system_u:system_r:ipsec_t:s0-s15:c0.c1023"}"#)
        let decoded = try JSONDecoder().decode([String: SecurityContext].self, from: data)
        #expect(decoded["peer"] == context)

        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([SecurityContext].self, from: Data(#"["u:r"]"#.utf8))
        }
        let level = LevelSyntax(sensitivity: "s1", categories: [.single("c3")])
        #expect(String(decoding: try JSONEncoder().encode([level]), as: UTF8.self) == #"["s1:c3"]"#)
        #expect(try JSONDecoder().decode([RangeSyntax].self, from: Data(#"["s0-s1:c2"]"#.utf8)).first?.description == "s0-s1:c2")
    }

    // MARK: Generated round trips

    @Test func generatedRoundTrips() throws {
        var generator = SplitMix64(seed: 0x5EC0_17E7)
        let nameBytes = Array("abcXYZ019_-.".utf8)
        let levelBytes = Array("sc019_Z".utf8)
        func name(_ bytes: [UInt8]) -> String {
            let count = Int(generator.next() % 6) + 1
            return String(decoding: (0..<count).map { _ in bytes[Int(generator.next() % UInt64(bytes.count))] }, as: UTF8.self)
        }
        func level() -> LevelSyntax {
            let items = (0..<Int(generator.next() % 4)).map { _ -> CategoryItem in
                generator.next() % 2 == 0 ? .single(name(levelBytes)) : .range(name(levelBytes), name(levelBytes))
            }
            return LevelSyntax(sensitivity: name(levelBytes), categories: items)
        }
        for _ in 0..<2000 {
            let range: RangeSyntax? =
                switch generator.next() % 3 {
                case 0: nil
                case 1: RangeSyntax(low: level())
                default: RangeSyntax(low: level(), high: level())
                }
            let context = SecurityContext(user: name(nameBytes), role: name(nameBytes), type: name(nameBytes), range: range)
            let reparsed = try SecurityContext(parsing: context.description)
            #expect(Self.normalized(reparsed) == Self.normalized(context), "\(context)")
            #expect(try SecurityContext(bytes: context.bytes) == reparsed)
        }
    }
}
