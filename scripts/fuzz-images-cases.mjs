// Seeded, deterministic image fuzz cases for the Worker's /v1/classify and /v1/detect.
// Shared by scripts/fuzz-images.mjs (full size, Node -> `wrangler dev` on loopback) and
// test/worker/fuzz-images.test.ts (smoke size, inside workerd). Web-standard APIs only
// (Uint8Array, CompressionStream, TextEncoder), plus jpeg-js's encoder.
//
//   const corpus = await buildImageCorpus(samples);     // samples: [{ name, bytes }]
//   for (let i = 0; i < n; i++) { const c = imageCase(corpus, seed, i); ... }
//
// Case i < corpus.crafted.length is crafted case i (always all of them, in order); later
// indices are random mutations of the samples, each derived from (seed, i) alone, so any
// single case can be replayed with `--only i`.
import jpegJs from 'jpeg-js';

/** Statuses a fuzzed image request may get: 2xx, or the documented 4xx. */
export const ALLOWED_STATUSES = Object.freeze([200, 400, 401, 403, 404, 413, 415, 422]);

/** A 413 for a size bomb must come from the header checks (probeImage / the scan count),
 *  not from a decoder that already allocated: these are the messages of those checks. */
export const HEADER_413_RE = /^image is \d+x\d+ \(|^decoding this \d+x\d+ (JPEG|PNG) needs ~\d+ MiB|^JPEG has more than \d+ scans/;

// ------------------------------------------------------------------ random numbers

/** mulberry32: small, fast, seedable; good enough to pick mutations. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    /** integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
    /** pick by weight from [[weight, value], ...] */
    weighted: (pairs) => {
      let total = 0;
      for (const [w] of pairs) total += w;
      let x = next() * total;
      for (const [w, v] of pairs) {
        x -= w;
        if (x < 0) return v;
      }
      return pairs[pairs.length - 1][1];
    },
  };
  return r;
}

/** A per-case seed: mixes the run seed and the case index. */
export function caseSeed(seed, index) {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ------------------------------------------------------------------ byte helpers

export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const be16 = (v) => [(v >> 8) & 255, v & 255];
const be32 = (v) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const ascii = (s) => new TextEncoder().encode(s);

let crcTable = null;
export function crc32(b, start = 0, end = b.length) {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c;
    }
  }
  let c = -1;
  for (let i = start; i < end; i++) c = crcTable[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

async function deflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// ------------------------------------------------------------------ PNG

export function pngChunk(type, data, { badCrc = false } = {}) {
  const td = concat([ascii(type), data]);
  const crc = crc32(td) ^ (badCrc ? 1 : 0);
  return concat([Uint8Array.from(be32(data.length)), td, Uint8Array.from(be32(crc >>> 0))]);
}

export const PNG_SIG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function ihdr(width, height, bitDepth = 8, colorType = 2, interlace = 0) {
  return pngChunk('IHDR', Uint8Array.from([...be32(width), ...be32(height), bitDepth, colorType, 0, 0, interlace]));
}

const PNG_CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A valid (non-interlaced) PNG with a simple gradient pattern. */
export async function makePng(width, height, { colorType = 2, bitDepth = 8, palette = null, extraChunks = [] } = {}) {
  const bpp = PNG_CHANNELS[colorType] * bitDepth;
  const rowBytes = Math.ceil((width * bpp) / 8);
  const raw = new Uint8Array(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (rowBytes + 1)] = y % 5; // every filter type
    for (let i = 0; i < rowBytes; i++) raw[y * (rowBytes + 1) + 1 + i] = (i * 7 + y * 13) & 255;
  }
  const parts = [PNG_SIG, ihdr(width, height, bitDepth, colorType, 0), ...extraChunks];
  if (palette) parts.push(pngChunk('PLTE', palette));
  parts.push(pngChunk('IDAT', await deflate(raw)), pngChunk('IEND', new Uint8Array(0)));
  return concat(parts);
}

/** Adam7-interlaced PNG of any size (including 1x1, where most passes are empty). */
export async function makeInterlacedPng(width, height) {
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  const rows = [];
  for (const [x0, y0, dx, dy] of passes) {
    const w = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const h = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (w === 0 || h === 0) continue;
    for (let y = 0; y < h; y++) {
      const row = new Uint8Array(1 + 3 * w);
      row[0] = 1;
      for (let i = 1; i < row.length; i++) row[i] = (i * 31 + y) & 255;
      rows.push(row);
    }
  }
  return concat([PNG_SIG, ihdr(width, height, 8, 2, 1), pngChunk('IDAT', await deflate(concat(rows))), pngChunk('IEND', new Uint8Array(0))]);
}

/** PNG chunks: [{ type, start, end }] (end exclusive, including the CRC). */
export function pngChunks(bytes) {
  const out = [];
  let off = 8;
  while (off + 12 <= bytes.length) {
    const len = ((bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3]) >>> 0;
    const end = off + 12 + len;
    if (end > bytes.length) break;
    out.push({ type: String.fromCharCode(...bytes.subarray(off + 4, off + 8)), start: off, end });
    off = end;
  }
  return out;
}

