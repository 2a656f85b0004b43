// NLMSG_ERROR and NLMSG_DONE: the captured ACK and NACK (Specs/kernel/layouts.md §4.2, §4.4) decode to
// exactly what that document says, and encode back to the same bytes; Errno's C names (LinuxSystem's table
// over swift-system's Errno) match Python's `errno` module and the C library's constants, its messages the
// C library's.

import Foundation
import Glibc
import LinuxSystem
import NetlinkProtocol
import Testing
import TestSupport

@Suite("Netlink errors and acknowledgements")
struct NetlinkErrorTests {
    @Test("§4.2: the ACK is NLMSG_ERROR, NLM_F_CAPPED, error 0, echoing the 16-byte header of the §4.1 request")
    func capturedAck() throws {
        let message = try #require(try NetlinkMessage.split(Golden.ack).first)
        #expect(message.header == NetlinkHeader(length: 36, type: .error, flags: .capped, sequence: Golden.sequence, portID: Golden.portID))
        let ack = try NetlinkError(decoding: message)
        #expect(ack.code == 0 && ack.isAcknowledgement && ack.errno == nil)
        #expect(ack.isCapped && ack.requestPayload == nil)
        #expect(ack.request == NetlinkHeader(length: 300, type: 0x13, flags: [.request, .acknowledge], sequence: Golden.sequence, portID: 0))
        #expect(ack.extendedAck.isEmpty)
        // The kernel's netlink_ack, imitated: the same 36 bytes.
        let newPolicy = try #require(try NetlinkMessage.split(Golden.newPolicy).first)
        #expect(
            try NetlinkError(code: 0, request: newPolicy.header).message(sequence: Golden.sequence, portID: Golden.portID).encoded()
                == Golden.ack)
    }

    @Test("§4.4: the NACK is −93 EPROTONOSUPPORT, the whole uncapped request, and \"Requested type not found\"")
    func capturedNack() throws {
        let message = try #require(try NetlinkMessage.split(Golden.nack).first)
        #expect(
            message.header
                == NetlinkHeader(
                    length: 428, type: .error, flags: .acknowledgementTLVs, sequence: Golden.sequence, portID: Golden.portID))
        let nack = try NetlinkError(decoding: message)
        #expect(nack.code == -93)
        #expect(nack.errno == .protocolNotSupported && nack.errno?.rawValue == 93 && nack.errno?.cName == "EPROTONOSUPPORT")
        #expect(!nack.isCapped)
        let request = try #require(try NetlinkMessage.split(Golden.newSA).first)
        #expect(nack.request == request.header)
        #expect(nack.request.length == 376)
        #expect(nack.requestPayload == request.payload)
        #expect(nack.extendedAck == ExtendedAck(message: "Requested type not found"))
        #expect(nack.extendedAck.offset == nil)
        #expect(nack.description == "Protocol not supported (EPROTONOSUPPORT): Requested type not found")
        let rebuilt = NetlinkError(
            code: -93, request: request.header, requestPayload: request.payload,
            extendedAck: ExtendedAck(message: "Requested type not found"))
        #expect(try rebuilt.message(sequence: Golden.sequence, portID: Golden.portID).encoded() == Golden.nack)
    }

    @Test("a capped NACK with a message and an offset, and a cookie and missing-attribute TLVs, round-trip")
    func extendedAckRoundTrip() throws {
        let header = NetlinkHeader(length: 376, type: 0x10, flags: [.request, .acknowledge], sequence: 3, portID: 0)
        let ack = ExtendedAck(
            message: "Invalid attribute", offset: 0x120, cookie: [1, 2, 3], missingAttributeType: 8, missingNestOffset: 16,
            otherAttributes: [NetlinkAttribute(type: 4, flags: .nested, payload: [8, 0, 1, 0, 9, 0, 0, 0])])
        let error = NetlinkError(code: -22, request: header, extendedAck: ack)
        let message = try error.message(sequence: 3, portID: 77)
        #expect(message.flags == [.capped, .acknowledgementTLVs])
        let decoded = try NetlinkError(decoding: try #require(try NetlinkMessage.split(message.encoded()).first))
        #expect(decoded == error)
        #expect(decoded.errno == .invalidArgument)
        #expect(decoded.description == "Invalid argument (EINVAL): Invalid attribute (at byte 288 of the request)")
    }

    @Test("malformed NLMSG_ERROR payloads are errors, never traps")
    func malformed() throws {
        func decode(_ payload: [UInt8], flags: NetlinkMessageFlags = []) throws {
            _ = try NetlinkError(decoding: NetlinkMessage(type: .error, flags: flags, payload: payload))
        }
        let ack = try #require(try NetlinkMessage.split(Golden.ack).first)
        #expect(throws: NetlinkDecodingError(.truncatedErrorMessage(available: 19), at: 0)) { try decode(Array(ack.payload[..<19])) }
        #expect(throws: NetlinkDecodingError(.positiveErrorCode(5), at: 0)) { try decode([5, 0, 0, 0] + Array(ack.payload[4...])) }
        // Uncapped NACK whose echoed nlmsg_len (300) is longer than what follows.
        #expect(throws: NetlinkDecodingError(.malformedEchoedRequest(length: 300, available: 16), at: 4)) {
            try decode([0xea, 0xff, 0xff, 0xff] + Array(ack.payload[4...]))
        }
        // TLVs flagged but truncated.
        #expect(throws: NetlinkDecodingError(.attributeLengthExceedsPayload(type: 1, length: 29, available: 8), at: 20)) {
            try decode(ack.payload + [29, 0, 1, 0, 0x52, 0x65, 0x71, 0x75], flags: [.capped, .acknowledgementTLVs])
        }
        // Bytes after the header of a capped ACK without NLM_F_ACK_TLVS.
        #expect(throws: NetlinkDecodingError(.trailingBytes(count: 4), at: 20)) { try decode(ack.payload + [0, 0, 0, 0], flags: .capped) }
        // An OFFS that is not a u32.
        #expect(throws: NetlinkDecodingError(.attributeSizeMismatch(type: 2, expected: 4, actual: 2), at: 20)) {
            try decode(ack.payload + [6, 0, 2, 0, 1, 0, 0, 0], flags: [.capped, .acknowledgementTLVs])
        }
    }

    @Test("an uncapped ACK from a kernel before 4.12 echoes only the header")
    func oldKernelAck() throws {
        let ack = try #require(try NetlinkMessage.split(Golden.ack).first)
        let old = NetlinkMessage(type: .error, flags: [], sequence: Golden.sequence, portID: Golden.portID, payload: ack.payload)
        let decoded = try NetlinkError(decoding: old)
        #expect(decoded.isAcknowledgement && decoded.requestPayload == nil && decoded.request.length == 300)
    }

    @Test("§4.5 NLMSG_DONE: NLM_F_MULTI, a 4-byte 0; a failed dump's DONE carries −errno and a message")
    func done() throws {
        let bytes = Golden.capture("14 00 00 00 03 00 02 00 aa aa aa aa bb bb bb bb 00 00 00 00")
        let message = try #require(try NetlinkMessage.split(bytes).first)
        #expect(message.header == NetlinkHeader(length: 20, type: .done, flags: .multipart, sequence: Golden.sequence, portID: Golden.portID))
        #expect(try NetlinkDone(decoding: message) == NetlinkDone())
        #expect(try NetlinkDone().message(sequence: Golden.sequence, portID: Golden.portID).encoded() == bytes)

        let failed = NetlinkDone(code: -16, extendedAck: ExtendedAck(message: "busy"))
        let failedMessage = try failed.message(sequence: 1, portID: 2, extraFlags: .dumpInterrupted)
        #expect(failedMessage.flags == [.multipart, .dumpInterrupted, .acknowledgementTLVs])
        #expect(try NetlinkDone(decoding: failedMessage) == failed)
        #expect(failed.errno == .resourceBusy)
        #expect(try NetlinkDone(decoding: NetlinkMessage(type: .done)) == NetlinkDone())
    }

    @Test("Errno: every Linux code has the C library's name value and strerror text")
    func errnoTable() {
        for code in Int32(1)...133 {
            let errno = Errno(rawValue: code)
            #expect(errno.message == String(cString: strerror(code)), "errno \(code)")
            // 41 and 58 are unassigned on Linux (glibc: "Unknown error 41").
            #expect((errno.cName == nil) == (code == 41 || code == 58), "errno \(code)")
        }
        let named: [(Errno, Int32, String)] = [
            (.notPermitted, EPERM, "EPERM"), (.noSuchFileOrDirectory, ENOENT, "ENOENT"), (.noSuchProcess, ESRCH, "ESRCH"),
            (.interrupted, EINTR, "EINTR"), (.ioError, EIO, "EIO"), (.argListTooLong, E2BIG, "E2BIG"),
            (.badFileDescriptor, EBADF, "EBADF"), (.wouldBlock, EAGAIN, "EAGAIN"), (.noMemory, ENOMEM, "ENOMEM"),
            (.permissionDenied, EACCES, "EACCES"), (.badAddress, EFAULT, "EFAULT"), (.resourceBusy, EBUSY, "EBUSY"),
            (.fileExists, EEXIST, "EEXIST"), (.operationNotSupportedByDevice, ENODEV, "ENODEV"), (.invalidArgument, EINVAL, "EINVAL"),
            (.noSpace, ENOSPC, "ENOSPC"), (.outOfRange, ERANGE, "ERANGE"), (.noFunction, ENOSYS, "ENOSYS"),
            (.noData, ENODATA, "ENODATA"), (.protocolError, EPROTO, "EPROTO"), (.badMessage, EBADMSG, "EBADMSG"),
            (.overflow, EOVERFLOW, "EOVERFLOW"), (.messageTooLong, EMSGSIZE, "EMSGSIZE"),
            (.protocolNotAvailable, ENOPROTOOPT, "ENOPROTOOPT"), (.protocolNotSupported, EPROTONOSUPPORT, "EPROTONOSUPPORT"),
            (.notSupported, EOPNOTSUPP, "EOPNOTSUPP"), (.addressFamilyNotSupported, EAFNOSUPPORT, "EAFNOSUPPORT"),
            (.addressInUse, EADDRINUSE, "EADDRINUSE"), (.noBufferSpace, ENOBUFS, "ENOBUFS"),
            (.connectionRefused, ECONNREFUSED, "ECONNREFUSED"), (.timedOut, ETIMEDOUT, "ETIMEDOUT"),
        ]
        for (errno, value, name) in named {
            #expect(errno.rawValue == value && errno.cName == name)
        }
        #expect(Errno.noSuchFileOrDirectory.messageAndName == "No such file or directory (ENOENT)")
        #expect(Errno(rawValue: 200).messageAndName == "Unknown error 200 (errno 200)")
        #expect(Errno(rawValue: 200).message == String(cString: strerror(200)))
        #expect(Errno.wouldBlock ~= Errno(rawValue: EAGAIN) as any Error)
        #expect(Errno.resourceTemporarilyUnavailable == .wouldBlock && Errno(rawValue: 200).name == "errno 200")
    }

    /// The C names against an independent reference: Python's `errno` module (its names and values
    /// come from the C library's headers). Every code Python knows has a C name here, and every C name
    /// here that Python knows has the same value. Python gives one name of an aliased pair
    /// (`EDEADLOCK` for `EDEADLK`, `ENOTSUP` for `EOPNOTSUPP`); the table gives the kernel's.
    @Test("Errno: the C names match Python's errno module")
    func errnoNamesMatchPython() throws {
        let script = "import errno\nfor n in dir(errno):\n    if n.startswith('E') and isinstance(getattr(errno, n), int): print(n, getattr(errno, n))\n"
        let r = try runProcess(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", script])
        try #require(r.status == 0, "python3: \(r.stderr)")
        var pythonByName: [String: Int32] = [:]
        for line in r.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let value = Int32(fields[1]) { pythonByName[String(fields[0])] = value }
        }
        try #require(pythonByName.count > 100, "python3 printed \(pythonByName.count) error names")
        var unknownToPython: [String] = []
        for code in Int32(1)...200 {
            guard let name = Errno(rawValue: code).cName else {
                #expect(!pythonByName.values.contains(code), "errno \(code): Python names it, the table does not")
                continue
            }
            if let value = pythonByName[name] { #expect(value == code, "\(name): \(code) here, \(value) in Python") } else { unknownToPython.append(name) }
        }
        // Python 3.11 does not know EHWPOISON (133), the newest code.
        #expect(unknownToPython.allSatisfy { $0 == "EHWPOISON" }, "names Python does not know: \(unknownToPython)")
    }
}
