"""Read Go runtime type metadata (reflection data) out of a static, non-PIE Go 1.24
binary: every struct type's name, package path and fields (name, type, tag)."""
import struct
from elf import Elf

KINDS = {1: 'bool', 2: 'int', 3: 'int8', 4: 'int16', 5: 'int32', 6: 'int64', 7: 'uint', 8: 'uint8',
         9: 'uint16', 10: 'uint32', 11: 'uint64', 12: 'uintptr', 13: 'float32', 14: 'float64',
         17: 'array', 19: 'func', 20: 'interface', 21: 'map', 22: 'ptr', 23: 'slice', 24: 'string',
         25: 'struct', 26: 'unsafeptr', 18: 'chan', 15: 'complex64', 16: 'complex128'}


class GoBin:
    def __init__(self, path):
        self.e = e = Elf(path)
        pcl = e.sections['.gopclntab']['addr']
        s = e.sections['.noptrdata']
        blob = e.data[s['offset']:s['offset'] + s['size']]
        md = s['addr'] + blob.find(struct.pack('<Q', pcl))
        self.types = e.u64(md + 8 * 37)
        self.etypes = e.u64(md + 8 * 38)
        self.cache = {}

    def name_at(self, p):
        e = self.e
        flags = e.u8(p)
        p += 1
        n, p = self.varint(p)
        name = e.bytes(p, n).decode('utf-8', 'replace')
        p += n
        tag = None
        if flags & 2:
            tn, p = self.varint(p)
            tag = e.bytes(p, tn).decode('utf-8', 'replace')
        return flags, name, tag

    def varint(self, p):
        v = 0
        shift = 0
        while True:
            b = self.e.u8(p)
            p += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if b < 0x80:
                return v, p

    def type(self, a):
        """Describe the type at address a as a small dict (memoised)."""
        if a in self.cache:
            return self.cache[a]
        e = self.e
        tflag = e.u8(a + 20)
        kind = KINDS.get(e.u8(a + 23) & 0x1f, '?')
        stroff = e.i32(a + 40)
        _, s, _ = self.name_at(self.types + stroff)
        if tflag & 2:
            s = s[1:]
        t = {'addr': a, 'kind': kind, 'str': s, 'named': bool(tflag & 4), 'pkg': None}
        self.cache[a] = t
        extra = {'struct': 80, 'ptr': 56, 'slice': 56, 'map': 88, 'array': 72}.get(kind)
        if tflag & 1 and extra is not None:
            if kind == 'map':
                extra = None  # map type layout differs (swiss); pkg path not needed for maps
            else:
                pk = e.i32(a + extra)
                if pk:
                    t['pkg'] = self.name_at(self.types + pk)[1]
        if kind in ('ptr', 'slice', 'array'):
            t['elem'] = e.u64(a + 48)
        elif kind == 'map':
            t['key'] = e.u64(a + 48)
            t['elem'] = e.u64(a + 56)
        elif kind == 'struct':
            fp, fl = e.u64(a + 56), e.u64(a + 64)
            fields = []
            for i in range(fl):
                f = fp + 24 * i
                flags, fname, tag = self.name_at(e.u64(f))
                fields.append({'name': fname, 'type': e.u64(f + 8), 'tag': tag, 'embedded': bool(flags & 8)})
            t['fields'] = fields
        return t

    def scan_structs(self):
        """All named struct types: {(pkg, name): addr}."""
        e = self.e
        out = {}
        base = e.off(self.types)
        data = e.data
        for a in range(self.types, self.etypes - 88, 8):
            o = base + a - self.types
            if data[o + 23] & 0x1f != 25 or not data[o + 20] & 4:
                continue
            fp, fl, fc = struct.unpack_from('<QQQ', data, o + 56)
            if fl != fc or fl > 1000 or not (self.types <= fp < self.etypes or fl == 0):
                continue
            try:
                t = self.type(a)
            except Exception:
                continue
            if t['pkg']:
                out[(t['pkg'], t['str'].split('.')[-1])] = a
        return out
