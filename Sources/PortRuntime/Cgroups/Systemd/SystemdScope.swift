#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The systemd driver: the container's cgroup is a transient unit of the system manager,
/// made through its D-Bus API (StartTransientUnit, as runc does), with Delegate=yes so the
/// cgroupfs driver then writes what systemd has no property for into the unit's own
/// directories. A scope must start with a process in it, and init does not exist yet: a
/// placeholder child holds the scope until init has joined it.
struct SystemdScope {
    let name: SystemdUnitName

    /// systemd runs as the init system (sd_booted's test).
    static var isRunning: Bool { Files.exists("/run/systemd/system") }

    static func requireRunning() throws(RuntimeError) {
        guard isRunning else {
            throw RuntimeError("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use the cgroupfs driver")
        }
    }

    /// Starts the unit and returns the placeholder's pid (0 for a slice) once systemd has
    /// moved it into the unit's cgroup. On failure nothing is left: no unit, no placeholder.
    /// `annotations`: the properties the spec's annotations set (SystemdProperties.annotations).
    func start(containerID: String, resources: CgroupResources, annotations: [DBusValue]) throws(RuntimeError) -> pid_t {
        let bus = try DBusConnection.systemManager()
        let mapping = SystemdProperties.forManager(bus)
        var properties: [DBusValue] = [.property("Description", .string("port-run container \(containerID)"))]
        var placeholder: pid_t = 0
        if name.isSlice {
            properties.append(.property("Wants", .array("s", [.string(name.slice)])))
        } else {
            placeholder = cc_spawn_placeholder()
            if placeholder < 0 { throw RuntimeError.system("systemd scope \(name.unit): fork a placeholder", errno: errno) }
            properties += [.property("Slice", .string(name.slice)), .property("Delegate", .bool(true)),
                           .property("PIDs", .array("u", [.uint32(UInt32(placeholder))]))]
        }
        // Accounting on for every controller, whatever the limits (runc does the same), and
        // no ordering against shutdown.target that could stop the container early.
        properties += [.property("DefaultDependencies", .bool(false)), .property("MemoryAccounting", .bool(true)),
                       .property("CPUAccounting", .bool(true)), .property("TasksAccounting", .bool(true)),
                       .property(mapping.unifiedHierarchy ? "IOAccounting" : "BlockIOAccounting", .bool(true))]
        properties += mapping.resources(resources)
        properties += SystemdProperties.devices(resources.devices, deviceNames: SystemdProperties.procDevicesName)
        // Last: what the spec's annotations set overrides the runtime's own choices, as in runc.
        properties += annotations
        do { try startUnit(bus, properties) } catch {
            // Not started: a unit of that name may be another container's.
            release(placeholder)
            throw error
        }
        if placeholder > 0 {
            do { try waitUntilInUnit(placeholder) } catch {
                release(placeholder)
                Self.stop(name.unit)
                throw error
            }
        }
        return placeholder
    }

    /// A unit left from a container that failed ("failed" units linger) is reset and the
    /// start tried once more; a live one with the same name is an error.
    private func startUnit(_ bus: DBusConnection, _ properties: [DBusValue]) throws(RuntimeError) {
        let call = { () throws(RuntimeError) in
            try bus.call(Self.destination, path: Self.managerPath, interface: Self.managerInterface, member: "StartTransientUnit",
                         [.string(name.unit), .string("replace"), .array("(sv)", properties), .array("(sa(sv))", [])])
        }
        do { _ = try call() } catch where error.message.hasPrefix("org.freedesktop.systemd1.UnitExists") {
            _ = try? bus.call(Self.destination, path: Self.managerPath, interface: Self.managerInterface, member: "ResetFailedUnit",
                              [.string(name.unit)])
            do { _ = try call() } catch {
                throw RuntimeError("systemd unit \(name.unit) already exists: is a container of that name running?")
            }
        } catch {
            throw RuntimeError("systemd: start \(name.unit): \(error.message)")
        }
    }

    /// systemd moves the pid when it runs the start job, after the call returns.
    private func waitUntilInUnit(_ pid: pid_t) throws(RuntimeError) {
        let suffix = "/" + name.unit
        for _ in 0..<10_000 {
            let lines = ((try? Files.readString("/proc/\(pid)/cgroup")) ?? "").split(separator: "\n")
            if lines.contains(where: { $0.hasSuffix(suffix) }) { return }
            usleep(1000)
        }
        throw RuntimeError("systemd: \(name.unit) did not take its first process within 10 s")
    }

    /// Kills and reaps the placeholder: init holds the unit from here on.
    func release(_ placeholder: pid_t) {
        guard placeholder > 0 else { return }
        libcKill(placeholder, SIGKILL)
        _ = ParentStage.reap(placeholder)
    }

    /// `update`: the new limits as the unit's properties too, or a daemon-reload would put
    /// the old ones back.
    static func setProperties(_ unit: String, _ resources: CgroupResources) throws(RuntimeError) {
        let bus = try DBusConnection.systemManager()
        let properties = SystemdProperties.forManager(bus).resources(resources)
        guard !properties.isEmpty else { return }
        do {
            try bus.call(destination, path: managerPath, interface: managerInterface, member: "SetUnitProperties",
                         [.string(unit), .bool(true), .array("(sv)", properties)])
        } catch {
            throw RuntimeError("systemd: update \(unit): \(error.message)")
        }
    }

    /// Stops the unit and forgets it if it failed; a unit already gone (systemd stops an
    /// empty scope by itself) is no error.
    static func stop(_ unit: String) {
        guard isRunning, let bus = try? DBusConnection.systemManager() else { return }
        do {
            try bus.call(destination, path: managerPath, interface: managerInterface, member: "StopUnit", [.string(unit), .string("replace")])
        } catch where !error.message.hasPrefix("org.freedesktop.systemd1.NoSuchUnit") {
            Log.warning("systemd: stop \(unit): \(error.message)")
        } catch {}
        _ = try? bus.call(destination, path: managerPath, interface: managerInterface, member: "ResetFailedUnit", [.string(unit)])
    }

    /// The manager's version ("252.30-1~deb12u2" is 252); 0 when it does not say.
    static func version(_ bus: DBusConnection) -> Int {
        guard let reply = try? bus.call(destination, path: managerPath, interface: "org.freedesktop.DBus.Properties", member: "Get",
                                        [.string(managerInterface), .string("Version")]),
              case .variant(let value)? = reply.first, let text = value.text else { return 0 }
        return Int(String(text.prefix { $0.isNumber })) ?? 0
    }

    static let destination = "org.freedesktop.systemd1"
    static let managerPath = "/org/freedesktop/systemd1"
    static let managerInterface = "org.freedesktop.systemd1.Manager"
}
