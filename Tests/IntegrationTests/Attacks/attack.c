/* What an attacker runs inside a container for EscapeTests, built static at test time:
     attack swap A B SECONDS      exchange A and B (renameat2 RENAME_EXCHANGE) as fast as it can
     attack ptrace-any SECONDS EXPECTED_EXE
                                  try PTRACE_SEIZE on every other process, again and again; print
                                  "attached PID EXE" for each one caught still running another binary
                                  than EXPECTED_EXE (the container's own)
     attack peek SECONDS PATH     look for PATH (a host file) through /proc/PID/root of every other
                                  process, again and again; print "reached PID" for each hit */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int swap(const char *a, const char *b, double seconds) {
    double end = now() + seconds;
    long exchanges = 0;
    while (now() < end) {
        if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0) exchanges++;
    }
    printf("exchanged %ld times\n", exchanges);
    return exchanges > 0 ? 0 : 1;
}

/* Calls `try_one` on every other process of the container, again and again for `seconds`;
   1 when any call reported a catch. */
static int on_every_process(double seconds, int (*try_one)(pid_t, const char *), const char *argument) {
    double end = now() + seconds;
    pid_t self = getpid();
    int caught = 0;
    while (now() < end) {
        DIR *proc = opendir("/proc");
        if (!proc) return 2;
        struct dirent *entry;
        while ((entry = readdir(proc)) != NULL) {
            pid_t pid = (pid_t)atoi(entry->d_name);
            if (pid > 1 && pid != self && try_one(pid, argument)) caught = 1;
        }
        closedir(proc);
    }
    return caught;
}

static int seize(pid_t pid, const char *expected) {
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0) return 0;
    char path[64], exe[4096] = "";
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n > 0) exe[n] = 0;
    int caught = strcmp(exe, expected) != 0;
    if (caught) {
        printf("attached %d %s\n", pid, exe);
        fflush(stdout);
    }
    ptrace(PTRACE_DETACH, pid, 0, 0);
    return caught;
}

static int reach(pid_t pid, const char *path) {
    char through[4096];
    snprintf(through, sizeof through, "/proc/%d/root%s", pid, path);
    if (access(through, F_OK) != 0) return 0;
    printf("reached %d\n", pid);
    fflush(stdout);
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "swap") == 0) return swap(argv[2], argv[3], atof(argv[4]));
    if (argc == 4 && strcmp(argv[1], "ptrace-any") == 0) return on_every_process(atof(argv[2]), seize, argv[3]);
    if (argc == 4 && strcmp(argv[1], "peek") == 0) return on_every_process(atof(argv[2]), reach, argv[3]);
    fprintf(stderr, "usage: attack swap A B SECONDS | attack ptrace-any SECONDS EXPECTED_EXE | attack peek SECONDS PATH\n");
    return 2;
}
