// The keys the kernel identifies SAs and SPD entries by (Specs/kernel/labeled-ipsec.md §c.1, edge 11),
// in one place for every component that compares installed objects: the manager's in-memory
// kernel, `apply` planning, the resolver's mirror.

extension SecurityAssociation {
    /// Whether two SAs occupy the same SAD slot: destination, SPI, protocol and mark. Labels are
    /// not part of it.
    public func hasSameKernelKey(as other: SecurityAssociation) -> Bool {
        identifier == other.identifier && mark == other.mark
    }
}

extension PolicyEntry {
    /// Whether two SPD entries are the same entry to the kernel: selector, direction, label, mark,
    /// interface id and type. Entries differing only in label are different entries.
    public func hasSameKernelKey(as other: PolicyEntry) -> Bool {
        selector == other.selector && direction == other.direction && securityContext == other.securityContext
            && mark == other.mark && interfaceID == other.interfaceID && policyType == other.policyType
    }
}
