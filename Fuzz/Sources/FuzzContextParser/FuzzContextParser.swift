// libFuzzer entry point for the security context parser (SecurityContexts).
//
// For arbitrary bytes: parsing never crashes; a syntax error points inside the input; the text and
// byte entry points agree; a parsed context prints, and the print parses back to the same context
// (a high level equal to the low level prints once); resolving against the standard vocabulary
// either fails with an error or gives a range whose canonical text parses back to the same range
// and is its own canonical form.
import SecurityContexts

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContextParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }
    let parsed: SecurityContext
    do throws(ContextParseError) {
        parsed = try SecurityContext(bytes: bytes)
    } catch {
        if let offset = error.offset, offset > bytes.count { fatalError("error offset \(offset) past the input (\(bytes.count) bytes): \(error)") }
        checkTextAgrees(bytes, bytesResult: nil)
        return 0
    }
    checkTextAgrees(bytes, bytesResult: parsed)

    // Print, parse back.
    let text = parsed.description
    let reparsed: SecurityContext
    do throws(ContextParseError) {
        reparsed = try SecurityContext(parsing: text)
    } catch {
        fatalError("printed context does not parse: \(text): \(error)")
    }
    guard reparsed.description == text else { fatalError("print is not stable: \(text) -> \(reparsed)") }
    guard normalized(reparsed) == normalized(parsed) else { fatalError("round trip changed the context: \(parsed) -> \(reparsed)") }

    // Meaning, against the standard vocabulary.
    let vocabulary = MLSVocabulary.standard
    if parsed.range != nil, let range = try? vocabulary.resolve(parsed) {
        guard vocabulary.isValid(range) else { fatalError("resolved an invalid range: \(parsed)") }
        for style in [MLSPrintStyle.kernel, .libsepol] {
            let canonical: String
            do throws(ContextParseError) {
                canonical = try vocabulary.canonical(parsed, style: style)
            } catch {
                fatalError("resolvable context not printable: \(parsed): \(error)")
            }
            guard let again = try? SecurityContext(parsing: canonical),
                (try? vocabulary.resolve(again)) == range,
                (try? vocabulary.canonical(again, style: style)) == canonical
            else { fatalError("canonical form does not round trip: \(parsed) -> \(canonical)") }
        }
    }
    return 0
}

/// Parsing the same input as a String (when it is UTF-8 with no terminator) gives the same result.
private func checkTextAgrees(_ bytes: [UInt8], bytesResult: SecurityContext?) {
    guard bytes.last != 0, let text = String(validating: bytes, as: UTF8.self) else { return }
    let textResult = try? SecurityContext(parsing: text)
    guard textResult == bytesResult else { fatalError("text and bytes disagree on \(bytes)") }
}

private func normalized(_ context: SecurityContext) -> SecurityContext {
    var result = context
    if let range = result.range, range.high == range.low { result.range = RangeSyntax(low: range.low) }
    return result
}
