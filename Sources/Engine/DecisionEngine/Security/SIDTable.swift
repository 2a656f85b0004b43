import SecurityContexts

/// A security identifier: a small integer standing for a valid context of the loaded policy, as
/// the kernel's SIDs do. SIDs are what the AVC is keyed by.
public struct SID: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "sid \(rawValue)" }
}

/// Maps contexts to SIDs and back (the kernel's sidtab). Entries are never removed while the
/// policy stays loaded; a reload starts a new table. Not thread-safe by itself: the
/// ``SecurityServer`` serializes access.
struct SIDTable {
    private(set) var entries: [(text: SecurityContext, resolved: ResolvedContext)] = []
    private var byContext: [SecurityContext: UInt32] = [:]
    private var byResolved: [ResolvedContext: UInt32] = [:]

    /// The maximum number of SIDs (they are packed into 24 bits in AVC keys).
    static let capacity = 1 << 24

    /// The SID of a resolved context; `text` is how it was written (kept for the first writer).
    mutating func intern(_ resolved: ResolvedContext, text: SecurityContext) -> SID? {
        if let v = byResolved[resolved] {
            byContext[text] = v
            return SID(rawValue: v)
        }
        guard entries.count + 1 < SIDTable.capacity else { return nil }
        let v = UInt32(entries.count + 1)
        entries.append((text, resolved))
        byResolved[resolved] = v
        byContext[text] = v
        return SID(rawValue: v)
    }

    /// Appends an entry under the next SID number even if its resolved context already has a SID
    /// (a reload converting the table keeps every number).
    mutating func append(_ resolved: ResolvedContext, text: SecurityContext) {
        let v = UInt32(entries.count + 1)
        entries.append((text, resolved))
        if byResolved[resolved] == nil { byResolved[resolved] = v }
        byContext[text] = v
    }

    /// The SID already given to a context as written, if any.
    func lookup(_ context: SecurityContext) -> SID? {
        byContext[context].map { SID(rawValue: $0) }
    }

    func entry(_ sid: SID) -> (text: SecurityContext, resolved: ResolvedContext)? {
        let i = Int(sid.rawValue) - 1
        guard i >= 0 && i < entries.count else { return nil }
        return entries[i]
    }

    var count: Int { entries.count }
}
