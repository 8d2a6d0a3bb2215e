#!/usr/bin/env python3
"""skiff-master API benchmark (issue 4): mutating latency with 50 concurrent clients on loopback,
LIST of 10k pods, fan-out to 1,000 watchers, and the server's RSS with 10k pods stored. Each
figure is printed beside the Kubernetes API SLO it corresponds to.

usage: api_bench.py <skiff-master binary> [--pods 10000] [--clients 50] [--watchers 1000]"""
import argparse, asyncio, json, os, socket, ssl, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("master")
ap.add_argument("--pods", type=int, default=10000)
ap.add_argument("--clients", type=int, default=50)
ap.add_argument("--watchers", type=int, default=1000)
ap.add_argument("--mutations", type=int, default=4000)
args = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="skiff-bench-api.")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
proc = subprocess.Popen([args.master, "--data-dir", f"{tmp}/data", "--kubeconfig-out", f"{tmp}/kc",
                         "--secure-port", str(port), "--bind-address", "127.0.0.1", "--v", "warn"],
                        stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/master.log", "w"))
pki = f"{tmp}/data/pki"

def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]

class Conn:
    """One keep-alive HTTPS connection speaking just enough HTTP/1.1."""
    def __init__(self):
        self.r = self.w = None

    async def open(self):
        ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
        ctx.load_cert_chain(f"{pki}/admin.crt", f"{pki}/admin.key")
        self.r, self.w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1")
        return self

    async def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nUser-Agent: skiff-bench\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        self.w.write(head.encode() + b"\r\n" + data)
        await self.w.drain()
        status = int((await self.r.readline()).split()[1])
        length, chunked = 0, False
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, v = line.decode().split(":", 1)
            if k.lower() == "content-length":
                length = int(v)
            if k.lower() == "transfer-encoding" and "chunked" in v:
                chunked = True
        if chunked:
            out = b""
            while True:
                n = int((await self.r.readline()).strip(), 16)
                if n == 0:
                    await self.r.readline()
                    break
                out += await self.r.readexactly(n)
                await self.r.readline()
            return status, out
        return status, await self.r.readexactly(length)

def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}

async def wait_ready():
    for _ in range(200):
        try:
            c = await Conn().open()
            st, _ = await c.request("GET", "/readyz")
            c.w.close()
            if st == 200:
                return
        except Exception:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("skiff-master did not become ready")

async def mutating():
    lat = []
    per = args.mutations // args.clients
    conns = [await Conn().open() for _ in range(args.clients)]
    async def client(i, c):
        for n in range(per):
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}-{n}"}, "data": {"n": str(n)}}
            t0 = time.perf_counter()
            st, _ = await c.request("POST", "/api/v1/namespaces/default/configmaps", body)
            lat.append((time.perf_counter() - t0) * 1000)
            assert st == 201, st
    t0 = time.perf_counter()
    await asyncio.gather(*(client(i, c) for i, c in enumerate(conns)))
    wall = time.perf_counter() - t0
    for c in conns:
        c.w.close()
    return lat, len(lat) / wall

async def create_pods():
    conns = [await Conn().open() for _ in range(args.clients)]
    per = (args.pods + args.clients - 1) // args.clients
    async def client(i, c):
        for n in range(per):
            k = i * per + n
            if k >= args.pods:
                return
            st, _ = await c.request("POST", "/api/v1/namespaces/default/pods", pod(f"p{k:05d}"))
            assert st == 201, st
    t0 = time.perf_counter()
    await asyncio.gather(*(client(i, c) for i, c in enumerate(conns)))
    for c in conns:
        c.w.close()
    return time.perf_counter() - t0

async def list_pods():
    c = await Conn().open()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        st, body = await c.request("GET", "/api/v1/pods")
        times.append((time.perf_counter() - t0) * 1000)
        assert st == 200
    n = len(json.loads(body)["items"])
    c.w.close()
    return n, times

async def fanout():
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
    ctx.load_cert_chain(f"{pki}/admin.crt", f"{pki}/admin.key")
    c = await Conn().open()
    st, body = await c.request("POST", "/api/v1/namespaces/default/configmaps",
                               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fan"}})
    rv = json.loads(body)["metadata"]["resourceVersion"]
    got = []
    ready = 0
    async def watcher():
        nonlocal ready
        r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1")
        w.write(f"GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&fieldSelector=metadata.name%3Dfan HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await w.drain()
        while (await r.readline()) not in (b"\r\n", b""):
            pass
        ready += 1
        await r.readline()  # chunk size
        line = await r.readline()
        got.append(time.perf_counter())
        assert b"MODIFIED" in line, line
        w.close()
    tasks = [asyncio.create_task(watcher()) for _ in range(args.watchers)]
    while ready < args.watchers:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    patch = b'{"data":{"x":"1"}}'
    # Written raw: the clock runs from the moment the change is sent, not from its reply.
    c.w.write(b"PATCH /api/v1/namespaces/default/configmaps/fan HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/merge-patch+json\r\nContent-Length: %d\r\n\r\n" % len(patch) + patch)
    await c.w.drain()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return [(g - t0) * 1000 for g in got]

async def main():
    await wait_ready()
    print(f"skiff-master API benchmark (loopback TLS, {args.clients} concurrent clients)")
    lat, tput = await mutating()
    print(f"mutating (POST configmap): n={len(lat)} p50={pct(lat,50):.2f} ms p99={pct(lat,99):.2f} ms "
          f"throughput={tput:.0f} req/s   [Kubernetes SLO: p99 <= 1000 ms]")
    took = await create_pods()
    print(f"created {args.pods} pods in {took:.1f} s ({args.pods/took:.0f} pods/s)")
    n, times = await list_pods()
    print(f"LIST all pods: items={n} best={min(times):.0f} ms worst={max(times):.0f} ms   "
          f"[Kubernetes SLO: cluster-scoped LIST p99 <= 30000 ms]")
    print(f"RSS with {args.pods} pods stored: {rss_mib(proc.pid):.1f} MiB   [goal: < 100 MiB]")
    fan = await fanout()
    print(f"watch fan-out to {args.watchers} watchers: p50={pct(fan,50):.1f} ms p99={pct(fan,99):.1f} ms "
          f"max={max(fan):.1f} ms   [Kubernetes SLO: watch latency p99 <= 5000 ms]")
    print(f"RSS after fan-out: {rss_mib(proc.pid):.1f} MiB")

try:
    asyncio.run(main())
finally:
    proc.terminate()
    proc.wait()
    subprocess.run(["rm", "-rf", tmp])
