/// `linux.resources`, decoded. Every field set here is applied or refused with an error that
/// names it: a limit the user asked for is never dropped in silence.
public struct CgroupResources: Sendable, Equatable {
    public var memoryLimit: Int64?
    public var memoryReservation: Int64?
    public var memorySwap: Int64?
    public var memorySwappiness: UInt64?
    /// memory.kernelTCP: v1's memory.kmem.tcp.limit_in_bytes where the kernel has it; cgroup
    /// v2 has no such limit (it is applied, or said not to be, when the cgroup is made).
    public var kernelTCP: Int64?
    public var disableOOMKiller: Bool?
    public var cpuShares: UInt64?
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64?
    public var cpus: String?
    public var mems: String?
    public var pidsLimit: Int64?
    public var realtimeRuntime: Int64?
    public var realtimePeriod: UInt64?
    public var devices: [DeviceRule] = []
    public var blockIO = BlockIO()
    /// Page size as the kernel names it ("2MB") and the limit in bytes.
    public var hugepageLimits: [HugepageLimit] = []
    public var networkClassID: UInt32?
    /// net_prio.ifpriomap lines: "eth0 5".
    public var networkPriorities: [String] = []
    /// rdma.max lines: "mlx5_0 hca_handle=2 hca_object=2000".
    public var rdmaLimits: [String] = []
    /// cgroup v2 files and their values, written as given.
    public var unified: [String: String] = [:]

    public struct HugepageLimit: Sendable, Equatable {
        public var pageSize: String
        public var limit: UInt64
    }

    /// `blockIO`, zero meaning unset (docker always sends `"weight": 0`, as runc expects).
    public struct BlockIO: Sendable, Equatable {
        public var weight: UInt16?
        public var leafWeight: UInt16?
        /// "major:minor value" lines per file kind: weight, and the four throttles.
        public var weightDevices: [String] = []
        public var throttles: [String: [String]] = [:]
    }
    /// memory.kernel was set: ignored, with a warning when the container is created.
    public var ignoredKernelMemory = false

    public struct DeviceRule: Sendable, Equatable {
        public var allow: Bool
        public var type: String
        public var major: Int64?
        public var minor: Int64?
        public var access: String

        /// The v1 devices.allow/deny line: "c 1:3 rwm", "a *:* rwm".
        var v1Line: String {
            let majorText = major.map(String.init) ?? "*"
            let minorText = minor.map(String.init) ?? "*"
            return "\(type) \(majorText):\(minorText) \(access)"
        }
    }

    public init() {}

    /// v1 cpu.shares as the kernel clamps them (2..262144).
    static func clampedShares(_ shares: UInt64) -> UInt64 { max(2, min(shares, 262_144)) }

    /// runc's conversion of v1 shares to v2's cpu.weight (1..10000).
    static func cpuWeight(shares: UInt64) -> UInt64 { 1 + ((clampedShares(shares) - 2) * 9999) / 262_142 }

    /// The pids limit (pids.limit, or unified's pids.max) apart from the rest: nil when
    /// there is none.
    func splittingPidsLimit() -> (rest: CgroupResources, pids: CgroupResources?) {
        guard pidsLimit != nil || unified["pids.max"] != nil else { return (self, nil) }
        var rest = self, pids = CgroupResources()
        pids.pidsLimit = pidsLimit
        pids.unified = unified.filter { $0.key == "pids.max" }
        rest.pidsLimit = nil
        rest.unified["pids.max"] = nil
        return (rest, pids)
    }

