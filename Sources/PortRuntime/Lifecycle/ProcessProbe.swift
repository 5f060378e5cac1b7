#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// Facts about a host process read from /proc/PID/stat.
public enum ProcessProbe {
    /// (state letter, start time in ticks), or nil when the process does not exist.
    public static func stat(_ pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let text = try? Files.readString("/proc/\(pid)/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "comm)" start at field 3 (state); start time is field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }

    public static func startTime(_ pid: Int32) -> UInt64 { stat(pid)?.startTime ?? 0 }

    /// True while `pid` is the same process that was recorded and it has not exited.
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard let info = stat(pid) else { return false }
        return info.state != "Z" && info.state != "X" && (startTime == 0 || info.startTime == startTime)
    }

    /// Every host pid whose pid namespace is the same as `pid`'s.
    public static func pidsSharingNamespace(with pid: Int32) -> [Int32] {
        guard let target = Files.readLink("/proc/\(pid)/ns/pid") else { return [] }
        return Files.list("/proc").compactMap(Int32.init).filter { Files.readLink("/proc/\($0)/ns/pid") == target }
    }
}
