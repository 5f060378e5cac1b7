/// process.apparmorProfile, process.selinuxLabel and linux.mountLabel. Where the LSM is not
/// active (this is the norm on Android for distro labels, and on hosts without one) they are
/// ignored with a debug line, as runc does; where it is active and a label is asked for,
/// port-run refuses rather than run the container unconfined.
enum LSMLabels {
    static var appArmorActive: Bool {
        ((try? Files.readString("/sys/module/apparmor/parameters/enabled")) ?? "").hasPrefix("Y")
    }

    static var seLinuxActive: Bool { Files.exists("/sys/fs/selinux/enforce") }

    static func check(_ spec: Spec, process: Spec.Process) throws(RuntimeError) {
        if let profile = process.apparmorProfile, !profile.isEmpty {
            guard !appArmorActive else {
                throw RuntimeError("config.json: process.apparmorProfile: \"\(profile)\": AppArmor profiles are not supported by this version of port-run")
            }
            Log.debug("process.apparmorProfile \"\(profile)\" ignored: AppArmor is not active on this host")
        }
        for (field, label) in [("process.selinuxLabel", process.selinuxLabel), ("linux.mountLabel", spec.linux.mountLabel)] {
            guard let label, !label.isEmpty else { continue }
            guard !seLinuxActive else {
                throw RuntimeError("config.json: \(field): \"\(label)\": SELinux labels are not supported by this version of port-run")
            }
            Log.debug("\(field) \"\(label)\" ignored: SELinux is not active on this host")
        }
    }
}
