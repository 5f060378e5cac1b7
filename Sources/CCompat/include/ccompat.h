// Raw syscall shims and constants that Swift cannot import directly (function-like macros,
// variadic functions, constants hidden behind _GNU_SOURCE). No policy lives here.
#ifndef PORT_RUN_CCOMPAT_H
#define PORT_RUN_CCOMPAT_H

#include <stdint.h>
#include <sys/types.h>

static const int32_t CC_CLONE_NEWNS = 0x00020000;
static const int32_t CC_CLONE_NEWCGROUP = 0x02000000;
static const int32_t CC_CLONE_NEWUTS = 0x04000000;
static const int32_t CC_CLONE_NEWIPC = 0x08000000;
static const int32_t CC_CLONE_NEWUSER = 0x10000000;
static const int32_t CC_CLONE_NEWPID = 0x20000000;
static const int32_t CC_CLONE_NEWNET = 0x40000000;
static const int32_t CC_CLONE_NEWTIME = 0x00000080;

static const uint32_t CC_CLOSE_RANGE_CLOEXEC = 4;

/* memfd and its seals. F_SEAL_FUTURE_WRITE (0x10) is left out on purpose: on kernels
   before 5.5 it hangs fork of a process that maps the memfd (runc#4640). */
static const uint32_t CC_MFD_CLOEXEC = 0x1;
static const uint32_t CC_MFD_ALLOW_SEALING = 0x2;
static const uint32_t CC_MFD_EXEC = 0x10;
static const int32_t CC_F_ADD_SEALS = 1033;
static const int32_t CC_F_GET_SEALS = 1034;
static const int32_t CC_F_SEAL_SEAL = 0x1;
static const int32_t CC_F_SEAL_SHRINK = 0x2;
static const int32_t CC_F_SEAL_GROW = 0x4;
static const int32_t CC_F_SEAL_WRITE = 0x8;
static const int32_t CC_F_SEAL_EXEC = 0x20;
static const int32_t CC_O_TMPFILE = 020000000 | 0200000; /* __O_TMPFILE | O_DIRECTORY */
static const uint32_t CC_OPEN_TREE_CLONE = 1;
static const uint32_t CC_OPEN_TREE_CLOEXEC = 02000000;
static const int32_t CC_O_PATH = 010000000;
static const int32_t CC_PR_SET_CHILD_SUBREAPER = 36;
static const int32_t CC_PR_SET_NO_NEW_PRIVS = 38;
static const int32_t CC_PR_SET_KEEPCAPS = 8;
static const int32_t CC_PR_SET_PDEATHSIG = 1;
static const int32_t CC_PR_CAPBSET_DROP = 24;
static const int32_t CC_PR_CAP_AMBIENT = 47;
static const unsigned long CC_PR_CAP_AMBIENT_RAISE = 2;
static const unsigned long CC_PR_CAP_AMBIENT_CLEAR_ALL = 4;

/* cgroup v2 device programs (BPF_PROG_TYPE_CGROUP_DEVICE, 4.15). */
static const uint32_t CC_BPF_CGROUP_DEVICE = 6;
static const uint32_t CC_BPF_F_ALLOW_MULTI = 2;

/* PR_SET_DUMPABLE: 0 keeps ptrace and /proc/PID/{fd,exe,root,...} of a runtime stage out of
   the container's reach until its execve. */
static const int32_t CC_PR_SET_DUMPABLE = 4;

/* openat2(2) RESOLVE_* bits (5.6). */
static const uint64_t CC_RESOLVE_NO_XDEV = 0x01;
static const uint64_t CC_RESOLVE_NO_MAGICLINKS = 0x02;
static const uint64_t CC_RESOLVE_NO_SYMLINKS = 0x04;
static const uint64_t CC_RESOLVE_BENEATH = 0x08;
static const uint64_t CC_RESOLVE_IN_ROOT = 0x10;
static const int32_t CC_AT_EMPTY_PATH = 0x1000;
static const int32_t CC_AT_RECURSIVE = 0x8000;
static const uint64_t CC_MOUNT_ATTR_RDONLY = 0x1;
static const long CC_PROC_SUPER_MAGIC = 0x9fa0;
static const long CC_DEVPTS_SUPER_MAGIC = 0x1cd1;

