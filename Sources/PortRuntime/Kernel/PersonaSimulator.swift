#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat
import CSeccomp

/// Runs a command as if on the persona's kernel: a seccomp filter makes the missing syscalls
/// answer ENOSYS (or trap with SIGSYS) and unknown flags EINVAL; PORT_RUN_TEST_OVERRIDES
/// carries what seccomp cannot fake. Everything the command starts inherits the filter.
public enum PersonaSimulator {
    static let einval: UInt32 = 0x0005_0000 | UInt32(EINVAL)
    static let enosys: UInt32 = 0x0005_0000 | UInt32(ENOSYS)
    static let trap: UInt32 = 0x0003_0000

    public static func exec(_ persona: Persona, command: [String]) throws(RuntimeError) -> Never {
        guard let context = seccomp_init(0x7FFF_0000) else { throw RuntimeError("seccomp: cannot create a filter") }
        // Root loads it without no_new_privs, so that setuid helpers still work under it; a
        // user who is not root may load a filter only with no_new_privs set.
        _ = seccomp_attr_set(context, SCMP_FLTATR_CTL_NNP, geteuid() == 0 ? 0 : 1)
        for (name, action) in persona.missing.sorted(by: { $0.key < $1.key }) {
            let number = seccomp_syscall_resolve_name(name)
            guard number >= 0 else { continue }  // this architecture never had it
            let result = seccomp_rule_add_array(context, action == .sigsys ? trap : enosys, number, 0, nil)
            if result != 0 { throw RuntimeError("persona \(persona.name): rule for \(name): \(errnoText(-result))") }
        }
        for rule in persona.invalid where persona.missing[rule.syscall] == nil {
            let number = seccomp_syscall_resolve_name(rule.syscall)
            guard number >= 0 else { continue }
            let conditions = rule.conditions.map {
                scmp_arg_cmp(arg: $0.index, op: SCMP_CMP_MASKED_EQ, datum_a: $0.mask, datum_b: $0.value)
            }
            let result = conditions.withUnsafeBufferPointer {
                seccomp_rule_add_array(context, einval, number, UInt32($0.count), $0.baseAddress)
            }
            if result != 0 { throw RuntimeError("persona \(persona.name): rule for \(rule.syscall): \(errnoText(-result))") }
        }
        if persona.unseededEntropy && persona.missing["getrandom"] == nil { try addUnseededEntropy(context, persona: persona) }
        let loaded = seccomp_load(context)
        seccomp_release(context)
        if loaded != 0 { throw RuntimeError("persona \(persona.name): load the filter: \(errnoText(-loaded))") }
        setenv("PORT_RUN_TEST_OVERRIDES", persona.overrides.sorted().joined(separator: ","), 1)
        setenv("PORT_RUN_PERSONA", persona.name, 1)
        let argv = command.map { strdup($0) } + [nil]
        execvp(command[0], argv)
        throw RuntimeError("persona \(persona.name): exec \(command[0]): \(errnoText(errno))")
    }

    /// A blocking getrandom would wait for ever on the real kernel: trapped here, so that a
    /// caller who waits dies at once (SIGSYS) instead of hanging the test.
    private static func addUnseededEntropy(_ context: scmp_filter_ctx, persona: Persona) throws(RuntimeError) {
        let number = seccomp_syscall_resolve_name("getrandom")
        let nonblock: UInt64 = 1
        for (value, action) in [(UInt64(0), trap), (nonblock, 0x0005_0000 | UInt32(EAGAIN))] {
            let condition = [scmp_arg_cmp(arg: 2, op: SCMP_CMP_MASKED_EQ, datum_a: nonblock, datum_b: value)]
            let result = condition.withUnsafeBufferPointer { seccomp_rule_add_array(context, action, number, 1, $0.baseAddress) }
            if result != 0 { throw RuntimeError("persona \(persona.name): rule for getrandom: \(errnoText(-result))") }
        }
    }
}
