import Testing
import SELinuxPolicy
import SecurityContexts

/// Lexing as checkpolicy's scanner does it, observed through the parser.
@Suite struct LexerTests {
    @Test func keywordsInUpperCaseAndMixedCaseIdentifiers() throws {
        guard case .type(let name, _, _) = try parseOne("TYPE Allow_t;") else { Issue.record("kind"); return }
        #expect(name == "Allow_t")
        // Mixed case is not a keyword: `Type` is an identifier, so this is not a statement.
        #expect(parseError("Type t;")?.message == "expected a statement, found 'Type'")
        guard case .avRule(.allow, _, _, _, _) = try parseOne("ALLOW a b:c d;") else { Issue.record("kind"); return }
    }

    @Test func identifiersWithDotsAndDashes() throws {
        guard case .user(_, _, let userLevel, _) = try parseOne("user u roles r level s0:c0.c3,c5-x range s0;")
        else { Issue.record("kind"); return }
        #expect(userLevel == level("s0", .range("c0", "c3"), .single("c5-x")))
        // A trailing dot is not part of an identifier; `..` ends it.
        #expect(parseError("type a.;")?.message == "expected ';' after type declaration, found '.'")
        #expect(parseError("type a..b;")?.message == "expected ';' after type declaration, found '.'")
    }

    @Test func commentsAndWhitespace() throws {
        let statements = try parse("# comment\n\ttype a; # trailing\n\u{0C}type b;#end")
        #expect(statements.count == 2)
        #expect(statements[0].location == SourceLocation(file: "test.conf", line: 2, column: 2))
        // UTF-8 in comments is fine.
        #expect(try parse("# café ✓\ntype a;").count == 1)
    }

    @Test func emptyStatementsAreSkipped() throws {
        #expect(try parse(";;type a;;").count == 1)
    }

    @Test func numbersDecimalHexAndOctal() throws {
        guard case .portcon(_, let low, let high, _) = try parseOne("portcon tcp 0x10-010 u:r:t") else { Issue.record("kind"); return }
        #expect(low == 16 && high == 8)  // strtoul base 0, as checkpolicy reads numbers
    }

    @Test func ipv6AddressLexingQuirk() throws {
        // As in checkpolicy, `:ab:` is an IPv6 address token, so a role named `ab` cannot be written
        // in a context.
        let error = parseError("sid kernel u:ab:t")
        #expect(error?.message == "expected ':' after the user of a security context, found ':ab:'")
    }

    @Test func quotedStrings() throws {
        #expect(parseError(#"type_transition a b:c d "abc"#)?.message.contains("unterminated quoted string") == true)
        #expect(parseError(#"type_transition a b:c d "";"#)?.message == "empty quoted string")
        #expect(
            parseError(#"type_transition a b:c d "/x";"#)?.message
                == #"expected ';' after type_transition rule (or a quoted object name), found '"/x"'"#)
    }

    @Test func errorsCarryFileLineColumn() throws {
        do {
            _ = try PolicyParser.parse("type a;\n  type b alias;", file: "x.conf")
            Issue.record("parsed")
        } catch {
            #expect(error.location == SourceLocation(file: "x.conf", line: 2, column: 15))
            #expect(error.message == "expected an alias name or '{' after 'alias', found ';'")
            #expect(error.description == "x.conf:2:15: expected an alias name or '{' after 'alias', found ';'")
        }
    }

    @Test func endOfFileIsNamed() throws {
        #expect(parseError("type a")?.message == "expected ';' after type declaration, found end of file")
        #expect(parseError("allow a b:c {")?.message == "expected a name in a set, found end of file")
    }

    @Test func controlAndNonASCIIBytes() throws {
        for bytes: [UInt8] in [[0x74, 0x00], [0xff], [0xc3, 0x28], [0xe2, 0x9c, 0x93], [0x0d, 0x0a], [0x23, 0xff]] {
            #expect(throws: PolicyError.self) { try PolicyParser.parse(bytes, file: "b.conf") }
        }
        #expect(parseError("type \u{2713};")?.message == "unrecognized character '✓'")
    }

    @Test func nestingDepthIsCapped() throws {
        let depth = PolicyParser.maximumNestingDepth
        let ok = "if " + String(repeating: "(", count: depth - 1) + "b" + String(repeating: ")", count: depth - 1) + " { }"
        #expect(try parse(ok).count == 1)
        let tooDeep = "if " + String(repeating: "(", count: depth + 5) + "b" + String(repeating: ")", count: depth + 5) + " { }"
        #expect(parseError(tooDeep)?.message == "nesting deeper than \(depth) levels")
        let nots = "constrain a b " + String(repeating: "not ", count: 100_000) + "u1 == u2;"
        #expect(parseError(nots)?.message == "nesting deeper than \(depth) levels")
        let sets = "allow " + String(repeating: "{ ", count: 5000) + "a"
        #expect(parseError(sets)?.message == "nesting deeper than \(depth) levels")
        // A long operator chain is a deep tree too (left-associative): capped the same way.
        let longChain = "if b" + String(repeating: " && b", count: 100_000) + " { }"
        #expect(parseError(longChain)?.message == "nesting deeper than \(depth) levels")
        let longConstraint = "constrain a b u1 == u2" + String(repeating: " or u1 == u2", count: 5000) + ";"
        #expect(parseError(longConstraint)?.message == "nesting deeper than \(depth) levels")
        let fineChain = "if b" + String(repeating: " || b", count: 500) + " { }"
        #expect(try parse(fineChain).count == 1)
    }

    @Test func arbitraryBytesNeverCrash() throws {
        // A cheap deterministic fuzz pass (the libFuzzer target in Fuzz/ does the real work).
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let alphabet = Array("allow type { } ( ) : ; , - ~ * ! == != && || ^ s0 c0.c5 0x1f 10.0.0.1 ::1 /p \"x\" #c\n".utf8)
        for _ in 0..<2000 {
            let length = Int(next() % 80)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                bytes.append(next() % 4 == 0 ? UInt8(truncatingIfNeeded: next()) : alphabet[Int(next() % UInt64(alphabet.count))])
            }
            _ = try? PolicyParser.parse(bytes, file: "fuzz")
        }
    }
}

extension LexerTests {
    @Test func constraintOperandsAreReservedWords() throws {
        // As in checkpolicy, r1, t2, l1, h2 and the other operands are keywords, never names.
        #expect(parseError("role r1;")?.message == "expected a role name after 'role', found keyword 'r1'")
    }
}
