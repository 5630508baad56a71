// Per-layer weight bit widths (8 or 4) for int8 models:
//
//  - requantizeWeights4: a layer's int8 weights -> 4-bit values in [-8, 7] (stored as int8) with
//    per-channel scales chosen to minimize the weights' squared error (clipping search), and the
//    bias corrected for the expected output shift of the rounding (calibration means), so the
//    layer stays an ordinary int8 layer for lower() and the int8 kernels;
//  - encodeWeightBits: the compiled artifact with compact weight slots: 4-bit layers as nibbles,
//    8-bit layers as logical int8 (depthwise: half the kernel layout), requant parameters raw
//    (12 B/channel instead of 24); the engine packs them at load (src/model/wbits.ts). Per-layer
//    widths are recorded in the ops (p.wEnc) and in manifest.meta.compression;
//  - autoBits: greedy search for the smallest configuration whose accuracy on the calibration
//    images stays within a given drop of the all-8-bit model.
//
// `--weights-bits 8` leaves the artifact untouched (byte-identical to a plain compile).

import { readFileSync, existsSync } from 'node:fs';
import { constInt8, constInt32, type TfModel, type TfTensor } from './tflite.ts';
import { lower, CompileError, type CompileOptions } from './compile.ts';
import { roundHalfAway } from '../src/model/quant.ts';
import { packConvFast, packDepthwiseWeights, packRequant, weightAbsSums } from '../src/model/pack.ts';
import { encodeNibbles } from '../src/model/wbits.ts';
import { parseArtifact, writeArtifact, type ArtifactManifest } from '../src/model/artifact.ts';
import type { MOp, WeightSlot } from '../src/model/ops.ts';
import { TracedModel, collectStats, channelMeans, preprocess, type CalibImage } from './calibrate.ts';
import { predict, type Prediction } from './quant-report.ts';
import { createNodeEngine } from './node-engine.ts';
import type { Engine } from '../src/engine/engine.ts';

export type Bits = 4 | 8;
export type BitsConfig = Map<number, Bits>;

const WEIGHTED = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED']);
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

export interface Layer { op: number; name: string; kind: 'conv' | 'dw' | 'fc'; params: number; filter: number }

/** Layers whose weights can change width: conv / depthwise / fully connected with symmetric int8 weights. */
export function weightLayers(m: TfModel): Layer[] {
  const out: Layer[] = [];
  for (const op of m.operators) {
    if (!WEIGHTED.has(op.name)) continue;
    const f = m.tensors[op.inputs[1]!];
    if (!f?.data || f.typeName !== 'INT8' || !f.quant || f.quant.zeroPoint.some((z) => z !== 0)) continue;
    const kind = op.name === 'DEPTHWISE_CONV_2D' ? 'dw' : op.name === 'FULLY_CONNECTED' ? 'fc' : 'conv';
    out.push({ op: op.index, name: m.tensors[op.outputs[0]!]!.name, kind, params: numel(f.shape), filter: op.inputs[1]! });
  }
  return out;
}

// ---- the option ---------------------------------------------------------------------------

export type WeightsBitsOpt = { kind: 'uniform'; bits: Bits } | { kind: 'mixed'; spec: string };

export function parseWeightsBits(v: string | undefined): WeightsBitsOpt | undefined {
  if (v === undefined) return undefined;
  if (v === '8' || v === '4') return { kind: 'uniform', bits: Number(v) as Bits };
  if (v.startsWith('mixed:') && v.length > 6) return { kind: 'mixed', spec: v.slice(6) };
  throw new CompileError(`--weights-bits takes 8, 4 or mixed:<config> (a JSON file or a list like default=4,dw=8,0=8), got ${JSON.stringify(v)}`);
}

/**
 * A mixed configuration: a JSON file ({"default": 4, "layers": {"<op index>": 8, ...}}, what
 * --save-bits writes) or an inline list of sel=bits, where sel is default, conv, dw, fc, an
 * operator index or a range a-b of operator indices; later, more specific entries win
 * (default < kind < index).
 */
