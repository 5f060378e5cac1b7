// Self-test of the C stage (Sources/CCompat/shims.c and early_protection.c), for native and
// qemu-user runs.
// Prints one "ok - ..." / "not ok - ..." line per check ("ok - ... # skip REASON" when the
// environment cannot run it), then "# K skipped" when K > 0, and last exactly
// "N passed, M failed" (skips are in neither count). Exits 0 when nothing failed.
// Every child is made by fork() and leaves with _exit(); after the one raw clone() the child
// uses raw syscalls only.
#include "ccompat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#define BASE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static int passed, failed, skipped;

static void ok(const char *what) {
    passed++;
    printf("ok - %s\n", what);
}

static void not_ok(const char *what, const char *fmt, ...) {
    va_list ap;
    failed++;
    printf("not ok - %s: ", what);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void skip(const char *what, const char *fmt, ...) {
    va_list ap;
    skipped++;
    printf("ok - %s # skip ", what);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void check(int condition, const char *what, const char *detail) {
    if (condition) ok(what);
    else not_ok(what, "%s", detail);
}

static int fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0 || errno != EBADF; }

// Waits for a forked child; returns its exit code, or 1000 + signal when it was killed.
static int wait_child(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
    return -1;
}

static pid_t fork_flushed(void) {
    fflush(stdout);
    fflush(stderr);
    return fork();
}

// --- cc_close_range -------------------------------------------------------------------------

enum { CLOSED_BY_SYSCALL = 0, CLOSED_BY_FALLBACK = 10, STDIO_LOST = 1, FD_LEFT_OPEN = 2,
       FALLBACK_FAILED = 3, SYSCALL_ERROR_BASE = 100 };

// The fallback the runtime uses without close_range: collect the fds from /proc/self/fd, then
// close every one from `first` up (collecting first, so the directory walk is not disturbed).
static int close_from_proc(int first) {
    int fds[1024], count = 0;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int dir_fd = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 1024) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        int fd = atoi(entry->d_name);
        if (fd >= first && fd != dir_fd) fds[count++] = fd;
    }
    closedir(dir);
    for (int i = 0; i < count; i++) close(fds[i]);
    return 0;
}

// Runs in a forked child, because closing "everything from 3" also closes fds that belong to
// qemu-user when the test runs under it.
static int close_range_child(void) {
    int stdio_open[3];
    for (int fd = 0; fd < 3; fd++) stdio_open[fd] = fd_is_open(fd);
    int low = open("/dev/null", O_RDONLY);
    int high = fcntl(low, F_DUPFD, 200);
    if (low < 0 || high < 0) return FALLBACK_FAILED;
    int result = CLOSED_BY_SYSCALL;
    if (cc_close_range(3, ~0U, 0) != 0) {
        int error = cc_errno();
        if (error != ENOSYS) return SYSCALL_ERROR_BASE + (error < 150 ? error : 149);
        if (close_from_proc(3) != 0) return FALLBACK_FAILED;
        result = CLOSED_BY_FALLBACK;
    }
    for (int fd = 0; fd < 3; fd++)
        if (fd_is_open(fd) != stdio_open[fd]) return STDIO_LOST;
    if (fd_is_open(low) || fd_is_open(high)) return FD_LEFT_OPEN;
    return result;
}

