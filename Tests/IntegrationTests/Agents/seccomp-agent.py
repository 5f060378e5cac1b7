#!/usr/bin/env python3
# A minimal seccomp agent for SeccompAgentTests: accepts one connection on SOCKET, takes the
# listener fd and the container process state, answers the first notification with EACCES,
# and writes what it saw to OUT (JSON).
#   seccomp-agent.py SOCKET OUT
import array, fcntl, json, os, socket, struct, sys

SOCKET, OUT = sys.argv[1], sys.argv[2]
NOTIF_RECV = 0xC0502100   # _IOWR('!', 0, struct seccomp_notif), 80 bytes
NOTIF_SEND = 0xC0182101   # _IOWR('!', 1, struct seccomp_notif_resp), 24 bytes

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(SOCKET)
server.listen(1)
open(SOCKET + ".ready", "w").close()
connection, _ = server.accept()
message, fds, _, _ = socket.recv_fds(connection, 65536, 1)
seen = {"state": json.loads(message), "fdKind": os.readlink(f"/proc/self/fd/{fds[0]}")}

notification = bytearray(80)
fcntl.ioctl(fds[0], NOTIF_RECV, notification)
ident, pid, _flags, nr = struct.unpack_from("<QIIi", notification)
seen["syscall"] = nr
fcntl.ioctl(fds[0], NOTIF_SEND, bytearray(struct.pack("<QqiI", ident, 0, -13, 0)))   # -EACCES
with open(OUT, "w") as out:
    json.dump(seen, out)
