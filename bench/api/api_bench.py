#!/usr/bin/env python3
"""skiff-master API benchmark (issues 4 and 23): mutating latency with 50 concurrent clients on
loopback, LIST of 10k pods, fan-out to 1,000 watchers, and the server's RSS with 10k pods
stored, for each store side by side in one run: SQLite, and etcd with one and with three members
(Debian's etcd-server, started here on loopback ports; skipped when it is not installed). Each
figure is printed beside the Kubernetes API SLO it corresponds to, then a table of all stores.
An etcd store may name the master's --etcd-transport: etcd1-grpc, etcd3-gateway (plain etcd1 and
etcd3 use the master's default), so that one run compares the two transports.

usage: api_bench.py <skiff-master binary> [--pods 10000] [--clients 50] [--watchers 1000]
                    [--stores sqlite,etcd1,etcd3]
       api_bench.py ... --stores sqlite,etcd1-gateway,etcd1-grpc,etcd3-gateway,etcd3-grpc"""
import argparse, asyncio, json, os, shutil, socket, ssl, statistics, subprocess, sys, tempfile, time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("master")
ap.add_argument("--pods", type=int, default=10000)
ap.add_argument("--clients", type=int, default=50)
ap.add_argument("--watchers", type=int, default=1000)
ap.add_argument("--mutations", type=int, default=4000)
ap.add_argument("--stores", default="sqlite,etcd1,etcd3")
args = ap.parse_args()

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    return p

tmp = tempfile.mkdtemp(prefix="skiff-bench-api.")
proc = None          # the skiff-master under test
port = pki = None    # its HTTPS port and PKI directory (read by the client processes too)
etcds = []           # the etcd members of the current store

def start_etcd(members, where):
    """`members` etcd processes on loopback forming one cluster; returns the client URLs."""
    names = [f"e{i}" for i in range(members)]
    cports = {n: free_port() for n in names}
    pports = {n: free_port() for n in names}
    cluster = ",".join(f"{n}=http://127.0.0.1:{pports[n]}" for n in names)
    for n in names:
        etcds.append(subprocess.Popen(
            ["etcd", "--name", n, "--data-dir", f"{where}/{n}",
             "--listen-client-urls", f"http://127.0.0.1:{cports[n]}",
             "--advertise-client-urls", f"http://127.0.0.1:{cports[n]}",
             "--listen-peer-urls", f"http://127.0.0.1:{pports[n]}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{pports[n]}",
             "--initial-cluster", cluster, "--initial-cluster-state", "new",
             "--quota-backend-bytes", str(8 << 30)],
            stdout=subprocess.DEVNULL, stderr=open(f"{where}/{n}.log", "w")))
    urls = [f"http://127.0.0.1:{cports[n]}" for n in names]
    for _ in range(200):
        try:
            with urllib.request.urlopen(urls[0] + "/health", timeout=1) as r:
                if json.load(r).get("health") == "true":
                    return urls
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit("etcd did not become healthy")

def start_master(store):
    global proc, port, pki
    where = f"{tmp}/{store}"
    os.makedirs(where)
    extra = []
    if store.startswith("etcd"):
        members, _, transport = store[4:].partition("-")
        urls = start_etcd(int(members), where)
        extra = ["--storage", "etcd", "--etcd-servers", ",".join(urls)]
        if transport:
            extra += ["--etcd-transport", transport]
    port = free_port()
    proc = subprocess.Popen([args.master, "--data-dir", f"{where}/data", "--kubeconfig-out",
                             f"{where}/kc", "--secure-port", str(port), "--bind-address",
                             "127.0.0.1", "--v", "warn"] + extra,
                            stdout=subprocess.DEVNULL, stderr=open(f"{where}/master.log", "w"))
    pki = f"{where}/data/pki"

def stop_all():
    global proc
    for p in ([proc] if proc else []) + etcds:
        p.terminate()
    for p in ([proc] if proc else []) + etcds:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait()
    proc = None
    etcds.clear()

def rss_of(p):
    try:
        return rss_mib(p.pid)
    except FileNotFoundError:
        return 0

def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0

def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
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

