#!/usr/bin/env python3
"""A tiny plain-HTTP fake kube-apiserver that answers /version and legacy discovery,
and records every request with a body (method, path, content-type, hex body) to
captures.jsonl.  Used only to capture the protobuf bodies kubectl 1.33 sends."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 18080
OUT = sys.argv[2] if len(sys.argv) > 2 else "captures.jsonl"


def res(name, kind, namespaced, verbs=("create", "get", "list", "delete", "update", "patch", "watch"), short=None):
    r = {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": list(verbs)}
    if short:
        r["shortNames"] = short
    return r


GROUPS = {
    ("", "v1"): [
        res("namespaces", "Namespace", False, short=["ns"]),
        res("configmaps", "ConfigMap", True, short=["cm"]),
        res("secrets", "Secret", True),
        res("services", "Service", True, short=["svc"]),
        res("serviceaccounts", "ServiceAccount", True, short=["sa"]),
        res("serviceaccounts/token", "TokenRequest", True, verbs=("create",)),
        res("resourcequotas", "ResourceQuota", True, short=["quota"]),
        res("pods", "Pod", True, short=["po"]),
        res("nodes", "Node", False, short=["no"]),
    ],
    ("apps", "v1"): [
        res("deployments", "Deployment", True, short=["deploy"]),
        res("deployments/scale", "Scale", True, verbs=("get", "patch", "update")),
        res("replicasets", "ReplicaSet", True, short=["rs"]),
    ],
    ("batch", "v1"): [res("jobs", "Job", True), res("cronjobs", "CronJob", True, short=["cj"])],
    ("rbac.authorization.k8s.io", "v1"): [
        res("roles", "Role", True),
        res("rolebindings", "RoleBinding", True),
        res("clusterroles", "ClusterRole", False),
        res("clusterrolebindings", "ClusterRoleBinding", False),
    ],
    ("networking.k8s.io", "v1"): [res("ingresses", "Ingress", True, short=["ing"])],
    ("policy", "v1"): [res("poddisruptionbudgets", "PodDisruptionBudget", True, short=["pdb"])],
    ("scheduling.k8s.io", "v1"): [res("priorityclasses", "PriorityClass", False, short=["pc"])],
    ("autoscaling", "v1"): [res("horizontalpodautoscalers", "HorizontalPodAutoscaler", True, short=["hpa"])],
    ("autoscaling", "v2"): [res("horizontalpodautoscalers", "HorizontalPodAutoscaler", True, short=["hpa"])],
}

# plural -> (group, version, kind)
PLURALS = {}
for (g, v), rs in GROUPS.items():
    for r in rs:
        PLURALS.setdefault(r["name"], (g, v, r["kind"]))


# existing objects some commands (expose, autoscale, create job --from) read first
OBJECTS = {
    "/apis/apps/v1/namespaces/default/deployments/web": {
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "namespace": "default", "uid": "11111111-2222-3333-4444-555555555555",
                     "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                                       "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}},
    "/apis/batch/v1/namespaces/default/cronjobs/cj": {
        "kind": "CronJob", "apiVersion": "batch/v1",
        "metadata": {"name": "cj", "namespace": "default", "uid": "66666666-7777-8888-9999-000000000000"},
        "spec": {"schedule": "*/1 * * * *",
                 "jobTemplate": {"metadata": {"labels": {"j": "t"}},
                                 "spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                                                                 "containers": [{"name": "cj", "image": "busybox",
                                                                                 "command": ["date"]}]}}}}}},
}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route_get(self):
        p = self.path.split("?")[0]
        if p == "/version":
            return self.send_json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.1",
                                        "platform": "linux/amd64"})
        if p == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if p == "/apis":
            groups = {}
            for (g, v) in GROUPS:
                if g:
                    groups.setdefault(g, []).append(v)
            out = []
            for g, vs in groups.items():
                gv = [{"groupVersion": f"{g}/{v}", "version": v} for v in vs]
                out.append({"name": g, "versions": gv, "preferredVersion": gv[0]})
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": out})
        if p in OBJECTS:
            return self.send_json(200, OBJECTS[p])
        parts = p.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            key = ("", parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            key = (parts[1], parts[2])
        else:
            key = None
        if key in GROUPS:
            gv = key[1] if not key[0] else f"{key[0]}/{key[1]}"
            return self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                        "resources": GROUPS[key]})
        return self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": "NotFound", "code": 404, "message": "not found"})

    def do_GET(self):
        self.route_get()

    def do_DELETE(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        rec = {"method": "DELETE", "path": self.path, "contentType": self.headers.get("Content-Type"),
               "accept": self.headers.get("Accept"), "body": body.hex()}
        with open(OUT, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_json(200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200})

    def do_PUT(self):
        self.do_POST()

    def do_PATCH(self):
        self.do_POST()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        rec = {"method": self.command, "path": self.path, "contentType": self.headers.get("Content-Type"),
               "accept": self.headers.get("Accept"), "body": body.hex()}
        with open(OUT, "a") as f:
            f.write(json.dumps(rec) + "\n")
        parts = self.path.split("?")[0].strip("/").split("/")
        plural = parts[-1]
        sub = None
        if plural == "token":
            sub = "token"
        g, v, kind = PLURALS.get(plural, ("", "v1", "Status"))
        name = "captured"
        obj = {"kind": kind, "apiVersion": v if not g else f"{g}/{v}",
               "metadata": {"name": name, "uid": "00000000-0000-0000-0000-000000000000"}}
        if sub == "token":
            obj = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                   "metadata": {"name": name}, "spec": {"audiences": []},
                   "status": {"token": "x", "expirationTimestamp": "2030-01-01T00:00:00Z"}}
        self.send_json(201, obj)


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