// ------------------------------------------------------------------ JPEG

function segment(marker, payload) {
  return concat([Uint8Array.from([0xff, marker, ...be16(payload.length + 2)]), payload]);
}

const DQT_FLAT = segment(0xdb, Uint8Array.from([0, ...new Array(64).fill(1)]));
// Huffman tables with a single 1-bit code each: DC category 0 ("no change") and
// AC symbol 0x00 (EOB). Every block of a flat image is then 2 bits: 0 (DC) 0 (EOB).
const DHT_MIN = segment(0xc4, Uint8Array.from([
  0x00, 1, ...new Array(15).fill(0), 0x00, // DC table 0
  0x10, 1, ...new Array(15).fill(0), 0x00, // AC table 0
]));

/** Entropy-coded data of `bits` zero bits, padded with 1s (never contains 0xFF). */
function zeroBits(bits) {
  const n = Math.ceil(bits / 8);
  const out = new Uint8Array(n);
  const r = bits % 8;
  if (r !== 0) out[n - 1] = (1 << (8 - r)) - 1;
  return out;
}

/**
 * A valid, flat (mid-grey) JPEG of any size and component layout, built by hand:
 * DC-only blocks with minimal Huffman tables, so it is tiny whatever the dimensions.
 * opts: components [{ id, h, v }] (default 1 grey component), sof (0xC0/0xC1/0xC2),
 * adobe (APP14 transform code or undefined), extraScans (progressive: repeat the DC scan).
 */
export function flatJpeg(width, height, opts = {}) {
  const comps = opts.components ?? [{ id: 1, h: 1, v: 1 }];
  const sof = opts.sof ?? 0xc0;
  const maxH = Math.max(...comps.map((c) => c.h));
  const maxV = Math.max(...comps.map((c) => c.v));
  const parts = [Uint8Array.from([0xff, 0xd8])];
  if (opts.adobe !== undefined) {
    parts.push(segment(0xee, Uint8Array.from([...ascii('Adobe'), 0, 100, 0, 0, 0, 0, opts.adobe])));
  }
  parts.push(DQT_FLAT);
  parts.push(segment(sof, Uint8Array.from([
    opts.precision ?? 8, ...be16(height), ...be16(width), comps.length,
    ...comps.flatMap((c) => [c.id, (c.h << 4) | c.v, 0]),
  ])));
  parts.push(DHT_MIN);
  const mcusX = Math.ceil(width / 8 / maxH);
  const mcusY = Math.ceil(height / 8 / maxV);
  const blocksOf = (c) => Math.ceil((Math.ceil(width / 8) * c.h) / maxH) * Math.ceil((Math.ceil(height / 8) * c.v) / maxV);
  const scan = (cs, ss, se, bitsPerBlock) => {
    const header = segment(0xda, Uint8Array.from([cs.length, ...cs.flatMap((c) => [c.id, 0x00]), ss, se, 0]));
    const blocks = cs.length === 1 ? blocksOf(cs[0]) : mcusX * mcusY * cs.reduce((n, c) => n + c.h * c.v, 0);
    const bits = blocks * bitsPerBlock;
    // maxDataBytes: cut the entropy-coded data (a bomb claims a size it does not carry)
    return concat([header, zeroBits(opts.maxDataBytes === undefined ? bits : Math.min(bits, opts.maxDataBytes * 8))]);
  };
  if (sof === 0xc2) {
    // progressive: DC first scan (1 bit per block), then one AC scan per component
    // (EOB: 1 bit per block), then `extraScans` repeats of the DC scan.
    parts.push(scan(comps, 0, 0, 1));
    for (const c of comps) parts.push(scan([c], 1, 63, 1));
    for (let i = 0; i < (opts.extraScans ?? 0); i++) parts.push(scan(comps, 0, 0, 1));
  } else {
    parts.push(scan(comps, 0, 63, 2));
  }
  parts.push(Uint8Array.from([0xff, 0xd9]));
  return concat(parts);
}

/** jpeg-js's encoder (baseline 4:2:0 YCbCr) on a synthetic RGBA pattern. */
export function encodeJpeg(width, height, quality = 80) {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0, p = 0; p < width * height; p++, i += 4) {
    data[i] = (p * 3) & 255;
    data[i + 1] = ((p / width) * 5) & 255;
    data[i + 2] = (p * 11) & 255;
    data[i + 3] = 255;
  }
  // jpeg-js returns a Buffer when `module` exists (CommonJS); workerd without
  // nodejs_compat has no Buffer: give it a Uint8Array-based stand-in meanwhile.
  const g = globalThis;
  const hadBuffer = typeof g.Buffer !== 'undefined';
  if (!hadBuffer) g.Buffer = { from: (a) => Uint8Array.from(a) };
  try {
    const out = jpegJs.encode({ data, width, height }, quality).data;
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
  } finally {
    if (!hadBuffer) delete g.Buffer;
  }
}

