#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Closes the runtime's own fds before the container's execve. Stdio (0-2) and the fds the
/// caller preserved are never touched; nothing of the runtime may reach the container.
public enum FdCloser {
    /// Closes every fd >= 3 that is not in `keep`. The fd list comes from the runtime's own
    /// checked procfs: a container's /proc could hide an fd from a plain listing.
    static func closeAll(except keep: Set<Int32>, strategy: Strategy, procfs: Procfs?) {
        let kept = keep.filter { $0 >= 3 }.sorted()
        // A log file closed here must not be written later, when its number may name another file.
        if Log.settings.fd >= 3 && !keep.contains(Log.settings.fd) { Log.settings.fd = -1 }
        if strategy.fdClosing == .closeRange, closeRanges(around: kept) { return }
        walkAndClose(except: Set(kept), procfs: procfs)
    }

    /// close_range over each gap between kept fds; false if the kernel refused.
    private static func closeRanges(around kept: [Int32]) -> Bool {
        var first: UInt32 = 3
        for fd in kept {
            if UInt32(fd) > first, cc_close_range(first, UInt32(fd) - 1, 0) != 0 { return false }
            first = UInt32(fd) + 1
        }
        return cc_close_range(first, UInt32.max, 0) == 0
    }

    private static func walkAndClose(except kept: Set<Int32>, procfs: Procfs?) {
        var open: [Int32] = []
        // Without a procfs to list them, a bounded loop over the fd limit.
        if let listed = procfs?.openDescriptors() {
            open = listed.filter { $0 >= 3 }
        } else {
            var limit = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            let top = Int32(clamping: min(UInt64(limit.rlim_cur), 1 << 20))
            open = Array(3..<max(3, top))
        }
        for fd in open where !kept.contains(fd) { close(fd) }
    }
}
