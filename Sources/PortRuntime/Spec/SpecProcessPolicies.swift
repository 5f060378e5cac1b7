/// The runtime-spec 1.1-1.3 fields that set how the kernel treats a process: scheduling, I/O
/// priority, CPU affinity, NUMA memory policy, execution domain and time offsets. Names are
/// turned into the kernel's numbers here, so a bad name fails at decoding with its JSON path,
/// for config.json and for `exec --process` alike.
extension Spec {
    /// sched_setattr(2)'s attributes.
    public struct Scheduler: Sendable, Equatable {
        public var policyName: String
        public var policy: UInt32
        public var flags: UInt64
        public var nice: Int32
        public var priority: UInt32
        public var runtime: UInt64
        public var deadline: UInt64
        public var period: UInt64

        static let policies: [String: UInt32] = ["SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                                                 "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6]
        static let flagValues: [String: UInt64] = ["SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
                                                   "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
                                                   "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
                                                   "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40]

        init(_ json: JSONField) throws(SpecError) {
            let policyField = try json.requiredMember("policy")
            policyName = try policyField.string()
            guard let policy = Self.policies[policyName] else { throw policyField.fail("invalid scheduler policy \"\(policyName)\"") }
            self.policy = policy
            flags = try namedFlags(json.member("flags"), Self.flagValues, kind: "scheduler flag")
            nice = try json.integer("nice") ?? 0
            priority = try json.integer("priority") ?? 0
            runtime = try json.integer("runtime") ?? 0
            deadline = try json.integer("deadline") ?? 0
            period = try json.integer("period") ?? 0
            // sched_setattr(2)'s rules, checked before anything is made (as runc).
            if policyName == "SCHED_OTHER" || policyName == "SCHED_BATCH", !(-20...19).contains(nice) {
                throw json.fail("invalid scheduler.nice: \(nice) when scheduler.policy is \(policyName)")
            }
            if priority != 0, policyName != "SCHED_FIFO", policyName != "SCHED_RR" {
                throw json.fail("scheduler.priority can only be specified for SCHED_FIFO or SCHED_RR policy")
            }
            if policyName != "SCHED_DEADLINE", runtime != 0 || deadline != 0 || period != 0 {
                throw json.fail("scheduler runtime/deadline/period can only be specified for SCHED_DEADLINE policy")
            }
        }
    }

    /// ioprio_set(2)'s class and level.
    public struct IOPriority: Sendable, Equatable {
        public var className: String
        public var value: Int32

        static let classes: [String: Int32] = ["IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3]

        init(_ json: JSONField) throws(SpecError) {
            let classField = try json.requiredMember("class")
            className = try classField.string()
            guard let ioClass = Self.classes[className] else { throw classField.fail("invalid ioPriority class \"\(className)\"") }
            let priority: Int32 = try json.integer("priority") ?? 0
            guard (0...7).contains(priority) else { throw SpecError(path: json.path + ".priority", reason: "invalid ioPriority.priority: \(priority) (0 to 7)") }
            value = ioClass << 13 | priority
        }
    }

    /// The CPUs an `exec` process runs on while the runtime sets it up, and once it is in the
    /// container's cgroup (not the container's init, which gets the cgroup's CPUs).
    public struct CPUAffinity: Sendable, Equatable {
        public var initial: CPUList?
        public var final: CPUList?

        init(_ json: JSONField) throws(SpecError) {
            initial = try Self.list(json.member("initial"))
            final = try Self.list(json.member("final"))
        }

        private static func list(_ field: JSONField?) throws(SpecError) -> CPUList? {
            guard let field else { return nil }
            let text = try field.string()
            if text.isEmpty { return nil }
            let list: CPUList
            do throws(CPUListError) { list = try CPUList(parsing: text) } catch { throw field.fail("invalid CPU list \(error.description)") }
            if list.isEmpty { throw field.fail("no CPU in \"\(text)\"") }
            return list
        }
    }

