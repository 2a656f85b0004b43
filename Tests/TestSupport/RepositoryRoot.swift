import Foundation

/// The repository's root directory (the one holding the package's Package.swift), found from this
/// file's path at build time: test data and the files tests compare against are found from it.
public let repositoryRoot: URL = {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
        precondition(dir.path != "/", "no Package.swift above \(#filePath)")
        dir = dir.deletingLastPathComponent()
    }
    return dir
}()
