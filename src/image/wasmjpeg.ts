// JS side of build/jpeg.wasm (assembly/jpeg): a baseline + progressive JPEG decoder
// with DCT-domain downscaling, bit-exact with libjpeg-turbo 2.1.5 (djpeg defaults:
// islow IDCT, fancy upsampling, jdcolor.c tables) at 1/1, 1/2 and 1/4 scale and, for
// single-scan baseline files, at 1/8 (jidctred.c reduced IDCTs, scaled chroma IDCT
// like jdmaster.c). Progressive / multi-scan files at 1/8 keep only DC coefficients
// (subsampled chroma is then replicated, not 2x2-IDCT'd).
//
//   const dec = await createJpegDecoder(module);   // Workers: `import m from '../../build/jpeg.wasm'`
//   const img = dec.decode(bytes, { minWidth: 224, minHeight: 224, maxMemoryMB: 48 });
//   // img.width x img.height RGB at scale 1/img.scale, the largest reduction that keeps
//   // the output >= minWidth x minHeight
//
// Web-standard APIs only (Node 20 and workerd). The module must be a compiled
// WebAssembly.Module: in Workers the imported .wasm (wrangler.toml CompiledWasm rule),
// in Node `new WebAssembly.Module(readFileSync('build/jpeg.wasm'))`.
//
// Memory: one wasm instance per decoder, reused. Its linear memory holds the input copy,
// the decoder's buffers and the output; it grows as needed and never shrinks, so after
// a decode that left more than `retainBytes` (default 16 MiB) the instance is dropped
// and re-instantiated (synchronously, from the already compiled module) on next use.
// Peak of one decode = input + planned buffers + output (in wasm) + output copy (JS):
// checked against maxMemoryMB before decoding (413), and enforced by the wasm arena.
//   baseline, single scan (streaming: MCU-row strips, no coefficient buffer):
//     ~ input + 2 x RGB output + two MCU rows. 12 MP 4:2:0 (4000x3000, 1.8-2.2 MB
//     files): ~3-3.5 MiB at 1/8 (500x375), ~71 MiB at 1/1 (2 x 36 MB of RGB)
//   progressive / multi-scan: + 136 B per 8x8 block (coefficients + a nonzero mask;
//     2 B at 1/8: DC only). 12 MP 4:2:0: ~3.3 MiB at 1/8, ~43 MiB at 1/4, ~56 MiB at
//     1/2, ~107 MiB at 1/1
// Speed (Node 20, CPU time; jpeg-js in brackets): cat_1080p.jpg 11 ms at 1/1, 3.7 ms at
// 1/4 [104 ms]; cat_720p.jpg 5.3 ms / 2.3 ms at 1/2 [50 ms]; 12 MP baseline ~85-120 ms
// at 1/1, 22-32 ms at 1/8 [0.7-1.3 s].

import { ImageError, MIB, tooLarge, undecodable } from './errors.ts';

/** Raised for JPEGs this decoder does not handle (CMYK/YCCK, 2 components, 12-bit,
 *  lossless, arithmetic, DNL): callers may fall back to another decoder. */
export class JpegUnsupportedError extends ImageError {
  constructor(message: string) {
    super('undecodable_image', 422, message);
    this.name = 'JpegUnsupportedError';
  }
}

export interface JpegDecodeOptions {
  /** Smallest acceptable output size (stored orientation): the largest reduction 1/2, 1/4,
   *  1/8 whose output is still >= minWidth x minHeight is used. Default: full size. */
  minWidth?: number;
  minHeight?: number;
  /** Force the scale denominator (1, 2, 4 or 8) instead of choosing from min*. */
  scale?: number;
  /** Max width*height of the frame header (413). Default 24e6. */
  maxPixels?: number;
  /** Max peak working memory of this decode in MiB (413): input copy + decoder buffers +
   *  output in wasm memory + the JS copy of the output. Default 48. */
  maxMemoryMB?: number;
  /** Max number of scans (SOS), 413 above. Default 32. */
  maxScans?: number;
}

