// JPEG: header probe (SOFn + EXIF orientation, no decoding), a cheap full marker
// scan (scan count, EOI, Adobe marker), decoding with jpeg-js, and a libjpeg-turbo
// compatible colour stage.
//
// jpeg-js vs libjpeg-turbo (what Pillow 9.4 used for the goldens):
// - IDCT: jpeg-js uses its own 12-bit fixed-point IDCT, libjpeg-turbo JDCT_ISLOW;
//   they differ by +-1 on some samples. Not fixable without our own decoder.
// - Chroma upsampling: jpeg-js replicates (box), libjpeg-turbo uses "fancy"
//   (triangle) upsampling by default, and Pillow does not turn it off.
// - YCbCr->RGB: jpeg-js uses float math and truncates (a -0.5 bias on average),
//   libjpeg uses rounded 16-bit fixed point tables.
// We ask jpeg-js for the raw (untransformed) components (colorTransform: false),
// recover the subsampled chroma planes from its replicated output (exact, since
// replication by 2 is lossless to undo), and redo upsampling + colour conversion the
// way libjpeg-turbo does (jdsample.c h2v1/h2v2/h1v2 fancy upsampling, jdcolor.c
// ycc_rgb_convert). Only the IDCT differences remain: on JPEGs made of flat blocks
// (exact IDCT everywhere) our output is bit-identical to libjpeg-turbo's for 4:2:0,
// 4:2:2, 4:4:0 and 4:4:4 (test/node/image.test.ts). An Adobe APP14 marker with
// transform 1 makes jpeg-js convert the colours itself (float, box upsampling).

import { decode as jpegJsDecode } from 'jpeg-js';
import { swapsAxes, readApp1Orientation } from './exif.ts';
import { tooLarge, undecodable, wrapDecoderError, type ImageLimits } from './errors.ts';

export interface JpegComponent {
  id: number;
  h: number;
  v: number;
}

export interface JpegHeader {
  /** Stored (pre-orientation) dimensions. */
  width: number;
  height: number;
  orientation: number;
  /** SOF marker byte, 0xC0..0xCF. */
  sof: number;
  precision: number;
  components: JpegComponent[];
  /** Offset just after the SOF segment. */
  afterSof: number;
  jfif: boolean;
  /** Adobe APP14 transform code seen before SOF, -1 if none. */
  adobeTransform: number;
}

const SOF_SUPPORTED = new Set([0xc0, 0xc1, 0xc2]);

function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

function isStandalone(m: number): boolean {
  // TEM, RSTn, SOI, EOI carry no length field.
  return m === 0x01 || (m >= 0xd0 && m <= 0xd9);
}

/**
 * Walk the marker segments from SOI up to the first SOFn. Reads only segment headers,
 * APP1 (EXIF orientation), APP0 (JFIF) and APP14 (Adobe): cheap and allocation-free
 * whatever the declared dimensions. Throws ImageError 422 when malformed/truncated or
 * when the coding process is one jpeg-js cannot decode.
 */
export function probeJpeg(bytes: Uint8Array): JpegHeader {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw undecodable('truncated JPEG header');
  let off = 2;
  let orientation = 0; // 0 = not seen yet
  let jfif = false;
  let adobeTransform = -1;
  for (;;) {
    // Find the next marker, tolerating garbage and fill bytes like libjpeg does.
    while (off < n && bytes[off] !== 0xff) off++;
    while (off < n && bytes[off] === 0xff) off++;
    if (off >= n) throw undecodable('truncated JPEG: no frame header (SOF) found');
    const m = bytes[off++]!;
    if (m === 0x00) continue; // stray stuffed byte
    if (m === 0xd9) throw undecodable('JPEG has no frame header (EOI before SOF)');
    if (isStandalone(m)) continue;
    if (off + 2 > n) throw undecodable('truncated JPEG header');
    const len = (bytes[off]! << 8) | bytes[off + 1]!;
    if (len < 2) throw undecodable('malformed JPEG segment length');
    const start = off + 2;
    const end = off + len;
    if (end > n) throw undecodable('truncated JPEG header');
    if (m === 0xda) throw undecodable('JPEG scan (SOS) before frame header (SOF)');
    if (m === 0xe1 && orientation === 0) {
      const o = readApp1Orientation(bytes.subarray(start, end));
      if (o !== null) orientation = o;
    } else if (m === 0xe0 && end - start >= 5 && isTag(bytes, start, 'JFIF\0')) {
      jfif = true;
    } else if (m === 0xee && end - start >= 12 && isTag(bytes, start, 'Adobe')) {
      adobeTransform = bytes[start + 11]!;
    } else if (isSof(m)) {
      return parseSof(bytes, m, start, end, orientation || 1, jfif, adobeTransform);
    }
    off = end;
  }
}

