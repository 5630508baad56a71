// Calibration for post-training quantization: run a graph (float, or already quantized) on a
// directory of images with every tensor kept in its own arena slot (noReuse), read every
// intermediate after each run, and collect per-tensor statistics: min/max, a histogram (for the
// percentile and MSE range choices) and per-channel means (for 4-bit bias correction).
//
// Images are preprocessed exactly as the Worker does (decodeImage -> Pillow-style resizeRGB to the
// model's input size -> quantizeInput with the model's input spec), so calibration sees what
// inference sees.

import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { decodeImage, resizeRGB, quantizeInput, type QuantizeSpec } from '../src/image/index.ts';
import { parseArtifact, type ArtifactManifest } from '../src/model/artifact.ts';
import type { Engine, LoadedModel } from '../src/engine/engine.ts';
import type { InputSpec, PixelNormalization } from '../src/engine/types.ts';
import { lower, CompileError } from './compile.ts';
import { roundHalfAway } from '../src/model/quant.ts';
import { createNodeEngine } from './node-engine.ts';
import type { TfModel } from './tflite.ts';

export type CalibMethod = 'minmax' | 'percentile' | 'mse';
export const CALIB_METHODS: CalibMethod[] = ['minmax', 'percentile', 'mse'];
/** The percentile method keeps [p, 100 - p] of every tensor's values. */
export const PERCENTILE = 99.99;
const HIST_BINS = 2048;

export interface CalibImage { file: string; width: number; height: number; rgb: Uint8Array }

const IMAGE_RE = /\.(jpe?g|png)$/i;