    /// personality(2)'s execution domain: LINUX32 makes `uname -m` say i686.
    public struct Personality: Sendable, Equatable {
        public var domain: String
        public var value: UInt

        static let domains: [String: UInt] = ["LINUX": 0x0000, "LINUX32": 0x0008]

        init(_ json: JSONField) throws(SpecError) {
            let domainField = try json.requiredMember("domain")
            domain = try domainField.string()
            guard let value = Self.domains[domain] else { throw domainField.fail("invalid personality domain \"\(domain)\" (LINUX or LINUX32)") }
            self.value = value
            // The spec defines no flag yet: one given is refused, not dropped.
            if let flag = try json.member("flags")?.elements().first {
                throw flag.fail("personality flag \(try flag.string()) is not supported (runtime-spec defines none)")
            }
        }
    }

    /// The clocks a new time namespace shifts, as /proc/PID/timens_offsets takes them.
    public struct TimeOffset: Sendable, Equatable {
        public var clock: String
        public var seconds: Int64
        public var nanoseconds: UInt32

        static func decode(_ json: JSONField) throws(SpecError) -> [TimeOffset] {
            var offsets: [TimeOffset] = []
            for clock in try json.object().keys.sorted() {
                let field = try json.requiredMember(clock)
                guard clock == "monotonic" || clock == "boottime" else {
                    throw field.fail("unknown clock \"\(clock)\" (monotonic or boottime)")
                }
                let nanoseconds: UInt32 = try field.integer("nanosecs") ?? 0
                guard nanoseconds < 1_000_000_000 else { throw SpecError(path: field.path + ".nanosecs", reason: "must be below 1000000000") }
                offsets.append(TimeOffset(clock: clock, seconds: try field.integer("secs") ?? 0, nanoseconds: nanoseconds))
            }
            return offsets
        }
    }

    /// set_mempolicy(2)'s mode, flags and nodes.
    public struct MemoryPolicy: Sendable, Equatable {
        public var modeName: String
        public var mode: Int32
        public var flags: Int32
        public var nodes: CPUList

        static let modes: [String: Int32] = ["MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
                                             "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6]
        static let flagValues: [String: Int32] = ["MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14,
                                                  "MPOL_F_STATIC_NODES": 1 << 15]

        init(_ json: JSONField) throws(SpecError) {
            let modeText = try json.string("mode") ?? ""
            guard let mode = Self.modes[modeText] else {
                throw SpecError(path: json.path + ".mode", reason: modeText.isEmpty ? "invalid memory policy mode: none given" : "invalid memory policy mode \"\(modeText)\"")
            }
            modeName = modeText
            self.mode = mode
            flags = try namedFlags(json.member("flags"), Self.flagValues, kind: "memory policy flag")
            let nodesField = try json.member("nodes")
            let nodesText = try nodesField?.string() ?? ""
            do throws(CPUListError) { nodes = try CPUList(parsing: nodesText) } catch {
                throw (nodesField ?? json).fail("invalid memory policy node \(error.description)")
            }
            switch modeName {
            case "MPOL_DEFAULT", "MPOL_LOCAL":
                if !nodes.isEmpty { throw json.fail("memory policy mode \(modeName) requires 0 nodes but got \(nodes.count)") }
            case "MPOL_PREFERRED":
                break  // zero nodes means "the local node"
            default:
                if nodes.isEmpty { throw json.fail("memory policy mode \(modeName) requires at least one node but got 0") }
            }
        }
    }
}

/// A list of flag names as one value: each name must be in `table`, its bits or-ed in.
private func namedFlags<T: FixedWidthInteger>(_ field: JSONField?, _ table: [String: T], kind: String) throws(SpecError) -> T {
    var flags: T = 0
    for item in try field?.elements() ?? [] {
        let name = try item.string()
        guard let value = table[name] else { throw item.fail("invalid \(kind) \"\(name)\"") }
        flags |= value
    }
    return flags
}
