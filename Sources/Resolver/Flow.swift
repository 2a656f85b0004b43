public import IPsecModel
public import SecurityContexts

/// An outbound flow as the kernel classifies it (`struct flowi`): the sending socket's context
/// (`flowi_secid`), addresses, upper-layer protocol and ports.
public struct Flow: Sendable, Hashable, CustomStringConvertible {
    /// The flow's label: the sending socket's context; `nil` for a flow without one (SID 0, e.g.
    /// forwarded plaintext).
    public var context: SecurityContext?
    public var source: IPAddress
    public var destination: IPAddress
    /// `IPPROTO_TCP` 6, `IPPROTO_UDP` 17, …; 0 for any.
    public var upperProtocol: UInt8
    public var sourcePort: UInt16
    public var destinationPort: UInt16

    public init(
        context: SecurityContext?, source: IPAddress, destination: IPAddress, upperProtocol: UInt8 = 0,
        sourcePort: UInt16 = 0, destinationPort: UInt16 = 0
    ) {
        self.context = context
        self.source = source
        self.destination = destination
        self.upperProtocol = upperProtocol
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    public var description: String {
        var s = "\(source) → \(destination)"
        if upperProtocol != 0 { s += " proto \(upperProtocol)" }
        if destinationPort != 0 { s += " dport \(destinationPort)" }
        return s + " [" + (context?.description ?? "no label") + "]"
    }
}

extension TrafficSelector {
    /// Whether a flow matches the selector (`xfrm_selector_match`): family, both prefixes, the
    /// protocol when the selector names one, ports under their masks.
    public func matches(_ flow: Flow) -> Bool {
        guard flow.source.family == source.address.family, flow.destination.family == destination.address.family else { return false }
        guard source.contains(flow.source), destination.contains(flow.destination) else { return false }
        if upperProtocol != 0 && upperProtocol != flow.upperProtocol { return false }
        if sourcePortMask != 0 && (flow.sourcePort & sourcePortMask) != (sourcePort & sourcePortMask) { return false }
        if destinationPortMask != 0 && (flow.destinationPort & destinationPortMask) != (destinationPort & destinationPortMask) { return false }
        return true
    }
}
