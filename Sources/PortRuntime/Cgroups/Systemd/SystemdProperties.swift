/// The spec's limits as systemd unit properties, mapped as runc maps them (its tables in
/// docs/systemd.md). systemd re-applies a unit's properties to its cgroup on every
/// daemon-reload: a limit written only to cgroupfs would be reset then, so each one systemd
/// knows goes here too; the rest are written to the scope's own files afterwards.
struct SystemdProperties {
    /// systemd's version (AllowedCPUs needs 244, CPUQuotaPeriodUSec 242).
    var version: Int
    var unifiedHierarchy: Bool

    func resources(_ resources: CgroupResources) -> [DBusValue] {
        var properties: [DBusValue] = []
        func add(_ name: String, _ value: DBusValue) { properties.append(.property(name, value)) }
        // -1 is "no limit": systemd's infinity.
        func bytes(_ value: Int64) -> DBusValue { .uint64(value < 0 ? UInt64.max : UInt64(value)) }

        if let limit = resources.memoryLimit { add(unifiedHierarchy ? "MemoryMax" : "MemoryLimit", bytes(limit)) }
        if unifiedHierarchy {
            if let low = resources.memoryReservation { add("MemoryLow", bytes(low)) }
            if let swap = resources.memorySwap {
                add("MemorySwapMax", swap < 0 ? .uint64(.max) : .uint64(UInt64(max(0, swap - (resources.memoryLimit ?? 0)))))
            }
        }
        if let shares = resources.cpuShares, shares > 0 {
            if unifiedHierarchy {
                add("CPUWeight", .uint64(1 + ((max(2, min(shares, 262_144)) - 2) * 9999) / 262_142))
            } else {
                add("CPUShares", .uint64(shares))
            }
        }
        if resources.cpuQuota != nil || resources.cpuPeriod != nil {
            addQuota(resources.cpuQuota ?? -1, period: resources.cpuPeriod ?? 100_000, periodGiven: resources.cpuPeriod != nil, to: &properties)
        }
        if let weight = resources.blockIO.weight, !unifiedHierarchy { add("BlockIOWeight", .uint64(UInt64(weight))) }
        if let pids = resources.pidsLimit { add("TasksMax", .uint64(pids <= 0 ? .max : UInt64(pids))) }
        if version >= 244 {
            if let cpus = resources.cpus, let mask = Self.bitmask(cpus) { add("AllowedCPUs", mask) }
            if let mems = resources.mems, let mask = Self.bitmask(mems) { add("AllowedMemoryNodes", mask) }
        }
        if unifiedHierarchy { properties += unified(resources.unified) }
        return properties
    }

    /// cgroup v2 files systemd has a property for.
    private func unified(_ files: [String: String]) -> [DBusValue] {
        var properties: [DBusValue] = []
        let byteProperties = ["memory.max": "MemoryMax", "memory.high": "MemoryHigh", "memory.low": "MemoryLow",
                              "memory.min": "MemoryMin", "memory.swap.max": "MemorySwapMax", "pids.max": "TasksMax"]
        for (file, value) in files.sorted(by: { $0.key < $1.key }) {
            let text = value.trimmed
            if let name = byteProperties[file] {
                if text == "max" { properties.append(.property(name, .uint64(.max))) }
                else if let number = UInt64(text) { properties.append(.property(name, .uint64(number))) }
            } else if file == "cpu.weight", let weight = UInt64(text) {
                properties.append(.property("CPUWeight", .uint64(weight)))
            } else if file == "cpu.max" {
                let parts = text.split(separator: " ")
                let period = parts.count > 1 ? UInt64(parts[1]) ?? 100_000 : 100_000
                addQuota(parts.first == "max" ? -1 : Int64(parts.first ?? "") ?? -1, period: period, periodGiven: parts.count > 1, to: &properties)
            } else if version >= 244, file == "cpuset.cpus" || file == "cpuset.mems", let mask = Self.bitmask(text) {
                properties.append(.property(file == "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", mask))
            }
        }
        return properties
    }

