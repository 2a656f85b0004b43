// Privileged tests against the real kernel XFRM interface, each in a network namespace the test creates
// and removes. They need root (ip netns add, setns); without it they fail with a message, never skip.

import Foundation
import NetlinkSocket
import NetlinkTestSupport
import Testing

@Suite("NetlinkSocket against the kernel")
struct NetlinkSocketTests {
    /// `XFRM_MSG_GETSA` dump request, as `ip xfrm state show` sends it (Specs/kernel/layouts.md §4.5): header
    /// len 56, type 0x12 (`XFRM_MSG_GETSA`), flags 0x0301 (`NLM_F_REQUEST | NLM_F_DUMP`), our sequence
    /// number, pid 0; then one `XFRMA_ADDRESS_FILTER` (type 0x1a) attribute, nla_len 40, 36 zero bytes.
    static func getSADumpRequest(sequence: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0x38, 0x00, 0x00, 0x00, 0x12, 0x00, 0x01, 0x03]
        bytes += withUnsafeBytes(of: sequence.littleEndian, Array.init)  // nlmsg_seq, host order (x86-64)
        bytes += [0x00, 0x00, 0x00, 0x00]  // nlmsg_pid: the kernel
        bytes += [0x28, 0x00, 0x1a, 0x00]  // nla_len 40, XFRMA_ADDRESS_FILTER
        bytes += [UInt8](repeating: 0, count: 36)  // struct xfrm_address_filter
        precondition(bytes.count == 56)
        return bytes
    }

    /// The fields of a `struct nlmsghdr` at `offset` (host order; x86-64 is little-endian).
    struct Header: Equatable {
        var length: UInt32, type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32
        static func read(_ bytes: [UInt8], at offset: Int = 0) -> Header {
            func u32(_ at: Int) -> UInt32 { bytes[offset + at..<offset + at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
            func u16(_ at: Int) -> UInt16 { UInt16(bytes[offset + at]) | UInt16(bytes[offset + at + 1]) << 8 }
            return Header(length: u32(0), type: u16(4), flags: u16(6), sequence: u32(8), portID: u32(12))
        }
    }

    @Test("a GETSA dump in a fresh namespace answers NLMSG_DONE with our sequence and port id")
    func getSADumpInFreshNamespace() throws {
        try requireRoot()
        let namespace = try TemporaryNamespace("dump")
        defer { namespace.remove() }

        let threadNamespace = try currentThreadNamespace()
        let socket = try NetlinkSocket(protocol: .xfrm, namespace: .named(namespace.name), receiveTimeout: .seconds(5))
        #expect(try currentThreadNamespace() == threadNamespace, "the calling thread must stay in its namespace")
        #expect(socket.netlinkProtocol == .xfrm && NetlinkProtocol.xfrm.rawValue == 6)
        #expect(socket.portID != 0)
        let sequence: UInt32 = 0x5A1A_BE01
        try socket.send(Self.getSADumpRequest(sequence: sequence))
        let reply = try socket.receive()

        // An empty SAD: one NLMSG_DONE (type 3), flags NLM_F_MULTI (2), 4-byte payload 0 (§4.5 reply).
        try #require(reply.count == 20, "expected a 20-byte NLMSG_DONE, got \(reply.count) bytes: \(reply)")
        let header = Header.read(reply)
        #expect(header == Header(length: 20, type: 3, flags: 2, sequence: sequence, portID: socket.portID))
        #expect(Array(reply[16..<20]) == [0, 0, 0, 0])
    }

    @Test("opening a namespace that does not exist fails with ENOENT")
    func missingNamespace() throws {
        let name = "salabel-test-\(getpid())-missing"
        let error = #expect(throws: NetlinkSocketError.self) {
            _ = try NetlinkSocket(protocol: .xfrm, namespace: .named(name))
        }
        #expect(error?.operation == .openNamespace)
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.detail == "/run/netns/\(name)")
        #expect(error?.description == "netlink: open network namespace /run/netns/\(name): No such file or directory (ENOENT)")
    }

    @Test("a namespace name with a slash is rejected before anything is opened")
    func invalidNamespaceName() {
        let error = #expect(throws: NetlinkSocketError.self) {
            _ = try NetlinkSocket(namespace: .named("../etc"))
        }
        #expect(error?.errno == .invalidArgument)
    }

    @Test("a receive with nothing to read times out with EAGAIN")
    func receiveTimeout() throws {
        let socket = try NetlinkSocket(protocol: .xfrm, receiveTimeout: .milliseconds(50))
        let error = #expect(throws: NetlinkSocketError.self) { _ = try socket.receive() }
        #expect(error?.isTimeout == true)
        #expect(error?.errno == .wouldBlock)
    }

    @Test("a socket that joined XFRMNLGRP_POLICY sees a policy added in its namespace")
    func multicastPolicyNotification() throws {
        try requireRoot()
        let namespace = try TemporaryNamespace("monitor")
        defer { namespace.remove() }

        let xfrmGroupPolicy: UInt32 = 4  // XFRMNLGRP_POLICY
        let monitor = try NetlinkSocket(
            protocol: .xfrm, namespace: .named(namespace.name), groups: [xfrmGroupPolicy], receiveTimeout: .seconds(5))
        try runCommand(
            "ip", "-n", namespace.name, "xfrm", "policy", "add", "src", "127.0.0.1", "dst", "127.0.0.1",
            "proto", "tcp", "dir", "out")
        let event = try monitor.receive()
        try #require(event.count >= 16)
        let header = Header.read(event)
        #expect(header.type == 0x13)  // XFRM_MSG_NEWPOLICY
        #expect(Int(header.length) == event.count)

        try monitor.leave(group: xfrmGroupPolicy)
        try monitor.setReceiveTimeout(.milliseconds(50))
        try runCommand("ip", "-n", namespace.name, "xfrm", "policy", "flush")
        let error = #expect(throws: NetlinkSocketError.self) { _ = try monitor.receive() }
        #expect(error?.isTimeout == true)
    }
}

// MARK: - Helpers

private func requireRoot(sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(
        getuid() == 0,
        "these tests need root: they create network namespaces (ip netns add) and enter them (setns); run `swift test` as root",
        sourceLocation: sourceLocation)
}

/// The inode of the calling thread's network namespace.
private func currentThreadNamespace() throws -> UInt {
    var info = stat()
    try #require(stat("/proc/thread-self/ns/net", &info) == 0)
    return UInt(info.st_ino)
}
