// Minimal PNG decoder to packed RGB8, web-standard APIs only (DecompressionStream).
//
// - Signature, chunk walk, CRC-32 check on every chunk (critical chunk with a bad CRC
//   -> 422; ancillary chunk with a bad CRC is ignored), unknown critical chunk -> 422.
// - IHDR: bit depth 1/2/4/8/16, colour types 0 (gray), 2 (RGB), 3 (palette),
//   4 (gray+alpha), 6 (RGBA); interlace 0 and Adam7.
// - IDAT chunks are streamed into DecompressionStream('deflate') (zlib wrapper,
//   Adler-32 checked) without being concatenated; the inflated size must equal the
//   size implied by IHDR exactly, and reading stops as soon as the output would exceed
//   it (zip-bomb protection: never more than the expected bytes are kept).
// - Conversion like Pillow's convert('RGB'): alpha and tRNS are dropped (no
//   compositing), 16-bit samples keep their most significant byte, low bit depths are
//   scaled to 0..255 (x255, x85, x17), palette indices beyond PLTE give black.
//   (Pillow's own I;16 -> RGB conversion clips gray16 at 255 instead; we use the MSB.)
// - eXIf chunk (before IDAT) gives the EXIF orientation.

import { readTiffOrientation, swapsAxes } from './exif.ts';
import { undecodable, wrapDecoderError, type ImageError } from './errors.ts';

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  orientation: number;
}

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const VALID_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

const T_IHDR = 0x49484452;
const T_PLTE = 0x504c5445;
const T_IDAT = 0x49444154;
const T_IEND = 0x49454e44;
const T_EXIF = 0x65584966; // eXIf

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Parse IHDR (and look for eXIf before the first IDAT). Header-only, allocation-free. */
export function probePng(bytes: Uint8Array): PngHeader {
  const n = bytes.length;
  if (n < 33) throw undecodable('truncated PNG header');
  if (u32(bytes, 8) !== 13 || u32(bytes, 12) !== T_IHDR) throw undecodable('PNG does not start with an IHDR chunk');
  if (crc32(bytes, 12, 29) !== u32(bytes, 29)) throw undecodable('PNG IHDR chunk has a bad CRC');
  const width = u32(bytes, 16);
  const height = u32(bytes, 20);
  const bitDepth = bytes[24]!;
  const colorType = bytes[25]!;
  const compression = bytes[26]!;
  const filter = bytes[27]!;
  const interlace = bytes[28]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw undecodable(`invalid PNG dimensions ${width}x${height}`);
  }
  const depths = VALID_DEPTHS[colorType];
  if (!depths) throw undecodable(`invalid PNG colour type ${colorType}`);
  if (!depths.includes(bitDepth)) throw undecodable(`invalid PNG bit depth ${bitDepth} for colour type ${colorType}`);
  if (compression !== 0 || filter !== 0) throw undecodable('unknown PNG compression or filter method');
  if (interlace > 1) throw undecodable(`unknown PNG interlace method ${interlace}`);

  // Orientation: eXIf must precede IDAT. Only chunk headers are read; a truncated
  // stream just ends the search (decodePng reports truncation).
  let orientation = 1;
  let off = 33;
  while (off + 8 <= n) {
    const len = u32(bytes, off);
    const type = u32(bytes, off + 4);
    if (type === T_IDAT || type === T_IEND) break;
    const end = off + 12 + len;
    if (end > n) break;
    if (type === T_EXIF) {
      orientation = readTiffOrientation(bytes.subarray(off + 8, off + 8 + len));
      break;
    }
    off = end;
  }
  return { width, height, bitDepth, colorType, interlace, orientation };
}

interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  w: number;
  h: number;
  rowBytes: number;
  offset: number; // offset of the pass in the inflated buffer
}

const ADAM7: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

function layout(h: PngHeader): { passes: Pass[]; total: number } {
  const bitsPerPixel = CHANNELS[h.colorType]! * h.bitDepth;
  const passes: Pass[] = [];
  let total = 0;
  const specs = h.interlace ? ADAM7 : ([[0, 0, 1, 1]] as const);
  for (const [x0, y0, dx, dy] of specs) {
    const w = h.width > x0 ? Math.ceil((h.width - x0) / dx) : 0;
    const ph = h.height > y0 ? Math.ceil((h.height - y0) / dy) : 0;
    if (w === 0 || ph === 0) continue;
    const rowBytes = Math.ceil((w * bitsPerPixel) / 8);
    passes.push({ x0, y0, dx, dy, w, h: ph, rowBytes, offset: total });
    total += ph * (rowBytes + 1);
  }
  return { passes, total };
}