export interface JpegDecodeResult {
  /** Output size (stored orientation, EXIF not applied). */
  width: number;
  height: number;
  /** Scale denominator: 1, 2, 4 or 8. */
  scale: number;
  /** Frame size from the header. */
  sourceWidth: number;
  sourceHeight: number;
  /** Packed RGB, width * height * 3 bytes (a copy: the decoder's memory is reused). */
  data: Uint8Array;
  /** Peak working memory of this decode (wasm arena + the JS copy), bytes. */
  peakBytes: number;
}

export interface JpegDecoder {
  decode(bytes: Uint8Array, options?: JpegDecodeOptions): JpegDecodeResult;
  /** Bytes of linear memory the current instance holds (0 when dropped). */
  readonly memoryBytes: number;
}

interface Exports {
  memory: WebAssembly.Memory;
  reset(limit: number): void;
  allocInput(n: number): number;
  parseHeader(ptr: number, len: number): number;
  planBytes(scaleLog2: number): number;
  decode(scaleLog2: number, maxScans: number): number;
  frameWidth(): number;
  frameHeight(): number;
  frameComponents(): number;
  frameProgressive(): number;
  outPtr(): number;
  outWidth(): number;
  outHeight(): number;
  arenaPeakBytes(): number;
}

// error codes of assembly/jpeg/decoder.ts
const MESSAGES: Record<number, string> = {
  1: 'truncated JPEG: the data ends before the image is complete',
  2: 'not a JPEG (no SOI marker)',
  3: 'malformed JPEG marker segment',
  4: 'JPEG has no frame header (SOF) before its scan, or no scan',
  5: 'invalid or missing JPEG Huffman table',
  6: 'missing JPEG quantization table',
  7: 'corrupt JPEG data: bad Huffman code',
  8: 'corrupt JPEG data: coefficient index out of range',
  9: 'invalid JPEG scan header',
  10: 'JPEG with more than one frame is not supported',
  11: 'JPEG decoder used without a parsed header',
  20: 'unsupported JPEG coding process (lossless, arithmetic-coded or hierarchical)',
  21: 'unsupported JPEG sample precision (only 8-bit)',
  22: 'unsupported JPEG component count (only grayscale and 3-component colour)',
  23: 'unsupported JPEG: height defined by a DNL marker',
  30: 'JPEG decode exceeds the memory limit',
};
const UNSUPPORTED_MIN = 20;
const UNSUPPORTED_MAX = 29;
const ERR_MEMORY = 30;
const ERR_SCANS = 31;

export const DEFAULT_RETAIN_BYTES = 16 * MIB;

/** Largest reduction d in {8, 4, 2, 1} with ceil(w/d) >= minWidth and ceil(h/d) >= minHeight. */
export function chooseJpegScale(width: number, height: number, minWidth = 0, minHeight = 0): number {
  for (const d of [8, 4, 2]) {
    if (Math.ceil(width / d) >= minWidth && Math.ceil(height / d) >= minHeight) return d;
  }
  return 1;
}

export interface JpegFrameInfo {
  width: number;
  height: number;
  /** SOF marker byte (0xC2 = progressive). */
  sof: number;
  components: readonly { h: number; v: number }[];
}

/**
 * The arena bytes decode() plans for (mirror of setup() in assembly/jpeg/decoder.ts,
 * assuming a single-scan file when baseline), without the input copy.
 */