/** JPEG marker segments: [{ marker, start, end }]; an SOS segment's end includes its
 *  entropy-coded data (up to the next real marker). Stops at EOI. */
export function jpegSegments(bytes) {
  const out = [];
  const n = bytes.length;
  let off = 2;
  while (off + 4 <= n) {
    if (bytes[off] !== 0xff) break;
    const m = bytes[off + 1];
    if (m === 0xd9) {
      out.push({ marker: m, start: off, end: off + 2 });
      break;
    }
    if (m === 0xff) { off++; continue; }
    const len = (bytes[off + 2] << 8) | bytes[off + 3];
    let end = off + 2 + len;
    if (end > n) break;
    if (m === 0xda) {
      let k = end;
      for (;;) {
        k = bytes.indexOf(0xff, k);
        if (k < 0 || k + 1 >= n) { k = n; break; }
        const b = bytes[k + 1];
        if (b === 0x00 || (b >= 0xd0 && b <= 0xd7) || b === 0xff) { k += 1; continue; }
        break;
      }
      end = k;
    }
    out.push({ marker: m, start: off, end });
    off = end;
  }
  return out;
}

/** Byte offset of the SOFn segment (its 0xFF), or -1. */
function sofOffset(bytes) {
  for (const s of jpegSegments(bytes)) {
    const m = s.marker;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return s.start;
  }
  return -1;
}

/** An APP1 Exif segment with the given orientation and optional forged structure. */
export function exifApp1({ orientation = 6, little = true, ifdOffset = 8, count = 1, type = 3, truncate = 0 } = {}) {
  const u16 = (v) => (little ? [v & 255, (v >> 8) & 255] : be16(v));
  const u32 = (v) => (little ? [v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255] : be32(v));
  const tiff = [...(little ? [0x49, 0x49] : [0x4d, 0x4d]), ...u16(42), ...u32(ifdOffset), ...u16(count),
    ...u16(0x0112), ...u16(type), ...u32(1), ...u16(orientation), 0, 0, ...u32(0)];
  const payload = Uint8Array.from([...ascii('Exif'), 0, 0, ...tiff]);
  return segment(0xe1, payload.subarray(0, payload.length - truncate));
}

// ------------------------------------------------------------------ corpus

/**
 * Everything the cases are made from: the samples (with their format) and the crafted
 * images. samples: [{ name, bytes }] (JPEG or PNG files).
 */
