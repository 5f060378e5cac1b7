#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// process.apparmorProfile, process.selinuxLabel and linux.mountLabel, kept only where the
/// LSM is active. Elsewhere they are ignored with a debug line, as runc does. On Android,
/// SELinux is on but its policy knows no distro labels ("container_t"), so labels are off
/// there unless PORT_RUN_LSM_LABELS=on asks for them.
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
    static func plan(process: Spec.Process, mountLabel: String?) -> LSMLabels {
        func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        var labels = LSMLabels(appArmorProfile: nonEmpty(process.apparmorProfile), seLinuxLabel: nonEmpty(process.selinuxLabel),
                               mountLabel: nonEmpty(mountLabel))
        guard labels != LSMLabels() else { return labels }
        let wanted = labelsWanted
        if let profile = labels.appArmorProfile, !(wanted && appArmorActive) {
            Log.debug("process.apparmorProfile \"\(profile)\" ignored: AppArmor is not active on this host")
            labels.appArmorProfile = nil
        }
        if !(wanted && seLinuxActive) {
            for (field, label) in [("process.selinuxLabel", labels.seLinuxLabel), ("linux.mountLabel", labels.mountLabel)] {
                if let label { Log.debug("\(field) \"\(label)\" ignored: SELinux labels are not in use on this host") }
            }
            labels.seLinuxLabel = nil
            labels.mountLabel = nil
        }
        return labels
    }

    /// In the container, just before execve: the process changes domain when it executes.
    /// The kernel checks the profile or label here, so a wrong one fails the start.
    func applyOnExec() throws(RuntimeError) {
        if let profile = appArmorProfile {
            // Per-LSM attribute files (5.1) first: with several LSMs, attr/exec may be another's.
            let path = Files.exists("/proc/self/attr/apparmor/exec") ? "/proc/self/attr/apparmor/exec" : "/proc/self/attr/exec"
            do { try Self.writeAttribute(path, "exec " + profile) } catch {
                let hint = error.errno == ENOENT ? " (is the profile loaded?)" : ""
                throw RuntimeError("process.apparmorProfile \"\(profile)\": \(error.message)\(hint)")
            }
        }
        if let label = seLinuxLabel {
            do { try Self.writeAttribute("/proc/self/attr/exec", label) } catch {
                throw RuntimeError("process.selinuxLabel \"\(label)\": \(error.message)")
            }
        }
    }

    /// Before the session keyring is made: the new keyring gets the process's label, as in runc.
    func applyToKeyCreation() {
        guard let label = seLinuxLabel else { return }
        do { try Self.writeAttribute("/proc/self/attr/keycreate", label) } catch {
            Log.debug("label the session keyring \"\(label)\": \(error.message)")
        }
    }

    /// Writes an attribute of this process only through a real procfs: the container's /proc
    /// may be a bind mount of ordinary files, where a label would be lost without an error
    /// and the process would run unconfined (CVE-2019-16884).
    private static func writeAttribute(_ path: String, _ value: String) throws(RuntimeError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        defer { close(fd) }
        guard cc_filesystem_type(fd) == 0x9fa0 else {  // PROC_SUPER_MAGIC
            throw RuntimeError("\(path) is not on procfs: refusing to run the process unlabelled")
        }
        try Files.writeAll(fd: fd, Array(value.utf8), path: path)
    }

    /// The mount option that labels a filesystem without xattrs (tmpfs, devpts); quoted, as
    /// MCS categories carry commas.
    static func mountOption(_ label: String) -> String { "context=\"\(label)\"" }
}