int cc_errno(void);
void cc_set_errno(int value);
/* The f_type of fstatfs(2) (PROC_SUPER_MAGIC is 0x9fa0), or -1. */
long cc_filesystem_type(int fd);

int cc_unshare(int flags);
/* openat2(dirfd, path, {flags, mode, resolve}): an fd, or -1 with errno. */
int cc_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
int cc_mknodat(int dirfd, const char *name, mode_t mode, unsigned int major, unsigned int minor);
unsigned int cc_dev_major(uint64_t dev);
unsigned int cc_dev_minor(uint64_t dev);
/* The id of the mount `fd` is on, by statx STATX_MNT_ID (5.8): 0 and *id, or -1 (errno
   EOPNOTSUPP when the kernel answered without the id). */
int cc_statx_mount_id(int fd, uint64_t *id);
/* mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], {set, clear}) (5.12). */
int cc_mount_setattr(int fd, int recursive, uint64_t set, uint64_t clear);
/* The slave of pty master `master`, opened by the kernel (TIOCGPTPEER, 4.13), or -1. */
int cc_pty_peer(int master, int flags);
/* Unlocks the pty master and returns its index (TIOCSPTLCK, TIOCGPTN), or -1. */
int cc_pty_unlock(int master, unsigned int *index);
/* Whether the running binary is one a container cannot write back: on a read-only mount,
   a memfd sealed against writes, or a file no directory names any more. */
int cc_exe_is_protected(void);
int cc_memfd_create(const char *name, unsigned int flags);
/* A detached, read-only bind mount of the file open at `fd` (open_tree, 5.2, then
   mount_setattr, 5.12), as an fd; -1 with errno, and the call that failed in *failed_call. */
int cc_read_only_bind(int fd, const char **failed_call);
/* Whether the kernel's entropy pool was not ready at start (early_entropy.c), so that the
   Swift runtime was started with its deterministic hashing seed. */
int cc_entropy_deferred(void);
/* Puts back the environment the kernel passed (early_entropy.c); first thing in main. */
void cc_restore_environment(void);
/* Set in the environment of a runtime re-executed from a protected copy. */
#define CC_SELF_PROTECTION_MARKER "_PORT_RUN_PROTECTED"
/* What CC_SELF_PROTECTION_MARKER said at start (early_protection.c takes it out of the
   environment before any Swift code runs), or NULL. */
const char *cc_self_protection_marker(void);
/* Whether these arguments run create, run or exec, past the global flags and their values. */
int cc_runs_container_command(int argc, char *const argv[]);
/* execveat(fd, "", argv, envp, AT_EMPTY_PATH); returns only on failure. */
int cc_execveat_fd(int fd, char *const argv[], char *const envp[]);
/* sendfile(2) of up to `count` bytes from the current offset of `in`. */
long cc_sendfile(int out, int in, size_t count);
/* fork(2) semantics (returns 0 in the child, which gets SIGCHLD's exit signal), but the
   child is born in the cgroup2 directory `cgroup_fd` (clone3 CLONE_INTO_CGROUP, 5.7). */
pid_t cc_clone_into_cgroup(int cgroup_fd);
/* fork(2) semantics with CLONE_PARENT: the child belongs to the caller's parent. */
pid_t cc_fork_sibling(void);
/* A child that holds no fd and only waits to be killed (also when the caller dies): systemd
   starts a scope with a process in it, before the container's init exists. */
pid_t cc_spawn_placeholder(void);
/* A detached procfs mount of the caller's pid namespace (new mount API, 5.2), or -1. */
int cc_detached_procfs(void);
/* A detached, non-recursive copy of the mount at `path` (open_tree, 5.2), or -1. */
int cc_detached_copy_of_mount(const char *path);
int cc_setns(int fd, int nstype);
/* Scheduling, I/O priority, memory policy, affinity and execution domain of the caller. */
int cc_sched_setattr(uint32_t policy, uint64_t flags, int32_t nice, uint32_t priority,
                     uint64_t runtime, uint64_t deadline, uint64_t period);
