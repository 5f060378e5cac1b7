#!/usr/bin/env python3
# A minimal seccomp agent for SeccompAgentTests: accepts one connection on SOCKET, takes the
# listener fd and the container process state, answers the first notification with EACCES,
# and writes what it saw to OUT (JSON). With "signal", it first sends SIGUSR1 to the waiting
# process and records whether the notification outlived the signal (it does only under
# SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV). The process must handle SIGUSR1, else the signal kills it.
#   seccomp-agent.py SOCKET OUT [signal]
import fcntl, json, os, select, signal, socket, struct, sys, time

SOCKET, OUT = sys.argv[1], sys.argv[2]
SIGNAL_FIRST = sys.argv[3:] == ["signal"]
NOTIF_RECV = 0xC0502100   # _IOWR('!', 0, struct seccomp_notif), 80 bytes
NOTIF_SEND = 0xC0182101   # _IOWR('!', 1, struct seccomp_notif_resp), 24 bytes
NOTIF_ID_VALID = 0x40082102   # _IOW('!', 2, __u64)

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(SOCKET)
server.listen(1)
open(SOCKET + ".ready", "w").close()
connection, _ = server.accept()
message, fds, _, _ = socket.recv_fds(connection, 65536, 1)
seen = {"state": json.loads(message), "fdKind": os.readlink(f"/proc/self/fd/{fds[0]}")}

def receive():
    notification = bytearray(80)
    fcntl.ioctl(fds[0], NOTIF_RECV, notification)
    return struct.unpack_from("<QIIi", notification)

ident, pid, _flags, nr = receive()
seen["syscall"] = nr
if SIGNAL_FIRST:
    os.kill(pid, signal.SIGUSR1)
    time.sleep(0.3)
    try:
        fcntl.ioctl(fds[0], NOTIF_ID_VALID, struct.pack("<Q", ident))
        seen["validAfterSignal"] = True
    except OSError:
        seen["validAfterSignal"] = False
        # The interrupted call may be restarted: that is a new notification.
        ready, _, _ = select.select([fds[0]], [], [], 1.0)
        try:
            ident = receive()[0] if ready else None
        except OSError:
            ident = None
if ident is not None:
    fcntl.ioctl(fds[0], NOTIF_SEND, bytearray(struct.pack("<QqiI", ident, 0, -13, 0)))   # -EACCES
with open(OUT, "w") as out:
    json.dump(seen, out)