function decodesInPlace(h: PngHeader): boolean {
  return h.interlace === 0 && CHANNELS[h.colorType]! * h.bitDepth >= 24;
}

/** Estimated peak working memory of decodePng + orientation (header only). */
export function estimatePngDecodeBytes(h: PngHeader): number {
  const px = h.width * h.height;
  const inflated = layout(h).total;
  const STREAM_SLACK = 1 << 20; // DecompressionStream chunks in flight, palette, row buffers
  return inflated + (decodesInPlace(h) ? 0 : px * 3) + (swapsAxes(h.orientation) ? px * 3 : 0) + STREAM_SLACK;
}

/** Decode to packed RGB (stored orientation). Precondition: h = probePng(bytes), limits checked. */
export async function decodePng(bytes: Uint8Array, h: PngHeader): Promise<Uint8Array> {
  const n = bytes.length;
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | null = null;
  let off = 8;
  while (off < n) {
    if (off + 12 > n) throw undecodable('truncated PNG');
    const len = u32(bytes, off);
    const type = u32(bytes, off + 4);
    const end = off + 12 + len;
    if (len > 0x7fffffff || end > n) throw undecodable('truncated PNG');
    const critical = (bytes[off + 4]! & 0x20) === 0;
    const crcOk = crc32(bytes, off + 4, off + 8 + len) === u32(bytes, off + 8 + len);
    if (!crcOk) {
      if (critical) throw undecodable(`PNG ${chunkName(bytes, off + 4)} chunk has a bad CRC`);
      off = end;
      continue;
    }
    const data = bytes.subarray(off + 8, off + 8 + len);
    if (type === T_IDAT) {
      if (len > 0) idat.push(data);
    } else if (type === T_PLTE) {
      if (len % 3 !== 0 || len === 0 || len > 768) throw undecodable('invalid PNG palette');
      palette = new Uint8Array(768); // unused entries stay black
      palette.set(data);
    } else if (type === T_IEND) {
      break;
    } else if (type !== T_IHDR && critical) {
      throw undecodable(`unsupported critical PNG chunk ${chunkName(bytes, off + 4)}`);
    }
    off = end;
  }
  // A missing IEND is tolerated: the inflate below checks that the image data is complete.
  if (idat.length === 0) throw undecodable('PNG has no image data (IDAT)');
  if (h.colorType === 3 && !palette) throw undecodable('palette PNG without PLTE chunk');

  const { passes, total } = layout(h);
  const buf = await inflateExact(idat, total);

  const bitsPerPixel = CHANNELS[h.colorType]! * h.bitDepth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  for (const p of passes) unfilter(buf, p.offset, p.rowBytes, p.h, bpp);

  const conv = rowConverter(h.colorType, h.bitDepth, palette);
  const W = h.width;
  if (decodesInPlace(h)) {
    // Output row y (3W bytes at 3Wy) never overtakes its source (at y(rowBytes+1)+1,
    // rowBytes >= 3W) and each pixel shrinks from >= 3 bytes to 3: safe in place.
    const p = passes[0]!;
    for (let y = 0; y < p.h; y++) conv(buf, y * (p.rowBytes + 1) + 1, p.w, buf, y * W * 3, 3);
    return buf.subarray(0, W * h.height * 3);
  }
  const out = new Uint8Array(W * h.height * 3);
  for (const p of passes) {
    for (let y = 0; y < p.h; y++) {
      const d = ((p.y0 + y * p.dy) * W + p.x0) * 3;
      conv(buf, p.offset + y * (p.rowBytes + 1) + 1, p.w, out, d, 3 * p.dx);
    }
  }
  return out;
}

