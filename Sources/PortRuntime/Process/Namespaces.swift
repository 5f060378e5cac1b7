#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Joins namespaces given by path and unshares the new ones. The pid namespace is handled by
/// the parent stage (it applies to children only); the user namespace comes with id mappings.
enum Namespaces {
    static func cloneFlag(_ type: NamespaceType) -> Int32 {
        switch type {
        case .pid: return CC_CLONE_NEWPID
        case .network: return CC_CLONE_NEWNET
        case .mount: return CC_CLONE_NEWNS
        case .ipc: return CC_CLONE_NEWIPC
        case .uts: return CC_CLONE_NEWUTS
        case .user: return CC_CLONE_NEWUSER
        case .cgroup: return CC_CLONE_NEWCGROUP
        case .time: return CC_CLONE_NEWTIME
        }
    }

    static func enter(_ namespaces: [Spec.Namespace]) throws(RuntimeError) {
        var unshareFlags: Int32 = 0
        for namespace in namespaces where namespace.type != .pid && namespace.type != .user {
            if let path = namespace.path {
                try join(path, type: namespace.type)
            } else {
                unshareFlags |= cloneFlag(namespace.type)
            }
        }
        if unshareFlags != 0, cc_unshare(unshareFlags) != 0 {
            let names = namespaces.filter { $0.path == nil && $0.type != .pid && $0.type != .user }.map(\.type.rawValue)
            throw RuntimeError.system("unshare namespaces (\(names.joined(separator: ", ")))", errno: errno)
        }
    }

    static func join(_ path: String, type: NamespaceType) throws(RuntimeError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(type.rawValue) namespace \(path)", errno: errno) }
        defer { close(fd) }
        if cc_setns(fd, cloneFlag(type)) != 0 { throw RuntimeError.system("join \(type.rawValue) namespace \(path)", errno: errno) }
    }
}
