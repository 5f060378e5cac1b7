#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// process.apparmorProfile, process.selinuxLabel and linux.mountLabel. A label the spec asks
/// for on a host whose LSM is off is refused by name, as runc and crun refuse it: running the
/// container unconfined instead would drop it in silence. On Android, SELinux is on but its
/// policy knows no distro labels ("container_t"), so labels are off there, said in a debug
/// line, unless PORT_RUN_LSM_LABELS=on asks for them (=off turns them off anywhere).
public struct LSMLabels: Sendable, Equatable {
    public var appArmorProfile: String?
    public var seLinuxLabel: String?
    public var mountLabel: String?

    public init(appArmorProfile: String? = nil, seLinuxLabel: String? = nil, mountLabel: String? = nil) {
        self.appArmorProfile = appArmorProfile
        self.seLinuxLabel = seLinuxLabel
        self.mountLabel = mountLabel
    }

    static var appArmorActive: Bool {
        ((try? Files.readString("/sys/module/apparmor/parameters/enabled")) ?? "").hasPrefix("Y")
    }

    static var seLinuxActive: Bool { Files.exists("/sys/fs/selinux/enforce") }

    static var labelsWanted: Bool {
        if let choice = getenv("PORT_RUN_LSM_LABELS").map({ String(cString: $0) }) { return choice == "on" }
        return !Files.exists("/system/build.prop")
    }

    /// The labels to apply on this host.
    static func plan(process: Spec.Process, mountLabel: String?) throws(RuntimeError) -> LSMLabels {
        func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        let labels = LSMLabels(appArmorProfile: nonEmpty(process.apparmorProfile), seLinuxLabel: nonEmpty(process.selinuxLabel),
                               mountLabel: nonEmpty(mountLabel))
        guard labels != LSMLabels() else { return labels }
        guard labelsWanted else {
            Log.debug("LSM labels off on this host (Android, or PORT_RUN_LSM_LABELS=off): the spec's labels are not applied")
            return LSMLabels()
        }
        if let profile = labels.appArmorProfile, !appArmorActive {
            throw RuntimeError("config.json: process.apparmorProfile: \"\(profile)\" asked for, but AppArmor is not enabled on this host")
        }
        if !seLinuxActive {
            for (field, label) in [("process.selinuxLabel", labels.seLinuxLabel), ("linux.mountLabel", labels.mountLabel)] {
                if let label { throw RuntimeError("config.json: \(field): \"\(label)\" asked for, but SELinux is not enabled on this host") }
            }
        }
        return labels
    }

    /// In the container, just before execve: the process changes domain when it executes.
    /// The kernel checks the profile or label here, so a wrong one fails the start.
    /// The attributes are written through the runtime's checked procfs, never the
    /// container's /proc, where a bind of an ordinary file would lose the label without an
    /// error and the process would run unconfined (CVE-2019-16884, CVE-2025-52881).
    func applyOnExec(procfs: Procfs) throws(RuntimeError) {
        if let profile = appArmorProfile {
            // Per-LSM attribute files (5.1) first: with several LSMs, attr/exec may be another's.
            do {
                do { try procfs.write("self/attr/apparmor/exec", "exec " + profile) } catch where error.errno == ENOENT {
                    try procfs.write("self/attr/exec", "exec " + profile)
                }
            } catch {
                let hint = error.errno == ENOENT ? " (is the profile loaded?)" : ""
                throw RuntimeError("process.apparmorProfile \"\(profile)\": \(error.message)\(hint)")
            }
        }
        if let label = seLinuxLabel {
            do { try procfs.write("self/attr/exec", label) } catch {
                throw RuntimeError("process.selinuxLabel \"\(label)\": \(error.message)")
            }
        }
    }

    /// Before the session keyring is made: the new keyring gets the process's label, as in runc.
    func applyToKeyCreation(procfs: Procfs) {
        guard let label = seLinuxLabel else { return }
        do { try procfs.write("self/attr/keycreate", label) } catch {
            Log.debug("label the session keyring \"\(label)\": \(error.message)")
        }
    }

    /// The mount option that labels a filesystem without xattrs (tmpfs, devpts); quoted, as
    /// MCS categories carry commas.
    static func mountOption(_ label: String) -> String { "context=\"\(label)\"" }
}