function chunkName(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = b[o + i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return JSON.stringify(s);
}

/**
 * Inflate zlib data split over several chunks into a buffer of exactly `expected`
 * bytes. Fails (422) if the stream is corrupt (including a bad Adler-32), shorter, or
 * longer than expected; in the last case the stream is cancelled as soon as it
 * overflows, so no more than `expected` bytes are ever kept (zip-bomb protection).
 */
export async function inflateExact(chunks: Uint8Array[], expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  const r = await inflateInto(chunks, out);
  if (r === 'trailing') {
    // workerd's DecompressionStream (unlike Node 20's) rejects input bytes after the
    // end of the zlib stream, and drops the output of the chunk that held them.
    // libpng and Pillow ignore such padding, so find the end of the zlib stream by
    // bisecting on the input length: a prefix that is too long reports 'trailing', one
    // that is too short cannot produce all the bytes. Rare; ~log2(input) inflates.
    let total = 0;
    for (const c of chunks) total += c.length;
    let lo = 0;
    let hi = total;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const res = await inflateInto(prefix(chunks, mid), out);
      if (res === 'ok') return out;
      if (res === 'trailing') hi = mid;
      else lo = mid;
    }
    throw undecodable('corrupt PNG image data (trailing bytes after the zlib stream)');
  }
  if (r !== 'ok') throw r;
  return out;
}

function prefix(chunks: Uint8Array[], n: number): Uint8Array[] {
  const res: Uint8Array[] = [];
  for (const c of chunks) {
    if (n <= 0) break;
    res.push(c.length <= n ? c : c.subarray(0, n));
    n -= c.length;
  }
  return res;
}

/** Compressed bytes per write into the DecompressionStream (see inflateInto). */
const INFLATE_FEED_BYTES = 2048;

async function inflateInto(chunks: Uint8Array[], out: Uint8Array): Promise<'ok' | 'trailing' | ImageError> {
  const expected = out.length;
  // Feed the stream through its writer rather than pipeThrough: workerd reports the
  // rejection of pipeThrough's internal close() on incomplete zlib data as an uncaught
  // exception; here every promise of the writable side is handled.
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  const feeding = (async () => {
    // Small writes, one at a time: the decompressor inflates a whole write natively before
    // JS sees any of it, and deflate expands up to ~1032:1, so one 64 KiB IDAT of zeros
    // became 64 MiB at once (a 10 MiB body: ~10 GiB). With INFLATE_FEED_BYTES per write,
    // at most ~2 MiB is produced before the size check below cancels the stream.
    // (slice copies: the stream implementation may take ownership of what it is given.)
    for (const c of chunks) {
      for (let o = 0; o < c.length; o += INFLATE_FEED_BYTES) await writer.write(c.slice(o, o + INFLATE_FEED_BYTES));
    }
    await writer.close();
  })();
  feeding.catch(() => {}); // its errors also reach the reader below
  let got = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!value || value.length === 0) continue;
      if (got + value.length > expected) {
        reader.cancel().catch(() => {});
        return undecodable('PNG image data is larger than its header declares');
      }
      out.set(value, got);
      got += value.length;
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/trailing/i.test(msg)) return 'trailing';
    return wrapDecoderError(err, 'corrupt PNG image data');
  }
  if (got !== expected) return undecodable(`PNG image data is truncated (${got} of ${expected} bytes)`);
  return 'ok';
}

/** Undo PNG filters in place for `rows` scanlines of `rowBytes` (+1 filter byte) at `start`. */
function unfilter(buf: Uint8Array, start: number, rowBytes: number, rows: number, bpp: number): void {
  const stride = rowBytes + 1;
  for (let y = 0; y < rows; y++) {
    const f = buf[start + y * stride]!;
    const r = start + y * stride + 1; // this row
    const u = r - stride; // previous row (only valid for y > 0)
    const first = y === 0;
    switch (f) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) buf[r + i] = (buf[r + i]! + buf[r + i - bpp]!) & 255;
        break;
      case 2:
        if (!first) for (let i = 0; i < rowBytes; i++) buf[r + i] = (buf[r + i]! + buf[u + i]!) & 255;
        break;
      case 3:
        if (first) {
          for (let i = bpp; i < rowBytes; i++) buf[r + i] = (buf[r + i]! + (buf[r + i - bpp]! >> 1)) & 255;
        } else {
          for (let i = 0; i < bpp; i++) buf[r + i] = (buf[r + i]! + (buf[u + i]! >> 1)) & 255;
          for (let i = bpp; i < rowBytes; i++) {
            buf[r + i] = (buf[r + i]! + ((buf[r + i - bpp]! + buf[u + i]!) >> 1)) & 255;
          }
        }
        break;
      case 4:
        if (first) {
          // Paeth with no row above degenerates to Sub.
          for (let i = bpp; i < rowBytes; i++) buf[r + i] = (buf[r + i]! + buf[r + i - bpp]!) & 255;
        } else {
          for (let i = 0; i < bpp; i++) buf[r + i] = (buf[r + i]! + buf[u + i]!) & 255;
          for (let i = bpp; i < rowBytes; i++) {
            const a = buf[r + i - bpp]!;
            const b = buf[u + i]!;
            const c = buf[u + i - bpp]!;
            const p = a + b - c;
            const pa = p > a ? p - a : a - p;
            const pb = p > b ? p - b : b - p;
            const pc = p > c ? p - c : c - p;
            const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            buf[r + i] = (buf[r + i]! + pred) & 255;
          }
        }
        break;
      default:
        throw undecodable(`invalid PNG filter type ${f}`);
    }
  }
}

