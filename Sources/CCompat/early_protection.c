/* The CVE-2019-5736 re-execution (PortRuntime's SelfProtection), taken early in the one
   case where it is both cheap and certainly safe: before the Swift runtime starts, so the
   process that only re-executes pays for no Swift start-up, no host facts and no parsing.
   Anything unusual returns and leaves the choice to SelfProtection, which probes first. */
#include "ccompat.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static const char *protected_by;

const char *cc_self_protection_marker(void) { return protected_by; }

/* Checked on the running binary itself, never taken from the environment alone: a marker
   that anyone can set must not switch the protection off. */
int cc_exe_is_protected(void) {
    int binary = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (binary < 0) return 0;
    struct statvfs mount_info;
    struct stat info;
    int seals = fcntl(binary, CC_F_GET_SEALS);
    int protected_copy = (fstatvfs(binary, &mount_info) == 0 && (mount_info.f_flag & ST_RDONLY) != 0)
        || (seals >= 0 && (seals & CC_F_SEAL_WRITE) != 0)
        || (fstat(binary, &info) == 0 && info.st_nlink == 0);
    close(binary);
    return protected_copy;
}

static int is_container_command(const char *word) {
    return strcmp(word, "create") == 0 || strcmp(word, "run") == 0 || strcmp(word, "exec") == 0;
}

/* The command word, found as the CLI's flag parser finds it (main.swift's global flags).
   A mistake here costs only time: SelfProtection runs for these commands either way. */
int cc_runs_container_command(int argc, char *const argv[]) {
    static const char *const value_flags[] = {"root", "log", "log-format", "rootless", "criu", "cgroup-manager"};
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (strcmp(word, "--") == 0) return i + 1 < argc && is_container_command(argv[i + 1]);
        if (word[0] != '-' || word[1] == '\0') return is_container_command(word);
        const char *name = word + (word[1] == '-' ? 2 : 1);
        if (strchr(name, '=') != NULL) continue;
        for (size_t f = 0; f < sizeof value_flags / sizeof value_flags[0]; f++) {
            if (strcmp(name, value_flags[f]) == 0) {
                i++;
                break;
            }
        }
    }
    return 0;
}

static void reexecute_from_read_only_bind(char **argv) {
    /* Under a seccomp filter (Android's app filter, a container's profile) open_tree may
       kill the caller: only SelfProtection's probes may find that out. */
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0) return;
    int binary = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (binary < 0) return;
    struct statvfs info;
    int read_only = fstatvfs(binary, &info) == 0 && (info.f_flag & ST_RDONLY) != 0;
    const char *failed_call;
    int bind = read_only ? -1 : cc_read_only_bind(binary, &failed_call);
    close(binary);
    if (bind < 0) return;
    if (setenv(CC_SELF_PROTECTION_MARKER, "read-only bind", 1) == 0) {
        cc_execveat_fd(bind, argv, environ);
        unsetenv(CC_SELF_PROTECTION_MARKER);
    }
    close(bind);
}

/* glibc and bionic pass main's arguments to constructors; musl does not. Priority 101 runs
   this before the Swift runtime's own initializers. */
__attribute__((constructor(101))) static void cc_early_self_protection(int argc, char **argv, char **envp) {
    (void)envp;
    /* Taken out of the environment at once, so no command, hook or container inherits it. */
    const char *marker = getenv(CC_SELF_PROTECTION_MARKER);
    if (marker != NULL) {
        int verified = cc_exe_is_protected();
        if (verified) protected_by = strdup(marker);
        unsetenv(CC_SELF_PROTECTION_MARKER);
        if (verified) return;
    }
#if defined(__GLIBC__) || defined(__BIONIC__)
    if (argv != NULL && cc_runs_container_command(argc, argv)) reexecute_from_read_only_bind(argv);
#else
    (void)argc;
    (void)argv;
#endif
}
