import IKEConfig
import LinuxSystem

/// Where salabel's libreswan files are: `salabel.conf` and `salabel.secrets` in a directory that
/// libreswan includes. Debian's `/etc/ipsec.conf` ends with `include /etc/ipsec.d/*.conf` and its
/// `/etc/ipsec.secrets` with `include /etc/ipsec.d/*.secrets`, hence the default directory.
public struct LibreswanFiles: Sendable, Hashable {
    /// The directory Debian's libreswan includes.
    public static let defaultDirectory = "/etc/ipsec.d"

    public var directory: String

    public init(directory: String = LibreswanFiles.defaultDirectory) {
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    /// The conns file (mode 0644).
    public var confPath: String { "\(directory)/salabel.conf" }
    /// The secrets file (mode 0600).
    public var secretsPath: String { "\(directory)/salabel.secrets" }

    /// Whether libreswan's own files include this directory as Debian's do (`directory` is the default).
    public var includedByDefault: Bool { directory == Self.defaultDirectory }

    /// The text of a file, nil when there is none.
    func read(_ path: String) throws(IKEControlError) -> [UInt8]? {
        guard entryExists(atPath: path) else { return nil }
        do { return try readFileContents(atPath: path, limit: 1 << 20) } catch { throw .files(error.description, keptOldFiles: true) }
    }

    /// Writes both files whole, the conns first: if the secrets cannot be written, the conns file is
    /// put back as it was (or removed if there was none), so on any failure the old files stand.
    func write(conf: [UInt8], secrets: [UInt8], oldConf: [UInt8]?) throws(IKEControlError) {
        do { try replaceFileContents(atPath: confPath, with: conf, mode: 0o644) } catch { throw .files(error.description, keptOldFiles: true) }
        do { try replaceFileContents(atPath: secretsPath, with: secrets, mode: 0o600) } catch {
            do {
                if let oldConf { try replaceFileContents(atPath: confPath, with: oldConf, mode: 0o644) } else { try removeFile(atPath: confPath) }
            } catch let restore {
                throw .files("\(error.description); and the old \(confPath) could not be put back: \(restore.description)", keptOldFiles: false)
            }
            throw .files(error.description, keptOldFiles: true)
        }
    }

    /// Removes both files (a missing one is no error).
    func remove() throws(IKEControlError) {
        do {
            try removeFile(atPath: secretsPath)
            try removeFile(atPath: confPath)
        } catch { throw .files(error.description, keptOldFiles: false) }
    }
}

/// Why salabel's libreswan files could not be written or loaded. The description never holds a key.
public enum IKEControlError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A file could not be read, written or removed; `keptOldFiles`: the files are as they were.
    case files(String, keptOldFiles: Bool)
    /// A control command failed (the files are written).
    case load(LibreswanControl.Step)
    /// The configuration could not be written as text.
    case config(LibreswanConfigError)
    /// libreswan's proposal parser refused a conn's `esp=` (the association's `ike.esp`).
    case proposal(conn: LibreswanConnName, esp: String, why: String)

    public var description: String {
        switch self {
        case .files(let why, let kept): return why + (kept ? " (nothing was changed)" : "")
        case .load(let step):
            return
                "\(step.commandLine) failed (status \(step.status)): \(step.output.trimmingTrailingNewlines) (the files are written; pluto holds what the commands before it loaded)"
        case .config(let e): return e.description
        case .proposal(let conn, let esp, let why):
            return "\(conn): ike.esp \(esp) is no ESP proposal libreswan takes (algparse: \(why)); nothing was changed"
        }
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
