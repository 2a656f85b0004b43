import Foundation
import LinuxSystem
import Testing

/// Reading a file whole and replacing one whole or not at all.
struct FileReplacementTests {
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func aReplacedFileHoldsTheNewBytesAndNothingElseIsLeft() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/policy"
        try replaceFileContents(atPath: path, with: Array("old".utf8))
        try replaceFileContents(atPath: path, with: [0, 1, 2, 255])
        #expect(try readFileContents(atPath: path) == [0, 1, 2, 255])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["policy"])
    }

    @Test func aFailedReplacementChangesNothing() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The target is a directory: rename fails, the temporary file is removed.
        try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir + "/taken/inside", withIntermediateDirectories: false)
        let error = #expect(throws: SystemError.self) { try replaceFileContents(atPath: dir + "/taken", with: [1]) }
        #expect(error?.operation == "rename onto")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["taken"])
        let missing = #expect(throws: SystemError.self) { try replaceFileContents(atPath: dir + "/no/such/file", with: [1]) }
        #expect(missing?.errno == .noSuchFileOrDirectory && missing?.operation == "create a file in")
    }
}
