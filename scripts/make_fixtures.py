#!/usr/bin/env python3
# Generates the small image fixtures of tests/datasets/ (committed; rerun only to change them, and
# commit the diff on its own):
#   - JPEG: a synthetic 37×29 image encoded by libjpeg-turbo's cjpeg in every variant the decoder claims
#     (baseline 4:4:4/4:2:2/4:2:0/4:4:0/4:1:1, grayscale, progressive, restart markers, optimized
#     tables, arithmetic coding to test refusal) with reference decodes by djpeg (PPM/PGM) — an
#     independent decoder (islow IDCT + fancy upsampling, the defaults).
#   - PNG: written here with zlib, one file per colour type × bit depth × interlace, the five filters
#     used in turn on successive rows (plus one file per filter); the reference is the source pixels
#     themselves (PNG is lossless), reduced to 8 bits as the decoder documents.
# Needs python3 and cjpeg/djpeg (Debian: apt-get install libjpeg-turbo-progs). Deterministic.
import json, os, struct, subprocess, zlib, math

OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'images')
os.makedirs(OUT, exist_ok=True)
manifest = {'generator': 'scripts/make_fixtures.py', 'jpeg': [], 'png': []}

W, H = 37, 29
def pixel(x, y):
    r = (x * 7 + y * 3) % 256
    g = int(127.5 + 127 * math.sin(x / 5.0) * math.cos(y / 4.0))
    b = 255 if ((x // 6) + (y // 5)) % 2 else 30
    return r, g, b

def write_ppm(path, w, h, rgb):
    with open(path, 'wb') as f:
        f.write(b'P6\n%d %d\n255\n' % (w, h))
        f.write(bytes(rgb))

src_rgb = []
for y in range(H):
    for x in range(W):
        src_rgb += pixel(x, y)
tmp_ppm = os.path.join(OUT, '_source.ppm')
write_ppm(tmp_ppm, W, H, src_rgb)

jpeg_variants = [
    ('baseline_444', ['-quality', '90', '-sample', '1x1']),
    ('baseline_422', ['-quality', '90', '-sample', '2x1']),
    ('baseline_420', ['-quality', '75', '-sample', '2x2']),
    ('baseline_440', ['-quality', '90', '-sample', '1x2']),
    ('baseline_411', ['-quality', '90', '-sample', '4x1']),
    ('gray', ['-quality', '85', '-grayscale']),
    ('optimized_420', ['-quality', '80', '-optimize']),
    ('progressive_420', ['-quality', '80', '-progressive', '-sample', '2x2']),
    ('progressive_444', ['-quality', '95', '-progressive', '-sample', '1x1']),
    ('progressive_gray', ['-quality', '85', '-grayscale', '-progressive']),
    ('restart_rows_422', ['-quality', '85', '-sample', '2x1', '-restart', '1']),
    ('restart_blocks_420', ['-quality', '85', '-sample', '2x2', '-restart', '2B']),
    ('progressive_restart_420', ['-quality', '85', '-progressive', '-restart', '3B']),
]
for name, args in jpeg_variants:
    jpg = os.path.join(OUT, name + '.jpg')
    subprocess.run(['cjpeg', *args, '-outfile', jpg, tmp_ppm], check=True)
    gray = '-grayscale' in args
    ref = os.path.join(OUT, name + ('.pgm' if gray else '.ppm'))
    subprocess.run(['djpeg', '-pnm', '-outfile', ref, jpg], check=True)
    manifest['jpeg'].append({'file': name + '.jpg', 'reference': os.path.basename(ref), 'width': W, 'height': H,
                             'channels': 1 if gray else 3, 'progressive': '-progressive' in args})
arith = os.path.join(OUT, 'arithmetic.jpg')
subprocess.run(['cjpeg', '-quality', '80', '-arithmetic', '-outfile', arith, tmp_ppm], check=True)
manifest['jpeg_refused'] = [{'file': 'arithmetic.jpg', 'reason': 'arithmetic'}]
os.remove(tmp_ppm)

# ---- PNG ----------------------------------------------------------------------------------------
PW, PH = 13, 11
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)

def filter_row(ft, row, prev, bpp):
    out = bytearray()
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if (prev is not None and i >= bpp) else 0
        x = row[i]
        out.append((x - [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]) & 255)
    return bytes([ft]) + bytes(out)

def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b''.join(struct.pack('>H', s) for s in samples)
    out = bytearray()
    acc, nbits = 0, 0
    for s in samples:
        acc = (acc << depth) | s
        nbits += depth
        if nbits == 8:
            out.append(acc); acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)

