/* The Swift runtime seeds its hashing at start with getrandom(..., 0), which blocks until
   the kernel's entropy pool is initialized: on 4.x kernels early in boot (devices, small
   VMs) that is minutes, or forever, and every command would hang before main. Asked first
   without waiting: when the pool is not ready, the runtime starts with its deterministic
   hashing seed instead (hash flooding needs attacker-chosen keys in large tables, and the
   runtime's come from its caller's config and the kernel). Kernels without getrandom (before
   3.17) fall back to /dev/urandom, which never blocks. */
#include "ccompat.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int entropy_deferred;
static char **original_environment;

int cc_entropy_deferred(void) { return entropy_deferred; }

/* The variable lives in a copy of the environment until main, so that nothing the runtime
   starts inherits it. The Swift standard library finds the program's arguments next to the
   environment the kernel passed; with a copy in its place it is told them instead (weak:
   the C stage alone, in cross builds, has no Swift runtime). */
extern void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) __attribute__((weak));

void cc_restore_environment(void) {
    if (original_environment == NULL) return;
    environ = original_environment;
    original_environment = NULL;
    /* early_protection.c may have taken its marker out of the copy, not of this one. */
    unsetenv(CC_SELF_PROTECTION_MARKER);
}

/* Priority 101: before the Swift runtime's own initializers. glibc and bionic pass main's
   arguments to constructors; where they do not (musl), nothing is changed. */
__attribute__((constructor(101))) static void cc_start_without_entropy(int argc, char **argv, char **envp) {
    (void)envp;
    if (argv == NULL || _swift_stdlib_overrideUnsafeArgvArgc == NULL) return;
    unsigned char byte;
    if (syscall(SYS_getrandom, &byte, 1, 1 /* GRND_NONBLOCK */) >= 0 || errno != EAGAIN) return;
    if (getenv("SWIFT_DETERMINISTIC_HASHING") != NULL) return;
    size_t count = 0;
    while (environ != NULL && environ[count] != NULL) count++;
    char **copy = malloc((count + 2) * sizeof *copy);
    if (copy == NULL) return;
    for (size_t i = 0; i < count; i++) copy[i] = environ[i];
    copy[count] = "SWIFT_DETERMINISTIC_HASHING=1";
    copy[count + 1] = NULL;
    _swift_stdlib_overrideUnsafeArgvArgc(argv, argc);
    original_environment = environ;
    environ = copy;
    entropy_deferred = 1;
}
