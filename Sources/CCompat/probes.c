// Kernel feature probes: each makes one call with harmless arguments and returns 0 when the
// feature is there, else the errno that says why not. Run in a throwaway child: a seccomp
// filter may answer with SIGSYS instead of an errno.
#include "ccompat.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MFD_CLOEXEC_ 0x1
#define MFD_ALLOW_SEALING_ 0x2
#define MFD_EXEC_ 0x10
#define F_ADD_SEALS_ 1033
#define F_SEAL_BASE_ (0x1 | 0x2 | 0x4 | 0x8)
#define F_SEAL_EXEC_ 0x20
#define AT_EMPTY_PATH_ 0x1000
#define O_TMPFILE_ (020000000 | O_DIRECTORY)

static int result(long value) { return value < 0 ? errno : 0; }
static int result_fd(long fd) {
    if (fd < 0) return errno;
    close((int)fd);
    return 0;
}
// "Exists" shows up as EBADF/EFAULT/EINVAL for these harmless calls; ENOSYS means absent.
static int exists_by(long value, int expected) {
    if (value >= 0) return 0;
    return errno == expected ? 0 : errno;
}

int cc_probe_memfd(void) { return result_fd(syscall(SYS_memfd_create, "probe", MFD_CLOEXEC_ | MFD_ALLOW_SEALING_)); }
int cc_probe_memfd_exec(void) { return result_fd(syscall(SYS_memfd_create, "probe", MFD_CLOEXEC_ | MFD_ALLOW_SEALING_ | MFD_EXEC_)); }

static int probe_seal(int seals) {
    long fd = syscall(SYS_memfd_create, "probe", MFD_CLOEXEC_ | MFD_ALLOW_SEALING_);
    if (fd < 0) return errno;
    int rc = result(fcntl((int)fd, F_ADD_SEALS_, seals));
    close((int)fd);
    return rc;
}
int cc_probe_seals(void) { return probe_seal(F_SEAL_BASE_); }
int cc_probe_seal_exec(void) { return probe_seal(F_SEAL_EXEC_); }

int cc_probe_execveat(void) { return exists_by(syscall(SYS_execveat, -1, "", NULL, NULL, AT_EMPTY_PATH_), EBADF); }
int cc_probe_o_tmpfile(const char *dir) { return result_fd(open(dir, O_TMPFILE_ | O_RDWR | O_CLOEXEC, 0600)); }
int cc_probe_clone3(void) { return exists_by(syscall(435, NULL, 0), EINVAL); }
/* With a descriptor that cannot be open, a kernel that knows the flag says EBADF; one
   that does not (5.3 to 5.6) says EINVAL. No child is ever made. */
int cc_probe_clone_into_cgroup(void) {
    uint64_t args[11] = {0};
    args[0] = 0x200000000ULL; /* CLONE_INTO_CGROUP */
    args[4] = SIGCHLD;
    args[10] = 0x7fffffff;
    return exists_by(syscall(435, args, sizeof args), EBADF);
}
int cc_probe_pidfd_open(void) { return result_fd(syscall(434, getpid(), 0)); }
int cc_probe_pidfd_send_signal(void) { return exists_by(syscall(424, -1, 0, NULL, 0), EBADF); }

static int probe_close_range(unsigned int flags) {
    int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return errno;
    int rc = result(syscall(436, fd, fd, flags));
    close(fd);
    return rc;
}
int cc_probe_close_range(void) { return probe_close_range(0); }
int cc_probe_close_range_cloexec(void) { return probe_close_range(4); }

int cc_probe_openat2(void) {
    struct { uint64_t flags, mode, resolve; } how = { 010000000 /* O_PATH */ | O_CLOEXEC, 0, 0 };
    return result_fd(syscall(437, AT_FDCWD, "/", &how, sizeof how));
}
int cc_probe_thread_self(void) { return result(access("/proc/thread-self/", F_OK)); }
// EPERM still means the syscall is there (no CAP_SYS_ADMIN here).
int cc_probe_fsopen(void) {
    long fd = syscall(430, "tmpfs", 1);
    if (fd >= 0) { close((int)fd); return 0; }
    return errno == EPERM ? 0 : errno;
}
int cc_probe_mount_setattr(void) {
    uint64_t attr[4] = { 0, 0, 0, 0 };
    return exists_by(syscall(442, -1, "", AT_EMPTY_PATH_, attr, sizeof attr), EBADF);
}
/* statx (4.11) reporting mount ids (5.8): a kernel before 5.8 answers without the bit. */
int cc_probe_statx_mount_id(void) {
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    uint64_t id = 0;
    int rc = cc_statx_mount_id(fd, &id) == 0 ? 0 : errno;
    close(fd);
    return rc;
}
int cc_probe_unshare(int flag) { return result(unshare(flag)); }
// seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL): EFAULT = the flag is known, EINVAL = unknown.
int cc_probe_seccomp_flag(unsigned int flag) { return exists_by(syscall(SYS_seccomp, 1, flag, NULL), EFAULT); }
int cc_probe_seccomp_action(uint32_t action) {
    return result(syscall(SYS_seccomp, 2 /* SECCOMP_GET_ACTION_AVAIL */, 0, &action));
}
int cc_probe_ambient(void) { return result(prctl(47 /* PR_CAP_AMBIENT */, 1 /* IS_SET */, 0, 0, 0)); }
int cc_probe_keyrings(void) { return result(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0)); }
int cc_probe_sysv_ipc(void) {
    char buffer[256];
    return result(syscall(SYS_shmctl, 0, 3 /* IPC_INFO */, buffer));
}
