#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// The cgroupfs driver: one directory per hierarchy of the host (v1 controllers, named
/// hierarchies and the v2 mount alike), limits written to whichever file each layout has.
public struct CgroupManager: Sendable, Equatable {
    /// Host directories of the container's cgroup, one per hierarchy.
    public var directories: [String]

    public init(directories: [String]) { self.directories = directories }

    /// Where the container's cgroup goes, as runc's cgroupfs driver puts it: an absolute
    /// cgroupsPath is below each hierarchy's root; a relative one (and the default, the
    /// container id) below port-run's own cgroup, on a pure v2 host below its parent (the
    /// caller's own cgroup has processes, so controllers cannot be enabled below it). The
    /// systemd form "slice:prefix:name" (containerd sends it for a parent ending in ".slice"
    /// even without the systemd driver) is such a relative name, as runc takes it.
    public static func plan(cgroupsPath: String?, id: String, layout: CgroupLayout) throws(RuntimeError) -> CgroupManager {
        let requested = cgroupsPath.flatMap { $0.isEmpty ? nil : $0 } ?? id
        if requested.split(separator: "/").contains("..") {
            throw RuntimeError("config.json: linux.cgroupsPath: \"\(requested)\" must not contain \"..\"")
        }
        let directories = layout.hierarchies.map { hierarchy in
            let base: String
            if requested.hasPrefix("/") {
                base = hierarchy.mountPoint
            } else if layout.isPureUnified, let slash = hierarchy.ownDirectory.lastIndex(of: "/"), hierarchy.ownPath != "/" {
                base = String(hierarchy.ownDirectory[..<slash])
            } else {
                base = hierarchy.ownDirectory
            }
            return SafePath.clean(base + "/" + requested)
        }
        return CgroupManager(directories: directories)
    }

    /// The systemd driver's place: the unit's path below every hierarchy's root, as systemd
    /// makes it in the hierarchies it manages (and port-run in the others).
    public static func plan(systemdUnit name: SystemdUnitName, layout: CgroupLayout) throws(RuntimeError) -> CgroupManager {
        let path = try name.cgroupPath()
        return CgroupManager(directories: layout.hierarchies.map { SafePath.clean($0.mountPoint + path) })
    }

    /// Whether this user may make `directory`: its nearest existing ancestor is writable.
    static func mayCreate(_ directory: String) -> Bool {
        var path = directory
        while !Files.exists(path), let slash = path.lastIndex(of: "/"), slash != path.startIndex { path = String(path[..<slash]) }
        return access(path, W_OK) == 0
    }

    public func create() throws(RuntimeError) {
        for directory in directories {
            for made in try Files.makeDirectories(directory) { inheritCpuset(made) }
        }
    }

    /// A new v1 cpuset (Android's noprefix one too) is empty and refuses tasks: every level
    /// made on the way gets its parent's cpus and mems. Other hierarchies have neither file.
    private func inheritCpuset(_ directory: String) {
        guard let slash = directory.lastIndex(of: "/") else { return }
        let parent = String(directory[..<slash])
        guard let files = [["cpuset.cpus", "cpuset.mems"], ["cpus", "mems"]].first(where: { Files.exists(directory + "/" + $0[0]) }) else { return }
        for file in files {
            let current = (try? Files.readString(directory + "/" + file))?.trimmed ?? ""
            if current.isEmpty, let inherited = try? Files.readString(parent + "/" + file) {
                try? Files.writeValue(directory + "/" + file, inherited.trimmed)
            }
        }
    }

    /// The directory of the hierarchy that has `file` (a v1 controller's or the v2 one).
    func directory(having file: String) -> String? {
        directories.first { Files.exists($0 + "/" + file) }
    }