export function resolveBitsConfig(spec: string, layers: Layer[]): BitsConfig {
  let def: Bits = 8;
  const kinds = new Map<string, Bits>();
  const idx = new Map<number, Bits>();
  const bitsOf = (v: unknown, what: string): Bits => {
    const n = Number(v);
    if (n !== 4 && n !== 8) throw new CompileError(`mixed bits config: ${what} must be 4 or 8, is ${JSON.stringify(v)}`);
    return n as Bits;
  };
  const known = new Set(layers.map((l) => l.op));
  const checkOp = (i: number) => {
    if (!known.has(i)) throw new CompileError(`mixed bits config: operator ${i} is not a conv / depthwise / fully connected layer with int8 weights (those are: ${[...known].join(', ')})`);
  };
  if (existsSync(spec) && spec.endsWith('.json')) {
    let j: { default?: unknown; layers?: Record<string, unknown> };
    try { j = JSON.parse(readFileSync(spec, 'utf8')); } catch (e) { throw new CompileError(`mixed bits config ${spec}: ${(e as Error).message}`); }
    if (j.default !== undefined) def = bitsOf(j.default, 'default');
    for (const [k, v] of Object.entries(j.layers ?? {})) { const i = Number(k); if (!Number.isInteger(i)) throw new CompileError(`mixed bits config ${spec}: layer key ${k} is not an operator index`); checkOp(i); idx.set(i, bitsOf(v, `layer ${k}`)); }
  } else {
    for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
      const m = /^([\w-]+)=(\d+)$/.exec(part);
      if (!m) throw new CompileError(`mixed bits config: cannot parse ${JSON.stringify(part)} (expected sel=bits, e.g. default=4 or dw=8 or 12=8 or 3-9=4${existsSync(spec) ? '; a config file must end in .json' : ''})`);
      const [, sel, b] = m;
      const bits = bitsOf(b, sel!);
      if (sel === 'default') def = bits;
      else if (sel === 'conv' || sel === 'dw' || sel === 'fc') kinds.set(sel, bits);
      else if (/^\d+$/.test(sel!)) { checkOp(Number(sel)); idx.set(Number(sel), bits); }
      else if (/^\d+-\d+$/.test(sel!)) {
        const [a, z] = sel!.split('-').map(Number) as [number, number];
        for (const l of layers) if (l.op >= a && l.op <= z) idx.set(l.op, bits);
      } else throw new CompileError(`mixed bits config: unknown selector ${JSON.stringify(sel)} (default, conv, dw, fc, an operator index or a range a-b)`);
    }
  }
  return new Map(layers.map((l) => [l.op, idx.get(l.op) ?? kinds.get(l.kind) ?? def]));
}

export function bitsConfigJson(cfg: BitsConfig): { default: 8; layers: Record<string, Bits> } {
  return { default: 8, layers: Object.fromEntries([...cfg].filter(([, b]) => b === 4).map(([i, b]) => [String(i), b])) };
}

// ---- 4-bit requantization -------------------------------------------------------------------

const CLIP_STEPS = 31;

/** Per-channel 4-bit scale minimizing the squared error over a clipping grid (alpha 1 .. 0.4 of max|w| / 7). */
function best4bitScale(w: Float64Array, from: number, to: number, stride: number): number {
  let maxAbs = 0;
  for (let i = from; i < to; i += stride) maxAbs = Math.max(maxAbs, Math.abs(w[i]!));
  if (maxAbs === 0) return 1;
  let best = Infinity, bestS = maxAbs / 7;
  for (let k = 0; k < CLIP_STEPS; k++) {
    const s = (maxAbs / 7) * (1 - k * 0.02);
    let err = 0;
    for (let i = from; i < to; i += stride) {
      const q = Math.max(-8, Math.min(7, roundHalfAway(w[i]! / s)));
      const d = w[i]! - q * s;
      err += d * d;
    }
    if (err < best) { best = err; bestS = s; }
  }
  return Math.fround(bestS);
}