export async function buildImageCorpus(samples) {
  const s = samples.map((x) => ({ name: x.name, bytes: x.bytes, format: x.bytes[0] === 0xff ? 'jpeg' : 'png' }));
  const jpegs = s.filter((x) => x.format === 'jpeg');
  const pngs = s.filter((x) => x.format === 'png');
  if (jpegs.length === 0 || pngs.length === 0) throw new Error('the image fuzz needs at least one JPEG and one PNG sample');
  const smallJpeg = [...jpegs].sort((a, b) => a.bytes.length - b.bytes.length)[0];
  const ycc = [{ id: 1, h: 2, v: 2 }, { id: 2, h: 1, v: 1 }, { id: 3, h: 1, v: 1 }];
  const cmyk = [1, 2, 3, 4].map((id) => ({ id, h: 1, v: 1 }));
  const ok = [200];
  const bomb = [413];
  const bad = [422];

  const crafted = [];
  const add = (name, bytes, expect, extra = {}) => crafted.push({ name, bytes, expect, contentType: extra.contentType, bomb: extra.bomb ?? false });

  // tiny and extreme aspect ratios, valid files
  add('png 1x1 RGB', await makePng(1, 1), ok);
  add('png 20000x1 RGB', await makePng(20000, 1), ok);
  add('png 1x20000 grey', await makePng(1, 20000, { colorType: 0 }), ok);
  add('png 1x1 Adam7', await makeInterlacedPng(1, 1), ok);
  add('png 3x2 Adam7', await makeInterlacedPng(3, 2), ok);
  add('png 2x2 palette 1-bit', await makePng(2, 2, { colorType: 3, bitDepth: 1, palette: Uint8Array.from([0, 0, 0, 255, 255, 255]) }), ok);
  add('png 4x4 RGBA 16-bit', await makePng(4, 4, { colorType: 6, bitDepth: 16 }), ok);
  add('jpeg 1x1 (jpeg-js encode)', encodeJpeg(1, 1), ok);
  add('jpeg 20000x1 (jpeg-js encode)', encodeJpeg(20000, 1), ok);
  add('jpeg 1x20000 (jpeg-js encode)', encodeJpeg(1, 20000), ok);
  add('jpeg 1x1 flat grey', flatJpeg(1, 1), ok);
  add('jpeg 20000x1 flat 4:2:0', flatJpeg(20000, 1, { components: ycc }), ok);
  add('jpeg 17x9 flat 4:2:0 progressive', flatJpeg(17, 9, { components: ycc, sof: 0xc2 }), ok);
  add('jpeg 64x32 4:2:0 exif orientation 6', concat([Uint8Array.from([0xff, 0xd8]), exifApp1({ orientation: 6 }), flatJpeg(64, 32, { components: ycc }).subarray(2)]), ok);
  add('jpeg forged exif (IFD past the end)', concat([Uint8Array.from([0xff, 0xd8]), exifApp1({ ifdOffset: 0xfffffff0 }), flatJpeg(16, 16).subarray(2)]), ok);
  add('jpeg forged exif (65535 entries)', concat([Uint8Array.from([0xff, 0xd8]), exifApp1({ count: 65535, little: false }), flatJpeg(16, 16).subarray(2)]), ok);
  add('jpeg truncated exif', concat([Uint8Array.from([0xff, 0xd8]), exifApp1({ truncate: 7 }), flatJpeg(16, 16).subarray(2)]), ok);
  // CMYK: a 4-component frame without an Adobe APP14 marker, and with one
  add('jpeg CMYK 4-component, no APP14', flatJpeg(32, 32, { components: cmyk }), [200, 422]);
  add('jpeg CMYK 4-component, APP14 transform 0', flatJpeg(32, 32, { components: cmyk, adobe: 0 }), [200, 422]);
  add('jpeg YCCK 4-component, APP14 transform 2', flatJpeg(32, 32, { components: cmyk, adobe: 2 }), [200, 422]);
  add('jpeg RGB 3-component ids R,G,B', flatJpeg(16, 16, { components: [{ id: 82, h: 1, v: 1 }, { id: 71, h: 1, v: 1 }, { id: 66, h: 1, v: 1 }] }), ok);
  add('jpeg 3-component, APP14 transform 1', flatJpeg(16, 16, { components: ycc, adobe: 1 }), ok);
  // unsupported coding processes / layouts
  add('jpeg 2 components', flatJpeg(16, 16, { components: [{ id: 1, h: 1, v: 1 }, { id: 2, h: 1, v: 1 }] }), bad);
  add('jpeg 12-bit precision', flatJpeg(16, 16, { precision: 12 }), bad);
  add('jpeg SOF3 lossless', flatJpeg(16, 16, { sof: 0xc3 }), bad);
  add('jpeg SOF9 arithmetic', flatJpeg(16, 16, { sof: 0xc9 }), bad);
  add('jpeg zero height (DNL)', flatJpeg(16, 0), bad);
  add('jpeg sampling factor 0', flatJpeg(16, 16, { components: [{ id: 1, h: 0, v: 1 }] }), bad);
  // decompression bombs: must be refused from the header (413), nothing decoded
  add('jpeg bomb SOF 65535x65535', flatJpeg(65535, 65535, { maxDataBytes: 1024 }), bomb, { bomb: true });
  add('jpeg bomb SOF 65535x400 4:4:4', flatJpeg(65535, 400, { components: [{ id: 1, h: 1, v: 1 }, { id: 2, h: 1, v: 1 }, { id: 3, h: 1, v: 1 }], maxDataBytes: 1024 }), bomb, { bomb: true });
  // 12 MP: over the memory limit for jpeg-js (413 from the header); the Worker's wasm JPEG
  // decoder (src/image/wasmjpeg.ts) decodes it reduced in ~2 MiB and finds the data cut (422)
  add('jpeg bomb 4000x3000 (under the pixel limit, over the memory limit)', flatJpeg(4000, 3000, { components: ycc, maxDataBytes: 1024 }), [413, 422], { bomb: true });
  add('jpeg bomb 6000x4001 (one row over the 24 MP pixel limit)', flatJpeg(6000, 4001, { components: ycc, maxDataBytes: 1024 }), bomb, { bomb: true });
  add('jpeg bomb 5000 progressive scans', flatJpeg(64, 64, { sof: 0xc2, extraScans: 5000 }), bomb, { bomb: true });
  add('jpeg 33 scans (one over the limit)', flatJpeg(8, 8, { sof: 0xc2, extraScans: 31 }), bomb, { bomb: true });
  add('jpeg 32 scans (at the limit)', flatJpeg(8, 8, { sof: 0xc2, extraScans: 30 }), [200, 422]);
  add('png bomb IHDR 2147483647x2147483647', concat([PNG_SIG, ihdr(0x7fffffff, 0x7fffffff), pngChunk('IEND', new Uint8Array(0))]), bomb, { bomb: true });
  add('png bomb IHDR 100000x100000', concat([PNG_SIG, ihdr(100000, 100000), pngChunk('IDAT', await deflate(new Uint8Array(1 << 16))), pngChunk('IEND', new Uint8Array(0))]), bomb, { bomb: true });
  add('png bomb 4800x4800 RGBA 16-bit (under the pixel limit)', concat([PNG_SIG, ihdr(4800, 4800, 16, 6), pngChunk('IEND', new Uint8Array(0))]), bomb, { bomb: true });
  add('png IHDR 0x0', concat([PNG_SIG, ihdr(0, 0), pngChunk('IEND', new Uint8Array(0))]), bad);
  add('png IHDR 2^32-1 wide', concat([PNG_SIG, ihdr(0xffffffff, 1), pngChunk('IEND', new Uint8Array(0))]), [413, 422]);
  // zip bomb: a small header, an IDAT that inflates to 64 MiB of zeros
  add('png inflate bomb (64x64 declared, 64 MiB inflated)', concat([PNG_SIG, ihdr(64, 64), pngChunk('IDAT', await deflate(new Uint8Array(64 << 20))), pngChunk('IEND', new Uint8Array(0))]), bad);
  // IDAT split into 4096 one-byte chunks, and trailing garbage after the zlib stream
  {
    const raw = new Uint8Array(32 * (1 + 32 * 3));
    const z = await deflate(raw);
    const chunks = [];
    for (let i = 0; i < z.length; i++) chunks.push(pngChunk('IDAT', z.subarray(i, i + 1)));
    for (let i = z.length; i < 4096; i++) chunks.push(pngChunk('IDAT', new Uint8Array(0)));
    add('png IDAT in 4096 chunks', concat([PNG_SIG, ihdr(32, 32), ...chunks, pngChunk('IEND', new Uint8Array(0))]), ok);
    const garbage = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
    add('png 1 MiB of garbage after the zlib stream', concat([PNG_SIG, ihdr(32, 32), pngChunk('IDAT', concat([z, garbage])), pngChunk('IEND', new Uint8Array(0))]), [200, 422]);
  }
  add('png unknown critical chunk', concat([PNG_SIG, ihdr(1, 1), pngChunk('ABCD', new Uint8Array(4)), pngChunk('IDAT', await deflate(new Uint8Array(4))), pngChunk('IEND', new Uint8Array(0))]), bad);
  add('png bad IHDR CRC', concat([PNG_SIG, pngChunk('IHDR', Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]), { badCrc: true }), pngChunk('IEND', new Uint8Array(0))]), bad);
  add('png palette without PLTE', await makePng(4, 4, { colorType: 3, bitDepth: 8 }), bad);
  // zero-length bodies, signatures only, wrong content types
  add('empty body', new Uint8Array(0), [400]);
  add('empty body, image/png', new Uint8Array(0), [400], { contentType: 'image/png' });
  add('JPEG SOI only', Uint8Array.from([0xff, 0xd8]), bad);
  add('PNG signature only', PNG_SIG.slice(), bad);
  add('GIF bytes as image/jpeg', ascii('GIF89a\x01\x00\x01\x00\x00\x00\x00;'), [415]);
  add('JPEG as text/plain', smallJpeg.bytes, [415], { contentType: 'text/plain' });
  add('JPEG as image/gif', smallJpeg.bytes, [415], { contentType: 'image/gif' });
  add('JPEG as application/octet-stream', smallJpeg.bytes, [415], { contentType: 'application/octet-stream' });
  add('JPEG as image/png (sniffed)', smallJpeg.bytes, ok, { contentType: 'image/png' });
  add('PNG as image/jpeg (sniffed)', pngs[0].bytes, ok, { contentType: 'image/jpeg' });
  add('JPEG without Content-Type', smallJpeg.bytes, ok, { contentType: null });
  add('JPEG as IMAGE/JPEG; charset=binary', smallJpeg.bytes, ok, { contentType: 'IMAGE/JPEG; charset=binary' });
  add('multipart/form-data without boundary', smallJpeg.bytes, [400], { contentType: 'multipart/form-data' });
  return { samples: s, jpegs, pngs, crafted };
}