static void test_close_range(void) {
    const char *what = "cc_close_range(3, ~0U, 0) closes fds 3 and up, stdio stays open";
    pid_t pid = fork_flushed();
    if (pid < 0) { not_ok(what, "fork: %s", strerror(errno)); return; }
    if (pid == 0) _exit(close_range_child());
    int code = wait_child(pid);
    if (code == CLOSED_BY_SYSCALL) ok(what);
    else if (code == CLOSED_BY_FALLBACK)
        ok("cc_close_range reports ENOSYS; the /proc/self/fd fallback closed fds 3 and up, stdio stays open");
    else if (code == STDIO_LOST) not_ok(what, "a stdio fd changed state");
    else if (code == FD_LEFT_OPEN) not_ok(what, "an fd >= 3 is still open");
    else if (code == FALLBACK_FAILED) not_ok(what, "could not set up, or /proc/self/fd unreadable");
    else if (code >= SYSCALL_ERROR_BASE && code < SYSCALL_ERROR_BASE + 150)
        not_ok(what, "close_range failed: %s", strerror(code - SYSCALL_ERROR_BASE));
    else not_ok(what, "child ended with code %d", code);

    // CLOSE_RANGE_CLOEXEC (5.11): EINVAL or ENOSYS mean "walk /proc/self/fd instead".
    what = "cc_close_range(fd, fd, CLOSE_RANGE_CLOEXEC) sets FD_CLOEXEC";
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) { not_ok(what, "open /dev/null: %s", strerror(errno)); return; }
    if (cc_close_range((unsigned)fd, (unsigned)fd, CC_CLOSE_RANGE_CLOEXEC) != 0) {
        int error = cc_errno();
        if (error == ENOSYS || error == EINVAL)
            skip(what, "%s: no CLOSE_RANGE_CLOEXEC here, the runtime walks /proc/self/fd", strerror(error));
        else not_ok(what, "%s", strerror(error));
    } else {
        int flags = fcntl(fd, F_GETFD);
        check(flags >= 0 && (flags & FD_CLOEXEC), what, "FD_CLOEXEC is not set");
    }
    close(fd);
}

// --- memfd_create and sealing ---------------------------------------------------------------

