// Test helpers for test/node/image.test.ts: file access, JPEG segment surgery, a tiny
// independent PNG encoder (filters, Adam7, CRC), and small embedded JPEG fixtures.
// Everything here is written independently of src/image so the tests do not check
// the decoder against itself.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Read-only shared data: $EDGELENS_SHARED_DIR, else ../shared next to the repository (as vitest.config.ts). */
export const SHARED = process.env.EDGELENS_SHARED_DIR
  ? resolve(process.env.EDGELENS_SHARED_DIR)
  : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared');
export const SAMPLES = `${SHARED}/images/samples`;
export const IMAGENET = `${SHARED}/images/imagenet-dev`;
export const GOLDEN = `${SHARED}/golden`;

export function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
export const sample = (name: string): Uint8Array => readBytes(`${SAMPLES}/${name}`);

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function diffStats(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number; exact: number } {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let s = 0;
  let max = 0;
  let eq = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    s += d;
    if (d > max) max = d;
    if (d === 0) eq++;
  }
  return { mean: s / a.length, max, exact: eq / a.length };
}

// ---- JPEG segment surgery -------------------------------------------------------

export interface Segment {
  marker: number;
  /** offset of the 0xFF of the marker */
  offset: number;
  /** total length including the 2 marker bytes */
  size: number;
}

/** Marker segments from SOI up to and including the first SOS (header segments only). */
export function jpegSegments(jpeg: Uint8Array): Segment[] {
  const segs: Segment[] = [];
  let off = 2;
  while (off + 4 <= jpeg.length) {
    if (jpeg[off] !== 0xff) throw new Error(`no marker at ${off}`);
    const marker = jpeg[off + 1]!;
    const len = (jpeg[off + 2]! << 8) | jpeg[off + 3]!;
    segs.push({ marker, offset: off, size: len + 2 });
    if (marker === 0xda) break;
    off += len + 2;
  }
  return segs;
}

export function segment(marker: number, payload: Uint8Array): Uint8Array {
  const len = payload.length + 2;
  return concat(new Uint8Array([0xff, marker, len >> 8, len & 255]), payload);
}

/** Insert a segment right after SOI. */
export function insertAfterSoi(jpeg: Uint8Array, seg: Uint8Array): Uint8Array {
  return concat(jpeg.subarray(0, 2), seg, jpeg.subarray(2));
}

export function removeSegments(jpeg: Uint8Array, marker: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const s of jpegSegments(jpeg)) {
    if (s.marker !== marker) continue;
    parts.push(jpeg.subarray(last, s.offset));
    last = s.offset + s.size;
  }
  parts.push(jpeg.subarray(last));
  return concat(...parts);
}

/** Copy of the JPEG with the frame header's dimensions replaced (data left as is). */
export function forgeSof(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const out = jpeg.slice();
  const sof = jpegSegments(jpeg).find((s) => s.marker >= 0xc0 && s.marker <= 0xc2);
  if (!sof) throw new Error('no SOF');
  const p = sof.offset + 5;
  out[p] = height >> 8;
  out[p + 1] = height & 255;
  out[p + 2] = width >> 8;
  out[p + 3] = width & 255;
  return out;
}

/** APP1 "Exif\0\0" payload with IFD0 = { Orientation (0x0112, SHORT) = o } plus a dummy tag. */
export function exifApp1(orientation: number, littleEndian: boolean): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 2 * 12 + 4);
  const dv = new DataView(tiff.buffer);
  const le = littleEndian;
  tiff[0] = tiff[1] = le ? 0x49 : 0x4d;
  dv.setUint16(2, 42, le);
  dv.setUint32(4, 8, le);
  dv.setUint16(8, 2, le); // 2 entries
  // ImageWidth (0x0100, LONG) = 1, a tag before Orientation like real files
  dv.setUint16(10, 0x0100, le);
  dv.setUint16(12, 4, le);
  dv.setUint32(14, 1, le);
  dv.setUint32(18, 1, le);
  dv.setUint16(22, 0x0112, le);
  dv.setUint16(24, 3, le);
  dv.setUint32(26, 1, le);
  dv.setUint16(30, orientation, le);
  dv.setUint32(34, 0, le); // next IFD
  const payload = concat(new TextEncoder().encode('Exif\0\0'), tiff);
  return segment(0xe1, payload);
}

