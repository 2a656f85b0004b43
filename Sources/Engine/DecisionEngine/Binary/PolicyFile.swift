/// The two forms of a policy file salabel loads, told apart by their first bytes, never by the
/// file name: a kernel binary policy starts with the magic `0xf97cff8c` (Specs/engine/binary-policy.md
/// §2); anything else is read as policy.conf text.
public enum PolicyFileForm: String, Sendable, Hashable {
    /// policy.conf, the kernel policy language.
    case text
    /// A kernel binary policy (`policy.NN`).
    case binary

    /// The form of a file's contents.
    public init(of bytes: some Collection<UInt8>) {
        self = BinaryPolicyHeader.hasMagic(bytes) ? .binary : .text
    }
}

extension PolicyDB {
    /// Builds the database from a policy file's contents in either form (``PolicyFileForm``):
    /// compiles policy.conf text, reads a binary policy.
    /// - Parameters:
    ///   - bytes: the file's contents.
    ///   - file: the name reported in errors.
    public static func load(bytes: [UInt8], file: String) throws(PolicyLoadError) -> PolicyDB {
        switch PolicyFileForm(of: bytes) {
        case .binary:
            do { return try PolicyDB(binary: bytes) } catch { throw .binary(file: file, error) }
        case .text:
            do { return try PolicyCompiler.compile(bytes: bytes, file: file) } catch { throw .policy(error) }
        }
    }
}
