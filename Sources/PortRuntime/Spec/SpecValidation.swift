/// Checks that need more than one field, or knowledge of what Linux accepts. Decoding already
/// checked types; this checks meaning. Every error names the JSON path.
extension Spec {
    static let propagationModes: Set<String> = ["shared", "slave", "private", "unbindable",
                                                "rshared", "rslave", "rprivate", "runbindable"]

    /// Validates a spec that is about to run a container (create/run). `isHostNetwork` says
    /// whether a network namespace path is the runtime's own.
    public func validateForCreate(isHostNetwork: (String) -> Bool = { _ in false }) throws(SpecError) {
        if root.path.isEmpty { throw SpecError(path: "root.path", reason: "must not be empty") }
        guard let process else { throw SpecError(path: "process", reason: "required to create a container") }
        if process.args.isEmpty { throw SpecError(path: "process.args", reason: "must not be empty") }
        if !process.cwd.hasPrefix("/") { throw SpecError(path: "process.cwd", reason: "must be an absolute path, got \"\(process.cwd)\"") }
        for (index, entry) in process.env.enumerated() where !entry.contains("=") {
            throw SpecError(path: "process.env[\(index)]", reason: "expected KEY=value, got \"\(entry)\"")
        }
        var seenRlimits = Set<String>()
        for (index, limit) in process.rlimits.enumerated() {
            let path = "process.rlimits[\(index)]"
            if RlimitTable.resources[limit.type] == nil { throw SpecError(path: "\(path).type", reason: "unknown rlimit \"\(limit.type)\"") }
            if !seenRlimits.insert(limit.type).inserted { throw SpecError(path: "\(path).type", reason: "duplicate rlimit \(limit.type)") }
            if limit.soft > limit.hard { throw SpecError(path: path, reason: "soft limit \(limit.soft) is above hard limit \(limit.hard)") }
        }
        try validateNamespaces()
        try validateSysctls(isHostNetwork: isHostNetwork)
        for (index, mount) in mounts.enumerated() where !mount.destination.hasPrefix("/") {
            throw SpecError(path: "mounts[\(index)].destination", reason: "must be an absolute path, got \"\(mount.destination)\"")
        }
        for (index, device) in linux.devices.enumerated() {
            if !["c", "b", "u", "p"].contains(device.type) {
                throw SpecError(path: "linux.devices[\(index)].type", reason: "unknown device type \"\(device.type)\"")
            }
            if !device.path.hasPrefix("/dev/") {
                throw SpecError(path: "linux.devices[\(index)].path", reason: "must be under /dev, got \"\(device.path)\"")
            }
        }
        if let mode = linux.rootfsPropagation, !Self.propagationModes.contains(mode) {
            throw SpecError(path: "linux.rootfsPropagation", reason: "unknown propagation \"\(mode)\"")
        }
    }

    private func validateNamespaces() throws(SpecError) {
        var seen = Set<String>()
        for (index, namespace) in linux.namespaces.enumerated() {
            if !seen.insert(namespace.type.rawValue).inserted {
                throw SpecError(path: "linux.namespaces[\(index)]", reason: "duplicate namespace \"\(namespace.type.rawValue)\"")
            }
            if let path = namespace.path, !path.hasPrefix("/") {
                throw SpecError(path: "linux.namespaces[\(index)].path", reason: "must be an absolute path, got \"\(path)\"")
            }
        }
        // Setting a name on the host's UTS namespace would rename the host.
        if hostname?.isEmpty == false, namespace(.uts) == nil {
            throw SpecError(path: "hostname", reason: "cannot set a hostname without a private UTS namespace")
        }
        if domainname?.isEmpty == false, namespace(.uts) == nil {
            throw SpecError(path: "domainname", reason: "cannot set a domainname without a private UTS namespace")
        }
        if let user = namespace(.user), user.path == nil, linux.uidMappings.isEmpty || linux.gidMappings.isEmpty {
            throw SpecError(path: "linux.uidMappings", reason: "a new user namespace needs uidMappings and gidMappings")
        }
        // The offsets are written into a namespace before any process is in it: one being
        // joined already has its clocks.
        if !linux.timeOffsets.isEmpty {
            guard let time = namespace(.time) else {
                throw SpecError(path: "linux.timeOffsets", reason: "time offsets need a new time namespace in linux.namespaces")
            }
            if let path = time.path {
                throw SpecError(path: "linux.timeOffsets", reason: "time offsets cannot be set on a time namespace that is joined (\(path))")
            }
        }
        if namespace(.user) == nil, !linux.uidMappings.isEmpty || !linux.gidMappings.isEmpty {
            throw SpecError(path: "linux.uidMappings", reason: "id mappings need a user namespace in linux.namespaces")
        }
    }

    static let ipcSysctls: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                                         "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]

    /// runc's rule: a sysctl is written only where it is namespaced, in a namespace of the
    /// container's own; anything else would change the host (kernel.core_pattern).
    private func validateSysctls(isHostNetwork: (String) -> Bool) throws(SpecError) {
        for key in linux.sysctl.keys.sorted() {
            let path = "linux.sysctl"
            if key.isEmpty || key.includes("..") || key.contains("/") || key.hasPrefix(".") || key.hasSuffix(".") {
                throw SpecError(path: path, reason: "invalid sysctl name \"\(key)\"")
            }
            if Self.ipcSysctls.contains(key) || key.hasPrefix("fs.mqueue.") {
                if namespace(.ipc) == nil { throw SpecError(path: path, reason: "sysctl \"\(key)\" is not allowed in the host's ipc namespace") }
                continue
            }
            if key.hasPrefix("net.") {
                let network = namespace(.network)
                if network == nil || network?.path.map(isHostNetwork) == true {
                    throw SpecError(path: path, reason: "sysctl \"\(key)\" is not allowed in the host's network namespace")
                }
                continue
            }
            if namespace(.uts) != nil && key == "kernel.domainname" { continue }
            if namespace(.uts) != nil && key == "kernel.hostname" {
                throw SpecError(path: path, reason: "sysctl \"kernel.hostname\" is not allowed: it conflicts with the hostname field")
            }
            if key.hasPrefix("user.") {
                if namespace(.user) == nil { throw SpecError(path: path, reason: "sysctl \"\(key)\" needs a user namespace (it counts for the whole host otherwise)") }
                continue
            }
            throw SpecError(path: path, reason: "sysctl \"\(key)\" is not in a separate kernel namespace")
        }
    }
}
