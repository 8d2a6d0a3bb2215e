#!/usr/bin/env python3
"""poll_name.py SERVER NAME TIMEOUT_S: asks for NAME (A over UDP) every 5 ms until a reply is
NOERROR with an answer; prints "ready" once its socket is up, then the wall-clock time of that
reply (time.time(), to the microsecond), or "timeout" after TIMEOUT_S. The test's own code, with
no resolver library and no cache in between."""
import socket
import struct
import sys
import time

server, name, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
qname = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((server, 53))
s.settimeout(0.005)
print("ready", flush=True)
end = time.time() + timeout
ident = 0
while time.time() < end:
    ident = (ident + 1) & 0xFFFF
    s.send(struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1))
    try:
        while True:
            msg = s.recv(4096)
            if len(msg) < 12 or struct.unpack(">H", msg[:2])[0] != ident:
                continue
            flags, _, an = struct.unpack(">HHH", msg[2:8])
            if flags & 0xF == 0 and an > 0:
                print(f"{time.time():.6f}", flush=True)
                sys.exit(0)
            break
    except (socket.timeout, ConnectionRefusedError):
        pass
    time.sleep(0.005)
print("timeout", flush=True)
sys.exit(1)
