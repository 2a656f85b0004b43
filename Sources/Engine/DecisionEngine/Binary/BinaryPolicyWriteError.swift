/// Why a policy could not be written in the binary form at the version asked for. Nothing is
/// written in part: the writer returns the whole file or throws (Specs/engine/binary-policy.md §6).
public enum BinaryPolicyWriteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A version outside 15…33.
    case unsupportedVersion(UInt32)
    /// The policy uses something the version cannot carry; `minimum` is the first version that can.
    /// libsepol drops some of these with a warning; salabel refuses, so that no rule is lost silently.
    case needsVersion(feature: String, minimum: UInt32, version: UInt32)
    /// The policy holds something no Linux binary policy of versions 15…33 carries, or that
    /// salabel's database does not hold in full (extended permissions).
    case cannotCarry(String)
    /// The policy breaks a rule of the format (an empty rule table, a type rule in two
    /// conditionals, a conditional mixing booleans and tunables, an invalid context).
    case invalid(String)

    public var description: String {
        switch self {
        case .unsupportedVersion(let v):
            "cannot write policy version \(v): salabel writes versions \(BinaryPolicyVersion.minimum)–\(BinaryPolicyVersion.maximum)"
        case .needsVersion(let feature, let minimum, let version):
            "cannot write version \(version): the policy has \(feature), which needs version \(minimum) or later"
        case .cannotCarry(let what): "cannot write the binary policy: \(what)"
        case .invalid(let what): "cannot write the binary policy: \(what)"
        }
    }
}
