#!/usr/bin/env python3
"""Rebuild Kubernetes v1.33.0's swagger-2.0 `definitions` from kubernetes-validate's
JSON Schema (openapi2jsonschema --kubernetes output), trim them to the kinds kactor
serves, and write them gzipped for the API server to embed.

Kubernetes' own OpenAPI spec (api/openapi-spec in kubernetes/kubernetes, Apache-2.0) is
not on any registry this project reaches; PyPI's kubernetes-validate (Apache-2.0) ships
its definitions for v1.33.0 as JSON Schema, with descriptions and x-kubernetes-*
extensions (group-version-kind, patch merge key and strategy, list type) kept.
Regenerate with:

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    unzip -q /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl -d /tmp/kv/w
    python3 scripts/openapi/reconstruct.py \
        /tmp/kv/w/kubernetes_validate/kubernetes-json-schema/v1.33.0-local/_definitions.json \
        kube/src/openapi

Output: OUT_DIR/definitions.json.gz, `{"definitions": {...}, "definitionsV3": {...}}`
with `#/definitions/` refs, minified, keys sorted, gzip mtime 0 (the same input gives
the same bytes). `definitionsV3` holds the schemas whose OpenAPI v3 form differs from
the swagger one: IntOrString and Quantity are a oneOf in v3 (kube's
OpenAPIV3OneOfTypes), with no `type`, which is also what makes kubectl explain print
`<IntOrString>` and `<map[string]Quantity>` rather than `<string>`.

Only the schemas live here. kube/src/openapi.rs assembles the served
documents from them at run time: /openapi/v2 and the per-group-version /openapi/v3
documents, with `paths` built from the resource registry (so the operations, and the
fieldValidation parameter kubectl looks for on each PATCH, follow what the server
really serves), and `#/components/schemas/` refs in v3. When the registry gains a kind,
add it to ROOTS below and rerun; a test there fails until every served kind has a schema."""
import gzip
import json
import sys

SRC = sys.argv[1]
OUT = sys.argv[2]
defs = json.load(open(SRC))['$defs']


def undo(o):
    """JSON Schema back to swagger 2.0: no null types, #/definitions/ refs, and no
    apiVersion/kind enums (openapi2jsonschema --kubernetes injects them)."""
    if isinstance(o, dict):
        r = {}
        for k, v in o.items():
            if k == 'type' and isinstance(v, list):      # ["string","null"] -> "string"
                v = [t for t in v if t != 'null']
                v = v[0] if len(v) == 1 else v
            elif k == '$ref' and isinstance(v, str):
                v = v.replace('#/$defs/', '#/definitions/')
            elif k == 'properties' and isinstance(v, dict):
                v = {pk: undo(pv) for pk, pv in v.items()}
                for pk in ('apiVersion', 'kind'):
                    if pk in v and isinstance(v[pk], dict):
                        v[pk].pop('enum', None)
                r[k] = v
                continue
            r[k] = undo(v)
        return r
    if isinstance(o, list):
        return [undo(x) for x in o]
    return o


d2 = {k: undo(v) for k, v in defs.items()}
# openapi2jsonschema replaced these two by a oneOf; restore kube's swagger form
# (descriptions: the first paragraph of upstream's).
d2['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = {
    "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
    "format": "int-or-string", "type": "string"}
d2['io.k8s.apimachinery.pkg.api.resource.Quantity'] = {
    "description": "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.",
    "type": "string"}
V3_ONE_OF = {
    'io.k8s.apimachinery.pkg.util.intstr.IntOrString': ['integer', 'string'],
    'io.k8s.apimachinery.pkg.api.resource.Quantity': ['string', 'number'],
}
v3_only = {}
for name, types in V3_ONE_OF.items():
    v3_only[name] = {k: v for k, v in d2[name].items() if k != 'type'}
    v3_only[name]['oneOf'] = [{'type': t} for t in types]

# The served kinds (kube/src/registry.rs) and the kinds their subresources
# take or answer (Scale, Binding, Eviction).
ROOTS = """core.v1.Namespace core.v1.Pod core.v1.Node core.v1.Service core.v1.Endpoints core.v1.ConfigMap core.v1.Secret
core.v1.Event core.v1.ServiceAccount core.v1.PersistentVolume core.v1.PersistentVolumeClaim core.v1.LimitRange core.v1.ResourceQuota
core.v1.Binding policy.v1.Eviction
apps.v1.Deployment apps.v1.ReplicaSet apps.v1.StatefulSet apps.v1.DaemonSet apps.v1.ControllerRevision batch.v1.Job batch.v1.CronJob
autoscaling.v2.HorizontalPodAutoscaler autoscaling.v1.Scale coordination.v1.Lease rbac.v1.Role rbac.v1.ClusterRole rbac.v1.RoleBinding
rbac.v1.ClusterRoleBinding storage.v1.StorageClass discovery.v1.EndpointSlice
authorization.v1.SelfSubjectAccessReview authorization.v1.SelfSubjectRulesReview
authorization.v1.SubjectAccessReview authorization.v1.LocalSubjectAccessReview
authentication.v1.SelfSubjectReview authentication.v1.TokenRequest""".split()
roots = []
for r in ROOTS:
    roots += ['io.k8s.api.' + r, 'io.k8s.api.' + r + 'List']
roots += ['io.k8s.apimachinery.pkg.apis.meta.v1.' + x for x in
          'ObjectMeta Status DeleteOptions WatchEvent APIResourceList APIGroup APIGroupList APIVersions Patch ListMeta'.split()]
missing_roots = [r for r in roots if r not in d2 and not r.endswith('List')]
assert not missing_roots, missing_roots
roots = [r for r in roots if r in d2]

keep, stack = set(), list(roots)
while stack:
    n = stack.pop()
    if n in keep:
        continue
    keep.add(n)
    for ref in json.dumps(d2[n]).split('"#/definitions/')[1:]:
        stack.append(ref.split('"')[0])
dangling = sorted(k for k in keep if k not in d2)
assert not dangling, dangling

trimmed = {k: d2[k] for k in sorted(keep)}
text = json.dumps({"definitions": trimmed, "definitionsV3": v3_only}, separators=(',', ':'), sort_keys=True)
packed = gzip.compress(text.encode(), 9, mtime=0)
open(OUT + '/definitions.json.gz', 'wb').write(packed)
print('definitions: all %d, kept %d; %d bytes, %d gzipped' % (len(d2), len(trimmed), len(text), len(packed)))
