import Foundation
import Glibc
import LinuxSystem
import Scenario

/// One message between the two guests of a pair: a line of JSON on the peer channel.
struct PeerMessage: Codable {
    enum Kind: String, Codable {
        /// Each side's first message: the channel is up.
        case hello
        /// The leader's keys for a scenario (its associations' SA keys and pre-shared keys): the
        /// key file's text, never printed or logged by either side.
        case keys
        /// A side's setup is done (`error`: it failed).
        case ready
        /// A side is about to play step `step`.
        case begin
        /// The server's socket is bound (and listening): the client may send; `failed`: it could
        /// not be made, and the step ends there.
        case listening
        /// The client has sent (UDP) or its connect has returned (TCP).
        case sent
        /// The server has received (`delivered`), and echoed when the step asks for a reply.
        case served
        /// The follower's half of step `step`.
        case outcome
    }
    var kind: Kind
    var step: Int?
    var error: String?
    var failed: Bool?
    var delivered: Bool?
    var outcome: StepOutcome?
    var keys: String?

    init(_ kind: Kind, step: Int? = nil) {
        self.kind = kind
        self.step = step
    }
}

/// The byte stream between the two guests of a pair (`scripts/vm pair`'s peer channel): a virtio
/// serial port named `salabel.peer` in each guest, joined through a Unix socket on the host. It is
/// no network: the harness's own messages meet no packet check of either kernel, and leave no
/// AVC line a scenario could mistake for its own. Messages are lines of JSON (``PeerMessage``).
///
/// Before the host side is connected, virtio_console's read returns end-of-file and poll says
/// POLLHUP: both are "nothing yet" here, until the deadline.
final class PeerChannel {
    /// The port's name (`virtserialport,name=`) in scripts/vm.
    static let portName = "salabel.peer"
    /// How long a side waits for its peer's next message before it gives up on the pair.
    static let patience = 120.0

    let fd: Int32
    private var buffer: [UInt8] = []

    /// Opens the port whose `/sys/class/virtio-ports/*/name` is ``portName``.
    init() throws {
        let dir = "/sys/class/virtio-ports"
        let ports = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        guard
            let port = ports.sorted().first(where: { p in
                FileManager.default.contents(atPath: "\(dir)/\(p)/name").map {
                    String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                }
                    == Self.portName
            })
        else {
            throw ScenarioKernelError("no virtio serial port named \(Self.portName) (scripts/vm pair gives each guest one; module virtio_console)")
        }
        switch valueOrErrno({ open("/dev/\(port)", O_RDWR | O_NONBLOCK | O_CLOEXEC) }) {
        case .success(let opened): fd = opened
        case .failure(let code): throw ScenarioKernelError("open /dev/\(port): \(code.message)")
        }
    }

    deinit { close(fd) }

    /// Sends one message, waiting (at most ``patience``) until the other side is connected.
    func send(_ message: PeerMessage) throws {
        var bytes = Array(try JSONEncoder().encode(message)) + [0x0a]
        defer { for i in bytes.indices { bytes[i] = 0 } }
        var offset = 0
        let deadline = Date().addingTimeInterval(Self.patience)
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                offset += n
                continue
            }
            guard n < 0, errno == EAGAIN || errno == EINTR else { throw ScenarioKernelError("peer channel: write: \(Errno(rawValue: errno).message)") }
            guard Date() < deadline else { throw ScenarioKernelError("peer channel: the other guest takes no message") }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 100)
        }
    }

    /// The next message, or nil when none came within `timeout` seconds.
    func receive(timeout: Double = PeerChannel.patience) throws -> PeerMessage? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                do { return try JSONDecoder().decode(PeerMessage.self, from: Data(line)) } catch {
                    throw ScenarioKernelError("peer channel: a message that is not one: \(error)")
                }
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left, 0.1) * 1000) + 1)
            // POLLHUP alone: the other side is not connected yet.
            guard ready > 0, p.revents & Int16(POLLIN) != 0 else {
                if ready > 0 { usleep(50_000) }
                continue
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer += chunk[..<n]
            } else if n < 0, errno != EAGAIN, errno != EINTR {
                throw ScenarioKernelError("peer channel: read: \(Errno(rawValue: errno).message)")
            } else {
                usleep(50_000)
            }
        }
    }

    /// The next message, which must be of `kind` (and for `step`, when given).
    func expect(_ kind: PeerMessage.Kind, step: Int? = nil, timeout: Double = PeerChannel.patience) throws -> PeerMessage {
        guard let m = try receive(timeout: timeout) else {
            throw ScenarioKernelError("peer channel: no \(kind.rawValue) from the other guest within \(Int(timeout)) s")
        }
        guard m.kind == kind, step == nil || m.step == step else {
            throw ScenarioKernelError(
                "peer channel: expected \(kind.rawValue)\(step.map { " of step \($0)" } ?? ""), got \(m.kind.rawValue)\(m.step.map { " of step \($0)" } ?? "")")
        }
        return m
    }

    /// Sends `kind` and waits for the other side's own (both sides at the same point).
    func meet(_ kind: PeerMessage.Kind, step: Int? = nil) throws -> PeerMessage {
        var m = PeerMessage(kind)
        m.step = step
        try send(m)
        return try expect(kind, step: step)
    }
}
