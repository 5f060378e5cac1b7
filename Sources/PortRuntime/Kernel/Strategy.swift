#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCompat

/// The code paths chosen for this kernel. Callers ask the strategy; they never test a kernel
/// version or an errno themselves.
public struct Strategy: Sendable, Equatable {
    public enum FdClosing: String, Sendable { case closeRange = "close_range", procWalk = "/proc/self/fd walk" }

    public var fdClosing: FdClosing

    public init(fdClosing: FdClosing) { self.fdClosing = fdClosing }

    /// Probes with harmless arguments: close_range with CLOSE_RANGE_CLOEXEC on a spare fd
    /// (ENOSYS before 5.9, EINVAL for the flag before 5.11).
    public static func detect() -> Strategy {
        var fdClosing = FdClosing.procWalk
        let spare = cc_fcntl_int(0, F_DUPFD_CLOEXEC, 3)
        if spare >= 0 {
            if cc_close_range(UInt32(spare), UInt32(spare), CC_CLOSE_RANGE_CLOEXEC) == 0 { fdClosing = .closeRange }
            close(spare)
        }
        return Strategy(fdClosing: fdClosing)
    }
}