/**
 * The model with the given layers' weights at 4 bits (values in [-8, 7], int8 storage, new
 * per-channel scales) and their int32 biases re-derived (and corrected with `means`, the
 * per-channel means of each layer's input, when given).
 */
export function requantizeWeights4(m: TfModel, cfg: BitsConfig, means?: Map<number, Float64Array>, cache?: Map<number, [TfTensor, TfTensor | null]>,
  hessians?: Map<number, Float64Array>): TfModel {
  const T = m.tensors.slice();
  for (const op of m.operators) {
    if (cfg.get(op.index) !== 4) continue;
    const fi = op.inputs[1]!, bi = op.inputs[2] ?? -1;
    const hit = cache?.get(op.index);
    if (hit) {
      T[fi] = hit[0];
      if (bi >= 0 && hit[1]) T[bi] = hit[1];
      continue;
    }
    const f = m.tensors[fi]!;
    const q8 = constInt8(f);
    const fq = f.quant!;
    const isDw = op.name === 'DEPTHWISE_CONV_2D';
    const chDim = isDw ? 3 : 0;
    const C = f.shape[chDim]!;
    const K = q8.length / C;
    // element i of channel c: conv/fc [c][k] -> c*K + k; depthwise [k][c] -> k*C + c
    const idx = (c: number, k: number) => (isDw ? k * C + c : c * K + k);
    const s8 = (c: number) => fq.scale[fq.scale.length === 1 ? 0 : c]!;
    const w = new Float64Array(q8.length);
    for (let c = 0; c < C; c++) for (let k = 0; k < K; k++) w[idx(c, k)] = q8[idx(c, k)]! * s8(c);
    const q4 = new Int8Array(q8.length);
    const s4: number[] = [];
    for (let c = 0; c < C; c++) {
      const s = isDw ? best4bitScale(w, c, q8.length, C) : best4bitScale(w, c * K, (c + 1) * K, 1);
      s4.push(s);
      for (let k = 0; k < K; k++) q4[idx(c, k)] = Math.max(-8, Math.min(7, roundHalfAway(w[idx(c, k)]! / s)));
    }
    const H = hessians?.get(op.index);
    if (H && !isDw && H.length === K * K) q4.set(gptqQuantize(w, C, K, s4, H));
    T[fi] = { ...f, data: new Uint8Array(q4.buffer), quant: { scale: s4, zeroPoint: s4.map(() => 0), quantizedDimension: chDim } };
    const x = m.tensors[op.inputs[0]!]!;
    const sIn = x.quant?.scale[0];
    if (bi >= 0 && sIn !== undefined) {
      const b = m.tensors[bi]!;
      const b32 = constInt32(b);
      const mu = means?.get(op.inputs[0]!);
      const nb = new Int32Array(C);
      for (let c = 0; c < C; c++) {
        let real = b32[c]! * sIn * s8(c);
        if (mu) {
          let corr = 0;
          for (let k = 0; k < K; k++) corr += (q4[idx(c, k)]! * s4[c]! - w[idx(c, k)]!) * (isDw ? mu[c % mu.length]! : mu[k % mu.length]!);
          real -= corr;
        }
        nb[c] = Math.max(-2147483648, Math.min(2147483647, roundHalfAway(real / (sIn * s4[c]!))));
      }
      T[bi] = { ...b, data: new Uint8Array(nb.buffer), quant: { scale: s4.map((s) => sIn * s), zeroPoint: s4.map(() => 0), quantizedDimension: 0 } };
    }
    cache?.set(op.index, [T[fi]!, bi >= 0 ? T[bi]! : null]);
  }
  return { ...m, tensors: T };
}

// ---- GPTQ-style rounding (error feedback through the inputs' second moments) --------------------

