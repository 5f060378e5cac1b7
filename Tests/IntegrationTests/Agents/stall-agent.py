#!/usr/bin/env python3
# A seccomp agent that takes TOTAL connections on SOCKET, each with its listener fd, and
# holds the last one for SECONDS before closing it: the process that handed it over waits
# in the runtime all that time (ProcessEscapeTests).
#   stall-agent.py SOCKET TOTAL SECONDS
import socket, sys, time

SOCKET, TOTAL, SECONDS = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(SOCKET)
server.listen(4)
open(SOCKET + ".ready", "w").close()
for number in range(1, TOTAL + 1):
    connection, _ = server.accept()
    socket.recv_fds(connection, 65536, 1)
    if number == TOTAL:
        time.sleep(SECONDS)
    connection.close()