function isTag(b: Uint8Array, at: number, tag: string): boolean {
  for (let i = 0; i < tag.length; i++) if (b[at + i] !== tag.charCodeAt(i)) return false;
  return true;
}

function parseSof(
  bytes: Uint8Array,
  m: number,
  start: number,
  end: number,
  orientation: number,
  jfif: boolean,
  adobeTransform: number,
): JpegHeader {
  if (end - start < 6) throw undecodable('malformed JPEG frame header');
  const precision = bytes[start]!;
  const height = (bytes[start + 1]! << 8) | bytes[start + 2]!;
  const width = (bytes[start + 3]! << 8) | bytes[start + 4]!;
  const nc = bytes[start + 5]!;
  if (end - start !== 6 + 3 * nc) throw undecodable('malformed JPEG frame header');
  if (!SOF_SUPPORTED.has(m)) {
    const kind = m === 0xc3 ? 'lossless' : m >= 0xc9 ? 'arithmetic-coded' : 'hierarchical';
    throw undecodable(`unsupported JPEG coding process (${kind}, SOF${m - 0xc0})`);
  }
  if (precision !== 8) throw undecodable(`unsupported JPEG sample precision ${precision} bits`);
  if (width === 0 || height === 0) {
    throw undecodable('JPEG with zero width or height (DNL-defined height is not supported)');
  }
  if (nc !== 1 && nc !== 3 && nc !== 4) throw undecodable(`unsupported JPEG with ${nc} components`);
  const components: JpegComponent[] = [];
  for (let i = 0; i < nc; i++) {
    const p = start + 6 + 3 * i;
    const h = bytes[p + 1]! >> 4;
    const v = bytes[p + 1]! & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) throw undecodable('invalid JPEG sampling factors');
    components.push({ id: bytes[p]!, h, v });
  }
  return { width, height, orientation, sof: m, precision, components, afterSof: end, jfif, adobeTransform };
}

// Measured in Node 20 (RSS per live Int32Array(64)): ~470-560 bytes, i.e. the 256-byte
// payload jpeg-js accounts for plus V8 object + backing-store overhead.
const BYTES_PER_JPEGJS_BLOCK = 512;
const BYTES_PER_JPEGJS_LINE_OVERHEAD = 128;

/**
 * Estimated peak working memory of decodeJpeg + orientation, from the header only.
 * Mirrors jpeg-js's allocations: coefficient blocks (MCU-padded), component sample
 * lines, the interleaved getData() copy, the RGB output, the input copy jpeg-js makes,
 * our chroma planes, and the rotated copy for EXIF orientations 5..8.
 */
export function estimateJpegDecodeBytes(h: JpegHeader, inputBytes: number): number {
  const W = h.width;
  const H = h.height;
  let maxH = 1;
  let maxV = 1;
  for (const c of h.components) {
    if (c.h > maxH) maxH = c.h;
    if (c.v > maxV) maxV = c.v;
  }
  const mcusPerLine = Math.ceil(W / 8 / maxH);
  const mcusPerColumn = Math.ceil(H / 8 / maxV);
  let blocks = 0;
  let lineBytes = 0;
  let chroma = 0;
  for (const c of h.components) {
    blocks += mcusPerLine * c.h * (mcusPerColumn * c.v);
    const bpl = Math.ceil((Math.ceil(W / 8) * c.h) / maxH);
    const bpc = Math.ceil((Math.ceil(H / 8) * c.v) / maxV);
    lineBytes += bpl * 8 * bpc * 8 + bpc * 8 * BYTES_PER_JPEGJS_LINE_OVERHEAD;
    if (c !== h.components[0]) chroma += Math.ceil((W * c.h) / maxH) * Math.ceil((H * c.v) / maxV);
  }
  const px = W * H;
  const nc = h.components.length;
  return (
    inputBytes +
    blocks * BYTES_PER_JPEGJS_BLOCK +
    lineBytes +
    px * nc + // getData()
    px * 3 + // output
    (nc === 3 ? chroma : 0) +
    (swapsAxes(h.orientation) ? px * 3 : 0)
  );
}

