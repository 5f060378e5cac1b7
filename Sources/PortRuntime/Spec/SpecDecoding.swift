extension Spec {
    /// Decodes config.json bytes; every failure names the JSON path of the bad field.
    public static func decode(_ bytes: [UInt8]) throws(SpecError) -> Spec {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw SpecError(path: "", reason: error.description) }
        return try Spec(JSONField(value))
    }

    init(_ json: JSONField) throws(SpecError) {
        _ = try json.object()
        let version = try json.requiredMember("ociVersion")
        ociVersion = try version.string()
        try SpecVersion.check(ociVersion, at: version)
        let rootField = try json.requiredMember("root")
        root = Root(path: try rootField.requiredMember("path").string(), readonly: try rootField.bool("readonly") ?? false)
        process = try json.member("process").map { field throws(SpecError) in try Process(field) }
        hostname = try json.string("hostname")
        domainname = try json.string("domainname")
        mounts = try (json.member("mounts")?.elements() ?? []).map { field throws(SpecError) in try Mount(field) }
        annotations = try json.member("annotations")?.stringMap() ?? [:]
        hooks = try Hooks(json.member("hooks"))
        linux = try json.member("linux").map { field throws(SpecError) in try Linux(field) } ?? Linux()
    }
}

enum SpecVersion {
    /// Majors other than 1 are refused; within 1.x unknown fields are ignored, so newer minors load.
    static func check(_ version: String, at field: JSONField) throws(SpecError) {
        let core = version.split(separator: "-", maxSplits: 1).first ?? ""
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            throw field.fail("\"\(version)\" is not a semantic version")
        }
        guard parts[0] == "1" else {
            throw field.fail("unsupported major version \(parts[0]) (\"\(version)\"); port-run supports 1.0.0 through 1.3.x")
        }
    }
}

extension Spec.Process {
    /// A process.json as `exec --process` takes it; errors name the field.
    public static func decode(_ bytes: [UInt8]) throws(SpecError) -> Spec.Process {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw SpecError(path: "", reason: error.description) }
        return try Spec.Process(JSONField(value))
    }

    init(_ json: JSONField) throws(SpecError) {
        terminal = try json.bool("terminal") ?? false
        if let size = try json.member("consoleSize") {
            consoleSize = (try size.requiredMember("height").integer(), try size.requiredMember("width").integer())
        }
        user = try json.member("user").map { field throws(SpecError) in try Spec.User(field) }
            ?? Spec.User(uid: 0, gid: 0, umask: nil, additionalGids: [])
        args = try json.stringArray("args") ?? []
        env = try json.stringArray("env") ?? []
        cwd = try json.string("cwd") ?? "/"
        capabilities = try json.member("capabilities").map { caps throws(SpecError) in
            Spec.Capabilities(bounding: try caps.stringArray("bounding"), effective: try caps.stringArray("effective"),
                              inheritable: try caps.stringArray("inheritable"), permitted: try caps.stringArray("permitted"),
                              ambient: try caps.stringArray("ambient"))
        }
        rlimits = try (json.member("rlimits")?.elements() ?? []).map { field throws(SpecError) in
            Spec.Rlimit(type: try field.requiredMember("type").string(),
                        soft: try field.requiredMember("soft").integer(), hard: try field.requiredMember("hard").integer())
        }
        noNewPrivileges = try json.bool("noNewPrivileges") ?? false
        oomScoreAdj = try json.integer("oomScoreAdj")
        apparmorProfile = try json.string("apparmorProfile")
        selinuxLabel = try json.string("selinuxLabel")
        scheduler = try json.member("scheduler").map { field throws(SpecError) in try Spec.Scheduler(field) }
        ioPriority = try json.member("ioPriority").map { field throws(SpecError) in try Spec.IOPriority(field) }
        execCPUAffinity = try json.member("execCPUAffinity").map { field throws(SpecError) in try Spec.CPUAffinity(field) }
    }
}

extension Spec.User {
    init(_ json: JSONField) throws(SpecError) {
        uid = try json.integer("uid") ?? 0
        gid = try json.integer("gid") ?? 0
        umask = try json.integer("umask")
        additionalGids = try (json.member("additionalGids")?.elements() ?? []).map { field throws(SpecError) in try field.integer() }
    }
}

extension Spec.Mount {
    init(_ json: JSONField) throws(SpecError) {
        destination = try json.requiredMember("destination").string()
        type = try json.string("type")
        source = try json.string("source")
        options = try json.stringArray("options") ?? []
        // Idmapped mounts are not built yet: refused by name rather than mounted unmapped.
        for key in ["uidMappings", "gidMappings"] where try json.member(key) != nil {
            throw SpecError(path: json.path + "." + key, reason: "idmapped mounts are not supported by port-run")
        }
        if let option = options.first(where: { $0 == "idmap" || $0 == "ridmap" }) {
            throw SpecError(path: json.path + ".options", reason: "\"\(option)\": idmapped mounts are not supported by port-run")
        }
    }
}

extension Spec.Linux {
    init(_ json: JSONField) throws(SpecError) {
        namespaces = try (json.member("namespaces")?.elements() ?? []).map { field throws(SpecError) in
            let typeField = try field.requiredMember("type")
            let name = try typeField.string()
            guard let type = NamespaceType(rawValue: name) else { throw typeField.fail("unknown namespace type \"\(name)\"") }
            return Spec.Namespace(type: type, path: try field.string("path"))
        }
        uidMappings = try Self.mappings(json.member("uidMappings"))
        gidMappings = try Self.mappings(json.member("gidMappings"))
        devices = try (json.member("devices")?.elements() ?? []).map { field throws(SpecError) in
            Spec.Device(type: try field.requiredMember("type").string(), path: try field.requiredMember("path").string(),
                        major: try field.integer("major") ?? 0, minor: try field.integer("minor") ?? 0,
                        fileMode: try field.integer("fileMode"), uid: try field.integer("uid"), gid: try field.integer("gid"))
        }
        cgroupsPath = try json.string("cgroupsPath")
        sysctl = try json.member("sysctl")?.stringMap() ?? [:]
        rootfsPropagation = try json.string("rootfsPropagation")
        maskedPaths = try json.stringArray("maskedPaths") ?? []
        readonlyPaths = try json.stringArray("readonlyPaths") ?? []
        mountLabel = try json.string("mountLabel")
        personality = try json.member("personality").map { field throws(SpecError) in try Spec.Personality(field) }
        timeOffsets = try json.member("timeOffsets").map { field throws(SpecError) in try Spec.TimeOffset.decode(field) } ?? []
        memoryPolicy = try json.member("memoryPolicy").map { field throws(SpecError) in try Spec.MemoryPolicy(field) }
        resources = try json.member("resources")
        seccomp = try json.member("seccomp")
        // runtime-spec fields this runtime does not implement: refused, never ignored.
        for (key, what) in [("intelRdt", "Intel RDT (resctrl)"), ("netDevices", "moving network devices into the container")]
            where try json.member(key) != nil {
            throw SpecError(path: json.path + "." + key, reason: "\(what) is not supported by port-run")
        }
    }

    private static func mappings(_ field: JSONField?) throws(SpecError) -> [Spec.IDMapping] {
        try (field?.elements() ?? []).map { item throws(SpecError) in
            Spec.IDMapping(containerID: try item.requiredMember("containerID").integer(),
                           hostID: try item.requiredMember("hostID").integer(), size: try item.requiredMember("size").integer())
        }
    }
}
