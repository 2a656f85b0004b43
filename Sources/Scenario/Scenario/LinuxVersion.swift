/// A Linux version as scenarios name it (`6.1`, `6.12`): the kernel the model plays, and the
/// version from which a step's other expectation holds (`expect_since`). Only major and minor count:
/// a stable release keeps the behaviour of its line (Specs/scenarios/README.md, "Two kernels").
public struct LinuxVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `6.12`, or a kernel release such as `6.12.117+deb13-amd64` or `6.1.0-44-amd64` (the
    /// first two numbers).
    public init?(_ text: String) {
        let numbers = text.split(separator: ".", maxSplits: 2)
        guard numbers.count >= 2, let major = Int(numbers[0]), major > 0 else { return nil }
        let minorDigits = numbers[1].prefix { $0.isNumber }
        guard !minorDigits.isEmpty, let minor = Int(minorDigits) else { return nil }
        if numbers.count == 2, minorDigits.count != numbers[1].count, numbers[1].dropFirst(minorDigits.count).first != "-" { return nil }
        self.init(major: major, minor: minor)
    }

    /// Debian 12's kernel line: the model's version unless told otherwise.
    public static let debian12 = LinuxVersion(major: 6, minor: 1)
    /// Debian 13's, the second kernel of the conformance run.
    public static let debian13 = LinuxVersion(major: 6, minor: 12)
    /// The versions the conformance run plays every scenario on.
    public static let conformance: [LinuxVersion] = [.debian12, .debian13]

    public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

    public var description: String { "\(major).\(minor)" }
}