export interface JpegScan {
  scans: number;
  /** Adobe transform of the last APP14 "Adobe" segment anywhere, -1 if none (jpeg-js semantics). */
  adobeTransform: number;
}

/**
 * Cheap pre-scan of the whole stream (segment headers + a byte search through the
 * entropy-coded data): counts SOS markers and checks that the stream reaches EOI.
 * jpeg-js has no cap on progressive scans, so this runs before it.
 */
export function scanJpeg(bytes: Uint8Array, h: JpegHeader, limits: ImageLimits): JpegScan {
  const n = bytes.length;
  let off = h.afterSof;
  let scans = 0;
  let adobeTransform = h.adobeTransform;
  for (;;) {
    while (off < n && bytes[off] !== 0xff) off++;
    while (off < n && bytes[off] === 0xff) off++;
    if (off >= n) throw undecodable('truncated JPEG (no end-of-image marker)');
    const m = bytes[off++]!;
    if (m === 0x00 || isStandalone(m)) {
      if (m === 0xd9) break; // EOI
      continue;
    }
    if (off + 2 > n) throw undecodable('truncated JPEG');
    const len = (bytes[off]! << 8) | bytes[off + 1]!;
    if (len < 2) throw undecodable('malformed JPEG segment length');
    const end = off + len;
    if (end > n) throw undecodable('truncated JPEG');
    if (isSof(m)) throw undecodable('JPEG with more than one frame is not supported');
    if (m === 0xee && len - 2 >= 12 && isTag(bytes, off + 2, 'Adobe')) adobeTransform = bytes[off + 2 + 11]!;
    off = end;
    if (m === 0xda) {
      scans++;
      if (scans > limits.maxProgressiveScans) {
        throw tooLarge(`JPEG has more than ${limits.maxProgressiveScans} scans (limit maxProgressiveScans)`);
      }
      // Skip entropy-coded data: up to the next 0xFF that starts a real marker
      // (not a stuffed 0xFF00, not RSTn, not a fill byte).
      for (;;) {
        off = bytes.indexOf(0xff, off);
        if (off < 0) throw undecodable('truncated JPEG (no end-of-image marker)');
        let k = off + 1;
        while (k < n && bytes[k] === 0xff) k++;
        if (k >= n) throw undecodable('truncated JPEG (no end-of-image marker)');
        const b = bytes[k]!;
        if (b === 0x00 || (b >= 0xd0 && b <= 0xd7)) {
          off = k + 1;
          continue;
        }
        off = k - 1; // position of the 0xFF preceding the marker byte
        break;
      }
    }
  }
  if (scans === 0) throw undecodable('JPEG has no image data (no SOS)');
  return { scans, adobeTransform };
}

/**
 * Decode to packed RGB (stored orientation, width x height x 3).
 * Precondition: h = probeJpeg(bytes) and limits already checked against it.
 */
