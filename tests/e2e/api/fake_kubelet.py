#!/usr/bin/env python3
"""A tiny stand-in for the node agent's API (:10250) so the API server's pods/log and pods/exec
proxying can be tested without an agent: GET /containerLogs/... answers text; GET /exec/... does
the WebSocket upgrade (v5/v4.channel.k8s.io) and answers like a kubelet."""
import base64, hashlib, json, os, socket, ssl, sys, threading, urllib.parse

cert, key, portfile = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)

def frame(payload: bytes, opcode=2) -> bytes:
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    return head + payload

def handle(conn):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head = data.split(b"\r\n\r\n")[0].decode()
        lines = head.split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        url = urllib.parse.urlparse(target)
        q = urllib.parse.parse_qs(url.query)
        if url.path.startswith("/containerLogs/"):
            body = f"log line from {url.path} tail={q.get('tailLines', [''])[0]}\n".encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            return
        if url.path.startswith("/exec/") and headers.get("upgrade", "").lower() == "websocket":
            protos = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
            proto = next((p for p in protos if p in ("v5.channel.k8s.io", "v4.channel.k8s.io")), None)
            if not proto:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {proto}\r\n\r\n").encode())
            cmd = " ".join(q.get("command", []))
            conn.sendall(frame(b"\x01" + f"ran: {cmd}\n".encode()))
            status = {"metadata": {}, "status": "Failure", "message": "command terminated with non-zero exit code",
                      "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
            conn.sendall(frame(b"\x03" + json.dumps(status).encode()))
            conn.sendall(frame((1000).to_bytes(2, "big"), opcode=8))
            return
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    except Exception as e:
        print("fake kubelet:", e, file=sys.stderr)
    finally:
        try:
            conn.close()
        except Exception:
            pass

while True:
    c, _ = srv.accept()
    try:
        s = ctx.wrap_socket(c, server_side=True)
    except Exception:
        continue
    threading.Thread(target=handle, args=(s,), daemon=True).start()
