#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Device rules on cgroup v2, which has no devices controller: a BPF_PROG_TYPE_CGROUP_DEVICE
/// program (4.15) that answers each open and mknod with the v1 semantics the spec assumes.
/// The last matching rule wins. A rule of type "a" resets everything, as in v1 (major,
/// minor and access do not count there), so it ends the search; with no match at all the
/// device is allowed, as under a fresh v1 cgroup.
enum DeviceFilter {
    /// The program, one struct bpf_insn per element, little-endian.
    static func program(_ rules: [CgroupResources.DeviceRule]) -> [UInt64] {
        // r1 is the context { u32 access_type (type | access << 16); u32 major; u32 minor }.
        var program: [UInt64] = [
            load(into: 2, offset: 0), alu32(andImmediate: 2, 0xffff),
            load(into: 3, offset: 0), alu32(shiftRight: 3, 16),
            load(into: 4, offset: 4), load(into: 5, offset: 8),
        ]
        var decided = false
        for rule in rules.reversed() where !decided {
            let (instructions, matchesAll) = block(for: rule)
            program += instructions
            // Blocks after an unconditional verdict would be unreachable: the verifier refuses those.
            decided = matchesAll
        }
        if !decided { program += [move(0, 1), exit] }
        return program
    }

    /// Checks that jump past the block when the rule does not match, then the verdict; true
    /// when the block has no check, so that it decides every request.
    private static func block(for rule: CgroupResources.DeviceRule) -> (instructions: [UInt64], matchesAll: Bool) {
        guard rule.type != "a" else { return ([move(0, rule.allow ? 1 : 0), exit], true) }
        // Each check is (instructions before its jump, the jump with its offset still 0).
        var checks: [[UInt64]] = [[jump(ifRegister: 2, notEqual: rule.type == "b" ? 1 : 2)]]
        let access = accessBits(rule.access)
        if access != 7 {
            // An allow covers a request only if it grants all of it; a deny hits any overlap.
            checks.append([move(1, fromRegister: 3),
                           alu32(andImmediate: 1, rule.allow ? ~access & 7 : access),
                           rule.allow ? jump(ifRegister: 1, notEqual: 0) : jump(ifRegister: 1, equal: 0)])
        }
        // Decoding keeps numbers within UInt32; -1 means any, as in docker's specs.
        if let major = rule.major, major >= 0 { checks.append([jump(ifRegister: 4, notEqual: Int32(bitPattern: UInt32(major)))]) }
        if let minor = rule.minor, minor >= 0 { checks.append([jump(ifRegister: 5, notEqual: Int32(bitPattern: UInt32(minor)))]) }
        var instructions = checks.flatMap { $0 }
        instructions += [move(0, rule.allow ? 1 : 0), exit]
        // Patch each jump (the last instruction of its check) to land after the block.
        var index = 0
        for check in checks {
            index += check.count
            let skip = instructions.count - index
            instructions[index - 1] |= UInt64(UInt16(skip)) << 16
        }
        return (instructions, false)
    }

    /// BPF_DEVCG_ACC_MKNOD 1, READ 2, WRITE 4.
    static func accessBits(_ access: String) -> Int32 {
        access.utf8.reduce(Int32(0)) { bits, letter in
            switch letter {
            case UInt8(ascii: "m"): bits | 1
            case UInt8(ascii: "r"): bits | 2
            case UInt8(ascii: "w"): bits | 4
            default: bits
            }
        }
    }