/** Reference orientation mapping: source pixel for output (dx, dy) of a W x H source. */
export function orientedSource(o: number, W: number, H: number, dx: number, dy: number): [number, number] {
  switch (o) {
    case 2: return [W - 1 - dx, dy];
    case 3: return [W - 1 - dx, H - 1 - dy];
    case 4: return [dx, H - 1 - dy];
    case 5: return [dy, dx];
    case 6: return [dy, H - 1 - dx];
    case 7: return [W - 1 - dy, H - 1 - dx];
    case 8: return [W - 1 - dy, dx];
    default: return [dx, dy];
  }
}

// ---- PNG encoder ------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 255]! ^ (c >>> 8)) >>> 0;
  return (c ^ 0xffffffff) >>> 0;
}

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
  return out;
}

export const PNG_SIG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function ihdr(w: number, h: number, bitDepth: number, colorType: number, interlace = 0): Uint8Array {
  const d = new Uint8Array(13);
  const dv = new DataView(d.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  d[8] = bitDepth;
  d[9] = colorType;
  d[12] = interlace;
  return pngChunk('IHDR', d);
}

export async function zlibDeflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data.slice()]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Encode samples (row-major, one number per channel sample, already in 0..2^depth-1)
 * as PNG scanlines: bit packing, the given filter type per row (cycled), Adam7 when
 * interlace = 1.
 */
export function pngScanlines(
  samples: number[],
  w: number,
  h: number,
  bitDepth: number,
  colorType: number,
  interlace: number,
  filters: number[],
): Uint8Array {
  const ch = CHANNELS[colorType]!;
  const passes: [number, number, number, number][] = interlace
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  const out: number[] = [];
  let rowIndex = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = w > x0 ? Math.ceil((w - x0) / dx) : 0;
    const ph = h > y0 ? Math.ceil((h - y0) / dy) : 0;
    if (!pw || !ph) continue;
    const rowBytes = Math.ceil((pw * ch * bitDepth) / 8);
    const bpp = Math.max(1, (ch * bitDepth) >> 3);
    let prev = new Uint8Array(rowBytes);
    for (let py = 0; py < ph; py++) {
      const raw = new Uint8Array(rowBytes);
      let bit = 0;
      for (let px = 0; px < pw; px++) {
        const si = ((y0 + py * dy) * w + (x0 + px * dx)) * ch;
        for (let c = 0; c < ch; c++) {
          const v = samples[si + c]!;
          if (bitDepth === 16) {
            raw[bit >> 3] = v >> 8;
            raw[(bit >> 3) + 1] = v & 255;
          } else {
            raw[bit >> 3]! |= v << (8 - bitDepth - (bit & 7));
          }
          bit += bitDepth;
        }
      }
      const f = filters[rowIndex++ % filters.length]!;
      out.push(f);
      for (let i = 0; i < rowBytes; i++) {
        const a = i >= bpp ? raw[i - bpp]! : 0;
        const b = prev[i]!;
        const c = i >= bpp ? prev[i - bpp]! : 0;
        let pred = 0;
        if (f === 1) pred = a;
        else if (f === 2) pred = b;
        else if (f === 3) pred = (a + b) >> 1;
        else if (f === 4) {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        out.push((raw[i]! - pred) & 255);
      }
      prev = raw;
    }
  }
  return new Uint8Array(out);
}

export async function makePng(opts: {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace?: number;
  samples: number[];
  palette?: number[];
  filters?: number[];
  extraChunks?: Uint8Array[];
}): Promise<Uint8Array> {
  const { width, height, bitDepth, colorType } = opts;
  const interlace = opts.interlace ?? 0;
  const lines = pngScanlines(opts.samples, width, height, bitDepth, colorType, interlace, opts.filters ?? [0, 1, 2, 3, 4]);
  const z = await zlibDeflate(lines);
  // Split the zlib stream over two IDAT chunks to exercise concatenation.
  const cut = z.length >> 1;
  return concat(
    PNG_SIG,
    ihdr(width, height, bitDepth, colorType, interlace),
    ...(opts.extraChunks ?? []),
    ...(opts.palette ? [pngChunk('PLTE', new Uint8Array(opts.palette))] : []),
    pngChunk('IDAT', z.subarray(0, cut)),
    pngChunk('IDAT', z.subarray(cut)),
    pngChunk('IEND', new Uint8Array(0)),
  );
}