export function decodeJpeg(bytes: Uint8Array, h: JpegHeader, limits: ImageLimits): Uint8Array {
  const scan = scanJpeg(bytes, h, limits);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpegJsDecode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // Raw components for 3-channel images unless an Adobe marker forces the transform;
      // we do the YCbCr->RGB conversion ourselves (see top of file). For 4 channels
      // false is jpeg-js's default anyway.
      colorTransform: false,
      tolerantDecoding: true,
      maxResolutionInMP: limits.maxPixels / 1e6 + 1e-6, // ours is the real check (probe)
      maxMemoryUsageInMB: limits.maxMemoryMB,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/maxMemoryUsageInMB|maxResolutionInMP|allocate enough memory/.test(msg) || err instanceof RangeError) {
      throw tooLarge(`JPEG decode exceeds limits: ${msg}`);
    }
    throw wrapDecoderError(err, 'undecodable JPEG');
  }
  if (img.width !== h.width || img.height !== h.height || img.data.length !== h.width * h.height * 3) {
    throw undecodable('JPEG decoder returned an unexpected image size');
  }
  if (h.components.length === 3) {
    const jpegJsTransformed = scan.adobeTransform > 0; // jpeg-js: adobe && adobe.transformCode
    if (!jpegJsTransformed && isYCbCr(h)) {
      yccToRgbLibjpeg(img.data, h);
    }
  }
  return img.data;
}

/** libjpeg's jpeg_color_space guess for 3-component files (jdapimin.c; markers before SOF). */
function isYCbCr(h: JpegHeader): boolean {
  if (h.jfif) return true;
  if (h.adobeTransform >= 0) return h.adobeTransform !== 0;
  const [a, b, c] = h.components;
  return !(a!.id === 82 && b!.id === 71 && c!.id === 66); // 'R','G','B'
}

// ---- libjpeg-turbo colour stage ----------------------------------------------------

let yccTables: { crR: Int32Array; cbB: Int32Array; crG: Int32Array; cbG: Int32Array } | null = null;

function getYccTables(): NonNullable<typeof yccTables> {
  if (yccTables) return yccTables;
  // jdcolor.c build_ycc_rgb_table, SCALEBITS 16.
  const ONE_HALF = 1 << 15;
  const FIX = (x: number): number => Math.trunc(x * 65536 + 0.5);
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Int32Array(256);
  const cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = (FIX(1.402) * x + ONE_HALF) >> 16;
    cbB[i] = (FIX(1.772) * x + ONE_HALF) >> 16;
    crG[i] = -FIX(0.71414) * x;
    cbG[i] = -FIX(0.34414) * x + ONE_HALF;
  }
  yccTables = { crR, cbB, crG, cbG };
  return yccTables;
}

/**
 * In place: data holds Y, Cb, Cr per pixel (chroma replicated by jpeg-js). Redo the
 * chroma upsampling with libjpeg-turbo's fancy (triangle) filter when the sampling
 * is one it special-cases (luma 2x2/2x1/1x2 with 1x1 chroma), then convert with
 * libjpeg's fixed-point tables.
 */
