// Precision variants of a model: fp32 / int16 (TFLite 16x8) / int8, as passes over the plain-data
// TfModel that parseTflite returns; the result goes through the same lower() as any TFLite file.
//
//  - dequantizeModel: an int8/uint8 model -> its float equivalent (weights and biases dequantized,
//    QUANTIZE/DEQUANTIZE dropped); keeps the original int8 weights for re-quantization.
//  - quantizeModel: a float model + calibration statistics -> a quantized TfModel, as TensorFlow's
//    post-training quantizer builds it: per-channel symmetric int8 weights, per-tensor activations
//    (int8 asymmetric, or int16 symmetric with zero point 0 for 16x8), int32 (int8) or int64 (16x8)
//    biases at scale input*weight, pooling / reshape / pad outputs sharing their input's parameters,
//    softmax outputs at 1/256 (int8) or 1/32768 (int16).
//  - compileVariant: the whole flow behind `edgelens compile --precision ...`.

import { constFloat32, constInt8, constUint8, constInt32, TensorType, type TfModel, type TfTensor, type TfOperator } from './tflite.ts';
import { lower, importTflite, CompileError, type CompileOptions, type CompileReport } from './compile.ts';
import { roundHalfAway } from '../src/model/quant.ts';
import type { ArtifactManifest } from '../src/model/artifact.ts';
import type { PixelNormalization } from '../src/engine/types.ts';
import {
  TracedModel, collectStats, channelMeans, chooseRange, asymmetricParams, symmetricParams, loadImages,
  type CalibImage, type CalibMethod, type TensorStats,
} from './calibrate.ts';

export type PrecisionOpt = 'fp32' | 'int16' | 'int8';

/** Ops the PTQ pass quantizes (the rest of a float graph is rejected with the op's name). */
const PTQ_OPS = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'MEAN', 'SOFTMAX', 'PAD',
  'RESHAPE', 'SQUEEZE', 'EXPAND_DIMS', 'SHAPE', 'STRIDED_SLICE', 'PACK']);
/** Ops whose output reuses the input's quantization (TFLite's "same as input" restriction). */
const SAME_AS_INPUT = new Set(['AVERAGE_POOL_2D', 'MAX_POOL_2D', 'RESHAPE', 'SQUEEZE', 'EXPAND_DIMS', 'PAD']);
const WEIGHTED = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED']);

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const f32bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
const TYPE = { FLOAT32: TensorType.FLOAT32, INT8: TensorType.INT8, INT16: TensorType.INT16, INT32: TensorType.INT32, INT64: TensorType.INT64 };

function retype(t: TfTensor, type: keyof typeof TYPE, data: Uint8Array | null, quant: TfTensor['quant']): TfTensor {
  return { ...t, type: TYPE[type], typeName: type, data, quant };
}

/** Whether the graph computes in float (its weighted ops have float filters). */
export function isFloatModel(m: TfModel): boolean {
  const w = m.operators.filter((op) => WEIGHTED.has(op.name));
  if (w.length === 0) return m.tensors[m.inputs[0]!]?.typeName === 'FLOAT32';
  return w.every((op) => m.tensors[op.inputs[1]!]?.typeName === 'FLOAT32');
}

/** Pixel normalization equivalent to a quantized input tensor (uint8 q = p; int8 q = p - 128). */
function normalizationOfQuantInput(t: TfTensor): PixelNormalization | undefined {
  if (!t.quant) return undefined;
  const s = t.quant.scale[0]!, z = t.quant.zeroPoint[0]!;
  const mean = t.typeName === 'UINT8' ? z : z + 128;
  return { mean: [mean, mean, mean], std: [1 / s, 1 / s, 1 / s] };
}

export interface Dequantized {
  model: TfModel;
  /** the original input's pixel normalization (undefined for float inputs) */
  normalization?: PixelNormalization;
  /** filter tensor index -> the original quantized tensor (re-used as is by quantizeModel) */
  origWeights: Map<number, TfTensor>;
}

/**
 * An int8 / uint8 model as the float model it approximates: constant weights and biases
 * dequantized (scale * (q - zero point), per channel), activations float32, QUANTIZE / DEQUANTIZE
 * removed. Used for the fp32 variant and as the calibration model of the int16 variant.
 */