static void test_memfd_seals(void) {
#ifdef SYS_memfd_create
    int fd = (int)syscall(SYS_memfd_create, "ccompat-selftest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
#else
    int fd = -1;
    errno = ENOSYS;
#endif
    if (fd < 0) {
        if (errno == ENOSYS) skip("memfd_create", "ENOSYS: the runtime falls back to O_TMPFILE");
        else not_ok("memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING)", "%s", strerror(errno));
        return;
    }
    ok("memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING)");
    check(write(fd, "hello", 5) == 5, "write to the memfd before sealing", strerror(errno));

    if (cc_fcntl_int(fd, F_ADD_SEALS, BASE_SEALS) != 0) {
        not_ok("F_ADD_SEALS SEAL|SHRINK|GROW|WRITE", "%s", strerror(cc_errno()));
        close(fd);
        return;
    }
    ok("F_ADD_SEALS SEAL|SHRINK|GROW|WRITE");
    int seals = cc_fcntl_int(fd, F_GET_SEALS, 0);
    if (seals >= 0 && (seals & BASE_SEALS) == BASE_SEALS) ok("F_GET_SEALS reports the four seals");
    else not_ok("F_GET_SEALS reports the four seals", "got %d (%s)", seals, seals < 0 ? strerror(errno) : "bits missing");

    errno = 0;
    ssize_t n = write(fd, "x", 1);
    if (n < 0 && errno == EPERM) ok("write after F_SEAL_WRITE fails with EPERM");
    else not_ok("write after F_SEAL_WRITE fails with EPERM", "write returned %zd (%s)", n, strerror(errno));

    errno = 0;
    int r = ftruncate(fd, 1);
    if (r < 0 && errno == EPERM) ok("ftruncate (shrink) after F_SEAL_SHRINK fails with EPERM");
    else not_ok("ftruncate (shrink) after F_SEAL_SHRINK fails with EPERM", "returned %d (%s)", r, strerror(errno));

    errno = 0;
    r = cc_fcntl_int(fd, F_ADD_SEALS, F_SEAL_WRITE);
    if (r < 0 && cc_errno() == EPERM) ok("F_ADD_SEALS after F_SEAL_SEAL fails with EPERM");
    else not_ok("F_ADD_SEALS after F_SEAL_SEAL fails with EPERM", "returned %d (%s)", r, strerror(cc_errno()));

    char buffer[8] = {0};
    check(pread(fd, buffer, sizeof buffer, 0) == 5 && memcmp(buffer, "hello", 5) == 0,
          "the sealed memfd still reads back its content", "content differs");
    close(fd);
}

// --- capabilities ---------------------------------------------------------------------------

static int read_cap_eff(uint64_t *value) {
    FILE *file = fopen("/proc/self/status", "r");
    if (!file) return -1;
    char line[256];
    int found = -1;
    while (fgets(line, sizeof line, file))
        if (strncmp(line, "CapEff:", 7) == 0) {
            *value = strtoull(line + 7, NULL, 16);
            found = 0;
            break;
        }
    fclose(file);
    return found;
}

static void test_capget(void) {
    uint64_t effective = 0, permitted = 0, inheritable = 0;
    if (cc_capget(&effective, &permitted, &inheritable) != 0) {
        not_ok("cc_capget", "%s", strerror(cc_errno()));
        return;
    }
    ok("cc_capget");
    check((effective & ~permitted) == 0, "cc_capget: effective is a subset of permitted",
          "effective has bits outside permitted");
    if (geteuid() == 0)
        check(permitted != 0, "cc_capget: root has a non-empty permitted set", "permitted set is empty");
    uint64_t from_proc;
    if (read_cap_eff(&from_proc) == 0) {
        if (from_proc == effective) ok("cc_capget: effective set matches CapEff in /proc/self/status");
        else not_ok("cc_capget: effective set matches CapEff in /proc/self/status",
                    "capget %016llx, /proc %016llx", (unsigned long long)effective, (unsigned long long)from_proc);
    } else {
        skip("cc_capget: effective set matches CapEff in /proc/self/status", "/proc/self/status unreadable");
    }
    check(cc_capset(effective, permitted, inheritable) == 0, "cc_capset with the current sets",
          strerror(cc_errno()));
}

// --- SCM_RIGHTS -----------------------------------------------------------------------------

static void test_send_recv_fd(void) {
    int sv[2], pipe_fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 || pipe(pipe_fds) != 0) {
        not_ok("cc_send_fd/cc_recv_fd", "socketpair/pipe: %s", strerror(errno));
        return;
    }
    int sent = cc_send_fd(sv[0], pipe_fds[1], "fd-1", 4);
    check(sent == 4, "cc_send_fd sends the tag and the fd", strerror(cc_errno()));

    char tag[16] = {0};
    int received = -1;
    int n = cc_recv_fd(sv[1], tag, sizeof tag - 1, &received);
    if (n == 4 && memcmp(tag, "fd-1", 4) == 0 && received >= 0) ok("cc_recv_fd returns the tag and an fd");
    else not_ok("cc_recv_fd returns the tag and an fd", "n=%d tag='%s' fd=%d (%s)", n, tag, received, strerror(cc_errno()));
    if (received >= 0) {
        int flags = fcntl(received, F_GETFD);
        check(flags >= 0 && (flags & FD_CLOEXEC), "the received fd is close-on-exec", "FD_CLOEXEC not set");
        char byte = 0;
        close(pipe_fds[1]);
        pipe_fds[1] = -1;
        int wrote = (int)write(received, "z", 1);
        check(wrote == 1 && read(pipe_fds[0], &byte, 1) == 1 && byte == 'z',
              "the received fd is the pipe's write end", "no data through the pipe");
        close(received);
    }

    // A message without an fd: cc_recv_fd must report -1, not a stale number.
    received = 1234;
    check(write(sv[0], "no", 2) == 2, "plain message sent", strerror(errno));
    n = cc_recv_fd(sv[1], tag, sizeof tag - 1, &received);
    if (n == 2 && received == -1) ok("cc_recv_fd without SCM_RIGHTS gives fd -1");
    else not_ok("cc_recv_fd without SCM_RIGHTS gives fd -1", "n=%d fd=%d", n, received);

    close(sv[0]);
    close(sv[1]);
    close(pipe_fds[0]);
    if (pipe_fds[1] >= 0) close(pipe_fds[1]);
}

// --- wait status macros ---------------------------------------------------------------------

static void test_wait_status(void) {
    pid_t pid = fork_flushed();
    if (pid < 0) { not_ok("fork", "%s", strerror(errno)); return; }
    if (pid == 0) _exit(42);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) { not_ok("waitpid", "%s", strerror(errno)); return; }
    check(cc_wifexited(status) && cc_wexitstatus(status) == 42 && !cc_wifsignaled(status),
          "cc_wifexited/cc_wexitstatus: a child's _exit(42)", "status decoded wrongly");

    pid = fork_flushed();
    if (pid < 0) { not_ok("fork", "%s", strerror(errno)); return; }
    if (pid == 0) {
        kill(getpid(), SIGKILL);
        _exit(0);
    }
    if (waitpid(pid, &status, 0) != pid) { not_ok("waitpid", "%s", strerror(errno)); return; }
    check(cc_wifsignaled(status) && cc_wtermsig(status) == SIGKILL && !cc_wifexited(status),
          "cc_wifsignaled/cc_wtermsig: a child killed by SIGKILL", "status decoded wrongly");
}