int cc_ioprio_set_self(int value);
int cc_set_mempolicy(int mode, const void *nodes, unsigned long max_node);
int cc_sched_setaffinity_self(const void *mask, size_t size);
/* Returns the bytes the kernel wrote, or -1. */
int cc_sched_getaffinity_self(void *mask, size_t size);
int cc_personality(unsigned long persona);
int cc_pivot_root(const char *new_root, const char *put_old);
int cc_close_range(unsigned int first, unsigned int last, unsigned int flags);
int cc_mknod(const char *path, mode_t mode, unsigned int major, unsigned int minor);
int cc_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
long cc_keyctl_join_session(const char *name);
int cc_sethostname(const char *name, size_t len);
int cc_setgroups(size_t count, const gid_t *groups);
int cc_setresuid(uid_t uid, uid_t euid, uid_t suid);
int cc_setresgid(gid_t gid, gid_t egid, gid_t sgid);
int cc_fcntl_int(int fd, int cmd, int arg);
int cc_pipe2(int fds[2], int flags);
int cc_signalfd(int fd, const void *mask, int flags);
// The next signal number from a signalfd, or -1.
int cc_read_signal(int fd);

int cc_set_window_size(int fd, unsigned short rows, unsigned short cols);
int cc_copy_window_size(int from, int to);
int cc_make_controlling_tty(int fd);
// Raw mode for the caller's terminal while a container's pty is attached; restore after.
int cc_terminal_raw(int fd, void *saved, size_t saved_size);
int cc_terminal_restore(int fd, const void *saved);
int cc_terminal_clear_onlcr(int fd);
size_t cc_termios_size(void);
int cc_ioctl_int(int fd, unsigned long request, int arg);
int cc_ioctl_ptr(int fd, unsigned long request, void *arg);

int cc_wifexited(int status);
int cc_wexitstatus(int status);
int cc_wifsignaled(int status);
int cc_wtermsig(int status);

// capget/capset with the 64-bit (version 3) layout; pid 0 is the calling thread.
int cc_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable);
int cc_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);

// SCM_RIGHTS: one fd over a unix socket, with a short tag for the peer.
int cc_send_fd(int sock, int fd, const void *data, size_t len);
int cc_recv_fd(int sock, void *data, size_t len, int *fd_out);

// Kernel feature probes (probes.c): 0 when present, else the errno that says why not.
int cc_probe_memfd(void);
int cc_probe_memfd_exec(void);
int cc_probe_seals(void);
int cc_probe_seal_exec(void);
int cc_probe_execveat(void);
int cc_probe_o_tmpfile(const char *dir);
int cc_probe_clone3(void);
int cc_probe_clone_into_cgroup(void);
int cc_probe_pidfd_open(void);
int cc_probe_pidfd_send_signal(void);
int cc_probe_close_range(void);
int cc_probe_close_range_cloexec(void);
int cc_probe_openat2(void);
int cc_probe_thread_self(void);
int cc_probe_fsopen(void);
int cc_probe_mount_setattr(void);
int cc_probe_statx_mount_id(void);
int cc_probe_unshare(int flag);
int cc_probe_seccomp_flag(unsigned int flag);
int cc_probe_seccomp_action(uint32_t action);
int cc_probe_ambient(void);
int cc_probe_keyrings(void);
int cc_probe_sysv_ipc(void);

extern char **environ;
char **cc_environ(void);

/* seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) of `count` struct sock_filter: for flags
   this libseccomp cannot set. Returns the listener fd with NEW_LISTENER, else 0; -1 on error. */
int cc_seccomp_set_filter(const void *filter, uint16_t count, uint32_t flags);

/* bpf(2) for device programs: load `count` struct bpf_insn (the verifier's log into `log`
   when given), attach to / query / detach from the cgroup v2 directory `cgroup_fd`.
   The query returns how many ids it wrote, or -1. */
int cc_bpf_load_device_program(const void *insns, uint32_t count, char *log, uint32_t log_size);
int cc_bpf_attach_device_program(int cgroup_fd, int prog_fd, uint32_t flags);
int cc_bpf_query_device_programs(int cgroup_fd, uint32_t *ids, uint32_t capacity);
int cc_bpf_detach_device_program(int cgroup_fd, uint32_t prog_id);

#endif
