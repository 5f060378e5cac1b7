#include "ccompat.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

int cc_errno(void) { return errno; }
void cc_set_errno(int value) { errno = value; }

int cc_unshare(int flags) { return unshare(flags); }

int cc_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct { uint64_t flags, mode, resolve; } how = {flags, mode, resolve};
    return (int)syscall(437 /* openat2 */, dirfd, path, &how, sizeof how);
}

int cc_mknodat(int dirfd, const char *name, mode_t mode, unsigned int major, unsigned int minor) {
    return mknodat(dirfd, name, mode, makedev(major, minor));
}
unsigned int cc_dev_major(uint64_t dev) { return major((dev_t)dev); }
unsigned int cc_dev_minor(uint64_t dev) { return minor((dev_t)dev); }

/* struct statx up to stx_mnt_id, spelled out (older glibc headers lack it). */
int cc_statx_mount_id(int fd, uint64_t *id) {
#ifdef SYS_statx
    uint32_t buffer[64] = {0}; /* struct statx is 256 bytes */
    if (syscall(SYS_statx, fd, "", 0x1000 /* AT_EMPTY_PATH */, 0x1000U /* STATX_MNT_ID */, buffer) != 0) return -1;
    if ((buffer[0] & 0x1000U) == 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    memcpy(id, (const char *)buffer + 144, sizeof *id);
    return 0;
#else
    (void)fd;
    (void)id;
    errno = ENOSYS;
    return -1;
#endif
}

int cc_mount_setattr(int fd, int recursive, uint64_t set, uint64_t clear) {
    uint64_t attr[4] = {set, clear, 0, 0};
    return (int)syscall(442 /* mount_setattr */, fd, "", 0x1000 /* AT_EMPTY_PATH */ | (recursive ? 0x8000 : 0), attr, sizeof attr);
}
int cc_setns(int fd, int nstype) { return setns(fd, nstype); }
int cc_memfd_create(const char *name, unsigned int flags) { return (int)syscall(SYS_memfd_create, name, flags); }
int cc_read_only_bind(int fd, const char **failed_call) {
    int bind = (int)syscall(428 /* open_tree */, fd, "", CC_OPEN_TREE_CLONE | CC_OPEN_TREE_CLOEXEC | 0x1000 /* AT_EMPTY_PATH */);
    if (bind < 0) {
        *failed_call = "open_tree";
        return -1;
    }
    uint64_t attr[4] = {0x1 /* MOUNT_ATTR_RDONLY */, 0, 0, 0};
    if (syscall(442 /* mount_setattr */, bind, "", 0x1000 /* AT_EMPTY_PATH */, attr, sizeof attr) != 0) {
        int saved = errno;
        close(bind);
        errno = saved;
        *failed_call = "mount_setattr";
        return -1;
    }
    return bind;
}

int cc_execveat_fd(int fd, char *const argv[], char *const envp[]) {
    return (int)syscall(SYS_execveat, fd, "", argv, envp, 0x1000 /* AT_EMPTY_PATH */);
}

long cc_sendfile(int out, int in, size_t count) { return sendfile(out, in, NULL, count); }

/* struct clone_args up to CLONE_ARGS_SIZE_VER2, spelled out: <linux/sched.h> clashes
   with glibc's <sched.h>. The caller is single-threaded, so no libc lock is held that
   fork(3)'s handlers would have had to reset. */
pid_t cc_clone_into_cgroup(int cgroup_fd) {
    uint64_t args[11] = {0};
    args[0] = 0x200000000ULL; /* CLONE_INTO_CGROUP */
    args[4] = SIGCHLD;
    args[10] = (uint64_t)cgroup_fd;
    return (pid_t)syscall(435, args, sizeof args);
}

/* fork(2) semantics, but the child is made a child of the caller's parent (CLONE_PARENT):
   a process that joined a pid namespace hands its child straight to the runtime, which
   waits for it, and exits. Every argument after the flags is 0, so their order (which
   differs between architectures) does not matter. */
pid_t cc_fork_sibling(void) {
    return (pid_t)syscall(SYS_clone, 0x00008000 /* CLONE_PARENT */ | SIGCHLD, 0, 0, 0, 0);
}

pid_t cc_spawn_placeholder(void) {
    pid_t parent = getpid();
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    if (syscall(436 /* close_range, 5.9 */, 3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 4096; fd++) close(fd);
    }
    for (;;) pause();
}

/* A detached copy of the procfs mounted at `path`, without anything mounted below or over
   its files (open_tree OPEN_TREE_CLONE without AT_RECURSIVE, 5.2). */
int cc_detached_copy_of_mount(const char *path) {
    return (int)syscall(428 /* open_tree */, AT_FDCWD, path, CC_OPEN_TREE_CLONE | CC_OPEN_TREE_CLOEXEC);
}

/* A procfs of the caller's pid namespace that no directory holds (fsopen, fsconfig,
   fsmount: 5.2), nosuid, nodev, noexec: no mount the container makes can cover it. */
int cc_detached_procfs(void) {
    int context = (int)syscall(430 /* fsopen */, "proc", 1 /* FSOPEN_CLOEXEC */);
    if (context < 0) return -1;
    if (syscall(431 /* fsconfig */, context, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) != 0) {
        int saved = errno;
        close(context);
        errno = saved;
        return -1;
    }
    int mount = (int)syscall(432 /* fsmount */, context, 1 /* FSMOUNT_CLOEXEC */, 0x2 | 0x4 | 0x8 /* NOSUID|NODEV|NOEXEC */);
    int saved = errno;
    close(context);
    errno = saved;
    return mount;
}

int cc_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int cc_close_range(unsigned int first, unsigned int last, unsigned int flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}

int cc_mknod(const char *path, mode_t mode, unsigned int major, unsigned int minor) {
    return mknod(path, mode, makedev(major, minor));
}

int cc_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}