// --- namespaces -----------------------------------------------------------------------------

static const char test_hostname[] = "ccompat-selftest";

static int hostname_is(const char *expected) {
    char name[256] = {0};
    return gethostname(name, sizeof name - 1) == 0 && strcmp(name, expected) == 0;
}

static void report_ns_child(const char *what, int code, const char *parent_name) {
    if (code == 0 && hostname_is(parent_name)) ok(what);
    else if (code == 0) not_ok(what, "the parent's hostname changed");
    else if (code == 1) not_ok(what, "sethostname inside the new namespace failed");
    else if (code == 2) not_ok(what, "the new hostname did not read back");
    else not_ok(what, "child ended with code %d", code);
}

static void test_unshare_uts(void) {
    const char *what = "cc_unshare(CLONE_NEWUTS) and cc_sethostname in a child";
    if (geteuid() != 0) { skip(what, "not root"); return; }
    char parent_name[256] = {0};
    gethostname(parent_name, sizeof parent_name - 1);

    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) { not_ok(what, "pipe: %s", strerror(errno)); return; }
    pid_t pid = fork_flushed();
    if (pid < 0) { not_ok(what, "fork: %s", strerror(errno)); return; }
    if (pid == 0) {
        close(pipe_fds[0]);
        int error = 0;
        if (cc_unshare(CC_CLONE_NEWUTS) != 0) error = cc_errno();
        if (write(pipe_fds[1], &error, sizeof error) != sizeof error) _exit(3);
        if (error) _exit(0);
        if (cc_sethostname(test_hostname, strlen(test_hostname)) != 0) _exit(1);
        _exit(hostname_is(test_hostname) ? 0 : 2);
    }
    close(pipe_fds[1]);
    int error = -1;
    if (read(pipe_fds[0], &error, sizeof error) != sizeof error) error = -1;
    close(pipe_fds[0]);
    int code = wait_child(pid);
    if (error == EPERM || error == EINVAL)
        skip(what, "unshare: %s (no CAP_SYS_ADMIN, a seccomp filter, or an emulator that refuses it)", strerror(error));
    else if (error != 0) not_ok(what, "unshare: %s", error > 0 ? strerror(error) : "no answer from the child");
    else report_ns_child(what, code, parent_name);
}

// A fork-like raw clone (NULL stack, SIGCHLD) that also makes a UTS namespace, as an init
// stage might. qemu-user refuses CLONE_NEW* flags in clone() with EINVAL.
static void test_raw_clone_uts(void) {
    const char *what = "raw clone(CLONE_NEWUTS|SIGCHLD), fork-like, then sethostname";
    if (geteuid() != 0) { skip(what, "not root"); return; }
    char parent_name[256] = {0};
    gethostname(parent_name, sizeof parent_name - 1);
    fflush(stdout);
    fflush(stderr);
    // The stack argument is NULL and the tid/tls arguments are 0, so their order (which
    // differs between architectures) does not matter.
    long pid = syscall(SYS_clone, (unsigned long)CC_CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        // Raw syscalls only: glibc's thread descriptor still describes the parent.
        if (syscall(SYS_sethostname, test_hostname, strlen(test_hostname)) != 0) syscall(SYS_exit_group, 1);
        char name[65] = {0};
        struct { char s[6][65]; } uts;
        if (syscall(SYS_uname, &uts) != 0) syscall(SYS_exit_group, 2);
        memcpy(name, uts.s[1], sizeof name);
        syscall(SYS_exit_group, strcmp(name, test_hostname) == 0 ? 0 : 2);
    }
    if (pid < 0) {
        if (errno == EINVAL || errno == EPERM)
            skip(what, "clone: %s (qemu-user rejects CLONE_NEW* in clone(); or no CAP_SYS_ADMIN)", strerror(errno));
        else not_ok(what, "clone: %s", strerror(errno));
        return;
    }
    report_ns_child(what, wait_child((pid_t)pid), parent_name);
}

