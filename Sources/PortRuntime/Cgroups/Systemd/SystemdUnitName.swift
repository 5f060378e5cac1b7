/// Where the systemd driver puts a container, from cgroupsPath "slice:prefix:name" as runc
/// reads it: a scope "prefix-name.scope" (or the slice "name" when it ends in ".slice") in
/// `slice`, default ":port-run:<id>" (system.slice). Its cgroup is the slice's path, one
/// level per dash ("a-b.slice" is "/a.slice/a-b.slice"), then the unit.
public struct SystemdUnitName: Equatable, Sendable {
    public var unit: String
    public var slice: String
    public var isSlice: Bool { unit.hasSuffix(".slice") }

    public static let defaultPrefix = "port-run"

    public init(unit: String, slice: String) {
        self.unit = unit
        self.slice = slice
    }

    public init(cgroupsPath: String?, id: String) throws(RuntimeError) {
        let given = cgroupsPath.flatMap { $0.isEmpty ? nil : $0 } ?? ":\(Self.defaultPrefix):\(id)"
        let parts = given.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw RuntimeError("config.json: linux.cgroupsPath: expected \"slice:prefix:name\" for systemd cgroups, got \"\(given)\"")
        }
        let (slice, prefix, name) = (parts[0].isEmpty ? "system.slice" : parts[0], parts[1], parts[2].isEmpty ? id : parts[2])
        guard !name.contains("/"), !prefix.contains("/") else {
            throw RuntimeError("config.json: linux.cgroupsPath: \"\(given)\": a systemd unit name has no \"/\"")
        }
        // runc's name, also for an empty prefix ("-name.scope"): tools find the unit by it.
        self.init(unit: name.hasSuffix(".slice") ? name : prefix + "-" + name + ".scope", slice: slice)
        _ = try Self.expand(slice: slice, in: given)
        if isSlice { _ = try Self.expand(slice: unit, in: given) }
    }

    /// The cgroup path below each hierarchy's root: the slice's, then the unit's own level.
    public func cgroupPath() throws(RuntimeError) -> String {
        if isSlice { return try Self.expand(slice: unit, in: unit) }
        let parent = try Self.expand(slice: slice, in: slice)
        return (parent == "/" ? "" : parent) + "/" + unit
    }

    /// "-.slice" (or "-") is the root; "a-b-c.slice" is "/a.slice/a-b.slice/a-b-c.slice".
    static func expand(slice: String, in given: String) throws(RuntimeError) -> String {
        if slice == "-.slice" || slice == "-" { return "/" }
        let invalid = RuntimeError("config.json: linux.cgroupsPath: \"\(given)\": \"\(slice)\" is not a systemd slice name")
        guard slice.hasSuffix(".slice"), !slice.contains("/") else { throw invalid }
        let stem = String(slice.dropLast(".slice".count))
        guard !stem.isEmpty, !stem.hasPrefix("-"), !stem.hasSuffix("-"), !stem.includes("--") else { throw invalid }
        var path = ""
        var prefix = ""
        for component in stem.split(separator: "-") {
            prefix += (prefix.isEmpty ? "" : "-") + String(component)
            path += "/" + prefix + ".slice"
        }
        return path
    }
}
