import Foundation

extension ApplyFile {
    /// Reads the apply file at `path`: a file larger than the YAML document limit is refused before
    /// it is read (Specs/manager/apply.md, "Limits").
    public static func read(from path: String) throws(ApplyFile.Error) -> ApplyFile {
        let limit = YAMLLimits.document.maximumBytes
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
            throw ApplyFile.Error(path: path, message: "the file is \(size) bytes, more than the limit of \(limit) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ApplyFile.Error(path: "", message: "cannot read \(path)") }
        do { return try ApplyFile(yaml: String(decoding: data, as: UTF8.self)) } catch {
            throw ApplyFile.Error(path: path, message: error.description)
        }
    }

    /// The key file this apply file names (`key_file`), relative to the directory of the apply file
    /// at `applyPath` unless absolute.
    public func keyFilePath(relativeTo applyPath: String) -> String {
        if keyFile.hasPrefix("/") { return keyFile }
        return URL(fileURLWithPath: applyPath).deletingLastPathComponent().appendingPathComponent(keyFile).path
    }
}