def encode(path, w, h, ctype, depth, samples_at, interlace, filt, plte=None, trns=None):
    nch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = max(1, nch * depth // 8)
    raw = bytearray()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)]
    rowno = 0
    for (x0, y0, dx, dy) in passes:
        xs = list(range(x0, w, dx)); ys = list(range(y0, h, dy))
        if not xs or not ys:
            continue
        prev = None
        for y in ys:
            row = pack_row([s for x in xs for s in samples_at(x, y)], depth)
            ft = filt if filt is not None else rowno % 5
            raw += filter_row(ft, row, prev, bpp)
            prev = row
            rowno += 1
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, interlace))
    if plte is not None:
        data += chunk(b'PLTE', bytes(c for rgb in plte for c in rgb))
    if trns is not None:
        data += chunk(b'tRNS', bytes(trns))
    z = zlib.compress(bytes(raw), 9)
    # Two IDAT chunks: decoders must concatenate them.
    data += chunk(b'IDAT', z[: len(z) // 2]) + chunk(b'IDAT', z[len(z) // 2:]) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(data)

def sample_value(x, y, c, depth):
    m = (1 << depth) - 1
    return (x * 37 + y * 101 + c * 53 + x * y * 7) % (m + 1)

palette = [((i * 40) % 256, (i * 90 + 17) % 256, (255 - i * 13) % 256) for i in range(16)]
alphas = [(i * 17) % 256 for i in range(16)]
cases = []
for depth in (1, 2, 4, 8, 16):
    cases.append(('gray', 0, depth))
for depth in (1, 2, 4, 8):
    cases.append(('palette', 3, depth))
for depth in (8, 16):
    cases += [('rgb', 2, depth), ('gray_alpha', 4, depth), ('rgba', 6, depth)]

def expected_pixels(ctype, depth, samples_at, w, h, trns):
    out = bytearray()
    for y in range(h):
        for x in range(w):
            s = samples_at(x, y)
            if ctype == 3:
                r, g, b = palette[s[0]]
                out += bytes([r, g, b] + ([alphas[s[0]]] if trns else []))
            elif depth == 16:
                out += bytes(v >> 8 for v in s)
            elif depth < 8:
                out += bytes(v * 255 // ((1 << depth) - 1) for v in s)
            else:
                out += bytes(s)
    return out

for label, ctype, depth in cases:
    nch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    if ctype == 3:
        ncol = min(16, 1 << depth)
        at = lambda x, y, n=ncol: [(x * 5 + y * 3 + x * y) % n]
    else:
        at = lambda x, y, n=nch, d=depth: [sample_value(x, y, c, d) for c in range(n)]
    for interlace in (0, 1):
        variants = [(None, None)]
        if ctype == 3 and depth == 8:
            variants.append(('trns', alphas))
        for tag, trns in variants:
            name = f'{label}_{depth}{"_adam7" if interlace else ""}{"_trns" if tag else ""}'
            encode(os.path.join(OUT, name + '.png'), PW, PH, ctype, depth, at, interlace, None,
                   palette[: (1 << depth) if depth < 8 else 16] if ctype == 3 else None, trns)
            exp = expected_pixels(ctype, depth, at, PW, PH, trns)
            with open(os.path.join(OUT, name + '.rgba'), 'wb') as f:
                f.write(exp)
            channels = (4 if trns else 3) if ctype == 3 else nch
            manifest['png'].append({'file': name + '.png', 'reference': name + '.rgba', 'width': PW, 'height': PH,
                                    'channels': channels, 'interlaced': bool(interlace)})
# One RGB file per filter type, so a wrong filter shows up by name.
for ft in range(5):
    name = f'rgb_8_filter{ft}'
    at = lambda x, y: [sample_value(x, y, c, 8) for c in range(3)]
    encode(os.path.join(OUT, name + '.png'), PW, PH, 2, 8, at, 0, ft)
    with open(os.path.join(OUT, name + '.rgba'), 'wb') as f:
        f.write(expected_pixels(2, 8, at, PW, PH, None))
    manifest['png'].append({'file': name + '.png', 'reference': name + '.rgba', 'width': PW, 'height': PH, 'channels': 3, 'interlaced': False})

with open(os.path.join(OUT, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=1)
print(f"wrote {len(manifest['jpeg'])} JPEG and {len(manifest['png'])} PNG fixtures to {OUT}")
