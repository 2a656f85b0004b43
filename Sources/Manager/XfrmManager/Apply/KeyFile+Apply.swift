import Foundation

// The key file of an apply file as `salabel keygen` and `salabel apply` make and find it.

extension KeyFile {
    /// What `salabel keygen` writes: the key file of `file` at `path` (mode 0600), with fresh keys
    /// from `random` for every association, keeping those already at `path` when `keepingExisting`.
    /// Every host's half is planned with the keys first, so that a kept key that does not fit its
    /// algorithm is refused here as `apply` would refuse it.
    /// - Throws: the existing key file that cannot be read, a key that does not fit, `random`'s
    ///   error, or the file that cannot be written (`ApplyFile.Error`).
    public static func writeFresh(for file: ApplyFile, at path: String, keepingExisting: Bool, random: (Int) throws -> [UInt8]) throws -> KeyFile {
        let existing = keepingExisting && FileManager.default.fileExists(atPath: path) ? try read(from: path) : nil
        let keys = try generate(for: file, keeping: existing, random: random)
        for host in Set(file.associations.flatMap { [$0.between.0, $0.between.1] }).sorted() {
            _ = try ApplyPlanner.desired(file, host: host, keys: keys)
        }
        try keys.write(to: path)
        return keys
    }

    /// The keys `salabel apply` uses: the key file at `path`; when there is none, fresh keys from
    /// `random`, written there (mode 0600) when `write` (a dry run writes nothing). `fresh` says
    /// which of the two.
    /// - Throws: the key file that cannot be read, `random`'s error, or the file that cannot be written.
    public static func forApply(_ file: ApplyFile, at path: String, write: Bool, random: (Int) throws -> [UInt8]) throws -> (keys: KeyFile, fresh: Bool) {
        guard !FileManager.default.fileExists(atPath: path) else { return (try read(from: path), false) }
        let keys = try generate(for: file, random: random)
        if write { try keys.write(to: path) }
        return (keys, true)
    }
}