/**
 * Round a layer's weights (rows = output channels, K inputs each, row-major) to 4 bits with fixed
 * per-channel scales, column by column, pushing each rounding error onto the columns not yet
 * rounded through the inverse of the input second-moment matrix H = E[x x^T] (the OBS / GPTQ
 * update, Frantar et al. 2022): minimizes E[((W - Q) x)^2] instead of |W - Q|^2.
 */
export function gptqQuantize(w0: Float64Array, C: number, K: number, scales: number[], H0: Float64Array, damp = 0.01): Int8Array {
  const H = H0.slice();
  let mean = 0;
  for (let i = 0; i < K; i++) mean += H[i * K + i]!;
  mean = mean / K || 1;
  for (let i = 0; i < K; i++) H[i * K + i] = H[i * K + i]! === 0 ? 1 : H[i * K + i]! + damp * mean;
  const U = upperCholeskyOfInverse(H, K);
  const w = w0.slice();
  const q = new Int8Array(C * K);
  for (let i = 0; i < K; i++) {
    const d = U[i * K + i]!;
    const urow = i * K;
    for (let c = 0; c < C; c++) {
      const row = c * K;
      const s = scales[c]!;
      const v = w[row + i]!;
      const qi = Math.max(-8, Math.min(7, roundHalfAway(v / s)));
      q[row + i] = qi;
      const e = (v - qi * s) / d;
      if (e !== 0) for (let j = i + 1; j < K; j++) w[row + j]! -= e * U[urow + j]!;
    }
  }
  return q;
}

/** U upper triangular with U^T U = H^-1 (H symmetric positive definite, K x K row-major). */
function upperCholeskyOfInverse(H: Float64Array, K: number): Float64Array {
  // H = L L^T
  const L = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = H[i * K + j]!;
      for (let k = 0; k < j; k++) sum -= L[i * K + k]! * L[j * K + k]!;
      L[i * K + j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / L[j * K + j]!;
    }
  }
  // Li = L^-1 (lower)
  const Li = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    Li[i * K + i] = 1 / L[i * K + i]!;
    for (let j = 0; j < i; j++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum += L[i * K + k]! * Li[k * K + j]!;
      Li[i * K + j] = -sum / L[i * K + i]!;
    }
  }
  // Hinv = Li^T Li
  const Hi = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    for (let j = i; j < K; j++) {
      let sum = 0;
      for (let k = j; k < K; k++) sum += Li[k * K + i]! * Li[k * K + j]!;
      Hi[i * K + j] = sum;
      Hi[j * K + i] = sum;
    }
  }
  // Hinv = U^T U with U upper: the Cholesky factor of Hinv, transposed
  const U = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = Hi[i * K + j]!;
      for (let k = 0; k < j; k++) sum -= U[k * K + i]! * U[k * K + j]!;
      U[j * K + i] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / U[j * K + j]!;
    }
  }
  return U;
}

/** Positions sampled per image and layer for H (deterministic stride with a per-layer offset). */
const H_POSITIONS = 256;

/**
 * E[x x^T] of the inputs of every 1x1 convolution and fully connected layer (the layers GPTQ
 * rounding applies to), from the int8 model itself on the calibration images. Layers with fewer
 * than 4K sampled input vectors are left out (their H would be too poorly estimated).
 */