type RowConv = (src: Uint8Array, s: number, w: number, dst: Uint8Array, d: number, dstep: number) => void;

function rowConverter(colorType: number, bitDepth: number, palette: Uint8Array | null): RowConv {
  switch (colorType) {
    case 0:
      if (bitDepth === 8) {
        return (src, s, w, dst, d, dstep) => {
          for (let x = 0; x < w; x++, d += dstep) {
            const v = src[s + x]!;
            dst[d] = v;
            dst[d + 1] = v;
            dst[d + 2] = v;
          }
        };
      }
      if (bitDepth === 16) {
        return (src, s, w, dst, d, dstep) => {
          for (let x = 0; x < w; x++, d += dstep) {
            const v = src[s + 2 * x]!;
            dst[d] = v;
            dst[d + 1] = v;
            dst[d + 2] = v;
          }
        };
      }
      return lowBitRow(bitDepth, null);
    case 2:
      if (bitDepth === 8) {
        return (src, s, w, dst, d, dstep) => {
          for (let x = 0; x < w; x++, s += 3, d += dstep) {
            const r = src[s]!;
            const g = src[s + 1]!;
            const b = src[s + 2]!;
            dst[d] = r;
            dst[d + 1] = g;
            dst[d + 2] = b;
          }
        };
      }
      return (src, s, w, dst, d, dstep) => {
        for (let x = 0; x < w; x++, s += 6, d += dstep) {
          const r = src[s]!;
          const g = src[s + 2]!;
          const b = src[s + 4]!;
          dst[d] = r;
          dst[d + 1] = g;
          dst[d + 2] = b;
        }
      };
    case 3:
      return lowBitRow(bitDepth, palette!);
    case 4: {
      const step = bitDepth === 8 ? 2 : 4;
      return (src, s, w, dst, d, dstep) => {
        for (let x = 0; x < w; x++, s += step, d += dstep) {
          const v = src[s]!;
          dst[d] = v;
          dst[d + 1] = v;
          dst[d + 2] = v;
        }
      };
    }
    default: {
      // 6: RGBA
      const step = bitDepth === 8 ? 4 : 8;
      const c = bitDepth === 8 ? 1 : 2;
      return (src, s, w, dst, d, dstep) => {
        for (let x = 0; x < w; x++, s += step, d += dstep) {
          const r = src[s]!;
          const g = src[s + c]!;
          const b = src[s + 2 * c]!;
          dst[d] = r;
          dst[d + 1] = g;
          dst[d + 2] = b;
        }
      };
    }
  }
}

/** Gray (scaled to 0..255) or palette indices at 1/2/4/8 bits per pixel. */
function lowBitRow(bitDepth: number, palette: Uint8Array | null): RowConv {
  const mask = (1 << bitDepth) - 1;
  const scale = 255 / mask; // 255, 85, 17, 1: exact integers
  const perByte = 8 / bitDepth;
  return (src, s, w, dst, d, dstep) => {
    for (let x = 0; x < w; x++, d += dstep) {
      const byte = src[s + Math.floor(x / perByte)]!;
      const shift = 8 - bitDepth * ((x % perByte) + 1);
      const v = (byte >> shift) & mask;
      if (palette) {
        const p = v * 3;
        dst[d] = palette[p]!;
        dst[d + 1] = palette[p + 1]!;
        dst[d + 2] = palette[p + 2]!;
      } else {
        const g = v * scale;
        dst[d] = g;
        dst[d + 1] = g;
        dst[d + 2] = g;
      }
    }
  };
}

let crcTable: Int32Array | null = null;

/** CRC-32 (ISO 3309, as used by PNG) of b[start..end). */
export function crc32(b: Uint8Array, start: number, end: number): number {
  let t = crcTable;
  if (!t) {
    t = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[i] = c;
    }
    crcTable = t;
  }
  let c = -1;
  for (let i = start; i < end; i++) c = t[(c ^ b[i]!) & 255]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
