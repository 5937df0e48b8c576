#!/usr/bin/env python3
"""Emit the kubectl fixtures (capture/fixtures.json) as a Rust table for protobuf.rs's tests."""
import json, sys
fx = json.load(open(sys.argv[2] if len(sys.argv) > 2 else 'capture/fixtures.json'))
TOKEN_JSON = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
              "metadata": {"creationTimestamp": None},
              "spec": {"audiences": ["aud"], "expirationSeconds": 600,
                       "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "123"}},
              "status": {"token": "", "expirationTimestamp": None}}
out = []
w = out.append
w('    /// (command, body kubectl v1.33.1 sent, the JSON `<command> --dry-run=client -o json` prints).')
w('    #[rustfmt::skip]')
w('    const KUBECTL_FIXTURES: &[(&str, &str, &str)] = &[')
for r in fx:
    caps = [c for c in r['captures'] if c['contentType'] == 'application/vnd.kubernetes.protobuf']
    if not caps:
        continue
    assert len(caps) == 1
    expected = r['dry_run_json'] if r['name'] != 'token' else TOKEN_JSON
    hexs = caps[0]['body']
    cmd = r['cmd']
    if r['name'] == 'token':
        cmd += '  (no --dry-run: expected JSON written by hand)'
    w(f'        (')
    w(f'            {json.dumps(cmd)},')
    chunks = [hexs[i:i + 88] for i in range(0, len(hexs), 88)]
    w('            "' + '\\\n             '.join(chunks) + '",')
    js = json.dumps(expected, separators=(',', ':'), ensure_ascii=False)
    assert '"#' not in js
    w(f'            r#"{js}"#,')
    w(f'        ),')
w('    ];')
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
print(len([l for l in out if l.strip() == '(']), 'fixtures', file=sys.stderr)
