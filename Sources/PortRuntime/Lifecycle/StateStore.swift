#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// The state directory under `--root`: one directory per container holding state.json
/// (written atomically) and the exec fifo, guarded by a lock per container.
public struct StateStore: Sendable {
    public static let defaultRoot = "/run/port-run"

    /// /run/port-run where /run is a writable directory; Android has no /run, so there the
    /// state goes under Termux's $PREFIX/var/run, or $TMPDIR, as a last resort /tmp. A user
    /// who is not root keeps it in $XDG_RUNTIME_DIR, as rootless runc does.
    public static func defaultRoot(environment: (String) -> String?, isWritableDirectory: (String) -> Bool,
                                   unprivileged: Bool = false) -> String {
        if unprivileged, let runtime = environment("XDG_RUNTIME_DIR"), !runtime.isEmpty { return runtime + "/port-run" }
        if isWritableDirectory("/run") { return defaultRoot }
        if let prefix = environment("PREFIX"), !prefix.isEmpty { return prefix + "/var/run/port-run" }
        if let temporary = environment("TMPDIR"), !temporary.isEmpty { return temporary + "/port-run" }
        return "/tmp/port-run"
    }

    public static func hostDefaultRoot() -> String {
        defaultRoot(environment: { name in getenv(name).map { String(cString: $0) } },
                    isWritableDirectory: { Files.isDirectory($0) && access($0, W_OK) == 0 }, unprivileged: geteuid() != 0)
    }
    public let root: String

    public init(root: String) { self.root = root }

    public func directory(_ id: String) -> String { root + "/" + id }
    public func stateFile(_ id: String) -> String { directory(id) + "/state.json" }
    public func fifoPath(_ id: String) -> String { directory(id) + "/" + ExecFifo.fileName }

    /// runc's rule for ids, plus a length bound: an id becomes a directory name.
    public static func validate(id: String) throws(RuntimeError) {
        guard !id.isEmpty, id != ".", id != ".." else { throw RuntimeError("invalid container id: \"\(id)\"") }
        guard id.utf8.count <= 255 else { throw RuntimeError("invalid container id: longer than 255 bytes") }
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        guard allowed else { throw RuntimeError("invalid container id: \"\(id)\" (allowed: letters, digits, _ + - .)") }
    }

    /// Claims the id: mkdir is atomic, so of two creates of one id exactly one wins. The
    /// returned lock is held for the whole create, so delete and start wait for it.
    public func claim(_ id: String) throws(RuntimeError) -> Int32 {
        try StateStore.validate(id: id)
        // 0700 as in runc: no other user reaches a container's state, its fifo or its lock.
        try Files.makeDirectories(root, mode: 0o700)
        if mkdir(directory(id), 0o711) != 0 {
            if errno == EEXIST { throw RuntimeError("container with id exists: \(id)") }
            throw RuntimeError.system("create state directory \(directory(id))", errno: errno)
        }
        do { return try lock(id) } catch {
            remove(id)
            throw error
        }
    }

    public func save(_ state: ContainerState) throws(RuntimeError) {
        try Files.writeAtomically(stateFile(state.id), state.stored.render(), mode: 0o600)
    }

    public func exists(_ id: String) -> Bool { Files.isDirectory(directory(id)) }

    public func load(_ id: String) throws(RuntimeError) -> ContainerState {
        try StateStore.validate(id: id)
        guard exists(id) else { throw RuntimeError("container does not exist: \(id)") }
        let bytes: [UInt8]
        do { bytes = try Files.read(stateFile(id), limit: 1 << 20) } catch {
            throw RuntimeError("container \(id) has no readable state (it is being created, or its creation was interrupted): \(error.message)")
        }
        do { return try ContainerState(stored: bytes) } catch {
            throw RuntimeError("container \(id): corrupt state file: \(error.reason)")
        }
    }

    public func remove(_ id: String) { Files.removeTree(directory(id)) }

    public func ids() -> [String] {
        Files.list(root).filter { (try? StateStore.validate(id: $0)) != nil && Files.isDirectory(directory($0)) }.sorted()
    }

    public func status(of state: ContainerState) -> ContainerState.Status {
        // Recorded before init exists, so that a create killed half-way can be cleaned up.
        if state.pid == 0 { return .creating }
        guard ProcessProbe.isAlive(state.pid, startTime: state.initStartTime) else { return .stopped }
        if Files.exists(fifoPath(state.id)) { return .created }
        return !state.cgroupDirectories.isEmpty && state.cgroups.isFrozen ? .paused : .running
    }

    /// An exclusive lock on the container's directory, held until `unlock`: start, kill and
    /// delete of one id never interleave.
    public func lock(_ id: String) throws(RuntimeError) -> Int32 {
        let fd = open(directory(id), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { throw RuntimeError("container does not exist: \(id)") }
            throw RuntimeError.system("open \(directory(id))", errno: errno)
        }
        if retryingEINTR({ flock(fd, LOCK_EX) }) != 0 {
            let code = errno
            close(fd)
            throw RuntimeError.system("lock \(directory(id))", errno: code)
        }
        return fd
    }

    public func unlock(_ fd: Int32) { close(fd) }
}
