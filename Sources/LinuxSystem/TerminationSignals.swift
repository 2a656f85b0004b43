// SIGINT and SIGTERM as a request to stop: a command that runs until interrupted (`salabel status
// --watch`) checks the flag between steps and ends cleanly, rather than being killed mid-write.

import Dispatch
internal import Glibc
import Synchronization

/// Takes over SIGINT and SIGTERM for this process: each sets ``requested`` (and records which
/// signal) instead of ending the process. One per process (the first ``install()`` takes over).
package enum TerminationSignals {
    private static let received = Atomic<Int32>(0)
    private static let sources = Mutex<[any DispatchSourceSignal]>([])

    /// Takes over the signals (again: nothing more is done).
    package static func install() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                Glibc.signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { TerminationSignals.received.store(sig, ordering: .relaxed) }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Whether SIGINT or SIGTERM has come.
    package static var requested: Bool { received.load(ordering: .relaxed) != 0 }

    /// The signal that came (`SIGINT` 2, `SIGTERM` 15), or nil.
    package static var signal: Int32? {
        let s = received.load(ordering: .relaxed)
        return s == 0 ? nil : s
    }
}
