#!/usr/bin/env python3
"""Run each kubectl command in cases.txt against the fake apiserver (capturing the
protobuf POST body) and with --dry-run=client -o json (the JSON kubectl builds)."""
import json, os, shlex, subprocess
os.environ["KUBECONFIG"] = os.path.abspath("kubeconfig")
os.environ["HOME"] = os.path.abspath("home")
KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"
results = []
for line in open("cases.txt"):
    line = line.strip()
    if not line:
        continue
    name, cmd = line.split("|", 1)
    args = shlex.split(cmd)
    if os.path.exists("captures.jsonl"):
        os.remove("captures.jsonl")
    p = subprocess.run([KUBECTL] + args, capture_output=True, text=True)
    caps = [json.loads(l) for l in open("captures.jsonl")] if os.path.exists("captures.jsonl") else []
    # dry-run json: insert flags before a "--" separator
    if "--" in args:
        i = args.index("--")
        dargs = args[:i] + ["--dry-run=client", "-o", "json"] + args[i:]
    else:
        dargs = args + ["--dry-run=client", "-o", "json"]
    d = subprocess.run([KUBECTL] + dargs, capture_output=True, text=True)
    try:
        expected = json.loads(d.stdout)
    except Exception:
        expected = None
    results.append({"name": name, "cmd": "kubectl " + cmd, "rc": p.returncode, "stderr": p.stderr.strip(),
                    "captures": caps, "dry_run_json": expected, "dry_stderr": d.stderr.strip()})
    print(name, "rc", p.returncode, "posts", len(caps), [c["contentType"] for c in caps], "dry", expected is not None,
          (p.stderr.strip() or d.stderr.strip())[:200])
json.dump(results, open("fixtures.json", "w"), indent=1)
