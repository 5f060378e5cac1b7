/// The spec's limits as systemd unit properties, mapped as runc maps them (its tables in
/// docs/systemd.md). systemd re-applies a unit's properties to its cgroup on every
/// daemon-reload: a limit written only to cgroupfs would be reset then, so each one systemd
/// knows goes here too; the rest are written to the scope's own files afterwards.
struct SystemdProperties {
    /// systemd's version (AllowedCPUs needs 244, CPUQuotaPeriodUSec 242).
    var version: Int
    var unifiedHierarchy: Bool

    /// The mapping for the manager at the other end of `bus`: its version, and whether it
    /// runs the unified hierarchy (/sys/fs/cgroup is cgroup2, as systemd itself decides).
    static func forManager(_ bus: DBusConnection) -> SystemdProperties {
        SystemdProperties(version: SystemdScope.version(bus), unifiedHierarchy: Files.exists("/sys/fs/cgroup/cgroup.controllers"))
    }

    func resources(_ resources: CgroupResources) -> [DBusValue] {
        var properties: [DBusValue] = []
        func add(_ name: String, _ value: DBusValue) { properties.append(.property(name, value)) }
        // -1 is "no limit": systemd's infinity.
        func bytes(_ value: Int64) -> DBusValue { .uint64(value < 0 ? UInt64.max : UInt64(value)) }

        if let limit = resources.memoryLimit { add(unifiedHierarchy ? "MemoryMax" : "MemoryLimit", bytes(limit)) }
        if unifiedHierarchy {
            if let low = resources.memoryReservation { add("MemoryLow", bytes(low)) }
            // v2 counts swap alone: what is left of memory+swap after memory (runc's conversion).
            if let swap = resources.memorySwap, let memory = resources.memoryLimit ?? (swap < 0 ? -1 : nil) {
                let (alone, overflow) = swap.subtractingReportingOverflow(max(0, memory))
                add("MemorySwapMax", swap < 0 || memory < 0 || overflow ? .uint64(.max) : .uint64(UInt64(max(0, alone))))
            }
        }
        if let shares = resources.cpuShares, shares > 0 {
            if unifiedHierarchy {
                add("CPUWeight", .uint64(CgroupResources.cpuWeight(shares: shares)))
            } else {
                add("CPUShares", .uint64(CgroupResources.clampedShares(shares)))
            }
        }
        // The quota only when given (an update of the period alone must not lift it); its
        // period, when not given, is the kernel's default (update passes the current one).
        if let quota = resources.cpuQuota {
            addQuota(quota, period: resources.cpuPeriod ?? 100_000, periodGiven: resources.cpuPeriod != nil, to: &properties)
        } else if let period = resources.cpuPeriod, version >= 242 {
            add("CPUQuotaPeriodUSec", .uint64(period))
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
            let (scaled, overflow) = UInt64(quota).multipliedReportingOverflow(by: 1_000_000)
            perSecond = overflow ? .max : scaled / period
            if perSecond % 10_000 != 0, perSecond < UInt64.max - 10_000 { perSecond = (perSecond / 10_000 + 1) * 10_000 }
        }
        properties.append(.property("CPUQuotaPerSecUSec", .uint64(perSecond)))
        if periodGiven, version >= 242 { properties.append(.property("CPUQuotaPeriodUSec", .uint64(period))) }
    }

    /// "0-2,7" as systemd's CPU set: bit N of byte N/8.
    static func bitmask(_ list: String) -> DBusValue? {
        guard let set = try? CPUList(parsing: list), !set.isEmpty else { return nil }
        return .array("y", set.bytes.map(DBusValue.byte))
    }