    /// Writes each limit; a limit whose controller this host lacks is an error naming it.
    public func apply(_ resources: CgroupResources) throws(RuntimeError) {
        func write(_ field: String, _ candidates: [(file: String, value: String)]) throws(RuntimeError) {
            var enableFailure = ""
            if !candidates.contains(where: { directory(having: $0.file) != nil }) {
                for candidate in candidates {
                    if let failure = enableUnifiedController(for: candidate.file) { enableFailure = " (\(failure))" }
                }
            }
            for (file, value) in candidates {
                guard let directory = directory(having: file) else { continue }
                do { try Files.writeValue(directory + "/" + file, value) } catch {
                    throw RuntimeError("linux.resources.\(field): \(error.message)")
                }
                return
            }
            throw RuntimeError("linux.resources.\(field): no cgroup controller on this host has \(candidates.map(\.file).joined(separator: " or "))\(enableFailure)")
        }
        if let limit = resources.memoryLimit {
            try write("memory.limit", [("memory.limit_in_bytes", String(limit)), ("memory.max", limit < 0 ? "max" : String(limit))])
        }
        if let reservation = resources.memoryReservation {
            try write("memory.reservation", [("memory.soft_limit_in_bytes", String(reservation)), ("memory.low", String(reservation))])
        }
        if let swap = resources.memorySwap {
            // v1 counts memory+swap together; v2 counts swap alone.
            let v2 = swap < 0 ? "max" : String(max(0, swap - (resources.memoryLimit ?? 0)))
            try write("memory.swap", [("memory.memsw.limit_in_bytes", String(swap)), ("memory.swap.max", v2)])
        }
        if let swappiness = resources.memorySwappiness, swappiness <= 100 {
            try write("memory.swappiness", [("memory.swappiness", String(swappiness))])
        }
        if resources.disableOOMKiller == true { try write("memory.disableOOMKiller", [("memory.oom_control", "1")]) }
        if let tcp = resources.kernelTCP {
            // Deprecated by the spec, like memory.kernel: applied where the file is, else said.
            if directory(having: "memory.kmem.tcp.limit_in_bytes") != nil {
                try write("memory.kernelTCP", [("memory.kmem.tcp.limit_in_bytes", String(tcp))])
            } else {
                Log.warning("linux.resources.memory.kernelTCP: this host's memory controller has no kernel TCP limit (memory.kmem.tcp.limit_in_bytes); not applied")
            }
        }
        if let shares = resources.cpuShares, shares > 0 {
            try write("cpu.shares", [("cpu.shares", String(shares)), ("cpu.weight", String(CgroupResources.cpuWeight(shares: shares)))])
        }
        if resources.cpuQuota != nil || resources.cpuPeriod != nil {
            let period = resources.cpuPeriod ?? 100_000
            let quota = resources.cpuQuota ?? -1
            if directory(having: "cpu.cfs_period_us") != nil {
                if resources.cpuPeriod != nil { try write("cpu.period", [("cpu.cfs_period_us", String(period))]) }
                if resources.cpuQuota != nil { try write("cpu.quota", [("cpu.cfs_quota_us", String(quota))]) }
            } else {
                try write("cpu.quota", [("cpu.max", "\(quota < 0 ? "max" : String(quota)) \(period)")])
            }
        }
        try applyRealtime(period: resources.realtimePeriod, runtime: resources.realtimeRuntime, write: write)
        if let cpus = resources.cpus { try write("cpu.cpus", [("cpuset.cpus", cpus), ("cpus", cpus)]) }
        if let mems = resources.mems { try write("cpu.mems", [("cpuset.mems", mems), ("mems", mems)]) }
        if let pids = resources.pidsLimit {
            try write("pids.limit", [("pids.max", pids <= 0 ? "max" : String(pids))])
        }
        try applyBlockIO(resources.blockIO, write: write)
        for limit in resources.hugepageLimits {
            let size = limit.pageSize, value = String(limit.limit)
            try write("hugepageLimits", [("hugetlb.\(size).limit_in_bytes", value), ("hugetlb.\(size).max", value)])
            // The reservation limit (5.7) also counts pages reserved but not yet touched.
            if directory(having: "hugetlb.\(size).rsvd.limit_in_bytes") ?? directory(having: "hugetlb.\(size).rsvd.max") != nil {
                try write("hugepageLimits", [("hugetlb.\(size).rsvd.limit_in_bytes", value), ("hugetlb.\(size).rsvd.max", value)])
            }
        }
        if let classID = resources.networkClassID { try write("network.classID", [("net_cls.classid", String(classID))]) }
        for line in resources.networkPriorities { try write("network.priorities", [("net_prio.ifpriomap", line)]) }
        for line in resources.rdmaLimits { try write("rdma", [("rdma.max", line)]) }
        try applyUnified(resources.unified)
        try applyDevices(resources.devices)
    }