/** Offsets of the chunks of a PNG file. */
export function pngChunks(png: Uint8Array): { type: string; offset: number; length: number }[] {
  const out: { type: string; offset: number; length: number }[] = [];
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let off = 8;
  while (off + 12 <= png.length) {
    const length = dv.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    out.push({ type, offset: off, length });
    off += 12 + length;
  }
  return out;
}

/** Recompute the CRC of the chunk at `offset` in place. */
export function fixChunkCrc(png: Uint8Array, offset: number): void {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const len = dv.getUint32(offset);
  dv.setUint32(offset + 8 + len, crc(png.subarray(offset + 4, offset + 8 + len)));
}

// ---- Embedded JPEG fixtures (made once with sharp 0.34.5 / libvips + mozjpeg from
// samples/cat.jpg; not produced by the code under test) -----------------------------

/** 64x48 progressive (SOF2, 10 scans) JPEG of the cat, 4:2:0. */
export const PROGRESSIVE_JPEG_64x48_B64 =
  '/9j/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wgARCAAwAEADASIAAhEBAxEB/8QAGwAAAgMBAQEAAAAAAAAAAAAABAUBAgMABgf/xAAaAQACAwEBAAAAAAAAAAAAAAACAwABBAUG/9oADAMBAAIQAxAAAAG2QpfM9CxxfAO5Q+2cVcDWGJYL/wAzkWz6H4GM5mOPpRTmKJZR2XfHuvRe9LDCXalqs4Wat2K//8QAIRAAAgIBBAIDAAAAAAAAAAAAAQIAAwQREhMhIjEFFTP/2gAIAQEAAQUCLAGx9WH5+5UpZrFat+o+onevDYxxAtTWvj85urqa27lJaM0rdkanLVokJ1LkA4hXfbWBLyVE5YclwKwpiLWotXdRXlWpMjJ3pceljxOwPGYq7qvrEIyviyFuPksPpNIpMdtlFdz1RM9Hn//EAB4RAAMAAgIDAQAAAAAAAAAAAAABAgMRIUESIjJh/9oACAEDAQE/AayTH0OtttGtrY5Mynsxrkyr1PIvmjsc74LwUv0//8QAGxEAAgIDAQAAAAAAAAAAAAAAABECMQEQQRL/2gAIAQIBAT8BxESOoepUQs864YsZ/8QAJBAAAgIBAwQCAwAAAAAAAAAAAAECESEQEiIDMUFRE0JhcYH/2gAIAQEABj8Ck/aJftGIvRKHdjjNZRh6fxD44Iji8X2lEXxO/bN3m9MOjcipcXpLdhtleUSjLblHEbeqSk6LboTlUmdb3VmHgcWsiWtGIzOpv4KhOMy4O/wLRace419pHBldRbWf/8QAIBABAAICAwEBAAMAAAAAAAAAAQARITFBUWGBcZGx0f/aAAgBAQABPyHYKtjKhf03Pc0tBlhfVAB8lSlwfsqZPpFSrMhsISNszBabH2Lfrk7H4y9xXn58Jd6CjmLyDDgMUKYyQ4+jqCywu4Zsl+MTnR8upckHZOcn9Q0NEMFrRHxDjeo1Ecutj7Gdq3W8y73xvjDqV6OYpmLklYeZl/EAUk3AL7KVzuiD6CGXY0+YjZdekB8SaE/3RbTCFk4HTBwHLXUX4euGEHrOJ//aAAwDAQACAAMAAAAQ8JZXNq62ckba/8QAGxEBAQEAAgMAAAAAAAAAAAAAAQARITFBYfD/2gAIAQMBAT8QAFZ8WOuNl65O5Zvf13OPYBZazFlrBCOfNzpwv//EABgRAQEBAQEAAAAAAAAAAAAAAAEAESEx/9oACAECAQE/EGXhGANuYRAzhY8WkDDGTCZpgh0b/8QAIxABAAIBBQEAAwADAAAAAAAAAQARITFBUXGBYZHB0aHh8P/aAAgBAQABPxC1IvTs/wBxRubuqIkHgdEFrgM4moB53PYsVyg5GKNJSx94iLK+P+1LhsOTEALUADsmgg8Rj5rLhLuY7se6Tl9RTOQrbW+75hGdpglL6DS1gqN99lCZ6gBO5w/mAFV8OjHKKKWFcVM9Pi1fl29lO7E2I37Ax0oYyIhxQVE6aAtNmF0129uHJU0sXeLUrdCBKk1DWMBNmzSO+kZuWJQobq9u/sLHjXj4RSK4h2L9ZkiouW5rsfyHnLFLQUIHzDPJTT/Mp5rmxrxFQVe2twlNVN4sMQZCuyUpgbBUPy9oUHZVfyMwFbrFcW6pVv5lQ8Luij4x2ZkLJ9gkFrYlippNPpKjag0mOrMLy1t+yO22XT0iFQYcA3/MXqiyvPYQCmnXL/ZP/9k=';

