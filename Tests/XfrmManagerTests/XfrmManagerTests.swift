import DecisionEngine
import IPsecModel
import SecurityContexts
import Synchronization
import Testing
import XfrmManager

/// The manager's early `setcontext` checks (the kernel's C1–C4) against the embedded policy, over
/// the in-memory kernel: a denial changes nothing; a kernel refusal reports both sides; a failed
/// transaction rolls back. The expected grants come from Specs/engine/default-policy-decisions.tsv
/// (computed by libsepol): ipsec_mgmt_t may setcontext domains and SPD types, echo domains may not.
struct XfrmManagerTests {
    static let mgmt = try! SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")
    static let client = try! SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
    static let spd = try! SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
    static let unlabeledT = try! SecurityContext(parsing: "system_u:object_r:unlabeled_t:s0")

    static func manager(_ kernel: SimulatedXfrmKernel, subject: SecurityContext = mgmt) throws -> XfrmManager {
        XfrmManager(kernel: kernel, authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded())), subject: subject)
    }

    static func sa(_ spi: UInt32, _ ctx: SecurityContext?) -> SecurityAssociation {
        SecurityAssociation(source: IPAddress("10.0.0.1")!, destination: IPAddress("10.0.0.2")!, spi: spi, securityContext: ctx)
    }

    @Test func aGrantedAddReachesTheKernel() throws {
        let k = SimulatedXfrmKernel()
        let (_, auths) = try Self.manager(k).perform(.addSA(Self.sa(0x100, Self.client)))
        #expect(auths.count == 1 && auths[0].granted && auths[0].target == Self.client)
        #expect(k.sas.count == 1)
    }

    /// A deferred engine is made on the first label to check, once; unlabeled work never makes
    /// it, and a denial through it is the same as through an engine given at once.
    @Test func aDeferredEngineIsMadeOnTheFirstLabelOnly() throws {
        let made = Mutex(0)
        let k = SimulatedXfrmKernel()
        let m = XfrmManager(
            kernel: k,
            deferredAuthorizer: {
                made.withLock { $0 += 1 }
                return AssociationAuthorizer(cache: AccessVectorCache(server: try! SecurityServer.embedded()))
            }, subject: Self.client)
        #expect(m.checksLabels)
        try m.perform(.addSA(Self.sa(0x100, nil)))
        try m.perform(.listSA(XfrmFilter()))
        #expect(made.withLock { $0 } == 0)
        #expect(throws: XfrmManagerError.self) { try m.perform(.addSA(Self.sa(0x101, Self.client))) }
        #expect(throws: XfrmManagerError.self) { try m.perform(.addSA(Self.sa(0x102, Self.client))) }
        #expect(made.withLock { $0 } == 1)
        #expect(k.sas.map(\.spi) == [0x100])
        let unchecked = XfrmManager(kernel: SimulatedXfrmKernel(), authorizer: nil, subject: Self.client)
        #expect(try !unchecked.checksLabels && unchecked.authorizer == nil)
    }

    /// A deferred engine whose policy cannot be loaded (the running policy unreadable): unlabeled
    /// operations go through, each labeled one fails with the reason and sends nothing; the loader
    /// is asked once.
    @Test func aDeferredEngineThatCannotLoadFailsLabeledOperationsOnly() throws {
        let made = Mutex(0)
        let k = SimulatedXfrmKernel()
        let m = XfrmManager(
            kernel: k,
            deferredAuthorizer: { () throws(XfrmManagerError) -> AssociationAuthorizer in
                made.withLock { $0 += 1 }
                throw .engineUnavailable("cannot read the running policy")
            }, subject: Self.client)
        try m.perform(.addSA(Self.sa(0x100, nil)))
        for spi: UInt32 in [0x101, 0x102] {
            #expect {
                try m.perform(.addSA(Self.sa(spi, Self.client)))
            } throws: { error in
                (error as? XfrmManagerError)?.description
                    == "the decision engine has no policy to check labels with: cannot read the running policy"
            }
        }
        #expect(made.withLock { $0 } == 1)
        #expect(k.sas.map(\.spi) == [0x100])
    }

    @Test func aDeniedAddChangesNothingAndCarriesTheAVCRecord() throws {
        let k = SimulatedXfrmKernel()
        #expect {
            try Self.manager(k, subject: Self.client).perform(.addSA(Self.sa(0x100, Self.client)))
        } throws: { error in
            guard case .denied(let auths) = error as? XfrmManagerError else { return false }
            return auths.first?.record?.description.contains("denied  { setcontext }") == true
        }
        #expect(k.sas.isEmpty && k.operations.isEmpty)
    }

    /// Edge 12 of Specs/kernel/labeled-ipsec.md: one labeled SA the caller may not setcontext makes the whole
    /// flush fail; nothing goes.
    @Test func flushIsAllOrNothing() throws {
        let k = SimulatedXfrmKernel(sas: [Self.sa(0x100, Self.client), Self.sa(0x101, Self.unlabeledT), Self.sa(0x102, nil)])
        #expect(throws: XfrmManagerError.self) { try Self.manager(k).perform(.flushSA(.all)) }
        #expect(k.sas.count == 3)
        #expect(!k.operations.contains(.flushSA(.all)))
        // Unlabeled SAs are not checked: flushing only them is allowed.
        let k2 = SimulatedXfrmKernel(sas: [Self.sa(0x102, nil)])
        try Self.manager(k2).perform(.flushSA(.all))
        #expect(k2.sas.isEmpty)
    }

    /// A delete checks the label of what it removes, which it looks up first.
    @Test func deletesCheckTheInstalledLabel() throws {
        let k = SimulatedXfrmKernel(sas: [Self.sa(0x100, Self.unlabeledT)])
        let id = Self.sa(0x100, nil).identifier
        #expect(throws: XfrmManagerError.self) { try Self.manager(k).perform(.deleteSA(id, source: nil, mark: nil)) }
        #expect(k.sas.count == 1)
        let p = PolicyEntry(selector: .any(.inet), direction: .out, index: 0, securityContext: Self.spd)
        let k2 = SimulatedXfrmKernel(policies: [])
        try Self.manager(k2).perform(.addPolicy(p))
        let index = k2.policies[0].index
        let (_, auths) = try Self.manager(k2).perform(.deletePolicy(.index(index, .out), mark: nil, policyType: 0, interfaceID: nil))
        #expect(auths.map(\.target) == [Self.spd] && k2.policies.isEmpty)
    }

    @Test func aKernelRefusalReportsBothSides() throws {
        let k = SimulatedXfrmKernel(sas: [Self.sa(0x100, nil)])
        #expect {
            try Self.manager(k).perform(.addSA(Self.sa(0x100, Self.client)))
        } throws: { error in
            guard case .kernel(let e, let auths)? = error as? XfrmManagerError else { return false }
            return e.errno == 17 && auths.count == 1 && auths[0].granted && "\(error)".contains("the engine allowed setcontext")
        }
    }

    @Test func aFailedTransactionRollsBack() throws {
        let k = SimulatedXfrmKernel()
        let steps = [
            ApplyStep(operation: .addSA(Self.sa(0x100, Self.client)), undo: .deleteSA(Self.sa(0x100, nil).identifier, source: nil, mark: nil), summary: "a"),
            ApplyStep(operation: .addSA(Self.sa(0x101, Self.client)), undo: .deleteSA(Self.sa(0x101, nil).identifier, source: nil, mark: nil), summary: "b"),
            ApplyStep(operation: .addPolicy(PolicyEntry(selector: .any(.inet), direction: .out, securityContext: Self.spd)), undo: nil, summary: "c"),
        ]
        k.failChange(after: 2, with: XfrmKernelError(errno: 22, message: "Invalid security context length"))
        #expect {
            try Self.manager(k).transact(steps)
        } throws: { error in
            guard let f = error as? ApplyFailure else { return false }
            return f.step.summary == "c" && f.rolledBack.map(\.summary) == ["b", "a"] && f.rollbackErrors.isEmpty
                && "\(f)".contains("Invalid security context length")
        }
        #expect(k.sas.isEmpty && k.policies.isEmpty)
        // A denial anywhere in the transaction stops it before anything is sent.
        let k2 = SimulatedXfrmKernel()
        #expect(throws: ApplyFailure.self) {
            try Self.manager(k2).transact([steps[0], ApplyStep(operation: .addSA(Self.sa(0x102, Self.unlabeledT)), undo: nil, summary: "d")])
        }
        #expect(k2.operations.isEmpty)
    }
}
