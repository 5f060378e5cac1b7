#include "ccompat.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* union bpf_attr, only the members these commands use, spelled out so that no kernel
   header of the build host decides the layout (old sysroots lack the newer fields). */
struct cc_bpf_prog_load {
    uint32_t prog_type, insn_cnt;
    uint64_t insns, license;
    uint32_t log_level, log_size;
    uint64_t log_buf;
    uint32_t kern_version, prog_flags;
    char prog_name[16];
};
struct cc_bpf_prog_attach { uint32_t target_fd, attach_bpf_fd, attach_type, attach_flags; };
struct cc_bpf_prog_query {
    uint32_t target_fd, attach_type, query_flags, attach_flags;
    uint64_t prog_ids;
    uint32_t prog_cnt;
};
struct cc_bpf_get_fd_by_id { uint32_t prog_id, next_id, open_flags; };

enum { CC_BPF_PROG_LOAD = 5, CC_BPF_PROG_ATTACH = 8, CC_BPF_PROG_DETACH = 9, CC_BPF_PROG_GET_FD_BY_ID = 13,
       CC_BPF_PROG_QUERY = 16, CC_BPF_PROG_TYPE_CGROUP_DEVICE = 15 };

static long cc_bpf(int command, void *attr, unsigned size) { return syscall(SYS_bpf, command, attr, size); }

int cc_bpf_load_device_program(const void *insns, uint32_t count, char *log, uint32_t log_size) {
    struct cc_bpf_prog_load attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = CC_BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insn_cnt = count;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.license = (uint64_t)(uintptr_t)"Apache";
    if (log && log_size) {
        attr.log_level = 1;
        attr.log_size = log_size;
        attr.log_buf = (uint64_t)(uintptr_t)log;
    }
    strncpy(attr.prog_name, "port_run_dev", sizeof attr.prog_name - 1);
    return (int)cc_bpf(CC_BPF_PROG_LOAD, &attr, sizeof attr);
}

int cc_bpf_attach_device_program(int cgroup_fd, int prog_fd, uint32_t flags) {
    struct cc_bpf_prog_attach attr = {(uint32_t)cgroup_fd, (uint32_t)prog_fd, CC_BPF_CGROUP_DEVICE, flags};
    return (int)cc_bpf(CC_BPF_PROG_ATTACH, &attr, sizeof attr);
}

int cc_bpf_query_device_programs(int cgroup_fd, uint32_t *ids, uint32_t capacity) {
    struct cc_bpf_prog_query attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_type = CC_BPF_CGROUP_DEVICE;
    attr.prog_ids = (uint64_t)(uintptr_t)ids;
    attr.prog_cnt = capacity;
    if (cc_bpf(CC_BPF_PROG_QUERY, &attr, sizeof attr) != 0) return -1;
    return (int)attr.prog_cnt;
}

int cc_bpf_detach_device_program(int cgroup_fd, uint32_t prog_id) {
    struct cc_bpf_get_fd_by_id lookup = {prog_id, 0, 0};
    int prog_fd = (int)cc_bpf(CC_BPF_PROG_GET_FD_BY_ID, &lookup, sizeof lookup);
    if (prog_fd < 0) return -1;
    struct cc_bpf_prog_attach attr = {(uint32_t)cgroup_fd, (uint32_t)prog_fd, CC_BPF_CGROUP_DEVICE, 0};
    int result = (int)cc_bpf(CC_BPF_PROG_DETACH, &attr, sizeof attr);
    close(prog_fd);
    return result;
}
