#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The typed messages between the parent stage and the init stage, over a SOCK_SEQPACKET
/// socketpair so that each message arrives whole.
public enum SyncMessage: Equatable, Sendable {
    /// Init finished setting up and waits on the exec fifo.
    case ready
    /// Init failed; the text names the stage and the errno ("mount /proc: permission denied").
    case error(String)
    /// Init has mounted the rootfs: the parent runs prestart and createRuntime hooks now.
    case runHooks
    /// The parent's hooks succeeded; carries the state JSON for init's own hooks.
    case hooksDone(String)
    /// The parent has recorded the container: from now on init outlives it.
    case committed
    /// Init made its user namespace: the parent writes the id maps (newuidmap-free, as root).
    case needIDMaps
    case idMapsDone
    /// A stage forked once more to enter a pid namespace (init after its user namespace, an
    /// exec process after its chroot): the host pid of the process that goes on.
    case initPid(Int32)
    /// The parent knows that pid: the process may go on (its messages come after it).
    case proceed
    /// A seccomp filter with SCMP_ACT_NOTIFY is loaded: its listener fd travels with the
    /// message (SCM_RIGHTS) for the parent to hand to the agent at listenerPath.
    case seccompListener(fd: Int32)
    case seccompListenerDone

    var encoded: [UInt8] {
        switch self {
        case .ready: return [1]
        case .error(let text): return [2] + Array(text.utf8)
        case .runHooks: return [3]
        case .hooksDone(let state): return [4] + Array(state.utf8)
        case .committed: return [5]
        case .needIDMaps: return [6]
        case .idMapsDone: return [7]
        case .initPid(let pid): return [8] + Array(String(pid).utf8)
        case .seccompListener: return [9]
        case .seccompListenerDone: return [10]
        case .proceed: return [11]
        }
    }

    init?(_ bytes: ArraySlice<UInt8>) {
        guard let tag = bytes.first else { return nil }
        switch tag {
        case 1: self = .ready
        case 2: self = .error(String(decoding: bytes.dropFirst(), as: UTF8.self))
        case 3: self = .runHooks
        case 4: self = .hooksDone(String(decoding: bytes.dropFirst(), as: UTF8.self))
        case 5: self = .committed
        case 6: self = .needIDMaps
        case 7: self = .idMapsDone
        case 8:
            guard let pid = Int32(String(decoding: bytes.dropFirst(), as: UTF8.self)) else { return nil }
            self = .initPid(pid)
        case 10: self = .seccompListenerDone
        case 11: self = .proceed
        default: return nil
        }
    }
}

public struct SyncChannel {
    public let parentEnd: Int32
    public let childEnd: Int32

    public static func make() throws(RuntimeError) -> SyncChannel {
        var fds: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) != 0 {
            throw RuntimeError.system("socketpair for the init stage", errno: errno)
        }
        return SyncChannel(parentEnd: fds[0], childEnd: fds[1])
    }

    public static func send(_ message: SyncMessage, on fd: Int32) {
        let bytes = message.encoded
        if case .seccompListener(let listener) = message {
            _ = bytes.withUnsafeBytes { buffer in retryingEINTR { Int(cc_send_fd(fd, listener, buffer.baseAddress, buffer.count)) } }
            return
        }
        _ = bytes.withUnsafeBytes { buffer in retryingEINTR { libcSend(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) } }
    }

    /// After a fork into a pid namespace by an intermediate that has to go: in the parent (the
    /// intermediate) the child's host pid is reported and the intermediate exits; the child
    /// returns once the runtime knows its pid, so that none of its messages comes first.
    static func handOverForked(_ child: pid_t, what: String, on fd: Int32) throws(RuntimeError) {
        if child < 0 { throw RuntimeError.system("fork \(what)", errno: errno) }
        if child > 0 {
            send(.initPid(child), on: fd)
            _exit(0)
        }
        guard receive(on: fd) == .proceed else { _exit(1) }
    }

    /// The next message, or nil when the peer closed without sending one (it died).
    public static func receive(on fd: Int32) -> SyncMessage? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var passed: Int32 = -1
        let count = buffer.withUnsafeMutableBytes { raw in retryingEINTR { Int(cc_recv_fd(fd, raw.baseAddress, raw.count, &passed)) } }
        guard count > 0 else {
            if passed >= 0 { close(passed) }
            return nil
        }
        if buffer[0] == 9 && passed >= 0 { return .seccompListener(fd: passed) }
        if passed >= 0 { close(passed) }   // an fd no message expects must not stay open
        return SyncMessage(buffer[0..<count])
    }
}
