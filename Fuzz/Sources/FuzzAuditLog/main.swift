// libFuzzer entry point for reading AVC records back from logs (DecisionEngine's
// AuditRecord(logLine:) and AuditRecord.records(inLog:), which `salabel why` reads input with).
//
// For arbitrary bytes (as UTF-8, invalid sequences replaced): reading never crashes; every error
// names a line of the input; each record read prints (the kernel's format) and the print reads back
// to the same record; a line's record is the one the whole-log reader found on that line.
import DecisionEngine

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuditLog(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let (records, errors) = AuditRecord.records(inLog: text)
    for e in errors where e.line < 1 || e.line > lines.count { fatalError("error on line \(e.line) of \(lines.count): \(e)") }
    for r in records {
        guard r.line >= 1, r.line <= lines.count else { fatalError("record on line \(r.line) of \(lines.count)") }
        let printed = r.record.description
        let again: AuditRecord?
        do throws(AuditRecordParseError) {
            again = try AuditRecord(logLine: printed)
        } catch {
            fatalError("a printed record does not read back: \(printed): \(error)")
        }
        guard let again, again == r.record else { fatalError("the round trip changed the record: \(printed) -> \(again.map { "\($0)" } ?? "none")") }
        guard (try? AuditRecord(logLine: String(lines[r.line - 1]), lineNumber: r.line)) == r.record else {
            fatalError("line \(r.line) alone reads differently")
        }
    }
    return 0
}
