/// `update`: new limits for a running container's cgroup, from runc's flags or a
/// `linux.resources` JSON document (`-r FILE`, `-r -` for stdin).
public struct UpdateOptions: Sendable {
    public var id: String
    public var resourcesJSON: [UInt8]?
    public var memory: Int64?
    public var memoryReservation: Int64?
    public var memorySwap: Int64?
    public var cpuShares: UInt64?
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64?
    public var realtimePeriod: UInt64?
    public var realtimeRuntime: Int64?
    public var cpusetCpus: String?
    public var cpusetMems: String?
    public var pidsLimit: Int64?
    public var blkioWeight: UInt16?

    public init(id: String) { self.id = id }
}

extension Lifecycle {
    public func update(_ options: UpdateOptions) throws(RuntimeError) {
        let lock = try store.lock(options.id)
        defer { store.unlock(lock) }
        let state = try store.load(options.id)
        switch store.status(of: state) {
        case .created, .running, .paused: break
        default: throw RuntimeError("container \(options.id) is not running")
        }
        guard !state.cgroupDirectories.isEmpty else { throw RuntimeError("cannot update container \(options.id): it has no cgroup") }
        var resources = CgroupResources()
        if let json = options.resourcesJSON {
            do {
                let value = try JSONParser.parse(json)
                resources = try CgroupResources(JSONField(value, path: "resources"))
            } catch let error as SpecError {
                throw RuntimeError("update: \(error.path): \(error.reason)")
            } catch let error as JSONSyntaxError {
                throw RuntimeError("update: resources: \(error.description)")
            } catch {
                throw RuntimeError("update: \(error)")
            }
        }
        // Flags win over the document, as in runc.
        if let value = options.memory { resources.memoryLimit = value }
        if let value = options.memoryReservation { resources.memoryReservation = value }
        if let value = options.memorySwap { resources.memorySwap = value }
        if let value = options.cpuShares { resources.cpuShares = value }
        if let value = options.cpuQuota { resources.cpuQuota = value }
        if let value = options.cpuPeriod { resources.cpuPeriod = value }
        if let value = options.realtimePeriod { resources.realtimePeriod = value }
        if let value = options.realtimeRuntime { resources.realtimeRuntime = value }
        if let value = options.cpusetCpus { resources.cpus = value }
        if let value = options.cpusetMems { resources.mems = value }
        if let value = options.pidsLimit { resources.pidsLimit = value }
        if let value = options.blkioWeight { resources.blockIO.weight = value == 0 ? nil : value }
        // Device rules are set once at create; changing them on a live container is refused by runc too.
        resources.devices = []
        if !state.systemdUnit.isEmpty {
            try SystemdScope.setProperties(state.systemdUnit, state.cgroups.completingForSystemd(resources))
        }
        try state.cgroups.apply(resources)
    }
}
