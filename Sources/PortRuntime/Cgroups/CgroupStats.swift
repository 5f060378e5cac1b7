#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// What `events` reports, read from whichever files this host's cgroups have (v1 or v2), in
/// runc's event format: {"type":"stats","id":...,"data":{...}} and {"type":"oom","id":...}.
extension CgroupManager {
    func number(_ file: String) -> Int64? {
        guard let directory = directory(having: file), let text = try? Files.readString(directory + "/" + file) else { return nil }
        let value = text.trimmed
        return value == "max" ? -1 : Int64(value)
    }

    /// A counter from a flat keyed file such as memory.events ("oom_kill 3").
    func keyed(_ file: String, _ key: String) -> Int64? {
        guard let directory = directory(having: file), let text = try? Files.readString(directory + "/" + file) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int64(parts[1]) }
        }
        return nil
    }

    /// OOM kills so far (v1 memory.oom_control, v2 memory.events).
    public var oomKills: Int64 { keyed("memory.oom_control", "oom_kill") ?? keyed("memory.events", "oom_kill") ?? 0 }

    public func statsEvent(id: String) -> JSONOutput {
        let cpuTotal = number("cpuacct.usage") ?? keyed("cpu.stat", "usage_usec").map { $0 * 1000 } ?? 0
        let memory: [(String, JSONOutput)] = [
            ("usage", .int(number("memory.usage_in_bytes") ?? number("memory.current") ?? 0)),
            ("max", .int(number("memory.max_usage_in_bytes") ?? number("memory.peak") ?? 0)),
            ("limit", .int(number("memory.limit_in_bytes") ?? number("memory.max") ?? -1)),
            ("failcnt", .int(number("memory.failcnt") ?? keyed("memory.events", "max") ?? 0)),
        ]
        let data: JSONOutput = .object([
            ("cpu", .object([("usage", .object([("total", .int(cpuTotal))]))])),
            ("memory", .object([("usage", .object(memory)), ("oomKills", .int(oomKills))])),
            ("pids", .object([("current", .int(number("pids.current") ?? 0)), ("limit", .int(number("pids.max") ?? -1))])),
        ])
        return .object([("type", .string("stats")), ("id", .string(id)), ("data", data)])
    }
}

extension Lifecycle {
    /// `events --stats`: one stats event. Otherwise a stream until the container stops:
    /// stats every `interval` seconds and an "oom" event whenever the OOM killer strikes.
    public func events(_ id: String, statsOnce: Bool, interval: Double, emit: (JSONOutput) -> Void) throws(RuntimeError) {
        let state = try store.load(id)
        guard store.status(of: state) != .stopped else { throw RuntimeError("container \(id) is not running") }
        guard !state.cgroupDirectories.isEmpty else { throw RuntimeError("container \(id) has no cgroup: no events to report") }
        let cgroups = state.cgroups
        if statsOnce {
            emit(cgroups.statsEvent(id: id))
            return
        }
        var seenOOM = cgroups.oomKills
        var nextStats = Clock.monotonicMilliseconds()
        while ProcessProbe.isAlive(state.pid, startTime: state.initStartTime) {
            let kills = cgroups.oomKills
            if kills > seenOOM {
                emit(.object([("type", .string("oom")), ("id", .string(id))]))
                seenOOM = kills
            }
            if Clock.monotonicMilliseconds() >= nextStats {
                emit(cgroups.statsEvent(id: id))
                nextStats += Int64(interval * 1000)
            }
            usleep(100_000)
        }
        // The last OOM may be what stopped it.
        if cgroups.oomKills > seenOOM { emit(.object([("type", .string("oom")), ("id", .string(id))])) }
    }
}