export async function layerHessians(m: TfModel, images: CalibImage[], opts: CompileOptions = {}, engine?: Engine): Promise<Map<number, Float64Array>> {
  const alias = new Map<number, number>();
  for (const op of m.operators) if (['RESHAPE', 'SQUEEZE', 'EXPAND_DIMS'].includes(op.name)) alias.set(op.outputs[0]!, alias.get(op.inputs[0]!) ?? op.inputs[0]!);
  const targets: { op: number; input: number; K: number; H: Float64Array; n: number }[] = [];
  for (const op of m.operators) {
    const f = m.tensors[op.inputs[1]!];
    if (!f || !(op.name === 'FULLY_CONNECTED' || (op.name === 'CONV_2D' && f.shape[1] === 1 && f.shape[2] === 1))) continue;
    const K = f.shape[f.shape.length - 1]!;
    targets.push({ op: op.index, input: alias.get(op.inputs[0]!) ?? op.inputs[0]!, K, H: new Float64Array(K * K), n: 0 });
  }
  const traced = await TracedModel.fromTfModel(m, { normalization: opts.normalization, engine });
  try {
    for (const img of images) {
      traced.run(preprocess(img, traced.manifest.input));
      const cache = new Map<number, Float32Array>();
      for (const t of targets) {
        const mi = traced.map.get(t.input);
        if (mi === undefined) continue;
        if (!cache.has(mi)) cache.set(mi, traced.read(mi));
        const x = cache.get(mi)!;
        const rows = Math.floor(x.length / t.K);
        const take = Math.min(rows, H_POSITIONS);
        const step = rows / take;
        const off = (t.op * 7919) % Math.max(1, Math.floor(step));
        for (let r = 0; r < take; r++) {
          const base = (Math.min(rows - 1, Math.floor(r * step) + off)) * t.K;
          for (let a = 0; a < t.K; a++) {
            const xa = x[base + a]!;
            if (xa === 0) continue;
            const ha = a * t.K;
            for (let b = a; b < t.K; b++) t.H[ha + b]! += xa * x[base + b]!;
          }
        }
        t.n += take;
      }
    }
  } finally {
    traced.dispose();
  }
  const out = new Map<number, Float64Array>();
  for (const t of targets) {
    if (t.n < 4 * t.K) continue;
    for (let a = 0; a < t.K; a++) for (let b = a; b < t.K; b++) { const v = t.H[a * t.K + b]! / t.n; t.H[a * t.K + b] = v; t.H[b * t.K + a] = v; }
    out.set(t.op, t.H);
  }
  return out;
}

/** Per-channel input means of every layer input, from the int8 model itself on the calibration images. */
export async function layerInputMeans(m: TfModel, images: CalibImage[], opts: CompileOptions = {}, engine?: Engine): Promise<Map<number, Float64Array>> {
  const traced = await TracedModel.fromTfModel(m, { normalization: opts.normalization, engine });
  try {
    const stats = await collectStats(traced, images, { channelMeans: true });
    const means = new Map<number, Float64Array>();
    for (const [i, s] of stats) { const mu = channelMeans(s); if (mu) means.set(i, mu); }
    // reshapes alias their input
    for (const op of m.operators) {
      if (['RESHAPE', 'SQUEEZE', 'EXPAND_DIMS'].includes(op.name) && !means.has(op.outputs[0]!) && means.has(op.inputs[0]!)) means.set(op.outputs[0]!, means.get(op.inputs[0]!)!);
    }
    return means;
  } finally {
    traced.dispose();
  }
}

// ---- artifact encoding ------------------------------------------------------------------------

const eqBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Re-encode a compiled artifact's conv_i8 / dw_i8 weight slots compactly (see the header). The
 * logical weights and raw requant parameters come from the same graph lowered with reference
 * kernels (`ref`: natural layouts, whatever the fast layouts are); every re-encoded slot is checked
 * to expand back (pack.ts) to exactly the bytes of the fast artifact.
 */