function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && IMAGE_RE.test(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Decode every JPEG/PNG under dir (recursively, sorted by path: a fixed directory gives a fixed
 * calibration set). limit: at most that many, evenly spaced over the sorted list.
 */
export async function loadImages(dir: string, opts: { limit?: number; what?: string } = {}): Promise<CalibImage[]> {
  const what = opts.what ?? 'calibration';
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CompileError(`${what} directory ${dir} does not exist or is not a directory`);
  let files = listImages(dir);
  if (files.length === 0) throw new CompileError(`${what} directory ${dir} has no images (.jpg, .jpeg or .png, searched recursively)`);
  if (opts.limit && opts.limit > 0 && files.length > opts.limit) {
    const step = files.length / opts.limit;
    files = Array.from({ length: opts.limit }, (_, i) => files[Math.floor(i * step)]!);
  }
  const images: CalibImage[] = [];
  const bad: string[] = [];
  for (const f of files) {
    try {
      const img = await decodeImage(new Uint8Array(readFileSync(f)));
      images.push({ file: relative(dir, f), width: img.width, height: img.height, rgb: img.data });
    } catch (e) {
      bad.push(`${relative(dir, f)} (${(e as Error).message})`);
    }
  }
  if (images.length === 0) throw new CompileError(`${what} directory ${dir}: none of its ${files.length} images could be decoded: ${bad.slice(0, 3).join('; ')}`);
  return images;
}

/** The model input for one image, preprocessed as the Worker does. */
export function preprocess(img: CalibImage, spec: InputSpec): Uint8Array | Int8Array | Float32Array {
  const [, h, w] = spec.shape as [number, number, number, number];
  const rgb = img.width === w && img.height === h ? img.rgb : resizeRGB(img.rgb, img.width, img.height, w, h);
  return quantizeInput(rgb, spec as QuantizeSpec);
}

// ---------------------------------------------------------------------------------------------

export interface TensorStats {
  min: number;
  max: number;
  /** values seen */
  count: number;
  /** exact zeros (ReLU outputs): representable at any scale, left out of the MSE estimate */
  zeros: number;
  /** histogram over [min, max] (HIST_BINS bins), when requested */
  hist?: Float64Array;
  /** per-channel (last dimension) sums of the values, when requested */
  chSum?: Float64Array;
  chCount?: number;
}

/** A graph compiled with every tensor in its own arena slot, plus readers for its tensors. */
export class TracedModel {
  private constructor(readonly engine: Engine, readonly model: LoadedModel, readonly manifest: ArtifactManifest,
    /** TfModel tensor index -> manifest tensor index */ readonly map: Map<number, number>) {}

  /** Compile `model` (TfModel) with noReuse; tensor names are replaced by their indices to map them back. */
  static async fromTfModel(model: TfModel, opts: { normalization?: PixelNormalization; engine?: Engine } = {}): Promise<TracedModel> {
    const renamed: TfModel = { ...model, tensors: model.tensors.map((t) => ({ ...t, name: `#${t.index}` })) };
    const { artifact } = await lower(renamed, { noReuse: true, normalization: opts.normalization, name: 'trace' });
    const parsed = await parseArtifact(artifact);
    const engine = opts.engine ?? await createNodeEngine();
    const loaded = engine.load(parsed);
    const map = new Map<number, number>();
    parsed.manifest.tensors.forEach((t, i) => { map.set(Number(t.name.slice(1)), i); });
    return new TracedModel(engine, loaded, parsed.manifest, map);
  }

  /** Load an artifact re-planned so that every tensor keeps its own arena slot. */
  static async fromArtifactManifest(manifest: ArtifactManifest, weights: Uint8Array, engine?: Engine): Promise<TracedModel> {
    let off = 0;
    const tensors = manifest.tensors.map((t) => {
      const o = off;
      off += ((t.bytes + 15) & ~15) + 16;
      return { ...t, offset: o };
    });
    const m: ArtifactManifest = { ...manifest, tensors, arenaBytes: off };
    const e = engine ?? await createNodeEngine();
    const loaded = e.load({ manifest: m, weights, sha256: manifest.sha256, bytes: 0 });
    return new TracedModel(e, loaded, m, new Map(manifest.tensors.map((_, i) => [i, i])));
  }

  run(input: Uint8Array | Int8Array | Float32Array) {
    return this.model.run(input);
  }

  /** Real values of manifest tensor i after the last run (dequantized with its scale / zero point). */
  read(i: number): Float32Array {
    const t = this.manifest.tensors[i]!;
    const eng = this.engine as unknown as { mem(): ArrayBuffer; arena(): number };
    const base = eng.arena() + t.offset;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const buf = eng.mem();
    if (t.dtype === 'float32') return new Float32Array(buf.slice(base, base + 4 * n));
    const out = new Float32Array(n);
    const s = t.scale ?? 1, z = t.zeroPoint ?? 0;
    const src = t.dtype === 'int8' ? new Int8Array(buf, base, n) : t.dtype === 'int16' ? new Int16Array(buf.slice(base, base + 2 * n)) : new Int32Array(buf.slice(base, base + 4 * n));
    for (let k = 0; k < n; k++) out[k] = s * (src[k]! - z);
    return out;
  }

  dispose(): void {
    this.engine.unload(this.model);
  }
}

/**
 * Statistics of every float/quantized tensor of a graph over a set of images. Two passes when a
 * histogram is wanted (the first finds each tensor's range).
 */
export async function collectStats(traced: TracedModel, images: CalibImage[], opts: { histogram?: boolean; channelMeans?: boolean } = {}): Promise<Map<number, TensorStats>> {
  const stats = new Map<number, TensorStats>();
  const ids = [...traced.map.entries()].filter(([, mi]) => traced.manifest.tensors[mi]!.dtype !== 'int32');
  for (const [ti, mi] of ids) {
    const t = traced.manifest.tensors[mi]!;
    const c = t.shape[t.shape.length - 1] ?? 1;
    stats.set(ti, { min: Infinity, max: -Infinity, count: 0, zeros: 0, ...(opts.channelMeans ? { chSum: new Float64Array(c), chCount: 0 } : {}) });
  }
  const inputs = images.map((img) => preprocess(img, traced.manifest.input));
  for (const input of inputs) {
    traced.run(input);
    for (const [ti, mi] of ids) {
      const v = traced.read(mi);
      const s = stats.get(ti)!;
      let mn = s.min, mx = s.max, z = 0;
      for (let k = 0; k < v.length; k++) {
        const x = v[k]!;
        if (x < mn) mn = x;
        if (x > mx) mx = x;
        if (x === 0) z++;
      }
      s.min = mn; s.max = mx; s.count += v.length; s.zeros += z;
      if (s.chSum) {
        const c = s.chSum.length;
        for (let k = 0; k < v.length; k++) s.chSum[k % c]! += v[k]!;
        s.chCount! += v.length / c;
      }
    }
  }
  if (opts.histogram) {
    for (const [ti] of ids) stats.get(ti)!.hist = new Float64Array(HIST_BINS);
    for (const input of inputs) {
      traced.run(input);
      for (const [ti, mi] of ids) {
        const s = stats.get(ti)!;
        if (!(s.max > s.min)) continue;
        const v = traced.read(mi);
        const h = s.hist!, k = HIST_BINS / (s.max - s.min);
        for (let j = 0; j < v.length; j++) {
          const x = v[j]!;
          if (x === 0) continue;
          h[Math.min(HIST_BINS - 1, Math.floor((x - s.min) * k))]! += 1;
        }
      }
    }
  }
  return stats;
}

/** Per-channel means (last dimension) of a tensor's values over the calibration set. */
export function channelMeans(s: TensorStats): Float64Array | null {
  if (!s.chSum || !s.chCount) return null;
  return s.chSum.map((v) => v / s.chCount!);
}

// ---------------------------------------------------------------------------------------------
// Range choice

/**
 * The real range [lo, hi] (always containing 0) to quantize a tensor with, by method:
 *  - minmax: the observed extremes (what TFLite's converter does);
 *  - percentile: the PERCENTILE / 100 - PERCENTILE quantiles of the non-zero values' histogram;
 *  - mse: the range (both ends scaled by the same factor, 1 down to 0.2) that minimizes the expected
 *    squared error: rounding (step^2 / 12 per value inside) plus clipping (distance to the range).
 * levels: number of quantization steps (255 for int8, 65535 for int16); symmetric: int16's
 * symmetric [-a, a].
 */
export function chooseRange(s: TensorStats, method: CalibMethod, levels: number, symmetric: boolean): [number, number] {
  let lo = Math.min(0, s.min), hi = Math.max(0, s.max);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 0];
  if (symmetric) { const a = Math.max(-lo, hi); lo = -a; hi = a; }
  if (method === 'minmax' || !s.hist || !(s.max > s.min)) return [lo, hi];
  const h = s.hist, n = h.length, w = (s.max - s.min) / n;
  const center = (i: number) => s.min + (i + 0.5) * w;
  if (method === 'percentile') {
    const total = h.reduce((a, b) => a + b, 0);
    if (total === 0) return [lo, hi];
    const q = (frac: number) => {
      const target = frac * total;
      let acc = 0;
      for (let i = 0; i < n; i++) {
        if (acc + h[i]! >= target) return s.min + (i + (target - acc) / Math.max(h[i]!, 1)) * w;
        acc += h[i]!;
      }
      return s.max;
    };
    let plo = Math.min(0, q(1 - PERCENTILE / 100)), phi = Math.max(0, q(PERCENTILE / 100));
    if (symmetric) { const a = Math.max(-plo, phi); plo = -a; phi = a; }
    return [plo, phi];
  }
  // mse
  let best = Infinity, bestF = 1;
  for (let k = 0; k <= 80; k++) {
    const f = 1 - k * 0.01;
    const a = lo * f, b = hi * f;
    const step = (b - a) / levels;
    let err = 0;
    for (let i = 0; i < n; i++) {
      const c = h[i]!;
      if (c === 0) continue;
      const x = center(i);
      if (x < a) err += c * (a - x) * (a - x);
      else if (x > b) err += c * (x - b) * (x - b);
      else err += c * step * step / 12;
    }
    if (err < best) { best = err; bestF = f; }
  }
  return [lo * bestF, hi * bestF];
}