    /// cpu.rt_*: the kernel refuses a period shorter than the current runtime, and a runtime
    /// longer than the current period, so when the period write fails the runtime goes first.
    private func applyRealtime(period: UInt64?, runtime: Int64?,
                               write: (String, [(file: String, value: String)]) throws(RuntimeError) -> Void) throws(RuntimeError) {
        func writePeriod() throws(RuntimeError) {
            if let period { try write("cpu.realtimePeriod", [("cpu.rt_period_us", String(period))]) }
        }
        func writeRuntime() throws(RuntimeError) {
            if let runtime { try write("cpu.realtimeRuntime", [("cpu.rt_runtime_us", String(runtime))]) }
        }
        do { try writePeriod() } catch where runtime != nil && error.message.hasSuffix(errnoText(EINVAL)) {
            try writeRuntime()
            try writePeriod()
            return
        }
        try writeRuntime()
    }

    /// `unified`: files of the v2 directory, written as given; a file this host lacks is an
    /// error naming it, as for every other limit.
    private func applyUnified(_ files: [String: String]) throws(RuntimeError) {
        guard !files.isEmpty else { return }
        guard let directory = unifiedDirectory else {
            throw RuntimeError("linux.resources.unified: this host has no cgroup v2 hierarchy")
        }
        for (file, value) in files.sorted(by: { $0.key < $1.key }) {
            let enableFailure = Files.exists(directory + "/" + file) ? nil : enableUnifiedController(for: file)
            guard Files.exists(directory + "/" + file) else {
                throw RuntimeError("linux.resources.unified.\(file): no such file in the container's cgroup v2 directory\(enableFailure.map { " (\($0))" } ?? "")")
            }
            do { try Files.writeValue(directory + "/" + file, value) } catch {
                throw RuntimeError("linux.resources.unified.\(file): \(error.message)")
            }
        }
    }

    /// A v2 controller's files appear only where every ancestor lists it in
    /// cgroup.subtree_control; hosts leave most off, so it is turned on when a limit needs
    /// it (as runc does), from the top down, and stays on. A controller bound to v1 is not
    /// offered there. Returns why it could not be turned on, if it could not.
    @discardableResult
    private func enableUnifiedController(for file: String) -> String? {
        guard let directory = unifiedDirectory, let dot = file.firstIndex(of: "."), file[..<dot] != "cgroup" else { return nil }
        let controller = String(file[..<dot])
        var ancestors: [String] = []
        var current = directory
        while let slash = current.lastIndex(of: "/"), slash != current.startIndex {
            current = String(current[..<slash])
            guard Files.exists(current + "/cgroup.controllers") else { break }
            ancestors.append(current)
        }
        for ancestor in ancestors.reversed() {
            let offered = (try? Files.readString(ancestor + "/cgroup.controllers")) ?? ""
            guard offered.split(whereSeparator: \.isWhitespace).contains(Substring(controller)) else { return nil }
            let enabled = (try? Files.readString(ancestor + "/cgroup.subtree_control")) ?? ""
            if enabled.split(whereSeparator: \.isWhitespace).contains(Substring(controller)) { continue }
            do { try Files.writeValue(ancestor + "/cgroup.subtree_control", "+" + controller) } catch {
                // EBUSY: the v2 rule that a cgroup with processes cannot enable controllers.
                return "enable \(controller): \(error.message)"
            }
        }
        return nil
    }

