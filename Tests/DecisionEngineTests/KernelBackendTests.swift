// KernelBackend on this machine. Where SELinux is disabled (the development machines), the backend must
// refuse to start with a message; where selinuxfs is mounted (the VM), it must start. Decisions against
// a real policy are tested in the VM.

import DecisionEngine
import Foundation
import SELinuxKernel
import Testing

@Suite("KernelBackend (libselinux)")
struct KernelBackendTests {
    @Test("init reports unavailable when SELinux is disabled, and succeeds when it is enabled")
    func availability() throws {
        if FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce") {
            let backend = try KernelBackend()
            #expect(backend.backendName == "kernel")
        } else {
            #expect(throws: DecisionError.unavailable("SELinux is not enabled on this kernel")) {
                try KernelBackend()
            }
        }
    }

    @Test("the unavailable error reads as a reason to deny")
    func unavailableMessage() {
        #expect(
            DecisionError.unavailable("SELinux is not enabled on this kernel").description
                == "no decision can be made: SELinux is not enabled on this kernel")
    }
}
