// When `salabel status --watch` stops: SIGINT or SIGTERM, a number of changes, a duration.

import LinuxSystem

/// The stop conditions of a watch, checked between steps.
public final class StatusStop: Sendable {
    private let deadline: ContinuousClock.Instant?

    /// Takes over SIGINT and SIGTERM (each stops the watch cleanly); stops after `duration` if given.
    public init(duration: Duration?) {
        TerminationSignals.install()
        deadline = duration.map { ContinuousClock.now + $0 }
    }

    /// Whether the watch should go on: no signal came and the duration has not passed.
    public var shouldContinue: Bool {
        !TerminationSignals.requested && !(deadline.map { ContinuousClock.now >= $0 } ?? false)
    }

    /// Why it stopped: `SIGINT`, `SIGTERM`, `duration`, or nil while it should go on.
    public var reason: String? {
        if let s = TerminationSignals.signal { return s == 2 ? "SIGINT" : s == 15 ? "SIGTERM" : "signal \(s)" }
        if let deadline, ContinuousClock.now >= deadline { return "duration" }
        return nil
    }
}