export async function encodeWeightBits(artifact: Uint8Array, ref: Uint8Array, cfg: BitsConfig, extraMeta: Record<string, unknown> = {}): Promise<Uint8Array> {
  const parsed = await parseArtifact(artifact);
  const rp = await parseArtifact(ref);
  const m = parsed.manifest, W = parsed.weights;
  if (rp.manifest.ops.length !== m.ops.length) throw new CompileError('internal error: reference and fast lowering differ');
  const chunks: Uint8Array[] = [];
  let size = 0;
  const add = (bytes: Uint8Array): WeightSlot => {
    const off = size;
    chunks.push(bytes);
    const pad = ((bytes.length + 15) & ~15) - bytes.length;
    if (pad) chunks.push(new Uint8Array(pad));
    size += bytes.length + pad;
    return [off, bytes.length];
  };
  const widths: Record<string, Bits> = {};
  const ops: MOp[] = m.ops.map((op, i) => {
    const slot = (name: string) => { const [o, l] = op.w[name]!; return W.subarray(o, o + l); };
    const rop = rp.manifest.ops[i]!;
    const rslot = (name: string) => { const [o, l] = rop.w[name]!; return rp.weights.subarray(o, o + l); };
    const p = op.p;
    if ((op.kind !== 'conv_i8' && op.kind !== 'dw_i8') || p.wIs16 || !op.src) {
      return { ...op, w: Object.fromEntries(Object.entries(op.w).map(([k]) => [k, add(slot(k).slice())])) };
    }
    if (rop.kind !== op.kind || rop.src !== op.src || rop.p.fast) throw new CompileError(`internal error: reference lowering of ${op.src} differs`);
    const isConv = op.kind === 'conv_i8';
    const count = isConv ? p.outC! * p.kH! * p.kW! * p.inC! : p.outC! * p.kH! * p.kW!;
    const logical = new Int8Array(rslot('w').slice(0, count).buffer);
    const repacked = !p.fast ? new Uint8Array(logical.buffer) : isConv ? packConvFast(logical, p) : packDepthwiseWeights(logical, p.kH!, p.kW!, p.outC!);
    if (!eqBytes(repacked, slot('w'))) throw new CompileError(`${op.src}: internal error: weights do not round-trip`);
    const opIndex = Number(op.src.split(':')[0]);
    const bits = cfg.get(opIndex) ?? 8;
    widths[String(opIndex)] = bits;
    const wBytes = bits === 4 ? encodeNibbles(logical) : new Uint8Array(logical.buffer).slice();
    let qBytes: Uint8Array = slot('q').slice();
    const np: Record<string, number> = { ...p, wEnc: bits };
    if (p.fast) {
      const C = p.outC!;
      const raw = new Int32Array(rslot('q').slice(0, 12 * C).buffer);
      const repackedQ = packRequant(raw.subarray(0, C), raw.subarray(C, 2 * C), raw.subarray(2 * C, 3 * C), weightAbsSums(logical, C, !isConv), { zp: p.outZp!, actMin: p.actMin!, actMax: p.actMax!, affine: true });
      if (!eqBytes(repackedQ, qBytes)) throw new CompileError(`${op.src}: internal error: requant parameters do not round-trip`);
      qBytes = new Uint8Array(raw.buffer);
      np.qEnc = 1;
    }
    return { ...op, p: np, w: { w: add(wBytes), q: add(qBytes) } };
  });
  const weights = new Uint8Array(size + 64);
  let o = 0;
  for (const c of chunks) { weights.set(c, o); o += c.length; }
  const n4 = Object.values(widths).filter((b) => b === 4).length;
  const { sha256: _s, format: _f, weightsBytes: _w, ...rest } = m;
  const manifest: Omit<ArtifactManifest, 'sha256' | 'format' | 'weightsBytes'> = {
    ...rest,
    precision: n4 > 0 ? 'mixed' : m.precision,
    ops,
    meta: { ...(m.meta ?? {}), compression: { weightBits: widths, layers4: n4, layers8: Object.keys(widths).length - n4, ...extraMeta } },
  };
  const out = await writeArtifact(manifest, weights);
  await parseArtifact(out); // validate like any reader
  return out;
}

// ---- auto bits ---------------------------------------------------------------------------------

export interface AutoBitsOptions {
  /** maximum accuracy drop, in percentage points, against the all-8-bit model */
  maxDrop: number;
  compile: CompileOptions;
  /** file -> class index of the calibration images, if known (top-1 accuracy); else the
   *  agreement with the 8-bit model's top-1 is the accuracy */
  labels?: Map<string, number>;
  /** GPTQ-style rounding of 1x1 conv / fully connected layers (opt-in) */
  gptq?: boolean;
  log?: (msg: string) => void;
}