export function dequantizeModel(m: TfModel): Dequantized {
  const origWeights = new Map<number, TfTensor>();
  for (const op of m.operators) if (WEIGHTED.has(op.name) && op.inputs[1]! >= 0) origWeights.set(op.inputs[1]!, m.tensors[op.inputs[1]!]!);
  const tensors = m.tensors.map((t) => {
    const q = t.quant;
    const quantized = ['INT8', 'UINT8', 'INT16'].includes(t.typeName) || (t.typeName === 'INT32' && q && t.data);
    if (!quantized) return t;
    if (!t.data) return retype(t, 'FLOAT32', null, null);
    if (!q) throw new CompileError(`tensor ${t.index} (${t.name}): ${t.typeName} constant without quantization parameters cannot be dequantized`);
    const raw = t.typeName === 'INT8' ? constInt8(t) : t.typeName === 'UINT8' ? constUint8(t) : t.typeName === 'INT32' ? constInt32(t)
      : new Int16Array(t.data.slice().buffer);
    const n = raw.length;
    const dims = t.shape;
    const qd = q.scale.length > 1 ? q.quantizedDimension : 0;
    const inner = numel(dims.slice(qd + 1));
    const size = dims[qd] ?? 1;
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const c = q.scale.length > 1 ? Math.floor(i / inner) % size : 0;
      f[i] = q.scale[c]! * (raw[i]! - (q.zeroPoint[c] ?? 0));
    }
    return retype(t, 'FLOAT32', f32bytes(f), null);
  });
  // QUANTIZE / DEQUANTIZE become identities: their outputs alias their inputs
  const alias = new Map<number, number>();
  const res = (i: number) => { let r = i; while (alias.has(r)) r = alias.get(r)!; return r; };
  const operators: TfOperator[] = [];
  for (const op of m.operators) {
    if ((op.name === 'QUANTIZE' || op.name === 'DEQUANTIZE') && op.inputs.length === 1 && op.outputs.length === 1) {
      alias.set(op.outputs[0]!, res(op.inputs[0]!));
      continue;
    }
    operators.push({ ...op, inputs: op.inputs.map((i) => (i < 0 ? i : res(i))) });
  }
  const inT = m.tensors[m.inputs[0]!]!;
  return {
    model: { ...m, tensors, operators, inputs: m.inputs.map(res), outputs: m.outputs.map(res) },
    normalization: normalizationOfQuantInput(inT),
    origWeights,
  };
}

export interface QuantizeOptions {
  act: 'int8' | 'int16';
  method: CalibMethod;
  normalization: PixelNormalization;
  origWeights?: Map<number, TfTensor>;
  /** per-channel means of activation tensors (float model indices): bias correction of the
   *  weights' rounding error, b' = b - sum_k (w_q - w)_k * E[x_k] */
  means?: Map<number, Float64Array>;
}

export interface QuantizeSummary {
  method: CalibMethod;
  /** activation tensors quantized from calibrated ranges */
  calibrated: number;
  /** of those, how many the method narrowed below min/max */
  clipped: number;
  inputExact: boolean;
  /** layers whose bias absorbed the expected weight rounding error */
  biasCorrected: number;
}

/** Per-channel symmetric int8 weights: scale_c = max|w_c| / 127. */
export function quantizeWeightsPerChannel(w: Float32Array, channels: number, chOf: (i: number) => number, qmax = 127): { q: Int8Array; scales: number[] } {
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) { const c = chOf(i); maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(w[i]!)); }
  const scales = Array.from(maxAbs, (m) => Math.fround(m > 0 ? m / qmax : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-qmax, Math.min(qmax, roundHalfAway(w[i]! / scales[chOf(i)]!)));
  return { q, scales };
}

/**
 * Expected output error per channel of rounding the weights, sum_k (w_q - w)_k * E[x at k], with
 * E[x] the per-channel mean of the layer's input (conv: channel = k mod Cin; depthwise: the output
 * channel; fully connected: k itself when the means cover the whole input row).
 */
export function biasCorrection(w: Float32Array, q: Int8Array, scales: number[], C: number, chOf: (i: number) => number, mu: Float64Array, isDw: boolean): Float64Array | null {
  const corr = new Float64Array(C);
  const K = w.length / C;
  for (let i = 0; i < w.length; i++) {
    const c = chOf(i);
    const m = isDw ? mu[c % mu.length]! : mu[(i % K) % mu.length]!;
    corr[c]! += (q[i]! * scales[c]! - w[i]!) * m;
  }
  return corr;
}

