import PortRuntime

enum UpdateCommand {
    static let usage = """
        Usage: port-run update [options] <container-id>

        Changes the resource limits of a running container.

        Options:
          -r, --resources FILE    a linux.resources JSON document (- for stdin)
          --memory BYTES          memory limit          --memory-reservation BYTES
          --memory-swap BYTES     memory+swap limit     --pids-limit N
          --cpu-shares N          --cpu-quota N         --cpu-period N
          --cpuset-cpus LIST      --cpuset-mems LIST    --blkio-weight N
          --cpu-rt-period N       --cpu-rt-runtime N

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [
            .value("resources", "r"), .value("memory"), .value("memory-reservation"), .value("memory-swap"),
            .value("pids-limit"), .value("cpu-shares"), .value("cpu-quota"), .value("cpu-period"), .value("cpuset-cpus"),
            .value("cpuset-mems"), .value("blkio-weight"), .value("kernel-memory"), .value("kernel-memory-tcp"),
            .value("cpu-rt-period"), .value("cpu-rt-runtime"), .value("l3-cache-schema"), .value("mem-bw-schema"),
            .bool("help", "h"),
        ], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        var options = UpdateOptions(id: try containerID(parsed, command: "update"))
        if let path = parsed.value("resources") {
            options.resourcesJSON = path == "-" ? try Files.read(fd: 0, path: "stdin", limit: 1 << 20) : try Files.read(path, limit: 1 << 20)
        }
        func number<T: FixedWidthInteger>(_ flag: String, _: T.Type = T.self) throws(RuntimeError) -> T? {
            guard let text = parsed.value(flag) else { return nil }
            guard let value = T(text) else { throw RuntimeError("invalid --\(flag) value \"\(text)\"") }
            return value
        }
        options.memory = try bytes("memory", parsed)
        options.memoryReservation = try bytes("memory-reservation", parsed)
        options.memorySwap = try bytes("memory-swap", parsed)
        options.pidsLimit = try number("pids-limit")
        options.cpuShares = try number("cpu-shares")
        options.cpuQuota = try number("cpu-quota")
        options.cpuPeriod = try number("cpu-period")
        options.blkioWeight = try number("blkio-weight")
        options.realtimePeriod = try number("cpu-rt-period")
        options.realtimeRuntime = try number("cpu-rt-runtime")
        options.cpusetCpus = parsed.value("cpuset-cpus")
        options.cpusetMems = parsed.value("cpuset-mems")
        if parsed.value("kernel-memory") != nil {
            Log.warning("update: --kernel-memory: kernel memory limits are deprecated and ignored")
        }
        for flag in ["kernel-memory-tcp", "l3-cache-schema", "mem-bw-schema"] where parsed.value(flag) != nil {
            throw RuntimeError("update: --\(flag) is not supported by this version of port-run")
        }
        try context.lifecycle.update(options)
        return 0
    }

    /// A size as runc's update reads it (docker's RAMInBytes): "134217728", "128M", "1.5g",
    /// "512KiB", binary multiples; -1 for no limit.
    static func bytes(_ flag: String, _ parsed: ParsedFlags) throws(RuntimeError) -> Int64? {
        guard let text = parsed.value(flag) else { return nil }
        if text == "-1" { return -1 }
        let invalid = RuntimeError("invalid --\(flag) value \"\(text)\" (bytes, or a size such as 128M or 1.5g)")
        var characters = Substring(text)
        let number = characters.prefix { $0.isNumber || $0 == "." }
        characters = characters.dropFirst(number.count)
        if characters.first == " " { characters = characters.dropFirst() }
        var multiplier: Double = 1
        if let unit = characters.first?.lowercased(), let index = ["k", "m", "g", "t", "p"].firstIndex(of: unit) {
            multiplier = Double(UInt64(1) << (10 * (index + 1)))
            characters = characters.dropFirst()
            if characters.first?.lowercased() == "i" { characters = characters.dropFirst() }
        }
        if characters.first?.lowercased() == "b" { characters = characters.dropFirst() }
        guard characters.isEmpty, let value = Double(number), value * multiplier < 9.2e18 else { throw invalid }
        return Int64(value * multiplier)
    }
}