long cc_keyctl_join_session(const char *name) {
    return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
}

int cc_sethostname(const char *name, size_t len) { return sethostname(name, len); }
int cc_setgroups(size_t count, const gid_t *groups) { return setgroups(count, groups); }
int cc_setresuid(uid_t uid, uid_t euid, uid_t suid) { return setresuid(uid, euid, suid); }
int cc_setresgid(gid_t gid, gid_t egid, gid_t sgid) { return setresgid(gid, egid, sgid); }
int cc_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int cc_signalfd(int fd, const void *mask, int flags) { return signalfd(fd, (const sigset_t *)mask, flags); }
int cc_read_signal(int fd) {
    struct signalfd_siginfo info;
    if (read(fd, &info, sizeof info) != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

int cc_pty_unlock(int master, unsigned int *index) {
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, index) < 0) return -1;
    return 0;
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
int cc_pty_peer(int master, int flags) { return ioctl(master, TIOCGPTPEER, flags); }

int cc_set_window_size(int fd, unsigned short rows, unsigned short cols) {
    struct winsize size = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &size);
}

int cc_copy_window_size(int from, int to) {
    struct winsize size;
    if (ioctl(from, TIOCGWINSZ, &size) < 0) return -1;
    return ioctl(to, TIOCSWINSZ, &size);
}

int cc_make_controlling_tty(int fd) { return ioctl(fd, TIOCSCTTY, 0); }

size_t cc_termios_size(void) { return sizeof(struct termios); }

int cc_terminal_raw(int fd, void *saved, size_t saved_size) {
    struct termios mode;
    if (saved_size < sizeof mode || tcgetattr(fd, &mode) < 0) return -1;
    memcpy(saved, &mode, sizeof mode);
    cfmakeraw(&mode);
    return tcsetattr(fd, TCSANOW, &mode);
}

int cc_terminal_restore(int fd, const void *saved) { return tcsetattr(fd, TCSANOW, (const struct termios *)saved); }
int cc_fcntl_int(int fd, int cmd, int arg) { return fcntl(fd, cmd, arg); }
int cc_ioctl_int(int fd, unsigned long request, int arg) { return ioctl(fd, request, arg); }
int cc_ioctl_ptr(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }

struct cc_cap_header { uint32_t version; int pid; };
struct cc_cap_data { uint32_t effective, permitted, inheritable; };
#define CC_CAP_VERSION_3 0x20080522

int cc_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
    struct cc_cap_header header = { CC_CAP_VERSION_3, 0 };
    struct cc_cap_data data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    *effective = (uint64_t)data[1].effective << 32 | data[0].effective;
    *permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    *inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
    return 0;
}

int cc_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct cc_cap_header header = { CC_CAP_VERSION_3, 0 };
    struct cc_cap_data data[2] = {
        { (uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable },
        { (uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32) },
    };
    return (int)syscall(SYS_capset, &header, data);
}

int cc_wifexited(int status) { return WIFEXITED(status); }
int cc_wexitstatus(int status) { return WEXITSTATUS(status); }
int cc_wifsignaled(int status) { return WIFSIGNALED(status); }
int cc_wtermsig(int status) { return WTERMSIG(status); }

int cc_send_fd(int sock, int fd, const void *data, size_t len) {
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    return (int)sendmsg(sock, &msg, MSG_NOSIGNAL);
}

int cc_recv_fd(int sock, void *data, size_t len, int *fd_out) {
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { .iov_base = data, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control, .msg_controllen = sizeof control };
    *fd_out = -1;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
        memcpy(fd_out, CMSG_DATA(cmsg), sizeof(int));
    return (int)n;
}

char **cc_environ(void) { return environ; }

int cc_seccomp_set_filter(const void *filter, uint16_t count, uint32_t flags) {
    struct { unsigned short len; const void *filter; } program = {count, filter};
    return (int)syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, flags, &program);
}

long cc_filesystem_type(int fd) {
    struct statfs info;
    if (fstatfs(fd, &info) == 0) return (long)info.f_type;
    if (errno != EBADF) return -1;
    /* Before 3.12 fstatfs refuses an O_PATH fd: statfs follows its magic link instead,
       which leads to the very file the fd holds. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return statfs(path, &info) == 0 ? (long)info.f_type : -1;
}

/* Process policies (runtime-spec 1.1+). Raw syscalls: old C libraries wrap none of them. */
int cc_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority,
                     uint64_t runtime, uint64_t deadline, uint64_t period) {
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } attr = {48, policy, flags, nice, priority, runtime, deadline, period};
    return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}
int cc_ioprio_set_self(int value) { return (int)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value); }
int cc_set_mempolicy(int mode, const void *nodes, unsigned long max_node) {
    return (int)syscall(SYS_set_mempolicy, mode, nodes, max_node);
}
int cc_sched_setaffinity_self(const void *mask, size_t size) { return (int)syscall(SYS_sched_setaffinity, 0, size, mask); }
int cc_sched_getaffinity_self(void *mask, size_t size) { return (int)syscall(SYS_sched_getaffinity, 0, size, mask); }
int cc_personality(unsigned long persona) { return (int)syscall(SYS_personality, persona); }
/* A container's pty prints "\n" as "\n", as runc's does (ONLCR off). */
int cc_terminal_clear_onlcr(int fd) {
    struct termios mode;
    if (tcgetattr(fd, &mode) < 0) return -1;
    mode.c_oflag &= ~(tcflag_t)ONLCR;
    return tcsetattr(fd, TCSANOW, &mode);
}
