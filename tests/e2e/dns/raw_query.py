#!/usr/bin/env python3
"""raw_query.py SERVER NAME WANT_IP: one A query over TCP (RFC 1035 4.2.2 framing), the reply's
answer section must hold WANT_IP. The test's own resolver code, independent of the server's."""
import socket
import struct
import sys

server, name, want = sys.argv[1:4]
q = struct.pack(">HHHHHH", 0x5151, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.create_connection((server, 53), timeout=3)
s.sendall(struct.pack(">H", len(q)) + q)
buf = b""
while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("short reply")
    buf += chunk
msg = buf[2:]
ident, flags, qd, an = struct.unpack(">HHHH", msg[:8])
if ident != 0x5151 or flags & 0x8000 == 0 or flags & 0xF != 0 or an == 0:
    sys.exit(f"bad reply id={ident:#x} flags={flags:#x} an={an}")
# Walk: skip the question, then read answers (names are compressed pointers here).
off = 12
while msg[off] != 0:
    off += 1 + msg[off]
off += 5
got = []
for _ in range(an):
    if msg[off] & 0xC0 == 0xC0:
        off += 2
    else:
        while msg[off] != 0:
            off += 1 + msg[off]
        off += 1
    rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
    off += 10
    if rtype == 1 and rdlen == 4:
        got.append(socket.inet_ntoa(msg[off:off + 4]))
    off += rdlen
if want not in got:
    sys.exit(f"want {want}, got {got}")
print(f"{name} -> {got}")