export interface AutoBitsResult {
  config: BitsConfig;
  metric: 'top-1 accuracy' | 'top-1 agreement with the 8-bit model';
  baseline: number;
  final: number;
  evaluations: number;
  order: { op: number; sensitivity: number; accepted: boolean }[];
}

/**
 * Greedy: rank layers by the output damage of quantizing that layer alone to 4 bits (mean KL
 * divergence from the 8-bit model's scores on the calibration images) per byte saved, then add
 * them to the 4-bit set one by one, keeping each only if the accuracy stays within maxDrop points.
 */
export async function autoBits(m: TfModel, images: CalibImage[], opts: AutoBitsOptions): Promise<AutoBitsResult> {
  const layers = weightLayers(m);
  if (layers.length === 0) throw new CompileError('--auto-bits: the model has no layers with symmetric int8 weights');
  const engine = await createNodeEngine();
  const means = await layerInputMeans(m, images, opts.compile, engine);
  const hessians = opts.gptq ? await layerHessians(m, images, opts.compile, engine) : undefined;
  const cache = new Map<number, [TfTensor, TfTensor | null]>();
  const run = async (cfg: BitsConfig): Promise<Prediction[]> => {
    const { artifact } = await lower(requantizeWeights4(m, cfg, means, cache, hessians), opts.compile);
    const parsed = await parseArtifact(artifact);
    const loaded = engine.load(parsed);
    try { return predict(loaded, parsed.manifest, images); } finally { engine.unload(loaded); }
  };
  const base = await run(new Map());
  const key = (f: string) => f.split('/').pop()!;
  const useLabels = !!opts.labels && images.some((i) => opts.labels!.has(key(i.file)));
  const accuracy = (preds: Prediction[]) => {
    let c = 0, n = 0;
    preds.forEach((p, i) => {
      const want = useLabels ? opts.labels!.get(key(p.file)) : base[i]!.top1;
      if (want === undefined) return;
      n++;
      if (p.top1 === want) c++;
    });
    return n ? (100 * c) / n : 0;
  };
  const kl = (preds: Prediction[]) => {
    let s = 0;
    preds.forEach((p, i) => {
      const a = base[i]!.scores;
      for (let k = 0; k < a.length; k++) if (a[k]! > 0) s += a[k]! * Math.log(a[k]! / Math.max(p.scores[k]!, 1e-9));
    });
    return s / preds.length;
  };
  const baseAcc = accuracy(base);
  let evaluations = 1;
  const sens: { layer: Layer; s: number }[] = [];
  for (const l of layers) {
    const p = await run(new Map([[l.op, 4 as Bits]]));
    evaluations++;
    sens.push({ layer: l, s: kl(p) });
    opts.log?.(`  layer ${l.op} (${l.kind}, ${l.params} weights): KL ${kl(p).toExponential(2)}, top-1 changes ${p.filter((x, i) => x.top1 !== base[i]!.top1).length}`);
  }
  sens.sort((a, b) => a.s / a.layer.params - b.s / b.layer.params || a.layer.op - b.layer.op);
  const cfg: BitsConfig = new Map(layers.map((l) => [l.op, 8 as Bits]));
  const order: AutoBitsResult['order'] = [];
  let final = baseAcc;
  for (const { layer, s } of sens) {
    cfg.set(layer.op, 4);
    const acc = accuracy(await run(cfg));
    evaluations++;
    const ok = baseAcc - acc <= opts.maxDrop + 1e-9;
    if (!ok) cfg.set(layer.op, 8); else final = acc;
    order.push({ op: layer.op, sensitivity: s, accepted: ok });
    opts.log?.(`  + layer ${layer.op}: accuracy ${acc.toFixed(1)} (baseline ${baseAcc.toFixed(1)}) -> ${ok ? 'keep 4-bit' : 'back to 8-bit'}`);
  }
  return { config: cfg, metric: useLabels ? 'top-1 accuracy' : 'top-1 agreement with the 8-bit model', baseline: baseAcc, final, evaluations, order };
}