    /// v1 blkio files or v2 io.weight / io.max.
    private func applyBlockIO(_ block: CgroupResources.BlockIO,
                              write: (String, [(file: String, value: String)]) throws(RuntimeError) -> Void) throws(RuntimeError) {
        if let weight = block.weight {
            // v2 io.weight is 1..10000; v1 blkio.weight 10..1000 (runc's conversion).
            let v2 = 1 + (UInt32(max(10, min(weight, 1000))) - 10) * 9999 / 990
            try write("blockIO.weight", [("blkio.weight", String(weight)), ("io.weight", "default \(v2)")])
        }
        if let leaf = block.leafWeight { try write("blockIO.leafWeight", [("blkio.leaf_weight", String(leaf))]) }
        for line in block.weightDevices { try write("blockIO.weightDevice", [("blkio.weight_device", line)]) }
        let files = ["throttleReadBpsDevice": ("blkio.throttle.read_bps_device", "rbps"),
                     "throttleWriteBpsDevice": ("blkio.throttle.write_bps_device", "wbps"),
                     "throttleReadIOPSDevice": ("blkio.throttle.read_iops_device", "riops"),
                     "throttleWriteIOPSDevice": ("blkio.throttle.write_iops_device", "wiops")]
        for (kind, lines) in block.throttles.sorted(by: { $0.key < $1.key }) {
            guard let (v1File, v2Key) = files[kind] else { continue }
            for line in lines {
                let parts = line.split(separator: " ")
                try write("blockIO.\(kind)", [(v1File, line), ("io.max", "\(parts[0]) \(v2Key)=\(parts[1])")])
            }
        }
    }

    /// The v1 devices controller where the host has one; else, on v2, a device program.
    /// Where the host has neither (GKI kernels have no device cgroup) the rules cannot be
    /// enforced: that is said once, loudly, and the container still runs. A program that
    /// fails to load (no cgroup BPF, no fds left) fails the container: its rules would be
    /// silently absent.
    private func applyDevices(_ rules: [CgroupResources.DeviceRule]) throws(RuntimeError) {
        guard !rules.isEmpty else { return }
        guard let directory = directory(having: "devices.deny") else {
            guard let unified = unifiedDirectory else {
                Log.warning("linux.resources.devices: no devices cgroup controller on this host; device rules are not enforced")
                return
            }
            do { try DeviceFilter.attach(rules, to: unified) } catch {
                throw RuntimeError("linux.resources.devices: refusing to run the container without its device rules: \(error.message)")
            }
            return
        }
        for rule in rules {
            let file = directory + "/" + (rule.allow ? "devices.allow" : "devices.deny")
            do { try Files.writeValue(file, rule.v1Line) } catch {
                throw RuntimeError("linux.resources.devices: \(rule.v1Line): \(error.message)")
            }
        }
    }

    /// Moves the calling process, which must be single-threaded, into each directory.
    /// On v1 it moves its one thread through `tasks`: the kernel then skips the global
    /// threadgroup lock that a `cgroup.procs` write takes, whose RCU sync costs 7-14 ms
    /// per write here. v2 has no `tasks` (and refuses thread moves across domains).
    static func joinSelf(_ directories: [String]) throws(RuntimeError) {
        for directory in directories {
            do {
                do { try Files.writeValue(directory + "/tasks", "0") } catch where error.errno == ENOENT {
                    try Files.writeValue(directory + "/cgroup.procs", "0")
                }
            } catch {
                throw RuntimeError("join cgroup \(directory): \(error.message)")
            }
        }
    }