/** Its libjpeg-turbo decode (sharp raw output) resized to 8x6 with a Pillow-style resize. */
export const PROGRESSIVE_JPEG_64x48_THUMB_8x6 = [218, 98, 65, 211, 93, 65, 193, 136, 104, 177, 138, 106, 187, 146, 112, 188, 155, 120, 173, 148, 116, 158, 137, 108, 193, 85, 57, 191, 111, 84, 202, 169, 139, 188, 155, 123, 189, 143, 110, 187, 142, 107, 170, 134, 103, 156, 124, 94, 174, 83, 73, 185, 134, 117, 189, 166, 145, 150, 102, 77, 162, 97, 63, 166, 121, 91, 166, 138, 108, 135, 105, 80, 160, 69, 66, 137, 77, 64, 126, 92, 75, 135, 80, 58, 174, 103, 70, 156, 110, 84, 106, 84, 66, 94, 73, 57, 129, 63, 56, 110, 63, 49, 114, 66, 49, 125, 70, 51, 151, 85, 57, 170, 119, 92, 150, 123, 99, 126, 107, 85, 114, 58, 53, 109, 62, 48, 118, 65, 50, 125, 68, 50, 156, 86, 59, 183, 112, 92, 180, 101, 92, 184, 135, 116];

/** 40x30 4-component CMYK JPEG with an Adobe APP14 marker (transform 0), baseline. */
export const CMYK_ADOBE_JPEG_40x30_B64 =
  '/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwAFAwQEBAMFBAQEBQUFBgcMCAcHBwcPCwsJDBEPEhIRDxERExYcFxMUGhURERghGBodHR8fHxMXIiQiHiQcHh8e/8AAFAgAHgAoBEMRAE0RAFkRAEsRAP/EABwAAAAHAQEAAAAAAAAAAAAAAAACBAUGBwgDAf/EADYQAAIBAwIEBAQEBAcAAAAAAAECAwQFEQAhBhIxQQcTIlFhcYGRFDJCoQhS8PEVFiNDgsHR/9oADgRDAE0AWQBLAAA/ANl6q6qu+1bHT+iMyljvv6pIWP751nOe4qkcoj9ILEkZ9yhP7jWmjd1aAxQelBJue59X99DWiv4YrNd6nw6q6rkEEUk5MfmRFWl5QQSrE9O3Tr31fXgBw/eLtwLV14RYIY5WaLzIirShV3KsTjH066il6pZ+IZoKa3yU5mWEnmY7HGTy8wPX6aGpdJYirm41FIvkonmmrX0gJ15g67Hb66ksvD1cIzcZKB/IjjExq1HoEeM84ddjt9dMFNQ3KGZYZKeWDIHM7jCqM4Lcw2I0NOtHX0ccxa31/wCKpwF5XcZ7AkZHz76VxXGjjlxR1wrqYopDyJvuoJBI6ddLONLbHaqyOmeZKlJIw4Z1wfiMjQ08w3SnlVcOAQf0tkft/wCaUyXamZSyMUxseVuYffUE4giWOndlZ4xj9XrX7jcaGsjeC3F/BfDVweTinhKG5NUSFhX8vntTg428pvSRlQcj1aqLwjXhHh+o8ziTh1bhNM3MK0r5xg2G3lnbG2cjfUwWvkr3P45T5Lf7KE8n17n66BOBnWt7ffrfxDwLXXnh6vFZT/hZfKeFuRgwQ4Xf8rD49NaWplp7lwFcrrY6tainFFN5XkS+WciM4UE/lb5jbSmruNNZrJWVtueOBqWmkeKKORQAwUnpnrnQBBAIIIO4I1meDjq5tZXt0t0lW3n1iFXO7vktsO3U46AnOsgf59ugsLW17hUJRSHmFMrkEM+edgB26t7Z1A7BXTV1vrK175V1CNNGXiRCVEzAs7gdOXHq26HHfQ1Y3gilvu9tudDVztRyrLHLFIHxkupBXcYP5Qcdep1ZHgcbZdLHcaOtqzQzrNHLC7sAGLpgruAP0A4+Z08muzUBLzcfIeVFNN5zYD7HYcwGSQM4+GiyMEQsTgAZJ0/XPh67Wi5eesyzQqCwkRuVtvcHt8jpbxVSVVm86ctzxxKWMkZwSBvnGopx9c2t1umkAYIqli69wBk65S1AWf8ADqCZPLLjPT2GTrKvAlvpYpDX1MSTCPaJJN0LDqWHf4Dp9tVTerm1unSho8+d5fOzk7D2G3T+2kHihxhVUMkdjtcrQy8gkqZVODg/lQHt7n6a9qAVVXDBVU5bIzkasOu4yvoghphcHWBAV5B+UKRg47D6aJV8TXuRIoZrjJ5Ef6M/pPsP676gN1irlpIZpHJTLer33xv/AF31276YKCsjpatpjQQTyhcKzscDBznHfSKGro6WqeSWywVMwACSeYR3zuO/9DVr8A8QJaIVaKz2+ZGgUidqgI4GQclW2bBGOu3TSevgeenKRvyOCCpz0wdXF4VrVXfh+7tTUK1U0ksbyJ2YjI/76fDVl8LU9ZxP4b39LTalqaySrgkMaAY5geufl2/fRPF21V3HvBEktoUVlWldFKksMoYk4IPq6dD0HtprrYrpHAY0aSSMrh+hO/b30+T0t3pFCXChr6S38pjdmYyIg9zgkgdN8ajFfauPLRDILjbrtBbSpVmYmRFz1zuxCj3G2qU4j4a8TrVw7UrNS3Z6QIVlRxzLy4323++jxEScUTpg5RVJydscuMY/5ftrLvDTFaKFGO0nM4HsM8p39zj9tRK/So/E8ypz8q7er2CgHT/xdMlVxxXycpwGVGz35UAOnWpkWKEyuCVT1HHXTnVT8gMrLnlOT7/TSaol5X5zkqrbjv8AT767V3N/g0ckzGQRzjIzjbl2299tHU5UEdxnXqzBuQrnfGMgd9B6n/SXrvtuAc7bal/B1ZRQ2wRvTmSHZuSRFcDI9j8R9vtr3Un4vvly4W4SttDaq2oo7hVVIqzU07leQICqqPmSSfkNW5w7+M4Y8P4DQ1s0Fwr6kTebC2FjWMHYfNjv8Bq2oZJILVT04iggcAO6wLypkDHpGhp58PP4mLjBWwWXjS0C5RyOIVraTCS5P8yHCt17FdOdi8bplq0s3FdoSuWVxEtVS4Rzn+ZD6T8wR8tcJ7vzRNT1UKyhh+bpr//Z';

