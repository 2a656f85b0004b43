// Who sent a netlink notification: its port id to the socket (/proc/net/netlink of the namespace),
// the socket to the process holding it (/proc/PID/fd). Specs/manager/status.md, "Who installed an SA".

import Foundation
import LinuxSystem

/// Finds the process behind a netlink port id, as far as /proc can tell while its socket is open.
public enum NetlinkSender {
    /// `NETLINK_XFRM`.
    static let xfrmProtocol = 6

    /// The installer of an SA whose NEWSA/UPDSA came from `portID`, in the namespace `netns` (nil:
    /// the caller's).
    public static func installer(portID: UInt32, netns: String?) -> SAInstaller {
        guard portID != 0 else { return .portZero }
        let table: [UInt8]?
        if let netns {
            table =
                try? NetworkNamespace(nameOrPath: netns).run { try? readFileContents(atPath: "/proc/thread-self/net/netlink") }
                ?? nil
        } else {
            table = try? readFileContents(atPath: "/proc/thread-self/net/netlink")
        }
        guard let table, let inode = socketInode(in: String(decoding: table, as: UTF8.self), portID: portID),
            let pid = process(holdingSocket: inode)
        else { return .portOnly(portID: portID) }
        let comm = (try? readFileContents(atPath: "/proc/\(pid)/comm")).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return .process(pid: pid, name: comm.trimmingCharacters(in: .whitespacesAndNewlines), portID: portID)
    }

    /// The inode of the `NETLINK_XFRM` socket bound to `portID` in a `/proc/net/netlink` table
    /// (columns: sk, Eth, Pid, Groups, Rmem, Wmem, Dump, Locks, Drops, Inode).
    static func socketInode(in table: String, portID: UInt32) -> UInt64? {
        for line in table.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 10, Int(f[1]) == xfrmProtocol, UInt32(f[2]) == portID else { continue }
            return UInt64(f[9])
        }
        return nil
    }

    /// The first process with a descriptor on the socket `socket:[inode]`.
    static func process(holdingSocket inode: UInt64) -> Int32? {
        let target = "socket:[\(inode)]"
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry), let fds = try? fm.contentsOfDirectory(atPath: "/proc/\(entry)/fd") else { continue }
            for fd in fds where (try? fm.destinationOfSymbolicLink(atPath: "/proc/\(entry)/fd/\(fd)")) == target {
                return pid
            }
        }
        return nil
    }
}