    /// systemd keeps a quota as a whole percent of a CPU: rounded up to the next 10 ms per
    /// second (as runc does) so that the exact quota, written afterwards, fits below it.
    private func addQuota(_ quota: Int64, period: UInt64, periodGiven: Bool, to properties: inout [DBusValue]) {
        var perSecond = UInt64.max
        if quota > 0, period > 0 {
            perSecond = UInt64(quota) * 1_000_000 / period
            if perSecond % 10_000 != 0 { perSecond = (perSecond / 10_000 + 1) * 10_000 }
        }
        properties.append(.property("CPUQuotaPerSecUSec", .uint64(perSecond)))
        if periodGiven, version >= 242 { properties.append(.property("CPUQuotaPeriodUSec", .uint64(period))) }
    }

    /// "0-2,7" as systemd's CPU set: bit N of byte N/8.
    static func bitmask(_ list: String) -> DBusValue? {
        var bytes: [UInt8] = []
        for range in list.trimmed.split(separator: ",") {
            let ends = range.split(separator: "-", maxSplits: 1).map { Int(String($0).trimmed) }
            guard let low = ends.first ?? nil, let high = ends.count > 1 ? ends[1] : Optional(low), low >= 0, high >= low, high < 8192 else { return nil }
            for bit in low...high {
                while bytes.count <= bit / 8 { bytes.append(0) }
                bytes[bit / 8] |= UInt8(1) << UInt8(bit % 8)
            }
        }
        return bytes.isEmpty ? nil : .array("y", bytes.map(DBusValue.byte))
    }

    /// The device rules as systemd's allow list: without it, systemd writes "a" to a v1
    /// scope's devices.allow on every reload. The rules are replayed in order (a rule for
    /// every device resets the list); a deny-by-exception list has no systemd form, and is
    /// then left to the cgroup's own rules, with a warning.
    static func devices(_ rules: [CgroupResources.DeviceRule], deviceNames: (_ block: Bool, _ major: Int64) -> String?) -> [DBusValue] {
        guard !rules.isEmpty else { return [] }
        var allowAll = true
        var allowed: [CgroupResources.DeviceRule] = []
        for rule in rules {
            if rule.type == "a" && rule.major == nil && rule.minor == nil && rule.access.contains("r") && rule.access.contains("w") && rule.access.contains("m") {
                allowAll = rule.allow
                allowed = []
            } else if rule.allow {
                if !allowAll { allowed.append(rule) }
            } else if allowAll {
                Log.warning("linux.resources.devices: systemd cannot hold a deny rule after allowing every device (\(rule.v1Line)); the scope's own rules enforce it")
                return [.property("DevicePolicy", .string("auto"))]
            } else {
                allowed.removeAll { $0.type == rule.type && $0.major == rule.major && $0.minor == rule.minor }
            }
        }
        if allowAll { return [.property("DevicePolicy", .string("auto")), .property("DeviceAllow", .array("(ss)", []))] }
        var entries: [DBusValue] = []
        for rule in allowed {
            let access = String(rule.access.filter { "rwm".contains($0) })
            for kind in rule.type == "a" ? ["c", "b"] : [rule.type] {
                let block = kind == "b"
                let node: String
                switch (rule.major, rule.minor) {
                case (let major?, let minor?): node = "/dev/\(block ? "block" : "char")/\(major):\(minor)"
                case (let major?, nil):
                    // systemd names a whole major by its driver, as /proc/devices lists it.
                    guard let name = deviceNames(block, major) else {
                        Log.warning("linux.resources.devices: no driver has \(block ? "block" : "char") major \(major); systemd's copy of the rules leaves it out")
                        continue
                    }
                    node = "\(block ? "block" : "char")-\(name)"
                case (nil, _): node = "\(block ? "block" : "char")-*"
                }
                entries.append(.structure([.string(node), .string(access)]))
            }
        }
        return [.property("DevicePolicy", .string("strict")), .property("DeviceAllow", .array("(ss)", entries))]
    }

    /// The driver name of a major from /proc/devices ("136 pts" in its character section).
    static func procDevicesName(block: Bool, major: Int64) -> String? {
        guard let text = try? Files.readString("/proc/devices") else { return nil }
        var inBlock = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Block devices") { inBlock = true; continue }
            if line.hasPrefix("Character devices") { inBlock = false; continue }
            let fields = line.split(separator: " ")
            if inBlock == block, fields.count == 2, Int64(String(fields[0]).trimmed) == major { return String(fields[1]) }
        }
        return nil
    }
}
