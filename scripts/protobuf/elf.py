import struct
class Elf:
    def __init__(self, path):
        self.data = open(path, 'rb').read()
        d = self.data
        assert d[:4] == b'\x7fELF' and d[4] == 2
        (e_shoff,) = struct.unpack_from('<Q', d, 0x28)
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from('<HHH', d, 0x3a)
        secs = []
        for i in range(e_shnum):
            off = e_shoff + i * e_shentsize
            name, typ, flags, addr, offset, size = struct.unpack_from('<IIQQQQ', d, off)
            secs.append([name, typ, flags, addr, offset, size])
        strtab = secs[e_shstrndx]
        self.sections = {}
        for s in secs:
            n = d[strtab[4] + s[0]:].split(b'\0', 1)[0].decode()
            self.sections[n] = dict(addr=s[3], offset=s[4], size=s[5], type=s[1])
    def off(self, addr):
        for n, s in self.sections.items():
            if s['type'] != 8 and s['addr'] and s['addr'] <= addr < s['addr'] + s['size']:
                return s['offset'] + addr - s['addr']
        raise KeyError(hex(addr))
    def u64(self, addr): return struct.unpack_from('<Q', self.data, self.off(addr))[0]
    def u32(self, addr): return struct.unpack_from('<I', self.data, self.off(addr))[0]
    def i32(self, addr): return struct.unpack_from('<i', self.data, self.off(addr))[0]
    def u8(self, addr): return self.data[self.off(addr)]
    def bytes(self, addr, n): o = self.off(addr); return self.data[o:o + n]
