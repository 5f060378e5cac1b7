#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// Signal names as runc accepts them: "TERM", "SIGTERM", "term" or "15".
public enum SignalName {
    static let table: [String: Int32] = [
        "ABRT": SIGABRT, "ALRM": SIGALRM, "BUS": SIGBUS, "CHLD": SIGCHLD, "CONT": SIGCONT, "FPE": SIGFPE,
        "HUP": SIGHUP, "ILL": SIGILL, "INT": SIGINT, "IO": SIGIO, "IOT": SIGIOT, "KILL": SIGKILL, "PIPE": SIGPIPE,
        "POLL": SIGPOLL, "PROF": SIGPROF, "PWR": SIGPWR, "QUIT": SIGQUIT, "SEGV": SIGSEGV, "STKFLT": SIGSTKFLT,
        "STOP": SIGSTOP, "SYS": SIGSYS, "TERM": SIGTERM, "TRAP": SIGTRAP, "TSTP": SIGTSTP, "TTIN": SIGTTIN,
        "TTOU": SIGTTOU, "URG": SIGURG, "USR1": SIGUSR1, "USR2": SIGUSR2, "VTALRM": SIGVTALRM, "WINCH": SIGWINCH,
        "XCPU": SIGXCPU, "XFSZ": SIGXFSZ,
    ]

    public static func parse(_ raw: String) throws(RuntimeError) -> Int32 {
        if let number = Int32(raw) {
            guard number > 0, number <= 64 else { throw RuntimeError("unknown signal \"\(raw)\"") }
            return number
        }
        var name = raw.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if name.hasPrefix("RTMIN") || name.hasPrefix("RTMAX") {
            let base = name.hasPrefix("RTMIN") ? Int32(34) : Int32(64)
            let rest = name.dropFirst(5)
            if rest.isEmpty { return base }
            if let offset = Int32(rest), (name.hasPrefix("RTMIN") ? offset > 0 : offset < 0), base + offset >= 34, base + offset <= 64 {
                return base + offset
            }
        }
        guard let number = table[name] else { throw RuntimeError("unknown signal \"\(raw)\"") }
        return number
    }
}

/// `run` in the foreground: the signals a terminal or an engine sends to port-run go to the
/// container instead, and port-run reaps its children until the container's init exits.
public enum SignalForwarder {
    static let forwarded: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, SIGTSTP]

    static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in forwarded + [SIGCHLD] { sigaddset(&set, signal) }
        return set
    }

    /// Blocks the forwarded signals before init is forked, so none is lost in between; the
    /// init stage unblocks them in itself.
    public static func block() {
        var set = signalSet()
        sigprocmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for `pid` to exit while forwarding signals; returns its wait status.
    public static func forwardUntilExit(_ pid: pid_t) -> Int32 {
        var set = signalSet()
        while true {
            var info = siginfo_t()
            let signal = sigwaitinfo(&set, &info)
            if signal < 0 { continue }
            if signal == SIGCHLD {
                if let status = reapChildren(until: pid) { return status }
            } else {
                kill(pid, signal)
            }
        }
    }

    /// Reaps every exited child (port-run is a subreaper in `run`); returns init's status once it is gone.
    private static func reapChildren(until pid: pid_t) -> Int32? {
        var result: Int32?
        while true {
            var status: Int32 = 0
            let reaped = waitpid(-1, &status, WNOHANG)
            if reaped <= 0 { return result }
            if reaped == pid { result = status }
        }
    }
}
