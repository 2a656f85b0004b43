import Foundation
import Testing
import XfrmManager

/// The key file of an apply file as `salabel keygen` writes it and `salabel apply` finds it
/// (`KeyFile+Apply.swift`), on Examples/apply/echo.yaml in a fresh directory.
struct KeyFileApplyTests {
    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func ones(_ n: Int) -> [UInt8] { [UInt8](repeating: 1, count: n) }

    @Test func keygenKeepsWhatIsThereUnlessTold() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try ApplyPlannerTests.file(), path = dir.appendingPathComponent("echo.keys").path
        let first = try KeyFile.writeFresh(for: file, at: path, keepingExisting: true, random: ApplyPlannerTests.counting)
        let written = try KeyFile.read(from: path)
        #expect(first.keys.count == file.associations.count && first == written)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Kept: the keys already written.
        let kept = try KeyFile.writeFresh(for: file, at: path, keepingExisting: true, random: Self.ones)
        #expect(kept == first)
        // Replaced.
        let replaced = try KeyFile.writeFresh(for: file, at: path, keepingExisting: false, random: Self.ones)
        let rewritten = try KeyFile.read(from: path)
        #expect(replaced != first && replaced == rewritten)
        // Random bytes that cannot be had stop it before anything is written.
        struct NoRandom: Error {}
        #expect(throws: NoRandom.self) { try KeyFile.writeFresh(for: file, at: path, keepingExisting: false, random: { _ in throw NoRandom() }) }
        let unchanged = try KeyFile.read(from: path)
        #expect(unchanged == replaced)
    }

    @Test func applyReadsOrMakesTheKeys() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try ApplyPlannerTests.file(), path = dir.appendingPathComponent("echo.keys").path
        // A dry run makes keys and writes nothing.
        let dry = try KeyFile.forApply(file, at: path, write: false, random: ApplyPlannerTests.counting)
        #expect(dry.fresh && dry.keys.keys.count == file.associations.count && !FileManager.default.fileExists(atPath: path))
        let made = try KeyFile.forApply(file, at: path, write: true, random: ApplyPlannerTests.counting)
        #expect(made.fresh && FileManager.default.fileExists(atPath: path))
        let found = try KeyFile.forApply(file, at: path, write: true, random: Self.ones)
        #expect(!found.fresh && found.keys == made.keys)
    }
}
