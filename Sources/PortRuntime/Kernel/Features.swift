/// `port-run features`: what this runtime supports, in runtime-spec's features.md format.
/// Only what is implemented is claimed; engines use this to decide what to ask for.
public enum Features {
    public static func render(lastCap: Int = CapabilitySets.kernelLastCap()) -> String {
        let mountOptions = (MountOptions.known + ["tmpcopyup"]).sorted()
        let namespaces = NamespaceType.allCases.map(\.rawValue).sorted()
        let capabilities = Array(CapabilitySets.names.prefix(lastCap + 1))
        let features: JSONOutput = .object([
            ("ociVersionMin", .string("1.0.0")),
            ("ociVersionMax", .string(DefaultSpec.ociVersion)),
            ("hooks", .array(Hooks.Kind.allCases.map { .string($0.rawValue) })),
            ("mountOptions", .array(mountOptions.map(JSONOutput.string))),
            ("linux", .object([
                ("namespaces", .array(namespaces.map(JSONOutput.string))),
                ("capabilities", .array(capabilities.map(JSONOutput.string))),
                ("cgroup", .object([("v1", .bool(true)), ("v2", .bool(true)), ("systemd", .bool(true)),
                                    ("systemdUser", .bool(false)), ("rdma", .bool(false))])),
                ("seccomp", .object([
                    ("enabled", .bool(true)),
                    ("actions", .array(["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
                                        "SCMP_ACT_TRAP"].map(JSONOutput.string))),
                    ("operators", .array(SeccompProfile.operators.keys.sorted().map(JSONOutput.string))),
                    ("archs", .array(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"].map(JSONOutput.string))),
                    ("knownFlags", .array(SeccompProfile.knownFlags.sorted().map(JSONOutput.string))),
                    ("supportedFlags", .array(SeccompProfile.knownFlags.sorted().map(JSONOutput.string))),
                ])),
                ("memoryPolicy", .object([
                    ("modes", .array(Spec.MemoryPolicy.modes.keys.sorted().map(JSONOutput.string))),
                    ("flags", .array(Spec.MemoryPolicy.flagValues.keys.sorted().map(JSONOutput.string))),
                ])),
                ("apparmor", .object([("enabled", .bool(false))])),
                ("selinux", .object([("enabled", .bool(false))])),
                ("intelRdt", .object([("enabled", .bool(false))])),
                ("mountExtensions", .object([("idmap", .object([("enabled", .bool(false))]))])),
            ])),
            ("annotations", .object([("io.github.port-run.version", .string(version))])),
        ])
        return features.render(indent: 4) + "\n"
    }

    public static let version = "0.1.0"
}
