#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat
import CSeccomp

/// Builds and loads the filter with libseccomp, in the init stage just before the process
/// runs. Syscall names this libseccomp or architecture does not know are skipped, as runc does.
enum SeccompFilter {
    /// Returns the listener fd when a rule notifies an agent (the kernel makes it close-on-exec).
    @discardableResult
    static func load(_ profile: SeccompProfile) throws(RuntimeError) -> Int32? {
        guard let context = seccomp_init(profile.defaultAction) else { throw RuntimeError("seccomp: cannot create a filter") }
        defer { seccomp_release(context) }
        // no_new_privs is the spec's own setting (process.noNewPrivileges), not libseccomp's.
        _ = seccomp_attr_set(context, SCMP_FLTATR_CTL_NNP, 0)
        for name in profile.architectures {
            let token = seccompArchitecture(name)
            guard token != 0 else { continue }
            let result = seccomp_arch_add(context, token)
            if result != 0 && result != -EEXIST { throw RuntimeError("seccomp: add architecture \(name): \(errnoText(-result))") }
        }
        // With WAIT_KILLABLE_RECV every flag goes to seccomp(2) in loadItself instead.
        let waitKillable = profile.flags.contains("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
        for flag in waitKillable ? [] : profile.flags {
            let attribute: scmp_filter_attr
            switch flag {
            case "SECCOMP_FILTER_FLAG_LOG": attribute = SCMP_FLTATR_CTL_LOG
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": attribute = SCMP_FLTATR_CTL_SSB
            default: attribute = SCMP_FLTATR_CTL_TSYNC
            }
            let result = seccomp_attr_set(context, attribute, 1)
            if result != 0 { throw RuntimeError("seccomp: flag \(flag): \(errnoText(-result))") }
        }
        for rule in profile.rules where rule.action != profile.defaultAction {
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR { continue }
                try add(rule, syscall: number, context: context, name: name)
            }
        }
        if waitKillable { return try loadItself(context, flags: profile.flags) }
        let result = seccomp_load(context)
        if result != 0 { throw RuntimeError("seccomp: load the filter: \(errnoText(-result))") }
        guard profile.usesNotify else { return nil }
        let listener = seccomp_notify_fd(context)
        if listener < 0 { throw RuntimeError("seccomp: get the listener of SCMP_ACT_NOTIFY: \(errnoText(-listener))") }
        return listener
    }

    /// libseccomp 2.5 cannot set WAIT_KILLABLE_RECV (5.19): the program it compiled is loaded
    /// with seccomp(2) directly, with every flag asked for (the strategy kept this flag only
    /// where the kernel has it and a rule notifies). TSYNC is left out: it cannot go with a
    /// listener, and this process has one thread.
    private static func loadItself(_ context: scmp_filter_ctx, flags names: [String]) throws(RuntimeError) -> Int32 {
        let buffer = cc_memfd_create("seccomp-program", CC_MFD_CLOEXEC)
        guard buffer >= 0 else { throw RuntimeError.system("seccomp: memfd for the program", errno: errno) }
        defer { close(buffer) }
        let exported = seccomp_export_bpf(context, buffer)
        if exported != 0 { throw RuntimeError("seccomp: compile the filter: \(errnoText(-exported))") }
        let size = Int(lseek(buffer, 0, SEEK_CUR))
        var program = [UInt8](repeating: 0, count: size)
        let read = program.withUnsafeMutableBytes { pread(buffer, $0.baseAddress, size, 0) }
        guard read == size, size % 8 == 0, size / 8 <= Int(UInt16.max) else { throw RuntimeError("seccomp: the compiled filter could not be read back") }
        var flags: UInt32 = 0x8 | 0x20  // NEW_LISTENER | WAIT_KILLABLE_RECV
        if names.contains("SECCOMP_FILTER_FLAG_LOG") { flags |= 0x2 }
        if names.contains("SECCOMP_FILTER_FLAG_SPEC_ALLOW") { flags |= 0x4 }
        let listener = program.withUnsafeBytes { cc_seccomp_set_filter($0.baseAddress, UInt16(size / 8), flags) }
        guard listener >= 0 else { throw RuntimeError("seccomp: load the filter: \(errnoText(errno))") }
        return listener
    }

    /// One rule with all conditions (AND); conditions on the same argument cannot be ANDed
    /// by libseccomp, so they become one rule each (OR), as runc does.
    private static func add(_ rule: SeccompProfile.Rule, syscall: Int32, context: scmp_filter_ctx, name: String) throws(RuntimeError) {
        let conditions = rule.arguments.map {
            scmp_arg_cmp(arg: $0.index, op: scmp_compare(rawValue: $0.op), datum_a: $0.value, datum_b: $0.valueTwo)
        }
        let sameArgument = Set(rule.arguments.map(\.index)).count < rule.arguments.count
        let groups = sameArgument ? conditions.map { [$0] } : [conditions]
        for group in groups {
            let result = group.withUnsafeBufferPointer { buffer in
                seccomp_rule_add_array(context, rule.action, syscall, UInt32(buffer.count), buffer.baseAddress)
            }
            if result != 0 { throw RuntimeError("seccomp: rule for \(name): \(errnoText(-result))") }
        }
    }

    /// "SCMP_ARCH_X86_64" -> libseccomp's token; 0 when this libseccomp does not know it.
    static func seccompArchitecture(_ name: String) -> UInt32 {
        var short = name.hasPrefix("SCMP_ARCH_") ? String(name.dropFirst(10)) : name
        short = short.lowercased()
        let aliases = ["x86_64": "x86_64", "x86": "x86", "x32": "x32", "arm": "arm", "aarch64": "aarch64",
                       "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"]
        return seccomp_arch_resolve_name(aliases[short] ?? short)
    }
}