    public init(_ json: JSONField?) throws(SpecError) {
        guard let json else { return }
        if let memory = try json.member("memory") {
            memoryLimit = try memory.integer("limit")
            memoryReservation = try memory.integer("reservation")
            memorySwap = try memory.integer("swap")
            memorySwappiness = try memory.integer("swappiness")
            disableOOMKiller = try memory.bool("disableOOMKiller")
            kernelTCP = try memory.integer("kernelTCP")
            // Deprecated by the spec and gone from new kernels; runc ignores it too.
            ignoredKernelMemory = try memory.integer("kernel", as: Int64.self) != nil
        }
        if let cpu = try json.member("cpu") {
            cpuShares = try cpu.integer("shares")
            cpuQuota = try cpu.integer("quota")
            cpuPeriod = try cpu.integer("period")
            cpus = try cpu.string("cpus").flatMap { $0.isEmpty ? nil : $0 }
            mems = try cpu.string("mems").flatMap { $0.isEmpty ? nil : $0 }
            realtimeRuntime = try cpu.integer("realtimeRuntime").flatMap { $0 == 0 ? nil : $0 }
            realtimePeriod = try cpu.integer("realtimePeriod").flatMap { $0 == 0 ? nil : $0 }
        }
        if let pids = try json.member("pids") { pidsLimit = try pids.integer("limit") }
        devices = try (json.member("devices")?.elements() ?? []).map { rule throws(SpecError) in
            let type = try rule.string("type") ?? "a"
            guard ["a", "b", "c"].contains(type) else { throw try rule.requiredMember("type").fail("\"\(type)\" is no device rule type (a, b or c)") }
            let access = try rule.string("access") ?? "rwm"
            guard !access.isEmpty, access.utf8.allSatisfy({ [UInt8(ascii: "r"), UInt8(ascii: "w"), UInt8(ascii: "m")].contains($0) }) else {
                throw try rule.requiredMember("access").fail("\"\(access)\" is no device access (letters r, w and m)")
            }
            // -1 means any (docker writes it); anything else must be a real device number.
            func number(_ key: String) throws(SpecError) -> Int64? {
                guard let value: Int64 = try rule.integer(key) else { return nil }
                guard value >= -1 && value <= Int64(UInt32.max) else { throw try rule.requiredMember(key).fail("\(value) is no device number") }
                return value < 0 ? nil : value
            }
            return DeviceRule(allow: try rule.requiredMember("allow").bool(), type: type, major: try number("major"),
                              minor: try number("minor"), access: access)
        }
        if let block = try json.member("blockIO") {
            blockIO.weight = try block.integer("weight", as: UInt16.self).flatMap { $0 == 0 ? nil : $0 }
            blockIO.leafWeight = try block.integer("leafWeight", as: UInt16.self).flatMap { $0 == 0 ? nil : $0 }
            for entry in try block.member("weightDevice")?.elements() ?? [] {
                let weight: UInt16 = try entry.integer("weight") ?? 0
                if weight != 0 {
                    blockIO.weightDevices.append("\(try entry.requiredMember("major").integer(Int64.self)):\(try entry.requiredMember("minor").integer(Int64.self)) \(weight)")
                }
            }
            for kind in ["throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"] {
                for entry in try block.member(kind)?.elements() ?? [] {
                    let device = "\(try entry.requiredMember("major").integer(Int64.self)):\(try entry.requiredMember("minor").integer(Int64.self))"
                    blockIO.throttles[kind, default: []].append("\(device) \(try entry.requiredMember("rate").integer(UInt64.self))")
                }
            }
        }
        for entry in try json.member("hugepageLimits")?.elements() ?? [] {
            let pageSize = try entry.requiredMember("pageSize").string()
            // The size becomes part of a file name: digits and a unit, nothing else.
            guard pageSize.utf8.contains(where: { $0 >= 48 && $0 <= 57 }),
                  pageSize.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "K") || $0 == UInt8(ascii: "M")
                                             || $0 == UInt8(ascii: "G") || $0 == UInt8(ascii: "B") }) else {
                throw try entry.requiredMember("pageSize").fail("\"\(pageSize)\" is no page size (like \"2MB\" or \"1GB\")")
            }
            hugepageLimits.append(HugepageLimit(pageSize: pageSize, limit: try entry.requiredMember("limit").integer(UInt64.self)))
        }
        if let network = try json.member("network") {
            networkClassID = try network.integer("classID")
            for entry in try network.member("priorities")?.elements() ?? [] {
                let name = try entry.requiredMember("name").string()
                guard Self.isOneWord(name) else { throw try entry.requiredMember("name").fail("\"\(name)\" is no interface name") }
                networkPriorities.append("\(name) \(try entry.requiredMember("priority").integer(UInt32.self))")
            }
        }
        if let rdma = try json.member("rdma") {
            for (device, _) in try rdma.object().sorted(by: { $0.key < $1.key }) {
                let limits = try rdma.requiredMember(device)
                guard Self.isOneWord(device) else { throw limits.fail("\"\(device)\" is no rdma device name") }
                var line = device
                if let handles = try limits.integer("hcaHandles", as: UInt32.self) { line += " hca_handle=\(handles)" }
                if let objects = try limits.integer("hcaObjects", as: UInt32.self) { line += " hca_object=\(objects)" }
                if line != device { rdmaLimits.append(line) }
            }
        }
        if let files = try json.member("unified") {
            unified = try files.stringMap()
            for key in unified.keys where key.isEmpty || key.utf8.contains(UInt8(ascii: "/")) || key == "." || key == ".." {
                throw files.fail("\"\(key)\" is no cgroup file name")
            }
            // The core files move processes or change the tree (cgroup.procs would pull any
            // host pid in, and delete kills what is there); only the limits are for specs.
            for key in unified.keys where key.hasPrefix("cgroup.") && !key.hasPrefix("cgroup.max.") {
                throw files.fail("\"\(key)\" is not a limit: only a controller's files and cgroup.max.* may be set")
            }
        }
    }

    /// A name that goes into a line of a cgroup file ahead of its values: no blank, no
    /// control character, so that it cannot add fields or lines.
    private static func isOneWord(_ name: String) -> Bool { !name.isEmpty && !name.utf8.contains { $0 <= 32 } }

    /// No limit at all (an ignored kernel-memory setting is none).
    public var isEmpty: Bool {
        var limits = self
        limits.ignoredKernelMemory = false
        return limits == CgroupResources()
    }

    /// After the spec's own rules, runc allows what every container needs: mknod of any
    /// node (opening one still needs a rule), the default devices, ptys and tun. A default
    /// that the spec creates itself in linux.devices is left to the spec's rules, as in
    /// runc; the spec's own devices get no rule here, so a deny-all stays a deny-all for them.
    public mutating func allowContainerDevices(_ devices: [Spec.Device]) {
        guard !self.devices.isEmpty else { return }
        let created = Set(devices.map(\.path))
        let allowed: [(path: String?, type: String, major: Int64?, minor: Int64?, access: String)] = [
            (nil, "c", nil, nil, "m"), (nil, "b", nil, nil, "m"),
            ("/dev/null", "c", 1, 3, "rwm"), ("/dev/random", "c", 1, 8, "rwm"), ("/dev/full", "c", 1, 7, "rwm"),
            ("/dev/tty", "c", 5, 0, "rwm"), ("/dev/zero", "c", 1, 5, "rwm"), ("/dev/urandom", "c", 1, 9, "rwm"),
            (nil, "c", 136, nil, "rwm"), (nil, "c", 5, 2, "rwm"), (nil, "c", 10, 200, "rwm"),
        ]
        for rule in allowed where rule.path.map({ !created.contains($0) }) ?? true {
            self.devices.append(DeviceRule(allow: true, type: rule.type, major: rule.major, minor: rule.minor, access: rule.access))
        }
    }
}
