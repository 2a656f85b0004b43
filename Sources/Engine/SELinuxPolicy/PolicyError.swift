import SecurityContexts

/// A policy that cannot be parsed or compiled. The whole policy is rejected: nothing of it is loaded.
public struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is (the statement or token), when known.
    public var location: SourceLocation?
    /// What is wrong, and what was expected.
    public var message: String

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}
