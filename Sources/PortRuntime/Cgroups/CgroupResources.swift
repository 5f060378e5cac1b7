/// `linux.resources`, decoded. Every field set here is applied or refused with an error that
/// names it: a limit the user asked for is never dropped in silence.
public struct CgroupResources: Sendable, Equatable {
    public var memoryLimit: Int64?
    public var memoryReservation: Int64?
    public var memorySwap: Int64?
    public var memorySwappiness: UInt64?
    public var disableOOMKiller: Bool?
    public var cpuShares: UInt64?
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64?
    public var cpus: String?
    public var mems: String?
    public var pidsLimit: Int64?
    public var devices: [DeviceRule] = []
    public var blockIO = BlockIO()

    /// `blockIO`, zero meaning unset (docker always sends `"weight": 0`, as runc expects).
    public struct BlockIO: Sendable, Equatable {
        public var weight: UInt16?
        public var leafWeight: UInt16?
        /// "major:minor value" lines per file kind: weight, and the four throttles.
        public var weightDevices: [String] = []
        public var throttles: [String: [String]] = [:]
    }
    /// Fields decoded but not applied by this version; set ones are refused by name.
    public var unsupported: [String] = []
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

    public init(_ json: JSONField?) throws(SpecError) {
        guard let json else { return }
        if let memory = try json.member("memory") {
            memoryLimit = try memory.integer("limit")
            memoryReservation = try memory.integer("reservation")
            memorySwap = try memory.integer("swap")
            memorySwappiness = try memory.integer("swappiness")
            disableOOMKiller = try memory.bool("disableOOMKiller")
            // Deprecated by the spec and gone from new kernels; runc ignores it too.
            ignoredKernelMemory = try memory.integer("kernel", as: Int64.self) != nil
        }
        if let cpu = try json.member("cpu") {
            cpuShares = try cpu.integer("shares")
            cpuQuota = try cpu.integer("quota")
            cpuPeriod = try cpu.integer("period")
            cpus = try cpu.string("cpus").flatMap { $0.isEmpty ? nil : $0 }
            mems = try cpu.string("mems").flatMap { $0.isEmpty ? nil : $0 }
            for key in ["realtimeRuntime", "realtimePeriod"] where try cpu.integer(key, as: Int64.self).map({ $0 != 0 }) == true {
                unsupported.append("cpu.\(key)")
            }
        }
        if let pids = try json.member("pids") { pidsLimit = try pids.integer("limit") }
        devices = try (json.member("devices")?.elements() ?? []).map { rule throws(SpecError) in
            DeviceRule(allow: try rule.requiredMember("allow").bool(), type: try rule.string("type") ?? "a",
                       major: try rule.integer("major"), minor: try rule.integer("minor"), access: try rule.string("access") ?? "rwm")
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
        for key in ["hugepageLimits", "network", "rdma", "unified"] {
            guard let field = try json.member(key) else { continue }
            let empty: Bool
            switch field.value {
            case .array(let items): empty = items.isEmpty
            case .object(let members): empty = members.isEmpty
            default: empty = false
            }
            if !empty { unsupported.append(key) }
        }
    }

    /// No limit at all (an ignored kernel-memory setting is none).
    public var isEmpty: Bool {
        var limits = self
        limits.ignoredKernelMemory = false
        return limits == CgroupResources()
    }

    /// After the spec's own rules, runc allows the devices every container has and the ones
    /// the spec creates: a deny-all rule must not break /dev/null or `linux.devices`.
    public mutating func allowContainerDevices(_ devices: [Spec.Device]) {
        guard !self.devices.isEmpty else { return }
        // runc's list: mknod of any node (opening it still needs a rule), the default
        // devices, ptys, /dev/console and tun.
        self.devices.append(DeviceRule(allow: true, type: "c", major: nil, minor: nil, access: "m"))
        self.devices.append(DeviceRule(allow: true, type: "b", major: nil, minor: nil, access: "m"))
        let defaults: [(String, Int64?, Int64?)] = [("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9),
                                                    ("c", 5, 0), ("c", 5, 1), ("c", 5, 2), ("c", 136, nil), ("c", 10, 200)]
        for (type, major, minor) in defaults {
            self.devices.append(DeviceRule(allow: true, type: type, major: major, minor: minor, access: "rwm"))
        }
        for device in devices where device.type != "p" {
            self.devices.append(DeviceRule(allow: true, type: device.type == "u" ? "c" : device.type, major: device.major,
                                           minor: device.minor, access: "rwm"))
        }
    }
}
