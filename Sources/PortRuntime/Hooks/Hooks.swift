#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// One hook of `hooks` in config.json.
public struct Hook: Sendable, Equatable {
    public var path: String
    public var args: [String]
    public var env: [String]
    public var timeout: Int?
}

/// The six hook lists of runtime-spec 1.3, in the order the lifecycle calls them.
public struct Hooks: Sendable, Equatable {
    public enum Kind: String, CaseIterable, Sendable {
        case prestart, createRuntime, createContainer, startContainer, poststart, poststop
    }

    public var lists: [Kind: [Hook]] = [:]

    public init() {}

    public subscript(kind: Kind) -> [Hook] { lists[kind] ?? [] }
    public var isEmpty: Bool { lists.values.allSatisfy(\.isEmpty) }

    init(_ json: JSONField?) throws(SpecError) {
        guard let json else { return }
        for kind in Kind.allCases {
            guard let list = try json.member(kind.rawValue) else { continue }
            lists[kind] = try list.elements().map { field throws(SpecError) in
                let timeout: Int? = try field.integer("timeout")
                if let timeout, timeout <= 0 { throw SpecError(path: field.path + ".timeout", reason: "must be greater than zero") }
                return Hook(path: try field.requiredMember("path").string(), args: try field.stringArray("args") ?? [],
                            env: try field.stringArray("env") ?? [], timeout: timeout)
            }
        }
    }

    /// Back to JSON, for the state file: start and delete need the hooks of create's config.
    var output: JSONOutput {
        .object(Kind.allCases.compactMap { kind in
            guard let list = lists[kind], !list.isEmpty else { return nil }
            return (kind.rawValue, .array(list.map { hook in
                var members: [(String, JSONOutput)] = [("path", .string(hook.path))]
                if !hook.args.isEmpty { members.append(("args", .array(hook.args.map(JSONOutput.string)))) }
                if !hook.env.isEmpty { members.append(("env", .array(hook.env.map(JSONOutput.string)))) }
                if let timeout = hook.timeout { members.append(("timeout", .int(Int64(timeout)))) }
                return .object(members)
            }))
        })
    }

    /// Runs each hook of `kind` in order with the state on stdin; the first failure stops the list.
    public func run(_ kind: Kind, state: String) throws(RuntimeError) {
        for (index, hook) in self[kind].enumerated() {
            do { try HookRunner.run(hook, stdin: state) } catch { throw failure(kind, index, hook, error) }
        }
    }

    /// poststart and poststop: a failing hook is a warning, and the hooks after it still
    /// run (the spec: the lifecycle goes on).
    public func runWarning(_ kind: Kind, state: String) {
        for (index, hook) in self[kind].enumerated() {
            do { try HookRunner.run(hook, stdin: state) } catch { Log.warning(failure(kind, index, hook, error).message) }
        }
    }

    private func failure(_ kind: Kind, _ index: Int, _ hook: Hook, _ error: RuntimeError) -> RuntimeError {
        RuntimeError("\(kind.rawValue) hook #\(index) (\(hook.path)): \(error.message)")
    }
}

enum HookRunner {
    static func run(_ hook: Hook, stdin state: String) throws(RuntimeError) {
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard cc_pipe2(&input, O_CLOEXEC) == 0 else { throw RuntimeError.system("pipe", errno: errno) }
        guard cc_pipe2(&output, O_CLOEXEC) == 0 else {
            close(input[0]); close(input[1])
            throw RuntimeError.system("pipe", errno: errno)
        }
        let argv = (hook.args.isEmpty ? [hook.path] : hook.args).map { strdup($0) } + [nil]
        let envp = hook.env.map { strdup($0) } + [nil]
        let pid = fork()
        if pid == 0 {
            ProcessLaunch.resetSignals()
            dup2(input[0], 0)
            dup2(output[1], 1)
            dup2(output[1], 2)
            execve(hook.path, argv, envp)
            let message = "exec \(hook.path): \(errnoText(errno))"
            _ = message.withCString { libcWrite(2, $0, strlen($0)) }
            _exit(127)
        }
        close(input[0])
        close(output[1])
        defer { close(output[0]) }
        if pid < 0 {
            close(input[1])
            throw RuntimeError.system("fork hook", errno: errno)
        }
        // A hook that does not read its stdin must not block us: the state is small, and a
        // closed reader only costs an EPIPE, which is ignored here.
        _ = fcntl(input[1], F_SETFL, O_NONBLOCK)
        let previous = signal(SIGPIPE, SIG_IGN)
        try? Files.writeAll(fd: input[1], Array(state.utf8), path: "hook stdin")
        signal(SIGPIPE, previous)
        close(input[1])
        let (status, text) = waitCollecting(pid, output: output[0], timeout: hook.timeout)
        guard let status else {
            throw RuntimeError("timed out after \(hook.timeout ?? 0)s" + (text.isEmpty ? "" : ", output: \(text)"))
        }
        guard cc_wifexited(status) != 0, cc_wexitstatus(status) == 0 else {
            throw RuntimeError(ParentStage.describe(status) + (text.isEmpty ? "" : ", output: \(text)"))
        }
    }

    /// Waits for the hook while draining its output; nil status when it ran out of time (it
    /// is then killed and reaped).
    private static func waitCollecting(_ pid: pid_t, output: Int32, timeout: Int?) -> (Int32?, String) {
        var collected: [UInt8] = []
        let deadline = timeout.map { Clock.monotonicMilliseconds() + Int64($0) * 1000 }
        var outputOpen = true
        while true {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                // What the hook wrote last is still in the pipe; a child it left behind may
                // hold the pipe open, so only what is there now is read.
                while outputOpen && readAvailable(output, into: &collected, waitMilliseconds: 0) {}
                return (status, trimmed(collected))
            }
            if let deadline, Clock.monotonicMilliseconds() > deadline {
                kill(pid, SIGKILL)
                _ = retryingEINTR { waitpid(pid, &status, 0) }
                return (nil, trimmed(collected))
            }
            if outputOpen {
                var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, 20) > 0 { outputOpen = readAvailable(output, into: &collected, waitMilliseconds: 0) }
            } else {
                usleep(2000)
            }
        }
    }

    /// Reads once if data is there; false at EOF or when nothing was readable.
    private static func readAvailable(_ fd: Int32, into collected: inout [UInt8], waitMilliseconds: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, waitMilliseconds) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { libcRead(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        if collected.count < 65536 { collected += buffer[0..<count] }
        return true
    }

    private static func trimmed(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
