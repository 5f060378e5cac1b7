/// The OCI runtime-spec configuration (config.json), versions 1.0.0 through 1.3.x.
/// Only what the runtime acts on is modelled; unknown fields are ignored, as the spec requires.
public struct Spec: Sendable {
    public var ociVersion: String
    public var root: Root
    public var process: Process?
    public var hostname: String?
    public var domainname: String?
    public var mounts: [Mount]
    public var annotations: [String: String]
    public var hooks: Hooks
    public var linux: Linux

    public struct Root: Sendable {
        public var path: String
        public var readonly: Bool
    }

    public struct Process: Sendable {
        public var terminal: Bool
        public var consoleSize: (height: UInt32, width: UInt32)?
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities?
        public var rlimits: [Rlimit]
        public var noNewPrivileges: Bool
        public var oomScoreAdj: Int32?
        public var apparmorProfile: String?
        public var selinuxLabel: String?
        public var scheduler: Scheduler?
        public var ioPriority: IOPriority?
        public var execCPUAffinity: CPUAffinity?
    }

    public struct User: Sendable {
        public var uid: UInt32
        public var gid: UInt32
        public var umask: UInt32?
        public var additionalGids: [UInt32]
    }

    public struct Capabilities: Sendable {
        public var bounding: [String]?
        public var effective: [String]?
        public var inheritable: [String]?
        public var permitted: [String]?
        public var ambient: [String]?
    }

    public struct Rlimit: Sendable {
        public var type: String
        public var soft: UInt64
        public var hard: UInt64
    }

    public struct Mount: Sendable {
        public var destination: String
        public var type: String?
        public var source: String?
        public var options: [String]
    }

    public struct Linux: Sendable {
        public var namespaces: [Namespace] = []
        public var uidMappings: [IDMapping] = []
        public var gidMappings: [IDMapping] = []

        /// The host uid and gid that a container's uid and gid are, through the id mappings
        /// of a user namespace (nil when they map to none), or as they are without one.
        func hostIDs(uid: UInt32, gid: UInt32) -> (uid: UInt32, gid: UInt32)? {
            guard namespaces.contains(where: { $0.type == .user }) else { return (uid, gid) }
            guard let hostUID = uidMappings.lazy.compactMap({ $0.hostID(of: uid) }).first,
                  let hostGID = gidMappings.lazy.compactMap({ $0.hostID(of: gid) }).first else { return nil }
            return (hostUID, hostGID)
        }
        public var devices: [Device] = []
        public var cgroupsPath: String?
        public var sysctl: [String: String] = [:]
        public var rootfsPropagation: String?
        public var maskedPaths: [String] = []
        public var readonlyPaths: [String] = []
        public var mountLabel: String?
        public var personality: Personality?
        public var timeOffsets: [TimeOffset] = []
        public var memoryPolicy: MemoryPolicy?
        /// Kept raw until the cgroups and seccomp work decode them with their own rules.
        public var resources: JSONField?
        public var seccomp: JSONField?
    }

    public struct Namespace: Sendable, Equatable {
        public var type: NamespaceType
        public var path: String?
    }

    public struct IDMapping: Sendable {
        public var containerID: UInt32
        public var hostID: UInt32
        public var size: UInt32

        /// The host id that container id `id` maps to, if this mapping covers it.
        func hostID(of id: UInt32) -> UInt32? {
            id >= containerID && UInt64(id) < UInt64(containerID) + UInt64(size) ? hostID + (id - containerID) : nil
        }
    }

    public struct Device: Sendable {
        public var type: String
        public var path: String
        public var major: Int64
        public var minor: Int64
        public var fileMode: UInt32?
        public var uid: UInt32?
        public var gid: UInt32?
    }
}

public enum NamespaceType: String, Sendable, CaseIterable {
    case pid, network, mount, ipc, uts, user, cgroup, time

    /// The name of the entry under /proc/PID/ns.
    public var procName: String {
        switch self {
        case .network: return "net"
        case .mount: return "mnt"
        default: return rawValue
        }
    }
}

extension Spec {
    public func namespace(_ type: NamespaceType) -> Namespace? {
        linux.namespaces.first { $0.type == type }
    }
}

// JSONField is a value type holding immutable data; it is safe to share.
extension JSONField: @unchecked Sendable {}
