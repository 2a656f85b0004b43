public import Resolver
import XfrmManager

extension XfrmMirror {
    /// The SAD and SPD of the network namespace `netns` (a name or a path), dumped once.
    public static func dump(netns: String) throws(XfrmKernelError) -> XfrmMirror {
        let kernel = try NetlinkXfrmKernel(netns: netns)
        return XfrmMirror(sas: try kernel.allSAs(), policies: try kernel.allPolicies())
    }
}
