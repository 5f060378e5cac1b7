#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// A seccomp agent (runtime-spec `linux.seccomp.listenerPath`): the runtime connects to its
/// unix socket and sends one message, the container process state as JSON, with the
/// listener fd of the SCMP_ACT_NOTIFY rules attached (SCM_RIGHTS).
enum SeccompAgent {
    /// The parent's side of a child's hand-over (ProcessLaunch.handOverThroughParent): the
    /// agent gets the listener, then the child is told to go on.
    static func relay(_ listener: Int32, profile: SeccompProfile?, pid: Int32, container: JSONOutput,
                      replyingOn channel: Int32) throws(RuntimeError) {
        defer { close(listener) }
        guard let profile else { throw RuntimeError("seccomp listener without a profile") }
        try deliver(listener, profile: profile, pid: pid, container: container)
        SyncChannel.send(.seccompListenerDone, on: channel)
    }

    static func deliver(_ listener: Int32, profile: SeccompProfile, pid: Int32, container: JSONOutput) throws(RuntimeError) {
        guard let path = profile.listenerPath else { throw RuntimeError("linux.seccomp.listenerPath: not set") }
        let processState = JSONOutput.object([
            ("ociVersion", .string(DefaultSpec.ociVersion)), ("fds", .array([.string("seccompFd")])),
            ("pid", .int(Int64(pid))), ("metadata", .string(profile.listenerMetadata)), ("state", container),
        ])
        let socketFd = try UnixSocket.connect(path, what: "the seccomp agent at linux.seccomp.listenerPath \(path)")
        defer { close(socketFd) }
        let message = Array(processState.render().utf8)
        let sent = message.withUnsafeBytes { cc_send_fd(socketFd, listener, $0.baseAddress, $0.count) }
        if sent < 0 { throw RuntimeError.system("seccomp agent: send the listener to \(path)", errno: errno) }
    }
}