    private static func instruction(_ code: UInt8, destination: UInt8 = 0, source: UInt8 = 0, offset: Int16 = 0,
                                    immediate: Int32 = 0) -> UInt64 {
        UInt64(code) | UInt64(destination | source << 4) << 8 | UInt64(UInt16(bitPattern: offset)) << 16
            | UInt64(UInt32(bitPattern: immediate)) << 32
    }
    private static func load(into register: UInt8, offset: Int16) -> UInt64 {
        instruction(0x61, destination: register, source: 1, offset: offset)  // LDX W MEM
    }
    private static func alu32(andImmediate register: UInt8, _ value: Int32) -> UInt64 { instruction(0x54, destination: register, immediate: value) }
    private static func alu32(shiftRight register: UInt8, _ bits: Int32) -> UInt64 { instruction(0x74, destination: register, immediate: bits) }
    private static func move(_ register: UInt8, fromRegister source: UInt8) -> UInt64 { instruction(0xbc, destination: register, source: source) }
    private static func move(_ register: UInt8, _ value: Int32) -> UInt64 { instruction(0xb7, destination: register, immediate: value) }
    private static func jump(ifRegister register: UInt8, notEqual value: Int32) -> UInt64 { instruction(0x55, destination: register, immediate: value) }
    private static func jump(ifRegister register: UInt8, equal value: Int32) -> UInt64 { instruction(0x15, destination: register, immediate: value) }
    private static let exit = instruction(0x95)

    /// `body` with RLIMIT_MEMLOCK as high as this process may set it, then as it was.
    private static func withRaisedMemlock(_ body: () -> Int32) -> Int32 {
        let resource = __rlimit_resource_t(UInt32(RlimitTable.resources["RLIMIT_MEMLOCK"]!))
        var saved = rlimit()
        guard getrlimit(resource, &saved) == 0 else { return body() }
        var raised = rlimit(rlim_cur: rlim_t.max, rlim_max: rlim_t.max)   // RLIM_INFINITY
        // Without CAP_SYS_RESOURCE only the soft limit can go up, to the hard one.
        if setrlimit(resource, &raised) != 0 {
            raised = rlimit(rlim_cur: saved.rlim_max, rlim_max: saved.rlim_max)
            if setrlimit(resource, &raised) != 0 { return body() }
        }
        let result = body()
        let code = errno
        _ = setrlimit(resource, &saved)
        errno = code
        return result
    }

    /// Loads the program and attaches it to the v2 directory, then detaches the programs
    /// that were there (an update), so that some filter is in force at every moment.
    static func attach(_ rules: [CgroupResources.DeviceRule], to directory: String) throws(RuntimeError) {
        let cgroup = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard cgroup >= 0 else { throw RuntimeError("open \(directory): \(errnoText(errno))") }
        defer { close(cgroup) }
        let instructions = program(rules)
        func load(log: UnsafeMutablePointer<CChar>?, size: Int) -> Int32 {
            instructions.withUnsafeBytes { cc_bpf_load_device_program($0.baseAddress, UInt32(instructions.count), log, UInt32(size)) }
        }
        // Without a log first: a verbose log that overflows its buffer fails the load (ENOSPC).
        var loaded = load(log: nil, size: 0)
        // Before 5.11 a program is charged to RLIMIT_MEMLOCK, and EPERM means it is used up
        // (many containers at once): raised for the load only, as runc does, so that init
        // does not inherit it.
        if loaded < 0 && errno == EPERM { loaded = withRaisedMemlock { load(log: nil, size: 0) } }
        guard loaded >= 0 else {
            let reason = errnoText(errno)
            var log = [CChar](repeating: 0, count: 65536)
            let retried = load(log: &log, size: log.count)
            if retried >= 0 { close(retried) }
            Log.debug("the verifier on the device program: \(String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
            throw RuntimeError("load the device program (BPF_PROG_TYPE_CGROUP_DEVICE): \(reason)")
        }
        defer { close(loaded) }
        var previous = [UInt32](repeating: 0, count: 64)
        let previousCount = max(0, Int(cc_bpf_query_device_programs(cgroup, &previous, UInt32(previous.count))))
        // ALLOW_MULTI, as runc: a nested runtime can still add its own program below ours.
        // What was attached before (a reused cgroup, an update) is replaced, as runc does.
        guard cc_bpf_attach_device_program(cgroup, loaded, CC_BPF_F_ALLOW_MULTI) == 0 else {
            throw RuntimeError("attach the device program to \(directory): \(errnoText(errno))")
        }
        for id in previous.prefix(previousCount) where cc_bpf_detach_device_program(cgroup, id) != 0 {
            Log.warning("detach the old device program \(id) from \(directory): \(errnoText(errno))")
        }
    }
}
