@testable import DataPlaneNode
import Testing

/// The node's SPI and port tables: the same answers as a dictionary through random inserts,
/// replacements and removals (removal shifts entries back, so every key stays findable).
@Suite struct IntegerTableTests {
    final class Box: Equatable {
        let n: Int
        init(_ n: Int) { self.n = n }
        static func == (a: Box, b: Box) -> Bool { a.n == b.n }
    }

    @Test func agreesWithADictionary() {
        var rng = SystemRandomNumberGenerator()
        var table = IntegerTable<UInt16, Box>()
        var model: [UInt16: Box] = [:]
        for step in 0..<20_000 {
            // A small key space, so that keys collide, come back and are removed often.
            let key = UInt16.random(in: 0..<200, using: &rng)
            if Bool.random(using: &rng) {
                table[key] = Box(step)
                model[key] = Box(step)
            } else {
                table[key] = nil
                model[key] = nil
            }
            if step % 97 == 0 {
                #expect(table.count == model.count)
                for k in UInt16(0)..<200 {
                    #expect(table[k] == model[k], "key \(k) at step \(step)")
                    // The unretained lookup (the inbound path's) finds the same object.
                    #expect(table.unretained(k)?.takeUnretainedValue() === table[k], "key \(k) at step \(step)")
                }
            }
        }
    }
}