    /// An update as systemd must hear it: a unit property is the whole value, so what the
    /// update leaves out but the property needs (the quota's period, swap's memory limit)
    /// comes from the cgroup as it is.
    func completingForSystemd(_ update: CgroupResources) -> CgroupResources {
        var complete = update
        func read(_ file: String) -> String? {
            directory(having: file).flatMap { try? Files.readString($0 + "/" + file) }?.trimmed
        }
        if update.cpuQuota != nil, update.cpuPeriod == nil {
            complete.cpuPeriod = read("cpu.cfs_period_us").flatMap { UInt64($0) }
                ?? read("cpu.max").flatMap { $0.split(separator: " ").last.flatMap { UInt64($0) } }
        }
        if update.memorySwap != nil, update.memoryLimit == nil,
           let current = read("memory.limit_in_bytes") ?? read("memory.max") {
            complete.memoryLimit = current == "max" ? -1 : Int64(current)
        }
        return complete
    }

    /// The v2 directory among the container's, where init can be born (CLONE_INTO_CGROUP).
    var unifiedDirectory: String? {
        directories.first { Files.exists($0 + "/cgroup.controllers") }
    }

    /// Host pids in the container's cgroup.
    public func processes() -> [Int32] {
        guard let first = directories.first, let text = try? Files.readString(first + "/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// Removes the directories (deepest first, as rmdir needs); retried while the last
    /// processes are still being torn down.
    public func destroy() {
        for directory in directories {
            for attempt in 0..<100 {
                if rmdir(directory) == 0 || errno == ENOENT { break }
                if errno != EBUSY || attempt == 99 {
                    Log.warning("remove cgroup \(directory): \(errnoText(errno))")
                    break
                }
                usleep(2000)
            }
        }
    }

    /// Freezes or thaws every process of the container (v1 freezer or v2 cgroup.freeze).
    public func setFrozen(_ frozen: Bool) throws(RuntimeError) {
        if let directory = directory(having: "freezer.state") {
            try Files.writeValue(directory + "/freezer.state", frozen ? "FROZEN" : "THAWED")
            for _ in 0..<1000 {
                let state = (try? Files.readString(directory + "/freezer.state"))?.trimmed
                if state == (frozen ? "FROZEN" : "THAWED") { return }
                usleep(1000)
            }
            throw RuntimeError("freezer.state did not reach \(frozen ? "FROZEN" : "THAWED")")
        }
        if let directory = directory(having: "cgroup.freeze") {
            try Files.writeValue(directory + "/cgroup.freeze", frozen ? "1" : "0")
            return
        }
        throw RuntimeError("no freezer on this host: neither a v1 freezer nor cgroup v2's cgroup.freeze")
    }

    /// SIGKILL to every process in the cgroup, including any forked meanwhile: cgroup.kill
    /// (5.14) where the v2 tree has it, else freeze, signal the frozen list, thaw (the
    /// signals land on thaw). false when neither is possible here.
    public func killAll() -> Bool {
        if let unified = unifiedDirectory, Files.exists(unified + "/cgroup.kill"),
           !HostFacts.currentOverrides().contains("no-cgroup-kill"),
           (try? Files.writeValue(unified + "/cgroup.kill", "1")) != nil {
            return true
        }
        do { try setFrozen(true) } catch { return false }
        for pid in processes() where pid > 0 { kill(pid, SIGKILL) }
        try? setFrozen(false)
        return true
    }

    public var isFrozen: Bool {
        if let directory = directory(having: "freezer.state") {
            return (try? Files.readString(directory + "/freezer.state"))?.trimmed == "FROZEN"
        }
        if let directory = directory(having: "cgroup.freeze") {
            return (try? Files.readString(directory + "/cgroup.freeze"))?.trimmed == "1"
        }
        return false
    }
}

extension String {
    var trimmed: String {
        var text = Substring(self)
        while text.last?.isWhitespace == true { text.removeLast() }
        while text.first?.isWhitespace == true { text.removeFirst() }
        return String(text)
    }
}
