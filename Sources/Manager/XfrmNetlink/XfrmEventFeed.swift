public import IPsecModel
public import XfrmManager
import LinuxSystem
public import NetlinkSocket
import XfrmWire

/// One table dump as a mirror needs it: complete, or to be taken again.
public enum XfrmDump<Element: Sendable>: Sendable {
    /// The dump ended with `NLMSG_DONE` and no part carried `NLM_F_DUMP_INTR`.
    case complete([Element])
    /// A part carried `NLM_F_DUMP_INTR` (netlink.h: "Dump was inconsistent due to sequence change"):
    /// the contents may be inconsistent; dump again. No notification was lost.
    case interrupted
    /// The socket's receive queue overran (`ENOBUFS`) while the dump was read: parts of the dump and
    /// notifications may be lost.
    case overflow
}

/// A feed of the kernel's xfrm notifications for a mirror of the SAD and SPD (`Resolver`'s
/// `MirrorSync`): one netlink connection that joins the multicast groups first, then dumps the
/// tables on the same socket, so that every notification sent after the subscription is read, in
/// order, after the dump (`NetlinkConnection` keeps the notifications that arrive while a dump is
/// read, up to `NetlinkConnection/maximumPendingNotifications`, then reports an overflow).
///
/// Not `Sendable`: one owner (the sync driver's thread). After a loss (an overflow), open a new feed
/// rather than dumping again on this one: its queue may still hold notifications older than the lost
/// ones (Specs/resolver/semantics.md, "The sync protocol").
public final class XfrmEventFeed {
    /// The groups a mirror needs (xfrm_user.c multicasts each message to one group):
    /// `XFRMNLGRP_ACQUIRE` (1: ACQUIRE, the mirror's larval SAs), `XFRMNLGRP_EXPIRE` (2: EXPIRE, POLEXPIRE), `XFRMNLGRP_SA` (3: NEWSA, UPDSA, DELSA, FLUSHSA),
    /// `XFRMNLGRP_POLICY` (4: NEWPOLICY, UPDPOLICY, DELPOLICY, FLUSHPOLICY), and
    /// ``migrateGroup`` (7): SAs and policies moved by `XFRM_MSG_MIGRATE` are replaced in the kernel
    /// without any SA or policy notification, so a MIGRATE means the mirror is stale.
    public static let mirrorGroups: [UInt32] = [
        XfrmGroup.acquire.rawValue, XfrmGroup.expire.rawValue, XfrmGroup.sa.rawValue, XfrmGroup.policy.rawValue, migrateGroup,
    ]
    /// `XFRMNLGRP_MIGRATE` (7).
    public static let migrateGroup: UInt32 = 7
    /// `XFRM_MSG_MIGRATE` (33).
    public static let migrateMessage = XfrmMessageType(rawValue: 33)

    /// The connection: a socket, or a fake kernel in tests.
    public let connection: NetlinkConnection

    /// A feed over an existing connection (a fake kernel in tests, a socket).
    public init(connection: NetlinkConnection) {
        self.connection = connection
    }

    /// A feed on a new socket in the caller's network namespace or another.
    ///
    /// - Parameters:
    ///   - netns: the network namespace, a name under /run/netns or a path; nil for the caller's.
    ///   - receiveTimeout: how long ``next()`` waits before it returns `nil` (so that a loop can
    ///     check whether to stop); dumps wait as long for each part.
    public convenience init(netns: String? = nil, receiveTimeout: Duration = .seconds(1)) throws(XfrmKernelError) {
        do {
            self.init(
                connection: try NetlinkConnection(
                    protocol: .xfrm, namespace: netns.map(NetworkNamespace.init(nameOrPath:)),
                    receiveTimeout: receiveTimeout))
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
    }

    /// Joins the groups (``mirrorGroups`` by default). Call before the first dump.
    public func subscribe(groups: [UInt32] = XfrmEventFeed.mirrorGroups) throws(XfrmKernelError) {
        do {
            for group in groups { try connection.join(group: group) }
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
    }

    /// Dumps the SAD once (`XFRM_MSG_GETSA` with `NLM_F_DUMP`, as `ip xfrm state`), without retrying
    /// an interrupted dump: the caller decides.
    /// - Throws: a refusal, a failed dump, an entry that cannot be decoded, a transport error.
    public func dumpSAs() throws(XfrmKernelError) -> XfrmDump<SecurityAssociation> {
        try dump(XfrmRequest.dumpSAs()) { m throws(XfrmWireError) in try m.securityAssociation() }
    }

    /// Dumps the SPD once (`XFRM_MSG_GETPOLICY` with `NLM_F_DUMP`, as `ip xfrm policy`).
    public func dumpPolicies() throws(XfrmKernelError) -> XfrmDump<PolicyEntry> {
        try dump(XfrmRequest.dumpPolicies()) { m throws(XfrmWireError) in try m.policyEntry() }
    }

    private func dump<T>(_ request: XfrmMessage, _ entry: (XfrmMessage) throws(XfrmWireError) -> T?) throws(XfrmKernelError) -> XfrmDump<T> {
        do {
            let replies = try connection.dump(
                type: request.type.netlink, payload: try request.payload(),
                operation: request.type.description + " dump", maximumAttempts: 1)
            var entries: [T] = []
            entries.reserveCapacity(replies.count)
            for reply in replies {
                if let e = try entry(try XfrmMessage(decoding: reply)) { entries.append(e) }
            }
            return .complete(entries)
        } catch let error as NetlinkRequestError {
            switch error.kind {
            case .dumpInterrupted: return .interrupted
            case .receiveQueueOverflow, .overrun: return .overflow
            default: throw NetlinkXfrmKernel.kernelError(error)
            }
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
    }

    /// The next notification, typed (``XfrmEvent``; one that cannot be decoded is
    /// ``XfrmEvent/other(_:_:)`` with its type, as `salabel xfrm monitor` shows it), or
    /// ``XfrmEvent/overflow(resynchronized:)`` (with `nil`) when notifications were lost; `nil` when
    /// nothing arrived before the receive timeout.
    /// - Throws: a transport error other than the timeout.
    public func next() throws(XfrmKernelError) -> XfrmEvent? {
        try nextWithSender()?.event
    }

    /// The next notification as ``next()`` reads it, with the netlink header's port id (`nlmsg_pid`):
    /// for NEWSA, DELSA, NEWPOLICY, … the port id the request that made the change carried in its own
    /// header (xfrm_user.c: `c.portid = nlh->nlmsg_pid`; the requester writes it, iproute2 writes 0),
    /// 0 for the kernel's own (ACQUIRE, EXPIRE); `nil` for an overflow.
    public func nextWithSender() throws(XfrmKernelError) -> (event: XfrmEvent, senderPortID: UInt32?)? {
        let notification: NetlinkNotification
        do {
            notification = try connection.nextNotification()
        } catch let error as NetlinkSocketError where error.isTimeout {
            return nil
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
        switch notification {
        case .overflow:
            return (.overflow(resynchronized: nil), nil)
        case .message(let message, _):
            do {
                return (XfrmEvent(try XfrmMessage(decoding: message)), message.header.portID)
            } catch {
                return (.other(XfrmMessageType(rawValue: message.header.type.rawValue), "cannot be decoded: \(error)"), message.header.portID)
            }
        }
    }
}
