#!/usr/bin/env python3
"""The fault tests' writer (issue 23): 1,000 ConfigMap creates, acknowledged one by one, against
a list of masters while the test kills them.

  writer.py write PKI_DIR OUT_JSON HOST:PORT[,HOST:PORT...]
      Creates ConfigMaps with generateName, each labelled with its sequence number, as the admin
      of PKI_DIR (ca.crt, admin.crt, admin.key). A create whose connection breaks after it was
      sent has an unknown outcome: the writer moves to the next master and looks the sequence
      number up before sending it again (as a careful client must; a blind retry could create it
      twice). Prints "<n> created" every 100; writes {"acked": {seq: name}, "unknown": n}.
  writer.py check OUT_JSON ALL_JSON
      ALL_JSON is `kubectl get configmaps -l run=faults -o json`: every acknowledged object is
      there, no sequence number is there twice, and there are exactly 1,000.
"""
import collections
import http.client
import json
import ssl
import sys
import time

PATH = "/api/v1/namespaces/default/configmaps"


def write(pki, out, endpoints):
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
    ctx.load_cert_chain(f"{pki}/admin.crt", f"{pki}/admin.key")
    masters = [e.rsplit(":", 1) for e in endpoints.split(",")]
    state = {"which": 0, "conn": None}

    def rotate():
        state["which"] = (state["which"] + 1) % len(masters)

    def send(method, url, body=None):
        for _ in range(400):
            try:
                if state["conn"] is None:
                    host, port = masters[state["which"]]
                    state["conn"] = http.client.HTTPSConnection(host, int(port), context=ctx,
                                                                timeout=10)
                state["conn"].request(method, url, json.dumps(body) if body else None,
                                      {"Content-Type": "application/json",
                                       "Accept": "application/json"})
                r = state["conn"].getresponse()
                return r.status, json.loads(r.read() or b"{}")
            except (OSError, http.client.HTTPException):
                state["conn"] = None
                if method != "GET":
                    return None, None  # sent, outcome unknown: the caller looks first
                rotate()
                time.sleep(0.05)
        raise SystemExit("no master answered")

    acked, unknown = {}, 0
    for seq in range(1000):
        while True:
            body = {"metadata": {"generateName": "w-",
                                 "labels": {"run": "faults", "seq": str(seq)}},
                    "data": {"seq": str(seq)}}
            st, obj = send("POST", PATH, body)
            if st == 201:
                acked[seq] = obj["metadata"]["name"]
                break
            if st is None:
                unknown += 1
                rotate()
                st, lst = send("GET", f"{PATH}?labelSelector=run%3Dfaults%2Cseq%3D{seq}")
                if st == 200 and lst["items"]:
                    acked[seq] = lst["items"][0]["metadata"]["name"]
                    break
                continue
            if st >= 500:
                time.sleep(0.1)
                continue
            raise SystemExit(f"create {seq}: HTTP {st} {obj}")
        if seq % 100 == 0:
            print(f"{seq} created", flush=True)
    with open(out, "w") as f:
        json.dump({"acked": acked, "unknown": unknown}, f)
    print(f"1000 acknowledged; {unknown} writes of unknown outcome looked up before retrying")


def check(out, all_json):
    acked = json.load(open(out))["acked"]
    items = json.load(open(all_json))["items"]
    names = {i["metadata"]["name"] for i in items}
    per_seq = collections.Counter(i["metadata"]["labels"]["seq"] for i in items)
    missing = [n for n in acked.values() if n not in names]
    twice = [s for s, c in per_seq.items() if c > 1]
    print(f"{len(items)} objects, {len(acked)} acknowledged, missing {len(missing)}, "
          f"created twice {len(twice)}")
    return 1 if missing or twice or len(items) != 1000 else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "write":
        write(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
