#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The five capability sets of `process.capabilities`, as bit masks. Names unknown to Linux
/// are errors; names this kernel does not have yet (CAP_BPF on 5.4) are dropped with a warning,
/// since engines put them in every default spec and old kernels must still run those.
public struct CapabilitySets: Equatable, Sendable {
    public var bounding: UInt64
    public var effective: UInt64
    public var inheritable: UInt64
    public var permitted: UInt64
    public var ambient: UInt64

    public static let names = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
    public static func kernelLastCap() -> Int {
        (try? Files.readString("/proc/sys/kernel/cap_last_cap")).flatMap { Int($0.filter(\.isNumber)) } ?? 40
    }

    /// Builds the masks; `warn` hears about each capability this kernel lacks.
    public init(_ spec: Spec.Capabilities, lastCap: Int, warn: (String) -> Void = { Log.warning($0) }) throws(SpecError) {
        func mask(_ names: [String]?, _ field: String) throws(SpecError) -> UInt64 {
            var bits: UInt64 = 0
            for name in names ?? [] {
                guard let number = CapabilitySets.names.firstIndex(of: name.uppercased()) else {
                    throw SpecError(path: "process.capabilities.\(field)", reason: "unknown capability \(name)")
                }
                if number > lastCap {
                    warn("process.capabilities.\(field): \(name) is not supported by this kernel (last capability \(lastCap)); dropped")
                    continue
                }
                bits |= 1 << UInt64(number)
            }
            return bits
        }
        bounding = try mask(spec.bounding, "bounding")
        effective = try mask(spec.effective, "effective")
        inheritable = try mask(spec.inheritable, "inheritable")
        permitted = try mask(spec.permitted, "permitted")
        ambient = try mask(spec.ambient, "ambient")
    }

    /// Before the user switch: shrink the bounding set and keep permitted caps across setuid.
    func applyBeforeUserSwitch(lastCap: Int) throws(RuntimeError) {
        for number in 0...lastCap where bounding & (1 << UInt64(number)) == 0 {
            if cc_prctl(CC_PR_CAPBSET_DROP, UInt(number), 0, 0, 0) != 0 {
                throw RuntimeError.system("drop \(CapabilitySets.names[number]) from the bounding set", errno: errno)
            }
        }
        try check(cc_prctl(CC_PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)")
    }

    /// After the user switch: the exact effective, permitted, inheritable and ambient sets.
    func applyAfterUserSwitch() throws(RuntimeError) {
        try check(cc_prctl(CC_PR_SET_KEEPCAPS, 0, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)")
        try check(cc_capset(effective, permitted, inheritable), "capset")
        guard ambient != 0 else { return }
        for number in 0..<64 where ambient & (1 << UInt64(number)) != 0 {
            guard cc_prctl(CC_PR_CAP_AMBIENT, CC_PR_CAP_AMBIENT_RAISE, UInt(number), 0, 0) != 0 else { continue }
            // Kernels before 4.3 have no ambient set (EINVAL): the spec allows going on, as runc does.
            if errno == EINVAL {
                Log.warning("process.capabilities.ambient: this kernel has no ambient capabilities (Linux 4.3); going on without them")
                return
            }
            // EPERM: not in the inheritable set, as in runc's own default spec; runc goes on too.
            Log.debug("raise ambient \(CapabilitySets.names[number]): \(errnoText(errno)); going on without it")
        }
    }
}