function yccToRgbLibjpeg(data: Uint8Array, h: JpegHeader): void {
  const W = h.width;
  const H = h.height;
  const [y, cb, cr] = h.components;
  let fx = 1;
  let fy = 1;
  if (cb!.h === 1 && cb!.v === 1 && cr!.h === 1 && cr!.v === 1 && y!.h <= 2 && y!.v <= 2) {
    fx = y!.h;
    fy = y!.v;
  }
  const { crR, cbB, crG, cbG } = getYccTables();

  // libjpeg-turbo uses plain replication for h2 when the chroma width is <= 2.
  const cw = Math.ceil(W / fx);
  const ch = Math.ceil(H / fy);
  const fancyX = fx === 2 && cw > 2;
  const fancyY = fy === 2 && (fx === 1 || fancyX);

  if (!fancyX && !fancyY) {
    // Replicated chroma is what libjpeg produces too (no subsampling or tiny image).
    for (let p = 0, n = W * H * 3; p < n; p += 3) {
      const Y = data[p]!;
      const cbv = data[p + 1]!;
      const crv = data[p + 2]!;
      const r = Y + crR[crv]!;
      const g = Y + ((cbG[cbv]! + crG[crv]!) >> 16);
      const b = Y + cbB[cbv]!;
      data[p] = r < 0 ? 0 : r > 255 ? 255 : r;
      data[p + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
      data[p + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
    }
    return;
  }

  // Recover the subsampled chroma planes: sample (cx, cy) is replicated at
  // full-resolution pixel (cx*fx, cy*fy).
  const planeCb = new Uint8Array(cw * ch);
  const planeCr = new Uint8Array(cw * ch);
  for (let cy = 0; cy < ch; cy++) {
    let s = cy * fy * W * 3;
    const step = fx * 3;
    for (let d = cy * cw, e = d + cw; d < e; d++, s += step) {
      planeCb[d] = data[s + 1]!;
      planeCr[d] = data[s + 2]!;
    }
  }

  const up = cw * fx; // >= W: upsampled rows may have one extra sample, never used
  const rowCb = new Uint8Array(up);
  const rowCr = new Uint8Array(up);
  const colCb = new Int32Array(cw); // vertically filtered chroma row: 3*nearer + further
  const colCr = new Int32Array(cw);
  for (let yy = 0; yy < H; yy++) {
    const cy = fy === 2 ? yy >> 1 : yy;
    const a = cy * cw;
    if (fancyY) {
      // Nearest chroma row and next nearest (above for even rows, below for odd),
      // edge rows replicated (libjpeg context rows).
      const b = (yy & 1 ? Math.min(cy + 1, ch - 1) : Math.max(cy - 1, 0)) * cw;
      for (let i = 0; i < cw; i++) {
        colCb[i] = planeCb[a + i]! * 3 + planeCb[b + i]!;
        colCr[i] = planeCr[a + i]! * 3 + planeCr[b + i]!;
      }
      if (fancyX) {
        h2v2FancyRow(colCb, cw, rowCb);
        h2v2FancyRow(colCr, cw, rowCr);
      } else {
        // h1v2: (3*nearer + further + bias) >> 2, bias 1 above / 2 below.
        const bias = yy & 1 ? 2 : 1;
        for (let i = 0; i < cw; i++) {
          rowCb[i] = (colCb[i]! + bias) >> 2;
          rowCr[i] = (colCr[i]! + bias) >> 2;
        }
      }
    } else {
      h2v1FancyRow(planeCb, a, cw, rowCb);
      h2v1FancyRow(planeCr, a, cw, rowCr);
    }
    for (let x = 0, p = yy * W * 3; x < W; x++, p += 3) {
      const Y = data[p]!;
      const cbv = rowCb[x]!;
      const crv = rowCr[x]!;
      const r = Y + crR[crv]!;
      const g = Y + ((cbG[cbv]! + crG[crv]!) >> 16);
      const b = Y + cbB[cbv]!;
      data[p] = r < 0 ? 0 : r > 255 ? 255 : r;
      data[p + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
      data[p + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
    }
  }
}

/** jdsample.c h2v1_fancy_upsample for one row of n >= 3 samples -> 2n outputs. */
function h2v1FancyRow(plane: Uint8Array, a: number, n: number, out: Uint8Array): void {
  let v = plane[a]!;
  out[0] = v;
  out[1] = (v * 3 + plane[a + 1]! + 2) >> 2;
  let o = 2;
  for (let i = a + 1, e = a + n - 1; i < e; i++, o += 2) {
    v = plane[i]! * 3;
    out[o] = (v + plane[i - 1]! + 1) >> 2;
    out[o + 1] = (v + plane[i + 1]! + 2) >> 2;
  }
  v = plane[a + n - 1]!;
  out[o] = (v * 3 + plane[a + n - 2]! + 1) >> 2;
  out[o + 1] = v;
}

/** jdsample.c h2v2_fancy_upsample, horizontal step from column sums: n >= 3 -> 2n outputs. */
function h2v2FancyRow(col: Int32Array, n: number, out: Uint8Array): void {
  let thiscol = col[0]!;
  let nextcol = col[1]!;
  out[0] = (thiscol * 4 + 8) >> 4;
  out[1] = (thiscol * 3 + nextcol + 7) >> 4;
  let lastcol = thiscol;
  thiscol = nextcol;
  let o = 2;
  for (let i = 2; i < n; i++, o += 2) {
    nextcol = col[i]!;
    out[o] = (thiscol * 3 + lastcol + 8) >> 4;
    out[o + 1] = (thiscol * 3 + nextcol + 7) >> 4;
    lastcol = thiscol;
    thiscol = nextcol;
  }
  out[o] = (thiscol * 3 + lastcol + 8) >> 4;
  out[o + 1] = (thiscol * 4 + 7) >> 4;
}
