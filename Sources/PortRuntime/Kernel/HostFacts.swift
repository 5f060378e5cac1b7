#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The probe results for this boot, cached under the state root: a start pays for probing
/// once per boot, not once per container. The cache is keyed by the boot id and by what
/// can change the answers without a reboot (a seccomp filter over us, test overrides).
public struct HostFacts: Sendable, Equatable {
    public var probes: [String: ProbeResult]
    /// Test hooks for what seccomp cannot fake (PORT_RUN_TEST_OVERRIDES, comma-separated),
    /// set by the persona simulator.
    public var overrides: Set<String>

    public static let cacheFileName = ".host-facts.json"

    public func has(_ probe: String) -> Bool { probes[probe]?.isPresent ?? false }

    /// Not root of the host: another user, or root of a user namespace (rootless podman runs
    /// its runtime there). Such a caller cannot make cgroups or device nodes of the host.
    public static var isRootless: Bool {
        if geteuid() != 0 { return true }
        let map = (try? Files.readString("/proc/self/uid_map")) ?? ""
        return map.split(whereSeparator: \.isWhitespace) != ["0", "0", "4294967295"]
    }

    /// The kernel's entropy pool was not ready when this process started: the Swift runtime
    /// took a fixed hashing seed rather than wait (CCompat/early_entropy.c).
    public static var entropyDeferred: Bool { cc_entropy_deferred() != 0 }

    /// Undoes the start-up's change of environment (CCompat/early_entropy.c) before anything
    /// reads the command line or the environment.
    public static func restoreEnvironment() { cc_restore_environment() }

    public static func currentOverrides() -> Set<String> {
        guard let raw = getenv("PORT_RUN_TEST_OVERRIDES") else { return [] }
        return Set(String(decoding: Array(UnsafeBufferPointer(start: raw, count: strlen(raw))).map { UInt8(bitPattern: $0) },
                          as: UTF8.self).split(separator: ",").map(String.init))
    }

    /// Sysctls that turn namespace creation off and on without a reboot (RHEL 7 ships
    /// user.max_user_namespaces = 0; Debian's kernel.unprivileged_userns_clone).
    static let namespaceSysctls = ["user/max_user_namespaces", "user/max_pid_namespaces", "user/max_net_namespaces",
                                   "user/max_mnt_namespaces", "user/max_ipc_namespaces", "user/max_uts_namespaces",
                                   "user/max_cgroup_namespaces", "kernel/unprivileged_userns_clone"]

    /// What makes cached answers stale: another boot, another seccomp filter, other overrides,
    /// a namespace sysctl changed.
    static func cacheKey(overrides: Set<String>,
                         sysctl: (String) -> String? = { try? Files.readString("/proc/sys/" + $0) }) -> String {
        let boot = ((try? Files.readString("/proc/sys/kernel/random/boot_id")) ?? "").trimmed
        let status = (try? Files.readString("/proc/self/status")) ?? ""
        let seccomp = status.utf8.split(separator: UInt8(ascii: "\n")).filter { $0.starts(with: "Seccomp".utf8) }
            .map { String(Substring($0)) }.joined(separator: ";")
        let sysctls = namespaceSysctls.map { (sysctl($0) ?? "-").trimmed }.joined(separator: ",")
        return "\(boot)|\(seccomp)|\(overrides.sorted().joined(separator: ","))|\(sysctls)"
    }

    /// From the cache when it is this boot's, else by probing (and the cache is refreshed).
    public static func load(cacheDirectory: String?) -> HostFacts {
        let overrides = currentOverrides()
        let key = cacheKey(overrides: overrides)
        let path = cacheDirectory.map { $0 + "/" + cacheFileName }
        if let path, let cached = try? Files.read(path, limit: 65536), let facts = decode(cached, key: key) {
            return facts
        }
        guard var probes = Probes.runAll() else { return HostFacts(probes: [:], overrides: overrides) }
        if overrides.contains("no-proc-thread-self") { probes["proc_thread_self"] = .absent(errno: ENOENT) }
        // seccomp cannot look inside clone3's argument struct.
        if overrides.contains("no-clone-into-cgroup") { probes["clone_into_cgroup"] = .absent(errno: EINVAL) }
        let facts = HostFacts(probes: probes, overrides: overrides)
        if let cacheDirectory, let path {
            _ = try? Files.makeDirectories(cacheDirectory, mode: 0o700)
            try? Files.writeAtomically(path, facts.encode(key: key), mode: 0o600)
        }
        return facts
    }

    func encode(key: String) -> String {
        JSONOutput.object([("key", .string(key)),
                           ("probes", .object(probes.keys.sorted().map { ($0, .int(Int64(probes[$0]!.code))) }))]).render()
    }

    static func decode(_ bytes: [UInt8], key: String) -> HostFacts? {
        guard let value = try? JSONParser.parse(bytes) else { return nil }
        let json = JSONField(value)
        guard (try? json.string("key")) == key, let members = try? json.requiredMember("probes").object() else { return nil }
        var probes: [String: ProbeResult] = [:]
        for (name, value) in members {
            guard case .number(let text) = value, let code = Int32(text) else { return nil }
            probes[name] = ProbeResult(code: code)
        }
        // A cache from an older port-run with fewer probes is stale.
        guard Probes.all.allSatisfy({ probes[$0.name] != nil }) else { return nil }
        return HostFacts(probes: probes, overrides: currentOverrides())
    }
}
