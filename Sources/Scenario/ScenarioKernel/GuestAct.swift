import Foundation
import Glibc
import IPsecModel
import LinuxSystem
import NetlinkProtocol
import NetlinkSocket
import Scenario
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

/// `guest-act`: in a fresh single-threaded process, enter the namespace, become the actor, open a
/// NETLINK_XFRM socket, send the request and exit with the kernel's errno (0: acknowledged). Once
/// it is the actor it writes nothing: its standard streams belong to the harness, and using them
/// would be a check on the actor (`fd use`) that no scenario is about.
public enum GuestAct {
    /// Never returns: the process exits with the kernel's errno (0: acknowledged) or a harness status
    /// at or above ``GuestRunner/actFailure``.
    public static func run(netns: String, context: String, message: [UInt8]) -> Never {
        guard (try? NetworkNamespace.path(netns).enterOnCurrentThread()) != nil else { exit(GuestRunner.actFailure + 1) }
        become(context)
        // From here on the actor: only its socket, and the exit status.
        let socket: NetlinkSocket
        do { socket = try NetlinkSocket(protocol: .xfrm, receiveTimeout: .seconds(5)) } catch { _exit(error.errno.rawValue) }
        do { try socket.send(message) } catch { _exit(error.errno.rawValue) }
        let reply: [UInt8]
        do { reply = try socket.receive() } catch { _exit(error.errno.rawValue) }
        guard let messages = try? NetlinkMessage.split(reply) else { _exit(GuestRunner.actFailure + 4) }
        for m in messages where m.type == .error {
            guard let e = try? NetlinkError(decoding: m) else { _exit(GuestRunner.actFailure + 5) }
            _exit(e.errno?.rawValue ?? 0)
        }
        _exit(GuestRunner.actFailure + 6)
    }

    /// Moves this single-threaded process to `context` (`/proc/self/attr/current`); on failure it
    /// exits with a harness status (``GuestRunner/actFailure`` + 2 or + 3).
    static func become(_ context: String) {
        let attr = open("/proc/self/attr/current", O_WRONLY)
        guard attr >= 0 else { exit(GuestRunner.actFailure + 2) }
        let written = context.withCString { Glibc.write(attr, $0, strlen($0)) }
        guard written >= 0 else { exit(GuestRunner.actFailure + 3) }
        close(attr)
    }
}

/// `guest-setsockopt`: in a fresh single-threaded process, become the actor and set one `SOL_IP`
/// or `SOL_IPV6` option on the socket the harness passed as descriptor 3, then exit with the kernel's errno (0:
/// set). The harness made the socket (labeled the actor through `sockcreate`), but the option's
/// checks are the caller's: `{tcp,udp}_socket { setopt }`, `capability { net_admin }` and, for a
/// labeled socket policy, `association { setcontext }` (`selinux_xfrm_alloc_user`), so they must
/// be the actor's. A socket call on an inherited descriptor checks no `fd { use }`
/// (`sock_has_perm` looks at the socket only), unlike a write to the harness's streams.
public enum GuestSetSocketOption {
    /// The descriptor the socket arrives on.
    public static let socketDescriptor: Int32 = 3

    /// Never returns: the process exits with the errno (0: set) or a harness status at or above
    /// ``GuestRunner/actFailure``.
    public static func run(context: String, level: Int32, name: Int32, value: [UInt8]) -> Never {
        GuestAct.become(context)
        // From here on the actor: only the socket, and the exit status.
        do { try SocketDescriptor(rawValue: socketDescriptor).setOption(level: level, name, bytes: value) } catch { _exit(error.rawValue) }
        _exit(0)
    }
}