export function planJpegBytes(f: JpegFrameInfo, scale: number): number {
  const s = 8 / scale;
  const nc = f.components.length;
  const comps = nc === 1 ? [{ h: 1, v: 1 }] : f.components;
  let maxH = 1;
  let maxV = 1;
  for (const c of comps) {
    maxH = Math.max(maxH, c.h);
    maxV = Math.max(maxV, c.v);
  }
  const mcusX = Math.ceil(f.width / (8 * maxH));
  const mcusY = Math.ceil(f.height / (8 * maxV));
  const streaming = f.sof !== 0xc2;
  const dcOnly = s === 1 && !streaming;
  const stride = dcOnly ? 2 : 128;
  const outW = Math.ceil((f.width * s) / 8);
  const outH = Math.ceil((f.height * s) / 8);
  let total = outW * outH * 3 + 16;
  for (const { h, v } of comps) {
    let S = s;
    if (!dcOnly) while (S < 8 && (maxH * s) % (h * S * 2) === 0 && (maxV * s) % (v * S * 2) === 0) S *= 2;
    const cw = Math.ceil((f.width * h * S) / (maxH * 8));
    const hnum = maxH * s;
    const vnum = maxV * s;
    const hden = h * S;
    const vden = v * S;
    const fancy = s > 1;
    let mode = 4;
    if (hnum === hden && vnum === vden) mode = 0;
    else if (fancy && hnum === 2 * hden && vnum === vden && cw > 2) mode = 1;
    else if (fancy && hnum === hden && vnum === 2 * vden) mode = 2;
    else if (fancy && hnum === 2 * hden && vnum === 2 * vden && cw > 2) mode = 3;
    const bw = mcusX * h;
    const pitch = bw * S;
    const strip = pitch * v * S + 32;
    const up = mode === 0 ? 0 : outW + 64;
    const map = mode === 4 ? outW * 4 + 16 : 0;
    const coef = streaming ? bw * v * stride + 16 : bw * mcusY * v * stride + 16;
    const masks = !streaming && !dcOnly ? bw * mcusY * v * 8 + 16 : 0; // progressive: nonzero masks
    total += strip * 2 + pitch + 32 + up + map + coef + masks + 7 * 16;
  }
  return total + outW * 2 + 64 + 16; // + the upsamplers' scratch row
}

/**
 * Estimated peak working memory of a decode at 1/scale from the frame header:
 * input copy + planned buffers + the JS copy of the output. (Exact for single-scan
 * baseline and progressive files up to 16-byte rounding; a baseline file split into
 * several scans needs a coefficient buffer the header does not announce: the decoder's
 * own arena limit catches that.)
 */
export function estimateWasmJpegBytes(f: JpegFrameInfo, inputBytes: number, scale: number): number {
  const outBytes = Math.ceil((f.width * 8) / scale / 8) * Math.ceil((f.height * 8) / scale / 8) * 3;
  return inputBytes + 16 + planJpegBytes(f, scale) + outBytes;
}

function fmtMiB(n: number): number {
  return Math.ceil(n / MIB);
}

class WasmJpegDecoder implements JpegDecoder {
  private ex: Exports | null;

  constructor(
    private readonly module: WebAssembly.Module,
    instance: WebAssembly.Instance,
    private readonly retainBytes: number,
  ) {
    this.ex = instance.exports as unknown as Exports;
  }

  get memoryBytes(): number {
    return this.ex === null ? 0 : this.ex.memory.buffer.byteLength;
  }

  private exports(): Exports {
    if (this.ex === null) {
      this.ex = new WebAssembly.Instance(this.module, imports()).exports as unknown as Exports;
    }
    return this.ex;
  }

