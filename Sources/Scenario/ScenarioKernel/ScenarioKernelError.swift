/// Why a kernel run, or one scenario in it, could not be carried out: the VM could not be booted or
/// read, `checkpolicy` refused a scenario's policy, the guest could not prepare the network, the
/// policy or the SAs. A step the kernel refuses is not an error: it is the step's outcome.
public struct ScenarioKernelError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