// ------------------------------------------------------------------ mutations

const CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/jpg', 'image/pjpeg', '', 'text/plain', 'application/json',
  'image/gif', 'image/webp', 'multipart/form-data; boundary=x', 'application/octet-stream', 'image/jpeg;;;', 'image/png; q=1'];

function flipBits(r, b, n, limit = b.length) {
  for (let i = 0; i < n; i++) {
    const at = r.int(0, Math.max(0, Math.min(limit, b.length) - 1));
    b[at] ^= 1 << r.int(0, 7);
  }
  return b;
}

function pickSample(r, corpus, format) {
  const pool = format === 'jpeg' ? corpus.jpegs : format === 'png' ? corpus.pngs : corpus.samples;
  // smaller files more often (decode time), every file sometimes
  if (r.chance(0.5)) {
    const sorted = [...pool].sort((a, b) => a.bytes.length - b.bytes.length);
    return sorted[Math.min(sorted.length - 1, Math.floor(r.next() ** 2 * sorted.length))];
  }
  return r.pick(pool);
}

function multipart(bytes, partType, fieldName = 'image') {
  const boundary = 'edgelensfuzz' + Math.floor(bytes.length * 7919).toString(36);
  const head = ascii(`--${boundary}\r\nContent-Disposition: form-data; name="${fieldName}"; filename="x"\r\n` +
    (partType ? `Content-Type: ${partType}\r\n` : '') + '\r\n');
  return { body: concat([head, bytes, ascii(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

const MUTATORS = {
  bitflip(r, c) {
    const s = pickSample(r, c);
    return { name: `${s.name}: flip bits`, bytes: flipBits(r, s.bytes.slice(), r.int(1, 64)) };
  },
  'bitflip-header'(r, c) {
    const s = pickSample(r, c);
    const b = s.bytes.slice();
    const limit = s.format === 'jpeg' ? Math.max(64, (sofOffset(b) + 64) * 2) : 64;
    flipBits(r, b, r.int(1, 8), limit);
    if (b[0] !== s.bytes[0] && r.chance(0.8)) b[0] = s.bytes[0]; // mostly keep the signature
    return { name: `${s.name}: flip header bits`, bytes: b };
  },
  truncate(r, c) {
    const s = pickSample(r, c);
    const at = r.chance(0.3) ? r.int(0, Math.min(1024, s.bytes.length)) : r.int(0, s.bytes.length - 1);
    return { name: `${s.name}: truncated at ${at}`, bytes: s.bytes.slice(0, at) };
  },
  'repeat-segment'(r, c) {
    if (r.chance(0.7)) {
      const s = pickSample(r, c, 'jpeg');
      const segs = jpegSegments(s.bytes).filter((x) => x.marker !== 0xd9 && x.end - x.start < 70000);
      const seg = r.pick(segs);
      const times = r.weighted([[5, r.int(2, 4)], [2, r.int(5, 100)], [1, r.int(100, 2000)]]);
      const piece = s.bytes.subarray(seg.start, seg.end);
      const reps = new Array(Math.min(times, Math.floor((8 << 20) / Math.max(1, piece.length)))).fill(piece);
      return { name: `${s.name}: marker 0x${seg.marker.toString(16)} x${reps.length + 1}`, bytes: concat([s.bytes.subarray(0, seg.end), ...reps, s.bytes.subarray(seg.end)]) };
    }
    const s = pickSample(r, c, 'png');
    const chunks = pngChunks(s.bytes).filter((x) => x.end - x.start < 70000);
    const ch = r.pick(chunks);
    const times = r.int(1, 300);
    const piece = s.bytes.subarray(ch.start, ch.end);
    return { name: `${s.name}: chunk ${ch.type} x${times + 1}`, bytes: concat([s.bytes.subarray(0, ch.end), ...new Array(times).fill(piece), s.bytes.subarray(ch.end)]) };
  },
  'forge-marker'(r, c) {
    const s = pickSample(r, c, 'jpeg');
    const segs = jpegSegments(s.bytes);
    const b = s.bytes;
    const where = r.chance(0.6) ? r.pick(segs).start : r.int(2, b.length - 1);
    const marker = r.weighted([[3, r.int(0xc0, 0xcf)], [2, r.int(0xd0, 0xd9)], [2, r.int(0xe0, 0xef)], [2, r.pick([0xda, 0xdb, 0xc4, 0xdd, 0xdc, 0xfe, 0x01, 0x00, 0xff])], [1, r.int(0, 255)]]);
    const kind = r.int(0, 3);
    let forged;
    if (kind === 0) forged = Uint8Array.from([0xff, marker]); // no length
    else if (kind === 1) forged = Uint8Array.from([0xff, marker, ...be16(r.int(0, 65535))]); // length only
    else if (kind === 2) {
      const len = r.int(2, 300);
      forged = Uint8Array.from([0xff, marker, ...be16(len), ...Array.from({ length: len - 2 }, () => r.int(0, 255))]);
    } else {
      // overwrite an existing segment's length
      const seg = r.pick(segs);
      const out = b.slice();
      if (seg.start + 3 < out.length) {
        const v = r.pick([0, 1, 2, 3, 0xffff, r.int(0, 65535)]);
        out[seg.start + 2] = v >> 8;
        out[seg.start + 3] = v & 255;
      }
      return { name: `${s.name}: segment at ${seg.start} length forged`, bytes: out };
    }
    return { name: `${s.name}: forged marker 0x${marker.toString(16)} at ${where}`, bytes: concat([b.subarray(0, where), forged, b.subarray(where)]) };
  },
  'huge-dims'(r, c) {
    const dim = () => r.weighted([[3, 65535], [2, r.int(5000, 65535)], [2, r.int(1, 65535)], [1, 0], [1, 1], [1, r.int(2000, 5000)]]);
    if (r.chance(0.6)) {
      const s = pickSample(r, c, 'jpeg');
      const b = s.bytes.slice();
      const at = sofOffset(b);
      const w = dim();
      const h = dim();
      b.set([...be16(h), ...be16(w)], at + 5);
      return { name: `${s.name}: SOF says ${w}x${h}`, bytes: b };
    }
    const s = pickSample(r, c, 'png');
    const b = s.bytes.slice();
    const w = r.weighted([[3, 0x7fffffff], [2, r.int(5000, 100000)], [2, r.int(1, 0xffffffff)], [1, 0]]);
    const h = r.weighted([[3, 0x7fffffff], [2, r.int(5000, 100000)], [2, r.int(1, 0xffffffff)], [1, 1]]);
    b.set([...be32(w >>> 0), ...be32(h >>> 0)], 16);
    if (r.chance(0.85)) b.set(be32(crc32(b, 12, 29)), 29); // usually a correct CRC
    return { name: `${s.name}: IHDR says ${w >>> 0}x${h >>> 0}`, bytes: b };
  },
  'many-scans'(r) {
    const scans = r.weighted([[2, r.int(0, 40)], [2, r.int(40, 500)], [1, r.int(500, 6000)]]);
    const comps = r.chance(0.5) ? [{ id: 1, h: 1, v: 1 }] : [{ id: 1, h: 2, v: 2 }, { id: 2, h: 1, v: 1 }, { id: 3, h: 1, v: 1 }];
    const w = r.int(1, 256);
    const h = r.int(1, 256);
    return { name: `progressive ${w}x${h} with ${scans + 1 + comps.length} scans`, bytes: flatJpeg(w, h, { sof: 0xc2, components: comps, extraScans: scans }) };
  },
  'content-type'(r, c) {
    const s = pickSample(r, c);
    return { name: `${s.name}: content type`, bytes: s.bytes, contentType: r.pick(CONTENT_TYPES) };
  },
  multipart(r, c) {
    const s = pickSample(r, c);
    const partType = r.pick(['image/jpeg', 'image/png', '', 'application/octet-stream', 'text/plain', 'image/gif']);
    const field = r.chance(0.85) ? 'image' : r.pick(['photo', 'Image', '']);
    const bytes = r.chance(0.3) ? flipBits(r, s.bytes.slice(), r.int(1, 16)) : s.bytes;
    const m = multipart(bytes, partType, field);
    let body = m.body;
    if (r.chance(0.2)) body = body.slice(0, r.int(0, body.length)); // truncated multipart
    return { name: `${s.name}: multipart part type "${partType}" field "${field}"`, bytes: body, contentType: m.contentType, raw: true };
  },
  splice(r, c) {
    const a = pickSample(r, c);
    const b = pickSample(r, c);
    const i = r.int(0, a.bytes.length);
    const j = r.int(0, b.bytes.length);
    return { name: `${a.name}[0:${i}] + ${b.name}[${j}:]`, bytes: concat([a.bytes.subarray(0, i), b.bytes.subarray(j)]) };
  },
  'random-bytes'(r) {
    const magic = r.pick([[0xff, 0xd8], [0xff, 0xd8, 0xff], [...PNG_SIG], [0x89, 0x50, 0x4e], []]);
    const n = r.int(0, 4096);
    const b = new Uint8Array(magic.length + n);
    b.set(magic);
    for (let i = magic.length; i < b.length; i++) b[i] = r.int(0, 255);
    return { name: `random ${n} bytes after ${magic.length}-byte magic`, bytes: b };
  },
  exif(r, c) {
    const s = pickSample(r, c, 'jpeg');
    const app1 = exifApp1({
      orientation: r.weighted([[3, r.int(1, 8)], [1, r.int(0, 65535)]]),
      little: r.chance(0.5),
      ifdOffset: r.weighted([[3, 8], [1, r.int(0, 0xffffffff)]]),
      count: r.weighted([[3, 1], [1, r.int(0, 65535)]]),
      type: r.weighted([[3, 3], [1, r.int(0, 20)]]),
      truncate: r.weighted([[3, 0], [1, r.int(0, 20)]]),
    });
    return { name: `${s.name}: forged EXIF`, bytes: concat([s.bytes.subarray(0, 2), app1, s.bytes.subarray(2)]) };
  },
  'png-chunks'(r, c) {
    const s = pickSample(r, c, 'png');
    const chunks = pngChunks(s.bytes);
    const kind = r.int(0, 4);
    if (kind === 0) {
      // drop a chunk
      const ch = r.pick(chunks);
      return { name: `${s.name}: without ${ch.type}`, bytes: concat([s.bytes.subarray(0, ch.start), s.bytes.subarray(ch.end)]) };
    }
    if (kind === 1) {
      // insert a random chunk (random type/case, maybe a bad CRC) somewhere
      const ch = r.pick(chunks);
      const type = String.fromCharCode(...Array.from({ length: 4 }, () => (r.chance(0.5) ? r.int(65, 90) : r.int(97, 122))));
      const data = Uint8Array.from({ length: r.int(0, 64) }, () => r.int(0, 255));
      const chosen = r.chance(0.3) ? r.pick(['IHDR', 'PLTE', 'IEND', 'IDAT', 'eXIf', 'tRNS']) : type;
      return { name: `${s.name}: extra ${chosen} chunk`, bytes: concat([s.bytes.subarray(0, ch.end), pngChunk(chosen, data, { badCrc: r.chance(0.3) }), s.bytes.subarray(ch.end)]) };
    }
    if (kind === 2) {
      // flip bits inside one chunk and fix its CRC (gets past the CRC check)
      const ch = r.pick(chunks);
      const b = s.bytes.slice();
      const len = ch.end - ch.start - 12;
      if (len > 0) for (let i = 0, n = r.int(1, 8); i < n; i++) b[ch.start + 8 + r.int(0, len - 1)] ^= 1 << r.int(0, 7);
      b.set(be32(crc32(b, ch.start + 4, ch.end - 4)), ch.end - 4);
      return { name: `${s.name}: ${ch.type} data flipped, CRC fixed`, bytes: b };
    }
    if (kind === 3) {
      // forged chunk length
      const ch = r.pick(chunks);
      const b = s.bytes.slice();
      b.set(be32(r.pick([0, 0x7fffffff, 0xffffffff, r.int(0, 0xffffffff) >>> 0, ch.end - ch.start])), ch.start);
      return { name: `${s.name}: ${ch.type} length forged`, bytes: b };
    }
    // eXIf chunk with a random orientation before the first IDAT
    const tiff = Uint8Array.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, r.int(0, 9), 0, 0, 0, 0, 0, 0]);
    const idat = chunks.find((x) => x.type === 'IDAT') ?? chunks[1];
    return { name: `${s.name}: eXIf orientation ${tiff[19]}`, bytes: concat([s.bytes.subarray(0, idat.start), pngChunk('eXIf', tiff), s.bytes.subarray(idat.start)]) };
  },
  'zero-length'() {
    return { name: 'empty body', bytes: new Uint8Array(0) };
  },
};

const WEIGHTS = [
  [20, 'bitflip'], [15, 'bitflip-header'], [10, 'truncate'], [8, 'repeat-segment'], [8, 'forge-marker'],
  [8, 'huge-dims'], [5, 'many-scans'], [5, 'content-type'], [5, 'multipart'], [4, 'splice'],
  [3, 'random-bytes'], [5, 'exif'], [8, 'png-chunks'], [1, 'zero-length'],
];

/**
 * Fuzz case `index` of run `seed`: { index, kind, name, path, contentType, body, expect?, bomb }.
 * contentType null = send no Content-Type header. expect: the statuses this case may get
 * (crafted cases); random cases may get any of ALLOWED_STATUSES.
 */
export function imageCase(corpus, seed, index) {
  const r = rng(caseSeed(seed, index));
  const route = r.chance(0.5) ? 'classify' : 'detect';
  let query = '';
  if (r.chance(0.05)) {
    query = route === 'classify'
      ? `?${r.pick(['top=', 'top=0', 'top=3', 'top=1001', 'top=1e3', 'model=nope', 'model=person', 'model=%2e%2e', 'model=' + 'a'.repeat(70)])}`
      : `?${r.pick(['threshold=', 'threshold=NaN', 'threshold=0.1', 'threshold=-1', 'model=mobilenet_v2', 'model=blob:x'])}`;
  }
  const path = `/v1/${route}${query}`;
  if (index < corpus.crafted.length) {
    const c = corpus.crafted[index];
    const contentType = c.contentType !== undefined ? c.contentType : c.bytes[0] === 0x89 ? 'image/png' : 'image/jpeg';
    return { index, kind: 'crafted', name: c.name, path: `/v1/${route}`, contentType, body: c.bytes, expect: c.expect, bomb: c.bomb };
  }
  const kind = r.weighted(WEIGHTS);
  const m = MUTATORS[kind](r, corpus);
  let contentType = m.contentType;
  if (contentType === undefined) {
    contentType = r.chance(0.9) ? (m.bytes[0] === 0x89 ? 'image/png' : 'image/jpeg') : r.pick(['image/jpeg', 'image/png', null]);
  }
  return { index, kind, name: m.name, path, contentType, body: m.bytes, expect: undefined, bomb: false };
}

/** Checks one answer; returns a list of problems (empty = fine). `json` is the parsed body or undefined. */
export function checkImageAnswer(c, status, json, contentTypeHeader) {
  const problems = [];
  if (status >= 500) problems.push(`5xx: ${status}`);
  else if (!ALLOWED_STATUSES.includes(status)) problems.push(`status ${status} is not an allowed status`);
  if (c.expect && !c.expect.includes(status)) problems.push(`expected ${c.expect.join('/')}, got ${status}`);
  if (!/application\/json/.test(contentTypeHeader ?? '')) problems.push(`content-type ${contentTypeHeader}`);
  if (json === undefined) problems.push('body is not JSON');
  else if (status >= 400) {
    if (typeof json?.error?.code !== 'string' || typeof json?.error?.message !== 'string') problems.push('error body is not {error:{code,message}}');
  } else if (status === 200 && !(Array.isArray(json?.predictions) || typeof json?.person?.score === 'number')) {
    problems.push('200 without predictions or person score');
  }
  if (c.bomb && status === 413 && !HEADER_413_RE.test(json?.error?.message ?? '')) {
    problems.push(`bomb refused by a decoder, not from the header: ${json?.error?.message}`);
  }
  return problems;
}
