/// A spec mount's `options`, split the way mount(2) needs them: flags, propagation changes
/// (each a separate mount call) and the filesystem's own data string.
public struct MountOptions: Equatable, Sendable {
    public var flags: UInt = 0
    public var propagation: [UInt] = []
    public var data: [String] = []

    public var isBind: Bool { flags & MountFlags.bind != 0 }
    public var dataString: String? { data.isEmpty ? nil : data.joined(separator: ",") }

    /// (set, bits): `ro` sets MS_RDONLY, `rw` clears it.
    private static let flagTable: [String: (set: Bool, bits: UInt)] = [
        "async": (false, MountFlags.synchronous), "atime": (false, MountFlags.noAtime),
        "bind": (true, MountFlags.bind), "defaults": (true, 0), "dev": (false, MountFlags.noDev),
        "diratime": (false, MountFlags.noDirAtime), "dirsync": (true, MountFlags.dirSync),
        "exec": (false, MountFlags.noExec), "iversion": (true, MountFlags.iVersion),
        "lazytime": (true, MountFlags.lazyTime), "loud": (false, MountFlags.silent),
        "mand": (true, MountFlags.mandLock), "noatime": (true, MountFlags.noAtime),
        "nodev": (true, MountFlags.noDev), "nodiratime": (true, MountFlags.noDirAtime),
        "noexec": (true, MountFlags.noExec), "noiversion": (false, MountFlags.iVersion),
        "nolazytime": (false, MountFlags.lazyTime), "nomand": (false, MountFlags.mandLock),
        "norelatime": (false, MountFlags.relAtime), "nostrictatime": (false, MountFlags.strictAtime),
        "nosuid": (true, MountFlags.noSuid), "nosymfollow": (true, MountFlags.noSymFollow),
        "rbind": (true, MountFlags.bind | MountFlags.recursive), "relatime": (true, MountFlags.relAtime),
        "remount": (true, MountFlags.remount), "ro": (true, MountFlags.readOnly), "rw": (false, MountFlags.readOnly),
        "silent": (true, MountFlags.silent), "strictatime": (true, MountFlags.strictAtime),
        "suid": (false, MountFlags.noSuid), "sync": (true, MountFlags.synchronous),
    ]

    private static let propagationTable: [String: UInt] = [
        "private": MountFlags.private, "rprivate": MountFlags.private | MountFlags.recursive,
        "shared": MountFlags.shared, "rshared": MountFlags.shared | MountFlags.recursive,
        "slave": MountFlags.slave, "rslave": MountFlags.slave | MountFlags.recursive,
        "unbindable": MountFlags.unbindable, "runbindable": MountFlags.unbindable | MountFlags.recursive,
    ]

    public init(_ options: [String]) {
        for option in options {
            if let entry = Self.flagTable[option] {
                if entry.set { flags |= entry.bits } else { flags &= ~entry.bits }
            } else if let bits = Self.propagationTable[option] {
                propagation.append(bits)
            } else {
                data.append(option)
            }
        }
    }

    public static func propagation(named name: String) -> UInt? { propagationTable[name] }
}