// ---- DC-only baseline JPEG encoder ------------------------------------------------
// Every 8x8 block is flat (DC coefficient only, quantizer 8), so the IDCT is exact in
// any decoder and what remains is chroma upsampling + YCbCr->RGB: with random block
// levels this checks our libjpeg-turbo colour stage bit for bit. The expected digests
// below are SHA-256 of libjpeg-turbo's RGB output (decoded with sharp 0.34.5, once).

export interface DcOnlyConfig {
  width: number;
  height: number;
  /** luma sampling factors (chroma is 1x1) */
  yh: number;
  yv: number;
  seed: number;
}

export const DC_ONLY_CASES: Record<string, DcOnlyConfig & { sha256: string }> = {
  h2v2: { width: 37, height: 29, yh: 2, yv: 2, seed: 1, sha256: '9cd92ef55826d3b490c1a45324c6effb8f0ccc2d2521f63598bef0e45bf2a4d4' },
  h2v1: { width: 37, height: 29, yh: 2, yv: 1, seed: 2, sha256: '90af540c23994118059a9a03140da633fbadb7db778ac7747e447bd72d6c62f4' },
  h1v2: { width: 37, height: 29, yh: 1, yv: 2, seed: 3, sha256: 'ec6d172de29fb2272bfbc6875c4f8370c3c633c5d48c545c649fea3533353fbc' },
  h1v1: { width: 37, height: 29, yh: 1, yv: 1, seed: 4, sha256: '3e84ba474ce5654732fcd3ce49693cb3bb30b6c54ee3cd7770825ba8755be0b9' },
  'h2v2 5x3': { width: 5, height: 3, yh: 2, yv: 2, seed: 5, sha256: '415d166052b35c57ccc287393b749ec26f02bccc1338bbbbcede769da57255e1' },
  'h2v2 3x9 (chroma width 2: no fancy upsampling)': { width: 3, height: 9, yh: 2, yv: 2, seed: 6, sha256: 'e8c00aa15e36cd27153e5e5e2f566f0120d96dde65ff75c671c79cee88afe24b' },
};

