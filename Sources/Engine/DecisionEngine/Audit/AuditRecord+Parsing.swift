import SecurityContexts

/// An AVC record read back from a log, with the event it belongs to and where it was.
public struct LoggedAuditRecord: Sendable, Hashable {
    public var record: AuditRecord
    /// The event's stamp as the line writes it, `audit(` to `)` excluded: `1796593274.504:203`
    /// (kernel log, auditd), a date and serial (`ausearch -i`); nil when the line has none.
    public var event: String?
    /// The line's number in the text, from 1.
    public var line: Int

    public init(record: AuditRecord, event: String?, line: Int) {
        self.record = record
        self.event = event
        self.line = line
    }
}

/// A line that holds an AVC record (`avc:  denied` or `avc:  granted`) the reader cannot take,
/// with why. Nothing of such a line is guessed.
public struct AuditRecordParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The line's number in the text, from 1 (1 for a single line).
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

extension AuditRecord {
    /// The fields the record's own properties hold; every other `name=value` stays in ``fields``.
    static let ownFields: Set<String> = ["pid", "comm", "scontext", "tcontext", "tclass", "permissive"]

    /// The AVC record in one log line, in any of the forms the kernel's record reaches a user in:
    ///
    ///     [ 12.3] audit: type=1400 audit(1796593274.504:203): avc:  denied  { recv } for  pid=0 comm="swapper/0" … tclass=peer permissive=0
    ///     type=AVC msg=audit(1796593274.504:203): avc:  denied  { recv } for  …
    ///     type=AVC msg=audit(12/06/2026 21:31:15.156:80) : avc:  denied  { recv } for  pid=0 comm=swapper/0 …   (ausearch -i)
    ///     type=USER_AVC msg=audit(…): pid=1 … msg='avc:  denied  { send_msg } for  … tclass=dbus permissive=0 …'
    ///
    /// Nil when the line holds no access record (no `avc:`, or an `avc:` notice such as
    /// `received policyload notice`). Throws when it holds one that is malformed: no permission
    /// list, a missing or invalid `scontext`, `tcontext` or `tclass`, a `pid` or `permissive` that
    /// is not a number. Values are kept as written (quotes included), except `comm`, which is read
    /// back to its text (quoted, or hex-encoded by the kernel's `audit_log_untrustedstring`).
    public init?(logLine: String, lineNumber: Int = 1) throws(AuditRecordParseError) {
        func fail(_ message: String) -> AuditRecordParseError { AuditRecordParseError(line: lineNumber, message: message) }
        // `avc:` as a word of its own (after the start, a blank, `'` or `:`), followed by the result.
        var start: String.Index?
        var from = logLine.startIndex
        while let r = logLine[from...].firstRange(of: "avc:") {
            if r.lowerBound == logLine.startIndex || " \t':".contains(logLine[logLine.index(before: r.lowerBound)]) {
                start = r.upperBound
                break
            }
            from = r.upperBound
        }
        guard let start else { return nil }
        let rest = logLine[start...]
        guard let words = Self.tokens(Array(rest.unicodeScalars)) else {
            // Only a record's own words count: a notice with an odd quote is still no record.
            if let first = rest.split(separator: " ").first, Result(rawValue: String(first)) != nil {
                throw fail("a quoted value is not closed")
            }
            return nil
        }
        guard let result = words.first.flatMap({ Result(rawValue: $0) }) else { return nil }
        guard words.count > 1, words[1] == "{" else { throw fail("no permission list after `avc:  \(result.rawValue)`") }
        guard let close = words.firstIndex(of: "}") else { throw fail("the permission list has no closing brace") }
        let permissions = Array(words[2..<close])
        guard !permissions.isEmpty else { throw fail("the permission list is empty") }
        guard permissions.allSatisfy({ p in !p.isEmpty && p.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" } })
        else {
            throw fail("a permission that is not a name in { \(permissions.joined(separator: " ")) }")
        }
        var values: [String: String] = [:]
        var fields: [(name: String, value: String)] = []
        for word in words[(close + 1)...] {
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { continue }
            let name = String(word[..<eq]), value = String(word[word.index(after: eq)...])
            guard values[name] == nil else { continue }
            values[name] = value
            if !Self.ownFields.contains(name) { fields.append((name, value)) }
        }
        func context(_ name: String) throws(AuditRecordParseError) -> SecurityContext {
            guard let text = values[name] else { throw fail("no \(name)=") }
            do { return try SecurityContext(parsing: text) } catch { throw fail("\(name)=\(text) is not a context: \(error)") }
        }
        let scontext = try context("scontext"), tcontext = try context("tcontext")
        guard let tclass = values["tclass"], !tclass.isEmpty else { throw fail("no tclass=") }
        var permissive = false
        switch values["permissive"] {
        case nil: break
        case "0": permissive = false
        case "1": permissive = true
        case let other?: throw fail("permissive=\(other): expected 0 or 1")
        }
        var subject: AuditSubject?
        if let p = values["pid"] {
            guard let pid = Int32(p) else { throw fail("pid=\(p) is not a process id") }
            subject = AuditSubject(pid: pid, comm: values["comm"].map(Self.unquoted) ?? "")
        }
        self.init(
            result: result, permissions: permissions, subject: subject, fields: fields, scontext: scontext, tcontext: tcontext,
            tclass: tclass, permissive: result == .denied && permissive)
    }

    /// Every AVC record of a log (any mix of the forms ``init(logLine:lineNumber:)`` reads, one
    /// record a line; other lines are skipped), and an error for each line that holds a malformed one.
    public static func records(inLog text: String) -> (records: [LoggedAuditRecord], errors: [AuditRecordParseError]) {
        var records: [LoggedAuditRecord] = [], errors: [AuditRecordParseError] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            do {
                guard let r = try AuditRecord(logLine: String(line), lineNumber: n + 1) else { continue }
                records.append(LoggedAuditRecord(record: r, event: Self.event(in: line), line: n + 1))
            } catch { errors.append(error) }
        }
        return (records, errors)
    }

    /// The stamp inside `audit(…)`, the first one of the line.
    static func event(in line: Substring) -> String? {
        guard let open = line.range(of: "audit(") else { return nil }
        guard let close = line[open.upperBound...].firstIndex(of: ")") else { return nil }
        return String(line[open.upperBound..<close])
    }

    /// The words of a record: split at blanks, a `"…"` value kept whole with its quotes, `{` and
    /// `}` words of their own; nil when a quote is left open (the kernel closes every one, and a
    /// value that swallowed the rest of the line would print back as another record).
    static func tokens(_ scalars: [Unicode.Scalar]) -> [String]? {
        var out: [String] = []
        var word = String.UnicodeScalarView()
        var quoted = false
        func flush() {
            if !word.isEmpty { out.append(String(word)) }
            word = String.UnicodeScalarView()
        }
        for s in scalars {
            if quoted {
                word.append(s)
                if s == "\"" { quoted = false }
            } else if s == " " || s == "\t" || s == "\r" {
                flush()
            } else if (s == "{" || s == "}") && word.isEmpty {
                out.append(String(s))
            } else {
                if s == "\"" { quoted = true }
                word.append(s)
            }
        }
        guard !quoted else { return nil }
        flush()
        return out
    }

    /// A `comm=` value as text: a quoted one without its quotes; an unquoted one the kernel
    /// hex-encoded (only text it would not print plainly), decoded; any other as written
    /// (`ausearch -i` prints it unquoted).
    static func unquoted(_ value: String) -> String {
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { return String(value.dropFirst().dropLast()) }
        let digits = Array(value.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return value }
        var bytes: [UInt8] = []
        var k = 0
        while k < digits.count {
            guard let hi = Self.hexValue(digits[k]), let lo = Self.hexValue(digits[k + 1]) else { return value }
            bytes.append(hi << 4 | lo)
            k += 2
        }
        guard let text = String(validating: bytes, as: UTF8.self), !text.isEmpty, Self.quoted(text) == value else { return value }
        return text
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
