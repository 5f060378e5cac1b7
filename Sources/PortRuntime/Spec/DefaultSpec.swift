/// The config.json that `port-run spec` writes: the same defaults as `runc spec`, so that
/// tutorials written for runc work unchanged.
public enum DefaultSpec {
    public static let ociVersion = "1.3.0"

    /// `rootless` (runc's `spec --rootless`): the caller's uid and gid become root of a user
    /// namespace; the host's network and /sys are kept (sysfs cannot be mounted without a
    /// network namespace the user owns), and no limits are set, as no cgroup may be writable.
    /// The namespaces it asks for (runc's, with a user namespace when rootless).
    public static func namespaces(rootless: Bool) -> [NamespaceType] {
        rootless ? [.pid, .ipc, .uts, .mount, .cgroup, .user] : [.pid, .network, .ipc, .uts, .mount, .cgroup]
    }

    /// `leavingOut`: namespaces this kernel cannot create (`port-run spec` writes a config the
    /// kernel runs, and says what it left out). Without an ipc namespace the mqueue mount goes
    /// too: it would be the host's message queues.
    public static func render(args: [String] = ["sh"], terminal: Bool = true, rootless: (uid: UInt32, gid: UInt32)? = nil,
                              leavingOut: Set<NamespaceType> = []) -> String {
        let capabilities: JSONOutput = .array(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"].map(JSONOutput.string))
        func mount(_ destination: String, _ type: String, _ source: String, _ options: [String]) -> JSONOutput {
            .object([("destination", .string(destination)), ("type", .string(type)), ("source", .string(source)),
                     ("options", .array(options.map(JSONOutput.string)))])
        }
        func rootMapping(_ host: UInt32) -> JSONOutput {
            .array([.object([("containerID", .int(0)), ("hostID", .int(Int64(host))), ("size", .int(1))])])
        }
        // Rootless: gid 5 (tty) is not mapped, and sysfs needs a network namespace the user owns.
        let mounts: [JSONOutput] = [
            mount("/proc", "proc", "proc", []),
            mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            mount("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] + (rootless == nil ? ["gid=5"] : [])),
            mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        ] + (leavingOut.contains(.ipc) ? [] : [mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"])]) + (rootless == nil ? [
            mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
            mount("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]),
        ] : [mount("/sys", "none", "/sys", ["rbind", "nosuid", "noexec", "nodev", "ro"])])
        let namespaces = Self.namespaces(rootless: rootless != nil).filter { !leavingOut.contains($0) }.map(\.rawValue)
        var linux: [(String, JSONOutput)] = rootless.map { [("uidMappings", rootMapping($0.uid)), ("gidMappings", rootMapping($0.gid))] }
            ?? [("resources", .object([("devices", .array([.object([("allow", .bool(false)), ("access", .string("rwm"))])]))]))]
        linux += [
            ("namespaces", .array(namespaces.map { .object([("type", .string($0))]) })),
            ("maskedPaths", .array(["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                    "/proc/scsi"].map(JSONOutput.string))),
            ("readonlyPaths", .array(["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"].map(JSONOutput.string))),
        ]
        // A hostname needs a UTS namespace of the container's own.
        let hostname: [(String, JSONOutput)] = leavingOut.contains(.uts) ? [] : [("hostname", .string("port-run"))]
        let spec: JSONOutput = .object([
            ("ociVersion", .string(ociVersion)),
            ("process", .object([
                ("terminal", .bool(terminal)),
                ("user", .object([("uid", .int(0)), ("gid", .int(0))])),
                ("args", .array(args.map(JSONOutput.string))),
                ("env", .array([.string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), .string("TERM=xterm")])),
                ("cwd", .string("/")),
                ("capabilities", .object([("bounding", capabilities), ("effective", capabilities),
                                          ("permitted", capabilities), ("ambient", capabilities)])),
                ("rlimits", .array([.object([("type", .string("RLIMIT_NOFILE")), ("hard", .int(1024)), ("soft", .int(1024))])])),
                ("noNewPrivileges", .bool(true)),
            ])),
            ("root", .object([("path", .string("rootfs")), ("readonly", .bool(true))])),
        ] + hostname + [
            ("mounts", .array(mounts)),
            ("linux", .object(linux)),
        ])
        return spec.render(indent: 1).replacingTabs() + "\n"
    }
}

private extension String {
    /// runc indents config.json with tabs.
    func replacingTabs() -> String {
        var out = ""
        for line in split(separator: "\n", omittingEmptySubsequences: false) {
            let spaces = line.prefix { $0 == " " }.count
            out += String(repeating: "\t", count: spaces) + line.dropFirst(spaces) + "\n"
        }
        return String(out.dropLast())
    }
}