/** The input's quantization when normalized pixels fall exactly on an int8 grid (q = p - 128). */
function exactInputParams(nrm: PixelNormalization): { scale: number; zeroPoint: number } | null {
  const [m0, m1, m2] = nrm.mean, [s0, s1, s2] = nrm.std;
  if (m0 !== m1 || m1 !== m2 || s0 !== s1 || s1 !== s2) return null;
  const zp = m0 - 128;
  if (!Number.isInteger(zp) || zp < -128 || zp > 127 || !(s0 > 0)) return null;
  return { scale: Math.fround(1 / s0), zeroPoint: zp };
}

/**
 * Quantize a float TfModel with calibration statistics (keyed by its tensor indices).
 * Returns a TfModel of the same structure lower() compiles.
 */
export function quantizeModel(fm: TfModel, stats: Map<number, TensorStats>, opts: QuantizeOptions): { model: TfModel; summary: QuantizeSummary } {
  checkPtqOps(fm, opts.act);
  const T = fm.tensors.map((t) => ({ ...t }));
  const operators: TfOperator[] = fm.operators.map((op) => ({ ...op, inputs: op.inputs.slice(), outputs: op.outputs.slice() }));
  const is16 = opts.act === 'int16';
  const levels = is16 ? 65535 : 255;
  const params = new Map<number, { scale: number; zeroPoint: number }>();
  const summary: QuantizeSummary = { method: opts.method, calibrated: 0, clipped: 0, inputExact: false, biasCorrected: 0 };
  const fromStats = (i: number) => {
    const s = stats.get(i);
    if (!s) throw new CompileError(`tensor ${i} (${fm.tensors[i]!.name}) has no calibration statistics`);
    const [lo, hi] = chooseRange(s, opts.method, levels, is16);
    summary.calibrated++;
    if (lo > Math.min(0, s.min) + 1e-12 || hi < Math.max(0, s.max) - 1e-12) summary.clipped++;
    return is16 ? symmetricParams(lo, hi) : asymmetricParams(lo, hi);
  };
  const isAct = (i: number) => i >= 0 && !T[i]!.data && T[i]!.typeName === 'FLOAT32';

  // graph input: int8 on the exact pixel grid when possible (then 16x8 widens it exactly, x128)
  const inIdx = fm.inputs[0]!;
  const exact = exactInputParams(opts.normalization);
  summary.inputExact = exact !== null;
  const in8 = exact ?? (() => { const s = stats.get(inIdx); if (!s) throw new CompileError('no statistics for the input'); return asymmetricParams(...chooseRange(s, opts.method, 255, false)); })();
  let in16: number | null = null;
  T[inIdx] = retype(T[inIdx]!, 'INT8', null, { scale: [in8.scale], zeroPoint: [in8.zeroPoint], quantizedDimension: 0 });
  if (is16) {
    in16 = T.length;
    T.push(retype({ ...T[inIdx]!, index: in16, name: `${T[inIdx]!.name}/int16` }, 'INT16', null, null));
    params.set(in16, { scale: Math.fround(in8.scale / 128), zeroPoint: 0 });
    for (const op of operators) op.inputs = op.inputs.map((i) => (i === inIdx ? in16! : i));
  } else {
    params.set(inIdx, in8);
  }

  for (const op of operators) {
    for (const o of op.outputs) {
      if (!isAct(o)) continue;
      if (SAME_AS_INPUT.has(op.name)) {
        const p = params.get(op.inputs[0]!);
        if (!p) throw new CompileError(`operator ${op.index} (${op.name}): its input has no quantization`);
        params.set(o, p);
      } else if (op.name === 'SOFTMAX') {
        params.set(o, is16 ? { scale: 1 / 32768, zeroPoint: 0 } : { scale: 1 / 256, zeroPoint: -128 });
      } else {
        params.set(o, fromStats(o));
      }
    }
  }
  for (const [i, p] of params) {
    T[i] = retype(T[i]!, is16 ? 'INT16' : 'INT8', null, { scale: [p.scale], zeroPoint: [p.zeroPoint], quantizedDimension: 0 });
  }

  // weights and biases
  const done = new Set<number>();
  for (const op of operators) {
    if (!WEIGHTED.has(op.name)) continue;
    const fi = op.inputs[1]!, bi = op.inputs[2] ?? -1;
    const f = fm.tensors[fi]!;
    const isDw = op.name === 'DEPTHWISE_CONV_2D';
    const chDim = isDw ? 3 : 0;
    const C = f.shape[chDim]!;
    const inner = numel(f.shape.slice(chDim + 1));
    const chOf = (i: number) => Math.floor(i / inner) % C;
    let scales: number[];
    let corr: Float64Array | null = null;
    if (!done.has(fi)) {
      const orig = opts.origWeights?.get(fi);
      if (orig && orig.typeName === 'INT8' && orig.quant && orig.quant.zeroPoint.every((z) => z === 0)) {
        T[fi] = { ...orig };
      } else {
        if (f.typeName !== 'FLOAT32' || !f.data) throw new CompileError(`operator ${op.index} (${op.name}): filter ${f.name} is not a float constant`);
        const wf = constFloat32(f);
        const { q, scales: sc } = quantizeWeightsPerChannel(wf, C, chOf);
        T[fi] = retype(f, 'INT8', new Uint8Array(q.buffer), { scale: sc, zeroPoint: sc.map(() => 0), quantizedDimension: chDim });
        const mu = opts.means?.get(fm.operators[operators.indexOf(op)]?.inputs[0] ?? -1);
        if (mu) corr = biasCorrection(wf, q, sc, C, chOf, mu, isDw);
      }
      done.add(fi);
    }
    const wq = T[fi]!.quant!;
    scales = Array.from({ length: C }, (_, c) => wq.scale[wq.scale.length === 1 ? 0 : c]!);
    const sIn = params.get(op.inputs[0]!)?.scale;
    if (sIn === undefined) throw new CompileError(`operator ${op.index} (${op.name}): input has no quantization`);
    if (bi >= 0) {
      const b = fm.tensors[bi]!;
      if (b.typeName !== 'FLOAT32' || !b.data) throw new CompileError(`operator ${op.index} (${op.name}): bias ${b.name} is not a float constant`);
      const bf = constFloat32(b);
      if (corr) { for (let c = 0; c < C; c++) bf[c] = bf[c]! - corr[c]!; summary.biasCorrected++; }
      const bs = scales.map((s) => sIn * s);
      if (is16) {
        const q = BigInt64Array.from(bf, (v, c) => BigInt(roundHalfAway(v / bs[c]!)));
        T[bi] = retype(b, 'INT64', new Uint8Array(q.buffer), { scale: bs, zeroPoint: bs.map(() => 0), quantizedDimension: 0 });
      } else {
        const q = Int32Array.from(bf, (v, c) => Math.max(-2147483648, Math.min(2147483647, roundHalfAway(v / bs[c]!))));
        T[bi] = retype(b, 'INT32', new Uint8Array(q.buffer), { scale: bs, zeroPoint: bs.map(() => 0), quantizedDimension: 0 });
      }
    }
  }

  let outputs = fm.outputs.slice();
  if (is16) {
    // widen back the 8-bit input, and end with float outputs (the Worker dequantizes anyway)
    operators.unshift({ index: -1, opcode: 114, name: 'QUANTIZE', customCode: null, inputs: [inIdx], outputs: [in16!], options: {}, optionsType: 0 });
    outputs = fm.outputs.map((oi) => {
      const ni = T.length;
      T.push(retype({ ...T[oi]!, index: ni, name: `${T[oi]!.name}/float` }, 'FLOAT32', null, null));
      operators.push({ index: -1, opcode: 6, name: 'DEQUANTIZE', customCode: null, inputs: [oi], outputs: [ni], options: {}, optionsType: 0 });
      return ni;
    });
  }
  // operator indices name the source op in error messages and artifacts: keep the float model's
  let extra = fm.operators.length;
  for (const op of operators) if (op.index === -1) op.index = extra++;
  return { model: { ...fm, tensors: T, operators, outputs }, summary };
}

