import Dispatch
import Glibc
import Synchronization

/// Cuts `0..<count` into one range per processor (at most 8) and runs `body` on the ranges at the
/// same time, returning the results in range order; below `minimum` it runs `body(0..<count)` in
/// place. For pure work on large batches and dumps: parsing a file's lines, encoding requests,
/// decoding and printing entries.
package func parallelChunks<U: Sendable>(count: Int, minimum: Int = 2_000, _ body: @Sendable (Range<Int>) -> U) -> [U] {
    let parts = count < minimum ? 1 : max(1, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    guard parts > 1 else { return [body(0..<count)] }
    let per = (count + parts - 1) / parts
    let pieces = Mutex([U?](repeating: nil, count: parts))
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let piece = body(min(count, part * per)..<min(count, part * per + per))
        pieces.withLock { $0[part] = piece }
    }
    return pieces.withLock { $0.map { $0! } }
}

/// Maps `items` in order, in parts at the same time (``parallelChunks(count:minimum:_:)``).
package func parallelMap<T: Sendable, U: Sendable>(_ items: ArraySlice<T>, minimum: Int = 2_000, _ transform: @Sendable (T) -> U) -> [U] {
    let base = items.startIndex
    return parallelChunks(count: items.count, minimum: minimum) { r in items[(base + r.lowerBound)..<(base + r.upperBound)].map(transform) }
        .flatMap { $0 }
}
