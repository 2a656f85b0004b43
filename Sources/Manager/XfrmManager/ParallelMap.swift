import Dispatch
import Glibc
import Synchronization

/// Maps `items` in order, cutting a long array into one part per processor (at most 8) and
/// mapping the parts at the same time. For pure per-item work on large batches and dumps
/// (encoding requests, decoding and printing entries); below `minimum` items it maps in place.
func parallelMap<T: Sendable, U: Sendable>(_ items: ArraySlice<T>, minimum: Int = 2_000, _ transform: @Sendable (T) -> U) -> [U] {
    let parts = items.count < minimum ? 1 : max(1, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    guard parts > 1 else { return items.map(transform) }
    let per = (items.count + parts - 1) / parts
    let pieces = Mutex([[U]](repeating: [], count: parts))
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let lo = items.startIndex + part * per, hi = min(items.endIndex, lo + per)
        let piece = lo < hi ? items[lo..<hi].map(transform) : []
        pieces.withLock { $0[part] = piece }
    }
    return pieces.withLock { $0.flatMap { $0 } }
}
