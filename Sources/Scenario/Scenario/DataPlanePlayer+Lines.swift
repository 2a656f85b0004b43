import Foundation

extension DataPlanePlayer.Step {
    /// The data plane played the step and agrees with the model on it, meeting its expectations.
    public var agrees: Bool { dataPlane != nil && differences.isEmpty && unmet.isEmpty }

    /// The step as `salabel scenario dataplane` prints it, numbered `number`: the data plane's and
    /// the model's summaries, the data plane's AVC lines (its notes too when `verbose`), each
    /// difference and unmet expectation, or ✓; nil for a step the data plane does not play.
    public func lines(number: Int, verbose: Bool) -> [String]? {
        guard let dp = dataPlane else { return nil }
        var lines = [
            "  \(number). \(step.name)", "     data plane  " + dp.summaryLines.joined(separator: "; "),
            "     model       " + model.summaryLines.joined(separator: "; "),
        ]
        lines += dp.avc.map { "     avc \($0)" }
        if verbose { lines += dp.notes.map { "       · \($0.replacingOccurrences(of: "\n", with: "\n         "))" } }
        lines += differences.map { "     ✗ data plane ≠ model: \($0)" }
        lines += unmet.map { "     ✗ data plane does not meet the expectation: \($0)" }
        if agrees { lines.append("     ✓ data plane and model agree; expectations met") }
        return lines
    }
}