// --- small helpers --------------------------------------------------------------------------

static void test_errno_environ(void) {
    cc_set_errno(EBADF);
    int first = cc_errno();
    cc_set_errno(0);
    check(first == EBADF && cc_errno() == 0, "cc_set_errno/cc_errno", "errno did not round-trip");
    check(cc_environ() == environ, "cc_environ is environ", "pointers differ");
}

/* early_protection.c: the command word behind the global flags, and the marker that its
   constructor takes out of the environment (cross/test runs this with it set, and says so in
   SELFTEST_MARKER_SET) and believes only of a binary that is protected: this one is not. */
static void test_early_protection(void) {
    struct { int expected; const char *argv[8]; } cases[] = {
        {1, {"port-run", "create", "id"}},
        {1, {"port-run", "--root", "/run/x", "--log", "l.json", "--log-format", "json", "run"}},
        {1, {"port-run", "-root=/x", "--debug", "exec", "id", "sh"}},
        {1, {"port-run", "--", "create", "id"}},
        {0, {"port-run", "--root", "run", "state", "id"}},
        {0, {"port-run", "delete", "create"}},
        {0, {"port-run", "check", "--simulate", "linux-6.6", "--", "port-run", "run"}},
        {0, {"port-run", "--debug"}},
    };
    int wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int argc = 0;
        while (argc < 8 && cases[i].argv[argc] != NULL) argc++;
        if (cc_runs_container_command(argc, (char *const *)cases[i].argv) != cases[i].expected) {
            not_ok("container command detection", "case %zu: expected %d", i, cases[i].expected);
            wrong++;
        }
    }
    if (!wrong) ok("container command detection past global flags");
    const char *marker = cc_self_protection_marker();
    if (getenv("SELFTEST_MARKER_SET") == NULL) {
        skip("constructor takes the marker", "_PORT_RUN_PROTECTED was not set for this run");
    } else if (getenv("_PORT_RUN_PROTECTED") != NULL) {
        not_ok("constructor takes the marker", "still in the environment");
    } else {
        ok("constructor takes the marker out of the environment before main");
    }
    if (cc_exe_is_protected()) {
        skip("the marker alone is not believed", "this binary lies on a read-only mount");
    } else if (getenv("SELFTEST_MARKER_SET") != NULL && marker != NULL) {
        not_ok("the marker alone is not believed", "recorded \"%s\" for a writable binary", marker);
    } else {
        ok("the marker alone is not believed for a writable binary");
    }
}

/* cc_fork_sibling: the child it makes belongs to the caller's parent, which reaps both. */
static void test_fork_sibling(void) {
    /* Without a Swift runtime the start-up never swaps the environment. */
    check(cc_entropy_deferred() == 0, "early_entropy leaves a program without the Swift runtime alone", "deferred");
    pid_t middle = fork();
    if (middle == 0) {
        pid_t sibling = cc_fork_sibling();
        if (sibling == 0) _exit(7);
        _exit(sibling > 0 ? 0 : errno == EINVAL ? 2 : 1);
    }
    int status = 0, sibling_status = 0;
    int middle_ok = middle > 0 && waitpid(middle, &status, 0) == middle && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        /* qemu-user emulates clone() only for fork- and thread-like flag sets. */
        skip("cc_fork_sibling", "clone(CLONE_PARENT) refused with EINVAL: qemu-user does not emulate it");
        return;
    }
    pid_t reaped = middle_ok ? waitpid(-1, &sibling_status, 0) : -1;
    check(middle_ok && reaped > 0 && WIFEXITED(sibling_status) && WEXITSTATUS(sibling_status) == 7,
          "cc_fork_sibling: the child is the caller's parent's to reap", strerror(errno));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_errno_environ();
    test_close_range();
    test_memfd_seals();
    test_capget();
    test_send_recv_fd();
    test_wait_status();
    test_unshare_uts();
    test_raw_clone_uts();
    test_early_protection();
    test_fork_sibling();
    if (skipped) printf("# %d skipped\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