/** TFLite's asymmetric quantization parameters for a real range (ChooseQuantizationParams, with nudging). */
export function asymmetricParams(lo: number, hi: number, qmin = -128, qmax = 127): { scale: number; zeroPoint: number } {
  lo = Math.min(lo, 0); hi = Math.max(hi, 0);
  if (hi - lo < 1e-9) return { scale: 1 / 255, zeroPoint: qmin === -128 ? -128 : 0 };
  const scale = Math.fround((hi - lo) / (qmax - qmin));
  const zpFromMin = qmin - lo / scale, zpFromMax = qmax - hi / scale;
  const errMin = Math.abs(qmin) + Math.abs(lo / scale), errMax = Math.abs(qmax) + Math.abs(hi / scale);
  const zpd = errMin < errMax ? zpFromMin : zpFromMax;
  const zeroPoint = Math.max(qmin, Math.min(qmax, roundHalfAway(zpd)));
  return { scale, zeroPoint };
}

/** Symmetric int16 parameters (zero point 0) for a real range. */
export function symmetricParams(lo: number, hi: number, qmax = 32767): { scale: number; zeroPoint: number } {
  const a = Math.max(-lo, hi);
  return { scale: Math.fround(a > 1e-9 ? a / qmax : 1 / qmax), zeroPoint: 0 };
}
