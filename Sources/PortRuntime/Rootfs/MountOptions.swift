/// A spec mount's `options`, split the way mount(2) needs them: flags, propagation changes
/// (each a separate mount call) and the filesystem's own data string.
public struct MountOptions: Equatable, Sendable {
    public var flags: UInt = 0
    public var propagation: [UInt] = []
    public var data: [String] = []
    /// mount_setattr(2) attributes for the whole tree (`rro`, `rnosuid`, ...): a remount
    /// changes only the top mount of a recursive bind.
    public var recursiveSet: UInt64 = 0
    public var recursiveClear: UInt64 = 0

    public var hasRecursiveAttributes: Bool { recursiveSet != 0 || recursiveClear != 0 }

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

    /// (set, bits) of MOUNT_ATTR_*: relatime is 0, set by clearing the access-time field.
    private static let recursiveTable: [String: (set: Bool, bits: UInt64)] = [
        "rro": (true, 0x01), "rrw": (false, 0x01), "rnosuid": (true, 0x02), "rsuid": (false, 0x02),
        "rnodev": (true, 0x04), "rdev": (false, 0x04), "rnoexec": (true, 0x08), "rexec": (false, 0x08),
        "rrelatime": (true, 0x00), "rnorelatime": (false, 0x00), "rnoatime": (true, 0x10), "ratime": (false, 0x10),
        "rstrictatime": (true, 0x20), "rnostrictatime": (false, 0x20), "rnodiratime": (true, 0x80), "rdiratime": (false, 0x80),
        "rnosymfollow": (true, 0x200000), "rsymfollow": (false, 0x200000),
    ]
    /// MOUNT_ATTR__ATIME: an access-time mode is set by clearing the whole field with it.
    private static let accessTimeField: UInt64 = 0x70

    public init(_ options: [String]) {
        for option in options {
            if let entry = Self.recursiveTable[option] {
                if entry.set {
                    recursiveSet |= entry.bits
                    if entry.bits & ~Self.accessTimeField == 0 { recursiveClear |= Self.accessTimeField }
                } else {
                    // "rnorelatime" clears nothing the kernel can name (relatime is 0), as in runc.
                    recursiveClear |= entry.bits
                }
            } else if let entry = Self.flagTable[option] {
                if entry.set { flags |= entry.bits } else { flags &= ~entry.bits }
            } else if let bits = Self.propagationTable[option] {
                propagation.append(bits)
            } else {
                data.append(option)
            }
        }
    }

    public static func propagation(named name: String) -> UInt? { propagationTable[name] }
    public static func isRecursiveAttribute(_ option: String) -> Bool { recursiveTable[option] != nil }
    /// Every option this type gives a meaning to, for `features`.
    public static var known: [String] { Array(flagTable.keys) + Array(propagationTable.keys) + Array(recursiveTable.keys) }
}
