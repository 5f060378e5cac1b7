/// `port-run check`: the probed facts, the persona that matches them best, and the code path
/// chosen for each, for people (text) and tools (JSON).
public struct HostReport: Sendable {
    public var facts: HostFacts
    public var strategy: Strategy
    public var cgroups: CgroupLayout
    public var bestPersona: (name: String, matching: Int, of: Int)?
    /// Why containers cannot run here at all; empty when they can.
    public var blockers: [String]
    /// What runc's default spec asks for that this kernel lacks: such a spec is refused here,
    /// each with its fix (`port-run spec` here leaves them out).
    public var defaultSpecGaps: [String]

    /// Which syscall each probe stands for, to compare against a persona's `syscall` lines.
    static let probeSyscalls: [String: String] = [
        "memfd_create": "memfd_create", "execveat": "execveat", "clone3": "clone3", "pidfd_open": "pidfd_open",
        "pidfd_send_signal": "pidfd_send_signal", "close_range": "close_range", "openat2": "openat2",
        "new_mount_api": "fsopen", "mount_setattr": "mount_setattr", "keyrings": "keyctl", "sysv_ipc": "shmctl",
    ]

    public init(facts: HostFacts, personas: [Persona]) {
        self.facts = facts
        strategy = Strategy(facts: facts)
        cgroups = CgroupLayout.current()
        var best: (String, Int, Int)?
        for persona in personas {
            let compared = Self.probeSyscalls.filter { facts.probes[$0.key] != nil }
            let matching = compared.filter { probe, syscall in facts.has(probe) == (persona.missing[syscall] == nil) }.count
            // On a tie the later file wins: personas sort oldest kernel first within a family.
            if best == nil || matching >= best!.1 { best = (persona.name, matching, compared.count) }
        }
        bestPersona = best.map { (name: $0.0, matching: $0.1, of: $0.2) }
        blockers = []
        if !facts.has("mount_namespace") { blockers.append("no mount namespaces: the rootfs cannot be built") }
        defaultSpecGaps = Strategy.namespacesLacking(DefaultSpec.namespaces(rootless: false), facts: facts)
            .filter { $0.type != .mount }
            .map { type, feature, probe in
                "\(type.rawValue) namespaces: \(probe.description); a spec asking for one is refused: leave {\"type\": \"\(type.rawValue)\"} out of linux.namespaces (port-run spec here does), or use a kernel with \(feature)"
            }
    }

    /// How `pause` freezes a container here: the v1 freezer, cgroup v2's cgroup.freeze (5.2),
    /// or nothing.
    var freezerSummary: String {
        if cgroups.hierarchies.contains(where: { !$0.isUnified && $0.controllers.contains("freezer") }) { return "v1 freezer" }
        guard let unified = cgroups.hierarchies.first(where: \.isUnified) else {
            return cgroups.hierarchies.isEmpty ? "unavailable: no cgroups" : "unavailable: no v1 freezer hierarchy and no cgroup v2"
        }
        // The root cgroup has no cgroup.freeze: look in ours, or in any child of the root.
        let candidates = [unified.ownDirectory] + Files.list(unified.mountPoint).map { unified.mountPoint + "/" + $0 }
        if candidates.contains(where: { Files.exists($0 + "/cgroup.freeze") }) { return "cgroup v2 cgroup.freeze" }
        return "unavailable: cgroup v2 without cgroup.freeze (Linux 5.2) and no v1 freezer: pause and resume are refused"
    }

    var cgroupSummary: String {
        if cgroups.hierarchies.isEmpty { return "none (containers run without cgroups)" }
        if cgroups.isPureUnified { return "v2 at \(cgroups.hierarchies[0].mountPoint)" }
        let unified = cgroups.hierarchies.filter(\.isUnified).map(\.mountPoint)
        let v1 = cgroups.hierarchies.filter { !$0.isUnified }.flatMap(\.controllers)
        return (unified.isEmpty ? "v1" : "hybrid") + " (v1: \(v1.joined(separator: ", "))"
            + (unified.isEmpty ? "" : "; v2 at \(unified.joined(separator: ", "))") + ")"
    }

    public var text: String {
        var lines = ["kernel features (probed):"]
        for (name, _) in Probes.all {
            lines.append("  " + name.padding(toLength: 24) + (facts.probes[name]?.description ?? "not probed"))
        }
        lines.append("cgroups: \(cgroupSummary)")
        lines.append("strategy:")
        lines.append("  fd closing before exec  \(strategy.fdClosing.rawValue)")
        lines.append("  session keyring         \(strategy.sessionKeyring ? "a new one per container" : "none (no usable keyctl)")")
        lines.append("  init into its cgroup    \(strategy.spawnIntoCgroup ? "born there (clone3 CLONE_INTO_CGROUP)" : "writes its pid (v1: tasks, v2: cgroup.procs)")")
        lines.append("  path resolution         \(strategy.inRootResolution ? "openat2 RESOLVE_IN_ROOT, to an fd" : "a walk of one component at a time inside the rootfs, to an fd")")
        lines.append("  mount targets           /proc/self/fd/N of the resolved fd (never /proc/thread-self)")
        lines.append("  procfs checks           \(strategy.statxMountIDs ? "procfs magic and mount id (statx)" : "procfs magic and mount id (fdinfo, where the kernel has it)")")
        lines.append("  memfd seals             F_SEAL_SEAL|SHRINK|GROW|WRITE only, never F_SEAL_FUTURE_WRITE")
        lines.append("  pause/resume            \(freezerSummary)")
        if let best = bestPersona { lines.append("closest persona: \(best.name) (\(best.matching) of \(best.of) probes agree)") }
        if !facts.overrides.isEmpty { lines.append("test overrides: \(facts.overrides.sorted().joined(separator: ", "))") }
        if !defaultSpecGaps.isEmpty {
            lines.append("runc's default spec cannot run here as it is:")
            lines += defaultSpecGaps.map { "  blocker: " + $0 }
        }
        lines.append(blockers.isEmpty ? "containers can run here" + (defaultSpecGaps.isEmpty ? "" : ", with a spec that leaves out the above")
                     : "containers cannot run here: " + blockers.joined(separator: "; "))
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: String {
        var members: [(String, JSONOutput)] = [
            ("probes", .object(Probes.all.map { ($0.name, .string(facts.probes[$0.name]?.description ?? "not probed")) })),
            ("cgroups", .string(cgroupSummary)),
            ("strategy", .object([("fdClosing", .string(strategy.fdClosing.rawValue)),
                                  ("sessionKeyring", .bool(strategy.sessionKeyring)),
                                  ("spawnIntoCgroup", .bool(strategy.spawnIntoCgroup))])),
            ("canRunContainers", .bool(blockers.isEmpty)),
            ("blockers", .array(blockers.map(JSONOutput.string))),
            ("defaultSpecRuns", .bool(blockers.isEmpty && defaultSpecGaps.isEmpty)),
            ("defaultSpecBlockers", .array(defaultSpecGaps.map(JSONOutput.string))),
            ("pause", .string(freezerSummary)),
        ]
        if let best = bestPersona { members.append(("closestPersona", .string(best.name))) }
        return JSONOutput.object(members).render(indent: 2) + "\n"
    }
}

private extension String {
    func padding(toLength width: Int) -> String { self + String(repeating: " ", count: max(1, width - count)) }
}