export function encodeDcOnlyJpeg(cfg: DcOnlyConfig): Uint8Array {
  const { width: W, height: H, yh, yv } = cfg;
  let seed = cfg.seed;
  const levels = new Map<string, number>();
  const level = (c: number, bx: number, by: number): number => {
    const key = `${c},${bx},${by}`;
    let v = levels.get(key);
    if (v === undefined) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      v = seed >>> 24;
      levels.set(key, v);
    }
    return v;
  };
  const comps = [
    { id: 1, h: yh, v: yv },
    { id: 2, h: 1, v: 1 },
    { id: 3, h: 1, v: 1 },
  ];
  const out: number[] = [0xff, 0xd8];
  const seg = (m: number, p: number[]): void => {
    out.push(0xff, m, (p.length + 2) >> 8, (p.length + 2) & 255, ...p);
  };
  seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]); // JFIF
  seg(0xdb, [0, ...new Array<number>(64).fill(8)]);
  seg(0xc0, [8, H >> 8, H & 255, W >> 8, W & 255, 3, ...comps.flatMap((c) => [c.id, (c.h << 4) | c.v, 0])]);
  const dcBits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]; // Annex K luminance DC
  seg(0xc4, [0x00, ...dcBits, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  seg(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]); // AC table: EOB only, code "0"
  const codes: [number, number][] = [];
  for (let len = 1, code = 0, k = 0; len <= 16; len++, code <<= 1) {
    for (let i = 0; i < dcBits[len - 1]!; i++) codes[k++] = [code++, len];
  }
  seg(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);
  let acc = 0;
  let nb = 0;
  const put = (v: number, n: number): void => {
    for (let i = n - 1; i >= 0; i--) {
      acc = (acc << 1) | ((v >> i) & 1);
      if (++nb === 8) {
        out.push(acc);
        if (acc === 0xff) out.push(0);
        acc = 0;
        nb = 0;
      }
    }
  };
  const pred = [0, 0, 0];
  for (let my = 0; my < Math.ceil(H / (8 * yv)); my++) {
    for (let mx = 0; mx < Math.ceil(W / (8 * yh)); mx++) {
      comps.forEach((c, ci) => {
        for (let v = 0; v < c.v; v++) {
          for (let h = 0; h < c.h; h++) {
            const dc = level(ci, mx * c.h + h, my * c.v + v) - 128;
            const diff = dc - pred[ci]!;
            pred[ci] = dc;
            const s = diff === 0 ? 0 : 32 - Math.clz32(Math.abs(diff));
            put(codes[s]![0], codes[s]![1]);
            if (s) put(diff >= 0 ? diff : diff + (1 << s) - 1, s);
            put(0, 1); // EOB
          }
        }
      });
    }
  }
  if (nb) put((1 << (8 - nb)) - 1, 8 - nb);
  out.push(0xff, 0xd9);
  return new Uint8Array(out);
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data.slice()));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}