    /// The device rules as systemd's allow list: without it, systemd writes "a" to a v1
    /// scope's devices.allow on every reload. The rules are replayed in order, a rule of type
    /// "a" resetting the list (as the device program reads them). Where systemd cannot say
    /// as much (a deny after allowing everything, a minor of every major) it is told less:
    /// nothing at all, or the rule left out, with a warning; the scope's own rules, written
    /// after, say the rest.
    static func devices(_ rules: [CgroupResources.DeviceRule], deviceNames: (_ block: Bool, _ major: Int64) -> String?) -> [DBusValue] {
        guard !rules.isEmpty else { return [] }
        let strict = { (entries: [DBusValue]) -> [DBusValue] in
            [.property("DevicePolicy", .string("strict")), .property("DeviceAllow", .array("(ss)", entries))]
        }
        var allowAll = true
        var allowed: [CgroupResources.DeviceRule] = []
        for rule in rules {
            if rule.type == "a" && rule.major == nil && rule.minor == nil {
                allowAll = rule.allow
                allowed = []
            } else if rule.allow {
                if !allowAll { allowed.append(rule) }
            } else if allowAll {
                Log.warning("linux.resources.devices: systemd has no deny rules (\(rule.v1Line) after allowing every device): its copy of the rules allows no device, the scope's own rules allow the rest")
                return strict([])
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
                case (nil, nil): node = "\(block ? "block" : "char")-*"
                case (nil, let minor?):
                    Log.warning("linux.resources.devices: systemd cannot name minor \(minor) of every major (\(rule.v1Line)); its copy of the rules leaves it out")
                    continue
                }
                entries.append(.structure([.string(node), .string(access)]))
            }
        }
        return strict(entries)
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

extension SystemdProperties {
    static let annotationPrefix = "org.systemd.property."
    static let reservedProperties: Set<String> = ["Slice", "Delegate", "PIDs", "Wants", "DevicePolicy", "DeviceAllow"]

    /// The annotations `org.systemd.property.NAME`, as runc reads them: the unit property NAME
    /// with its value in GVariant text ("uint64 123", "'inactive-or-failed'", "true"). A time
    /// named in seconds (TimeoutStopSec) is systemd's microsecond property (TimeoutStopUSec).
    /// A value this reader does not take is refused by name, never dropped.
    static func annotations(_ annotations: [String: String]) throws(RuntimeError) -> [DBusValue] {
        var properties: [DBusValue] = []
        for (key, text) in annotations.sorted(by: { $0.key < $1.key }) where key.hasPrefix(annotationPrefix) {
            var name = String(key.dropFirst(annotationPrefix.count))
            // A property name as runc takes it; those that place the unit or hold its device
            // rules stay the runtime's (a pod annotation must not move the container).
            guard name.count >= 3, name.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || ("a"..."z").contains($0) }) else {
                throw RuntimeError("annotations.\(key): \"\(name)\" is no systemd property name (letters only)")
            }
            guard !reservedProperties.contains(name) else {
                throw RuntimeError("annotations.\(key): \(name) is set by port-run itself and cannot be changed")
            }
            guard var value = gvariant(text.trimmed) else {
                throw RuntimeError("annotations.\(key): \"\(text)\" is not a GVariant value port-run reads (uint64 N, int32 N, true, 'text')")
            }
            if name.hasSuffix("Sec") && !name.hasSuffix("USec") {
                name = String(name.dropLast(3)) + "USec"
                switch value {
                case .uint64(let seconds) where seconds <= UInt64.max / 1_000_000: value = .uint64(seconds * 1_000_000)
                case .int32(let seconds) where seconds >= 0: value = .uint64(UInt64(seconds) * 1_000_000)
                default: throw RuntimeError("annotations.\(key): a time in seconds must be a whole number, not \"\(text)\"")
                }
            }
            properties.append(.property(name, value))
        }
        return properties
    }

    /// The GVariant text forms a unit property takes: a typed integer, a bare integer (int32,
    /// as GVariant reads it), a boolean, a quoted string.
    private static func gvariant(_ text: String) -> DBusValue? {
        if text == "true" || text == "false" { return .bool(text == "true") }
        if let quote = text.first, quote == "'" || quote == "\"", text.count >= 2, text.last == quote {
            let inner = String(text.dropFirst().dropLast())
            return inner.contains(quote) || inner.contains("\\") ? nil : .string(inner)
        }
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        if parts.count == 2 {
            switch parts[0] {
            case "uint64": return UInt64(parts[1]).map(DBusValue.uint64)
            case "int64": return Int64(parts[1]).map(DBusValue.int64)
            case "uint32": return UInt32(parts[1]).map(DBusValue.uint32)
            case "int32": return Int32(parts[1]).map(DBusValue.int32)
            case "boolean": return parts[1] == "true" ? .bool(true) : parts[1] == "false" ? .bool(false) : nil
            default: return nil
            }
        }
        return Int32(text).map(DBusValue.int32)
    }
}
