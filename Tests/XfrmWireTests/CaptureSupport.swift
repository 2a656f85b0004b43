import Foundation
import NetlinkProtocol
import TestSupport
@testable import XfrmWire

/// One capture file of `Captures/`: header lines (`# key: value`), then buffers, each introduced by
/// `>` (sent), `<` (received) or `=` (a bare attribute), as `offset: hex bytes` lines.
struct Capture {
    struct Buffer {
        var direction: Character
        var bytes: [UInt8]
    }

    let name: String
    let header: [String: String]
    let buffers: [Buffer]

    var command: String { header["command"] ?? "" }
    var sent: [Buffer] { buffers.filter { $0.direction == ">" } }
    var received: [Buffer] { buffers.filter { $0.direction == "<" } }

    static let directory = repositoryRoot.appendingPathComponent("Tests/XfrmWireTests/Captures")

    static var all: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }.sorted()
    }

    init(_ name: String) throws {
        self.name = name
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name + ".txt"), encoding: .utf8)
        var header: [String: String] = [:]
        var buffers: [Buffer] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") {
                let body = line.dropFirst().drop { $0 == " " }
                if let colon = body.firstIndex(of: ":") {
                    header[String(body[..<colon])] = String(body[body.index(after: colon)...].drop { $0 == " " })
                }
            } else if line == ">" || line == "<" || line == "=" {
                buffers.append(Buffer(direction: line.first!, bytes: []))
            } else if let colon = line.firstIndex(of: ":") {
                buffers[buffers.count - 1].bytes += hex(line[line.index(after: colon)...])
            }
        }
        self.header = header
        self.buffers = buffers
    }
}

/// Zero padding to a multiple of 4 (a final message of `nlmsg_len` 17 travels as 17 bytes).
func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + Array(repeating: 0, count: (4 - bytes.count % 4) % 4) }

/// The netlink messages of a buffer, each as its own bytes (`nlmsg_len` bytes).
func messageBytes(_ buffer: [UInt8]) throws -> [[UInt8]] {
    var result: [[UInt8]] = []
    var offset = 0
    for message in try NetlinkMessage.split(buffer) {
        let length = Int(message.header.length)
        result.append(Array(buffer[offset..<(offset + length)]))
        offset += (length + 3) & ~3
    }
    return result
}

/// A message's re-encoding.
func reencode(_ buffer: [UInt8]) throws -> [UInt8] {
    try XfrmMessage.decodeAll(buffer).flatMap { try $0.encoded() }
}

func seq(_ bytes: [UInt8]) -> UInt32 {
    UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24
}