def mutating_worker(args_tuple):
    """One client process: `n` keep-alive connections, `per` creates each. Several processes
    so that the Python client is not what the latency measures."""
    w, n, per = args_tuple
    async def run():
        lat = []
        conns = [await Conn().open() for _ in range(n)]
        async def client(i, c):
            for k in range(per):
                body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{w}-{i}-{k}"}, "data": {"n": str(k)}}
                t0 = time.perf_counter()
                st, _ = await c.request("POST", "/api/v1/namespaces/default/configmaps", body)
                lat.append((time.perf_counter() - t0) * 1000)
                assert st == 201, st
        await asyncio.gather(*(client(i, c) for i, c in enumerate(conns)))
        for c in conns:
            c.w.close()
        return lat
    return asyncio.run(run())

async def mutating():
    import concurrent.futures
    procs = min(args.clients, max(1, (os.cpu_count() or 2) * 2))
    per_proc = args.clients // procs
    per = args.mutations // args.clients
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(procs) as ex:
        parts = await asyncio.gather(*(loop.run_in_executor(ex, mutating_worker, (w, per_proc, per)) for w in range(procs)))
    wall = time.perf_counter() - t0
    lat = [x for p in parts for x in p]
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

async def run_store(store):
    """Every phase against one store; prints as it goes, returns the row for the table."""
    await wait_ready()
    print(f"\n== {store}: skiff-master API benchmark (loopback TLS, {args.clients} concurrent clients)")
    lat, tput = await mutating()
    print(f"mutating (POST configmap): n={len(lat)} p50={pct(lat,50):.2f} ms p99={pct(lat,99):.2f} ms "
          f"throughput={tput:.0f} req/s   [Kubernetes SLO: p99 <= 1000 ms]")
    took = await create_pods()
    print(f"created {args.pods} pods in {took:.1f} s ({args.pods/took:.0f} pods/s)")
    n, times = await list_pods()
    print(f"LIST all pods: items={n} best={min(times):.0f} ms worst={max(times):.0f} ms   "
          f"[Kubernetes SLO: cluster-scoped LIST p99 <= 30000 ms]")
    rss = rss_mib(proc.pid)
    etcd_rss = sum(rss_of(p) for p in etcds)
    print(f"RSS with {args.pods} pods stored: {rss:.1f} MiB, {threads_of(proc.pid)} threads   "
          f"[goal: < 100 MiB]" + (f"   (etcd members together: {etcd_rss:.0f} MiB)" if etcds else ""))
    fan = await fanout()
    print(f"watch fan-out to {args.watchers} watchers: p50={pct(fan,50):.1f} ms p99={pct(fan,99):.1f} ms "
          f"max={max(fan):.1f} ms   [Kubernetes SLO: watch latency p99 <= 5000 ms]")
    print(f"RSS after fan-out: {rss_mib(proc.pid):.1f} MiB")
    return (store, pct(lat, 50), pct(lat, 99), tput, args.pods / took, min(times), pct(fan, 50),
            pct(fan, 99), rss)

rows = []
try:
    for store in args.stores.split(","):
        if store.startswith("etcd") and not shutil.which("etcd"):
            print(f"\n== {store}: skipped (etcd is not installed: Debian's etcd-server)")
            continue
        if store not in ("sqlite", "etcd1", "etcd3") and not (
                store[:5] in ("etcd1", "etcd3") and store[5:] in ("-grpc", "-gateway")):
            raise SystemExit(f"--stores: unknown store {store!r} "
                             "(sqlite, etcd1, etcd3, optionally etcdN-grpc or etcdN-gateway)")
        start_master(store)
        try:
            rows.append(asyncio.run(run_store(store)))
        finally:
            stop_all()
    print("\nside by side (same run, same machine):")
    print(f"{'store':13} {'POST p50':>9} {'POST p99':>9} {'req/s':>7} {'pods/s':>7} "
          f"{'LIST':>9} {'watch p50':>10} {'watch p99':>10} {'master RSS':>11}")
    for r in rows:
        print(f"{r[0]:13} {r[1]:7.2f}ms {r[2]:7.2f}ms {r[3]:7.0f} {r[4]:7.0f} {r[5]:7.0f}ms "
              f"{r[6]:8.1f}ms {r[7]:8.1f}ms {r[8]:8.1f}MiB")
finally:
    stop_all()
    subprocess.run(["rm", "-rf", tmp])