  decode(bytes: Uint8Array, options: JpegDecodeOptions = {}): JpegDecodeResult {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('decode: bytes must be a Uint8Array');
    const maxPixels = options.maxPixels ?? 24_000_000;
    const maxMemoryMB = options.maxMemoryMB ?? 48;
    const maxScans = options.maxScans ?? 32;
    const limit = Math.floor(maxMemoryMB * MIB);
    if (!(limit > 0) || !(maxPixels > 0) || !(maxScans >= 1)) throw new RangeError('invalid JPEG decode limits');
    if (options.scale !== undefined && ![1, 2, 4, 8].includes(options.scale)) throw new RangeError('scale must be 1, 2, 4 or 8');
    const ex = this.exports();
    try {
      // the arena limit covers input + buffers + output; the JS copy is checked below
      ex.reset(Math.min(limit, 0xfff00000));
      const inPtr = ex.allocInput(bytes.length);
      if (inPtr === 0) {
        throw tooLarge(`decoding this JPEG needs more than ${maxMemoryMB} MiB (the input alone is ${fmtMiB(bytes.length)} MiB)`);
      }
      new Uint8Array(ex.memory.buffer, inPtr, bytes.length).set(bytes);
      let rc = ex.parseHeader(inPtr, bytes.length);
      if (rc !== 0) throw this.error(rc, maxScans);
      const w = ex.frameWidth();
      const h = ex.frameHeight();
      if (w * h > maxPixels) throw tooLarge(`image is ${w}x${h} (${w * h} pixels), the limit is ${maxPixels} pixels`);
      const scale = options.scale ??
        (options.minWidth === undefined && options.minHeight === undefined ? 1 : chooseJpegScale(w, h, options.minWidth ?? 0, options.minHeight ?? 0));
      const scaleLog2 = [1, 2, 4, 8].indexOf(scale);
      const outW = Math.ceil(w / scale);
      const outH = Math.ceil(h / scale);
      const need = bytes.length + 16 + ex.planBytes(scaleLog2) + outW * outH * 3;
      if (need > limit) {
        throw tooLarge(`decoding this ${w}x${h} JPEG needs ~${fmtMiB(need)} MiB, the limit is ${maxMemoryMB} MiB`);
      }
      rc = ex.decode(scaleLog2, maxScans);
      if (rc !== 0) throw this.error(rc, maxScans);
      const ow = ex.outWidth();
      const oh = ex.outHeight();
      const p = ex.outPtr();
      const data = new Uint8Array(ex.memory.buffer, p, ow * oh * 3).slice();
      const peakBytes = ex.arenaPeakBytes() + data.length;
      if (ex.memory.buffer.byteLength > this.retainBytes) this.ex = null;
      return { width: ow, height: oh, scale, sourceWidth: w, sourceHeight: h, data, peakBytes };
    } catch (err) {
      if (err instanceof ImageError) {
        if (ex.memory.buffer.byteLength > this.retainBytes) this.ex = null;
        throw err;
      }
      // a trap (or anything unexpected): the instance is not trusted any more
      this.ex = null;
      const msg = err instanceof Error ? err.message : String(err);
      throw undecodable(`undecodable JPEG: decoder failure (${msg})`);
    }
  }

  private error(rc: number, maxScans: number): ImageError {
    if (rc === ERR_SCANS) return tooLarge(`JPEG has more than ${maxScans} scans (limit maxProgressiveScans)`);
    if (rc === ERR_MEMORY) return tooLarge(MESSAGES[rc]!);
    const msg = MESSAGES[rc] ?? `undecodable JPEG (decoder error ${rc})`;
    if (rc >= UNSUPPORTED_MIN && rc <= UNSUPPORTED_MAX) return new JpegUnsupportedError(msg);
    return undecodable(msg);
  }
}

function imports(): WebAssembly.Imports {
  return {
    env: {
      abort: () => {
        throw new WebAssembly.RuntimeError('jpeg.wasm abort');
      },
    },
  };
}

export interface JpegDecoderOptions {
  /** Drop the instance after a decode that left its memory above this many bytes. */
  retainBytes?: number;
}

/** One decoder (one wasm instance, reused across decodes) from the compiled module. */
export async function createJpegDecoder(module: WebAssembly.Module, options: JpegDecoderOptions = {}): Promise<JpegDecoder> {
  const instance = await WebAssembly.instantiate(module, imports());
  return new WasmJpegDecoder(module, instance, options.retainBytes ?? DEFAULT_RETAIN_BYTES);
}
