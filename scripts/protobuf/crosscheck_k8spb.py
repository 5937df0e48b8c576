#!/usr/bin/env python3
"""Cross-check every table field (number, scalar/message/map kind, repeatedness)
against k8s-pb 0.9.0's prost code, which is generated from the real generated.proto files."""
import glob, os, re, sys
from gen_table import Gen, short_pkg

root = glob.glob(os.path.expanduser('~/.cargo/registry/src/*/k8s-pb-0.9.0/src'))[0]
pb = {}  # (pkg, struct) -> {tag: (prost_kind, label, rust_field)}
for path in glob.glob(root + '/**/mod.rs', recursive=True):
    rel = os.path.relpath(os.path.dirname(path), root)
    if rel.startswith('api/'):
        pkg = 'k8s.io/' + rel
    elif rel.startswith('apimachinery/'):
        pkg = 'k8s.io/' + rel
    else:
        continue
    src = open(path).read()
    for m in re.finditer(r'pub struct (\w+) \{(.*?)\n\}', src, re.S):
        fields = {}
        for fm in re.finditer(r'#\[prost\(([^\]]*?)tag = "(\d+)"[^\]]*\)\]\s*(?:///[^\n]*\s*)*pub ((?:r#)?\w+):', m.group(2)):
            attrs, tag, name = fm.group(1), int(fm.group(2)), fm.group(3)
            fields[tag] = (attrs.strip().rstrip(','), name)
        pb[(pkg, m.group(1).lower())] = fields

gen = Gen()
gen.build()
problems = 0
checked = 0
for key in gen.order:
    if (key[0], key[1].lower()) not in pb:
        print('MISSING in k8s-pb:', key); problems += 1; continue
    theirs = pb[(key[0], key[1].lower())]
    mine = {f['num']: f for f in gen.defs[key]}
    for n in sorted(set(theirs) | set(mine)):
        if n not in mine:
            print(f'{short_pkg(key[0])}.{key[1]}: k8s-pb has tag {n} {theirs[n]} not in table'); problems += 1; continue
        if n not in theirs:
            print(f'{short_pkg(key[0])}.{key[1]}: table has {n} {mine[n]["json"]} not in k8s-pb'); problems += 1; continue
        attrs, rname = theirs[n]
        f = mine[n]
        ty = f['ty']
        checked += 1
        if f['shape'] == 'Map':
            ok = attrs.startswith('btree_map') or attrs.startswith('map')
            vt = re.search(r'"string, (\w+)\(?', attrs)
            v = vt.group(1) if vt else None
            exp = {'Str': 'string', 'Bytes': 'bytes'}.get(ty, 'message')
            ok = ok and v == exp
        else:
            kind = attrs.split(',')[0].strip()
            label = attrs.split(',')[1].strip() if ',' in attrs else ''
            exp = {'Str': 'string', 'Bytes': 'bytes', 'Bool': 'bool', 'I32': 'int32', 'I64': 'int64',
                   'F64': 'double', 'U32': 'uint32', 'U64': 'uint64'}.get(ty, 'message') if not isinstance(ty, tuple) else 'message'
            ok = kind == exp and ((label == 'repeated') == (f['shape'] == 'List'))
        # field name: prost snake_case of the proto name; compare loosely with the json name
        jn = re.sub(r'[^a-z0-9]', '', f['json'].lower())
        rn = re.sub(r'[^a-z0-9]', '', rname.lower().removeprefix('r#'))
        if not f['inline'] and jn != rn:
            print(f'{short_pkg(key[0])}.{key[1]}: tag {n} name json={f["json"]} prost={rname}')
        if not ok:
            print(f'{short_pkg(key[0])}.{key[1]}: tag {n} {f["json"]} {f["shape"]} {ty} vs prost {attrs}'); problems += 1
print('checked', checked, 'fields; problems', problems)
