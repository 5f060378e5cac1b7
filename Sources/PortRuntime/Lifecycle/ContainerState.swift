/// What the runtime records about a container in `<root>/<id>/state.json`. Status is not
/// stored: it is derived from the init process and the exec fifo, so it can never go stale.
public struct ContainerState: Equatable, Sendable {
    public var id: String
    public var ociVersion: String
    public var pid: Int32
    /// Start time of init in clock ticks since boot (/proc/PID/stat field 22): a recycled pid
    /// must never be mistaken for the container.
    public var initStartTime: UInt64
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var annotations: [String: String]
    /// True when the container has its own pid namespace: then `kill --all` can find every
    /// process of the container by that namespace.
    public var ownPidNamespace: Bool
    /// The hooks of create's config.json: start and delete run poststart and poststop.
    public var hooks = Hooks()
    /// The container's cgroup, one directory per hierarchy; empty without cgroups.
    public var cgroupDirectories: [String] = []
    var cgroups: CgroupManager { CgroupManager(directories: cgroupDirectories) }
    /// The systemd unit that holds the cgroup (`--systemd-cgroup`), stopped on delete; empty
    /// with the cgroupfs driver.
    public var systemdUnit = ""

    public enum Status: String, Sendable { case creating, created, running, paused, stopped }

    public init(id: String, ociVersion: String, pid: Int32, initStartTime: UInt64, bundle: String, rootfs: String,
                created: String, annotations: [String: String], ownPidNamespace: Bool) {
        self.id = id
        self.ociVersion = ociVersion
        self.pid = pid
        self.initStartTime = initStartTime
        self.bundle = bundle
        self.rootfs = rootfs
        self.created = created
        self.annotations = annotations
        self.ownPidNamespace = ownPidNamespace
    }

    var stored: JSONOutput {
        .object([("id", .string(id)), ("ociVersion", .string(ociVersion)), ("pid", .int(Int64(pid))),
                 ("initStartTime", .string(String(initStartTime))), ("bundle", .string(bundle)), ("rootfs", .string(rootfs)),
                 ("created", .string(created)), ("annotations", .object(annotations.keys.sorted().map { ($0, .string(annotations[$0]!)) })),
                 ("ownPidNamespace", .bool(ownPidNamespace)), ("hooks", hooks.output),
                 ("cgroups", .array(cgroupDirectories.map(JSONOutput.string))), ("systemdUnit", .string(systemdUnit))])
    }

    init(stored bytes: [UInt8]) throws(SpecError) {
        let json: JSONField
        do { json = JSONField(try JSONParser.parse(bytes)) } catch { throw SpecError(path: "", reason: error.description) }
        id = try json.requiredMember("id").string()
        ociVersion = try json.string("ociVersion") ?? DefaultSpec.ociVersion
        pid = try json.requiredMember("pid").integer()
        initStartTime = UInt64(try json.requiredMember("initStartTime").string()) ?? 0
        bundle = try json.requiredMember("bundle").string()
        rootfs = try json.string("rootfs") ?? ""
        created = try json.string("created") ?? ""
        annotations = try json.member("annotations")?.stringMap() ?? [:]
        ownPidNamespace = try json.bool("ownPidNamespace") ?? false
        hooks = try Hooks(json.member("hooks"))
        cgroupDirectories = try json.stringArray("cgroups") ?? []
        systemdUnit = try json.string("systemdUnit") ?? ""
    }

    /// The state that hooks read on stdin (runtime-spec "State").
    public func hookState(status: Status) -> String {
        var members: [(String, JSONOutput)] = [("ociVersion", .string(ociVersion)), ("id", .string(id)),
                                               ("status", .string(status.rawValue)), ("pid", .int(Int64(pid))),
                                               ("bundle", .string(bundle))]
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.keys.sorted().map { ($0, .string(annotations[$0]!)) })))
        }
        return JSONOutput.object(members).render()
    }

    /// The OCI state (runtime-spec "State"), in runc's field order; pid is 0 once stopped.
    public func ociState(status: Status, owner: String = "") -> JSONOutput {
        var members: [(String, JSONOutput)] = [
            ("ociVersion", .string(ociVersion)), ("id", .string(id)), ("pid", .int(status == .stopped ? 0 : Int64(pid))),
            ("status", .string(status.rawValue)), ("bundle", .string(bundle)), ("rootfs", .string(rootfs)),
            ("created", .string(created)), ("owner", .string(owner)),
        ]
        if !annotations.isEmpty {
            members.append(("annotations", .object(annotations.keys.sorted().map { ($0, .string(annotations[$0]!)) })))
        }
        return .object(members)
    }
}
