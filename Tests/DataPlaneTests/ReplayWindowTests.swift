import ESPDataPlane
import Testing

/// The anti-replay window (RFC 4303 §3.4.3) and the inference of ESN high bits (Appendix A2.2).
/// Expected values come from the RFC's rules applied by hand to each case.
struct ReplayWindowTests {
    func accepted(_ w: inout ReplayWindow, _ low: UInt32) -> UInt64? {
        guard case .success(let s) = w.check(low) else { return nil }
        w.accept(s)
        return s
    }

    @Test func windowEdgesDuplicatesAndOldPackets() {
        var w = ReplayWindow(size: 64, extendedSequenceNumbers: false)
        #expect(w.check(0) == .failure(.zero))
        #expect(accepted(&w, 100) == 100)
        #expect(w.check(100) == .failure(.replayed))
        // The window is [top - 63, top]: 37 is the oldest still inside, 36 is too old.
        #expect(w.check(37) == .success(37))
        #expect(w.check(36) == .failure(.tooOld))
        #expect(accepted(&w, 37) == 37)
        #expect(w.check(37) == .failure(.replayed))
        // Out of order inside the window, then a jump that pushes 37 out.
        #expect(accepted(&w, 99) == 99 && accepted(&w, 101) == 101)
        // Top 101: the window is [38, 101].
        #expect(w.check(99) == .failure(.replayed) && w.check(37) == .failure(.tooOld) && w.check(38) == .success(38))
        #expect(accepted(&w, 300) == 300)
        #expect(w.check(101) == .failure(.tooOld) && w.check(237) == .success(237) && w.check(236) == .failure(.tooOld))
        #expect(w.top == 300)
    }

    @Test func checkDoesNotMoveTheWindowUntilAccept() {
        var w = ReplayWindow(size: 32, extendedSequenceNumbers: false)
        #expect(w.check(5) == .success(5))
        #expect(w.check(5) == .success(5))  // not yet authenticated: still new
        w.accept(5)
        #expect(w.check(5) == .failure(.replayed))
    }

    @Test func largeWindowsShiftAcrossWords() {
        var w = ReplayWindow(size: 1024, extendedSequenceNumbers: false)
        for s: UInt32 in [1, 64, 65, 128, 500, 1000] { #expect(accepted(&w, s) == UInt64(s)) }
        #expect(accepted(&w, 1065) == 1065)  // shift by 65: bits cross word boundaries
        for s: UInt32 in [64, 65, 128, 500, 1000, 1065] { #expect(w.check(s) == .failure(.replayed), "\(s)") }
        #expect(w.check(42) == .success(42) && w.check(41) == .failure(.tooOld) && w.check(63) == .success(63))
    }

    @Test func disabledWindowOnlyRefusesZero() {
        var w = ReplayWindow(size: 0, extendedSequenceNumbers: false)
        #expect(accepted(&w, 7) == 7 && accepted(&w, 7) == 7 && accepted(&w, 1) == 1)
        #expect(w.check(0) == .failure(.zero))
    }

    /// Appendix A2.2 with W = 64.
    @Test func esnHighBitsAreInferredAcrossTheWrap() {
        var w = ReplayWindow(size: 64, extendedSequenceNumbers: true)
        #expect(accepted(&w, 0xFFFF_FFF0) == 0xFFFF_FFF0)
        // Low half wraps: the next packets belong to subspace 1.
        #expect(accepted(&w, 0x0000_0003) == 0x1_0000_0003)
        // Case B (the window spans the wrap): a low value at the old end is in subspace 0.
        #expect(w.check(0xFFFF_FFF1) == .success(0xFFFF_FFF1))
        #expect(w.check(0xFFFF_FFF0) == .failure(.replayed))
        #expect(w.check(0xFFFF_FFC4) == .success(0xFFFF_FFC4))  // the window's oldest number, top - 63
        // Below the window's bottom the RFC reads the packet as ahead in the current subspace (its
        // ICV, computed with other high bits, then fails): not an old packet.
        #expect(w.check(0xFFFF_FFC3) == .success(0x1_FFFF_FFC3))
        // Case A: once the window is inside subspace 1, a small low value is new in subspace 2.
        #expect(accepted(&w, 0x8000_0000) == 0x1_8000_0000)
        #expect(w.check(0x0000_0001) == .success(0x2_0000_0001))
        #expect(w.check(0x7FFF_FFC1) == .success(0x1_7FFF_FFC1) && w.check(0x7FFF_FFC0) == .success(0x2_7FFF_FFC0))
    }

    @Test func withoutESNTheHighHalfIsAlwaysZero() {
        var w = ReplayWindow(size: 64, extendedSequenceNumbers: false)
        #expect(accepted(&w, 0xFFFF_FFF0) == 0xFFFF_FFF0)
        #expect(w.check(3) == .failure(.tooOld))
    }
}
