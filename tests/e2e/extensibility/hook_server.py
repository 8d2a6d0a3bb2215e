#!/usr/bin/env python3
"""A small HTTPS server for the admission webhook and APIService e2e test.

  hook_server.py ADDR PORT CERT KEY

POST /validate   AdmissionReview v1: denies pods whose name starts with "bad"
POST /mutate     AdmissionReview v1: JSONPatch adding the label webhook=mutated
POST /convert    ConversionReview: conv.skiff.io Gizmos, v1 spec.hostPort "h:p" <-> v2 spec.host
                 and spec.port (upstream's sample converter, e2e crd-conversion-webhook)
GET  /apis/demo.skiff.io/v1              APIResourceList with one resource, "gadgets"
GET  /apis/demo.skiff.io/v1/.../gadgets  a GadgetList (or Table) with one item
"""
import base64
import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GV = "demo.skiff.io/v1"
GADGET = {"apiVersion": GV, "kind": "Gadget",
          "metadata": {"name": "g1", "namespace": "default",
                       "creationTimestamp": "2026-01-01T00:00:00Z"}}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def reply(self, body, code=200):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def convert(self, review):
        req = review["request"]
        to = req["desiredAPIVersion"]
        out = []
        for obj in req["objects"]:
            spec = obj.setdefault("spec", {})
            if obj["apiVersion"].endswith("/v1") and to.endswith("/v2") and "hostPort" in spec:
                spec["host"], spec["port"] = spec.pop("hostPort").split(":", 1)
            elif obj["apiVersion"].endswith("/v2") and to.endswith("/v1") and "host" in spec:
                spec["hostPort"] = spec.pop("host") + ":" + spec.pop("port")
            obj["apiVersion"] = to
            out.append(obj)
        self.reply({"apiVersion": review["apiVersion"], "kind": "ConversionReview",
                    "response": {"uid": req["uid"], "result": {"status": "Success"},
                                 "convertedObjects": out}})

    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.split("?")[0] == "/convert":
            return self.convert(review)
        req = review["request"]
        resp = {"uid": req["uid"], "allowed": True}
        path = self.path.split("?")[0]
        name = req["object"]["metadata"].get("name", "")
        if path == "/validate" and name.startswith("bad"):
            resp = {"uid": req["uid"], "allowed": False,
                    "status": {"code": 403, "message": "pods named bad* are not welcome"}}
        elif path == "/mutate":
            labels = req["object"]["metadata"].get("labels")
            op = ({"op": "add", "path": "/metadata/labels/webhook", "value": "mutated"} if labels
                  else {"op": "add", "path": "/metadata/labels", "value": {"webhook": "mutated"}})
            resp["patchType"] = "JSONPatch"
            resp["patch"] = base64.b64encode(json.dumps([op]).encode()).decode()
        self.reply({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "response": resp})

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/apis/" + GV:
            return self.reply({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV,
                               "resources": [{"name": "gadgets", "singularName": "gadget",
                                              "namespaced": True, "kind": "Gadget",
                                              "verbs": ["get", "list"],
                                              "shortNames": ["gd"]}]})
        if path.startswith("/apis/" + GV) and path.endswith("/gadgets"):
            if "as=Table" in self.headers.get("Accept", ""):
                return self.reply({
                    "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
                    "columnDefinitions": [{"name": "Name", "type": "string", "format": "name"},
                                          {"name": "Color", "type": "string"}],
                    "rows": [{"cells": ["g1", "green"],
                              "object": {"kind": "PartialObjectMetadata",
                                         "apiVersion": "meta.k8s.io/v1",
                                         "metadata": GADGET["metadata"]}}]})
            return self.reply({"kind": "GadgetList", "apiVersion": GV, "metadata": {},
                               "items": [GADGET]})
        self.reply({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "reason": "NotFound", "code": 404, "message": "not found"}, 404)


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = ThreadingHTTPServer((addr, port), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