/** Reject graphs with ops the PTQ pass (or, for int16, the 16x8 kernels) does not handle. */
export function checkPtqOps(m: TfModel, act: 'int8' | 'int16'): void {
  for (const op of m.operators) {
    if (!PTQ_OPS.has(op.name)) {
      throw new CompileError(`--precision ${act}: operator ${op.index} (${op.name}) is not supported by ${act === 'int16' ? 'the int16 (16x8) kernels' : 'post-training quantization'} ` +
        `(supported: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SOFTMAX, PAD, RESHAPE)`);
    }
    for (const i of op.inputs) {
      if (i >= 0 && !m.tensors[i]!.data && !['FLOAT32', 'INT32'].includes(m.tensors[i]!.typeName)) {
        throw new CompileError(`--precision ${act}: operator ${op.index} (${op.name}) reads a ${m.tensors[i]!.typeName} activation; the graph must be float`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

export interface VariantOptions extends CompileOptions {
  precision?: PrecisionOpt;
  /** calibration images (directory) */
  calibrate?: string;
  calibLimit?: number;
  method?: CalibMethod;
  /** already decoded calibration images (tests, benchmarks) */
  images?: CalibImage[];
  /** correct biases for the weights' expected rounding error (default on; PTQ from float only) */
  biasCorrection?: boolean;
  log?: (msg: string) => void;
}

export interface VariantReport extends CompileReport {
  precision: PrecisionOpt | 'source';
  from: 'float' | 'quantized';
  calibration?: { dir?: string; images: number; method: CalibMethod; calibrated: number; clipped: number; inputExact: boolean; biasCorrected: number };
}

/** The quantized (int8) TfModel a compile starts from: the model itself, or its PTQ from float. */
export async function prepareModel(model: TfModel, opts: VariantOptions): Promise<{ model: TfModel; opts: CompileOptions; report: Partial<VariantReport> }> {
  const precision = opts.precision;
  const fromFloat = isFloatModel(model);
  const from = fromFloat ? 'float' : 'quantized';
  if (!precision) return { model, opts, report: { precision: 'source', from } };
  if (precision === 'fp32') {
    if (fromFloat) return { model, opts, report: { precision, from } };
    const d = dequantizeModel(model);
    return { model: d.model, opts: { ...opts, normalization: opts.normalization ?? d.normalization }, report: { precision, from } };
  }
  if (precision === 'int8' && !fromFloat) return { model, opts, report: { precision, from } };
  // int8 from float, int16 from either: calibrate a float graph
  let fm = model, normalization = opts.normalization, origWeights: Map<number, TfTensor> | undefined;
  if (!fromFloat) {
    const d = dequantizeModel(model);
    fm = d.model; origWeights = d.origWeights; normalization = normalization ?? d.normalization;
  }
  checkPtqOps(fm, precision);
  if (!opts.images && !opts.calibrate) throw new CompileError(`--precision ${precision} of a ${from} model needs calibration images: --calibrate <image dir>`);
  const images = opts.images ?? await loadImages(opts.calibrate!, { limit: opts.calibLimit });
  const method = opts.method ?? (precision === 'int16' ? 'minmax' : 'mse');
  opts.log?.(`calibrating on ${images.length} images (${method}) ...`);
  const traced = await TracedModel.fromTfModel(fm, { normalization });
  const nrm = traced.manifest.input.normalization;
  let stats: Map<number, TensorStats>;
  try {
    stats = await collectStats(traced, images, { histogram: method !== 'minmax', channelMeans: opts.biasCorrection !== false });
  } finally {
    traced.dispose();
  }
  // reshapes are aliases (no tensor of their own): they share their input's statistics
  for (const op of fm.operators) {
    if (['RESHAPE', 'SQUEEZE', 'EXPAND_DIMS'].includes(op.name) && !stats.has(op.outputs[0]!) && stats.has(op.inputs[0]!)) stats.set(op.outputs[0]!, stats.get(op.inputs[0]!)!);
  }
  const means = new Map<number, Float64Array>();
  if (opts.biasCorrection !== false) for (const [i, st] of stats) { const m = channelMeans(st); if (m) means.set(i, m); }
  const { model: qm, summary } = quantizeModel(fm, stats, { act: precision, method, normalization: nrm, origWeights, means });
  return {
    model: qm,
    opts: { ...opts, normalization: nrm },
    report: { precision, from, calibration: { dir: opts.calibrate, images: images.length, method, calibrated: summary.calibrated, clipped: summary.clipped, inputExact: summary.inputExact, biasCorrected: summary.biasCorrected } },
  };
}

/** `edgelens compile --precision ...` without weight-bit options (see bits.ts for those). */
export async function compileVariant(bytes: Uint8Array, opts: VariantOptions = {}): Promise<{ artifact: Uint8Array; manifest: ArtifactManifest; report: VariantReport; model: TfModel }> {
  const model = importTflite(bytes);
  const prep = await prepareModel(model, opts);
  const { precision: _p, calibrate: _c, calibLimit: _l, method: _m, images: _i, log: _g, biasCorrection: _b, ...copts } = prep.opts as VariantOptions;
  const r = await lower(prep.model, copts);
  return { ...r, model: prep.model, report: { ...r.report, ...prep.report } as VariantReport };
}
