#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// How the kernel treats a container process: CPU affinity, scheduling, I/O priority, NUMA
/// memory policy and execution domain. Init and `exec` get them from one place, so both
/// follow the same rules; each is applied before capabilities are dropped and before the
/// seccomp filter (which may deny the very syscall, as runc's personality test does).
struct ProcessPolicies: Sendable {
    enum FinalAffinity: Sendable, Equatable {
        /// Every CPU: the kernel narrows it to the cgroup's cpuset, so nothing of the
        /// runtime's own affinity (a `taskset` around it) is inherited.
        case reset
        case keep
        case cpus(CPUList)
    }

    var initialAffinity: CPUList?
    var finalAffinity: FinalAffinity = .reset
    var scheduler: Spec.Scheduler?
    var ioPriority: Spec.IOPriority?
    var memoryPolicy: Spec.MemoryPolicy?
    var personality: Spec.Personality?
    /// linux.resources.cpu.cpus is set: what makes a deadline scheduler's EPERM explainable.
    var cpusetGiven = false

    /// The container's init: execCPUAffinity is for `exec` only.
    static func forInit(_ process: Spec.Process, linux: Spec.Linux) -> ProcessPolicies {
        ProcessPolicies(scheduler: process.scheduler, ioPriority: process.ioPriority, memoryPolicy: linux.memoryPolicy,
                        personality: linux.personality, cpusetGiven: linux.cpusetGiven)
    }

    /// An `exec` process: what it does not set comes from the container's process, as in runc.
    static func forExec(_ process: Spec.Process, container spec: Spec) -> ProcessPolicies {
        let affinity = process.execCPUAffinity ?? spec.process?.execCPUAffinity
        var policies = ProcessPolicies(scheduler: process.scheduler ?? spec.process?.scheduler,
                                       ioPriority: process.ioPriority ?? spec.process?.ioPriority,
                                       memoryPolicy: spec.linux.memoryPolicy, personality: spec.linux.personality,
                                       cpusetGiven: spec.linux.cpusetGiven)
        policies.initialAffinity = affinity?.initial
        if let final = affinity?.final {
            policies.finalAffinity = .cpus(final)
        } else if affinity?.initial != nil {
            policies.finalAffinity = .keep
        }
        return policies
    }

    /// While the runtime still sets the process up, before it joins the container's cgroup.
    func applyInitialAffinity() throws(RuntimeError) {
        guard let initialAffinity else { return }
        try Self.setAffinity(initialAffinity, what: "process.execCPUAffinity.initial")
        Log.debug("exec: initial affinity: \(Self.currentAffinity()?.hexadecimal ?? "unknown")")
    }

    /// Inside the container's cgroup, before the user switch.
    func apply() throws(RuntimeError) {
        switch finalAffinity {
        case .reset:
            // Best effort, as in runc: a failure leaves the inherited affinity.
            do { try Self.setAffinity(CPUList(all: 8192), what: "reset CPU affinity") } catch { Log.warning(error.message) }
        case .keep:
            break
        case .cpus(let cpus):
            try Self.setAffinity(cpus, what: "process.execCPUAffinity.final")
        }
        if let scheduler {
            if cc_sched_setattr(scheduler.policy, scheduler.flags, scheduler.nice, scheduler.priority,
                                scheduler.runtime, scheduler.deadline, scheduler.period) != 0 {
                let code = errno
                if code == EPERM && cpusetGiven {
                    throw RuntimeError("process.scheduler: process scheduler can't be used together with AllowedCPUs (linux.resources.cpu.cpus): \(scheduler.policyName) needs every CPU")
                }
                throw Self.failure("process.scheduler: sched_setattr \(scheduler.policyName)", code, missing: "set scheduling attributes (sched_setattr, Linux 3.14)")
            }
        }
        if let ioPriority, cc_ioprio_set_self(ioPriority.value) != 0 {
            throw Self.failure("process.ioPriority: ioprio_set \(ioPriority.className)", errno, missing: "set I/O priorities (ioprio_set)")
        }
        if let memoryPolicy {
            // A node mask is an array of longs; the kernel reads one bit fewer than it is told.
            var words = memoryPolicy.nodes.bytes
            while words.count % 8 != 0 { words.append(0) }
            let result = words.withUnsafeBytes { buffer in
                cc_set_mempolicy(memoryPolicy.mode | memoryPolicy.flags, words.isEmpty ? nil : buffer.baseAddress,
                                 words.isEmpty ? 0 : UInt(words.count * 8 + 1))
            }
            if result != 0 {
                throw Self.failure("linux.memoryPolicy: set_mempolicy \(memoryPolicy.modeName)", errno, missing: "set NUMA memory policies (set_mempolicy, CONFIG_NUMA)")
            }
        }
        if let personality, cc_personality(personality.value) < 0 {
            throw Self.failure("linux.personality: personality \(personality.domain)", errno, missing: "change execution domains (personality)")
        }
    }

    private static func failure(_ what: String, _ code: Int32, missing feature: String) -> RuntimeError {
        code == ENOSYS ? RuntimeError("\(what): this kernel cannot \(feature)", errno: code) : .system(what, errno: code)
    }

    private static func setAffinity(_ cpus: CPUList, what: String) throws(RuntimeError) {
        // The kernel takes whole longs.
        var bytes = cpus.bytes
        while bytes.count % 8 != 0 || bytes.count < 128 { bytes.append(0) }
        let result = bytes.withUnsafeBytes { cc_sched_setaffinity_self($0.baseAddress, $0.count) }
        if result != 0 { throw RuntimeError.system("\(what): sched_setaffinity", errno: errno) }
    }

    static func currentAffinity() -> CPUList? {
        var bytes = [UInt8](repeating: 0, count: 1024)
        let written = bytes.withUnsafeMutableBytes { cc_sched_getaffinity_self($0.baseAddress, $0.count) }
        guard written > 0 else { return nil }
        var list = CPUList(all: 0)
        for (index, byte) in bytes.prefix(Int(written)).enumerated() {
            for bit in 0..<8 where byte & (1 << bit) != 0 { list.insert(index * 8 + bit) }
        }
        return list
    }
}

extension Spec.Linux {
    var cpusetGiven: Bool {
        guard let cpus = try? resources?.member("cpu")?.string("cpus") else { return false }
        return !cpus.isEmpty
    }
}
