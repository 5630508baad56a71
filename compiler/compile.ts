// TFLite -> edgelens artifact.
//
// Passes, in order:
//  1. import + verify (tflite.ts)
//  2. domain mapping: uint8 tensors run as int8 (value - 128, zero point - 128),
//     which is exact for every op here; the engine flips the sign bit at the
//     graph's uint8 inputs and outputs
//  3. constant folding of the SHAPE / STRIDED_SLICE / PACK subgraphs that feed
//     RESHAPE; RESHAPE/SQUEEZE and identity QUANTIZE become aliases (no op)
//  4. lowering: per-channel multipliers and shifts precomputed (TFLite's own
//     QuantizeMultiplier), activation clamps fused into requantization, weights
//     packed in the order the SIMD kernels read them (16-byte aligned)
//  5. memory planning: one arena for all activations, greedy by size with
//     lifetime-disjoint reuse; peak bytes reported

import {
  parseTflite, ModelFormatError, constInt8, constUint8, constInt32, constFloat32,
  type TfModel, type TfOperator, type TfTensor,
} from './tflite.ts';
import { quantizeMultiplier, preprocessSoftmaxScaling, calculateInputRadius, activationRange, activationRangeFloat, f32 } from '../src/model/quant.ts';
import { frexp, roundHalfAway } from '../src/model/quant.ts';
import { packConvFast, packDepthwiseWeights, packRequant, weightAbsSums, fastRequantSupported, fastDepthwiseSupported, convRowsEligible } from '../src/model/pack.ts';
import { solveAddAffine } from '../src/model/add-affine.ts';
import { OPS, type MOp, type MTensor, type OpKind, type WeightSlot } from '../src/model/ops.ts';
import { writeArtifact, type ArtifactManifest, type Precision } from '../src/model/artifact.ts';
import type { InputSpec, OutputSpec, PixelNormalization } from '../src/engine/types.ts';
import { lowerInt16Op, type Int16LowerCtx } from './lower-int16.ts';

export class CompileError extends Error {
  override name = 'CompileError';
}

export interface CompileOptions {
  name?: string;
  labels?: string[];
  normalization?: PixelNormalization;
  meta?: Record<string, unknown>;
  /** use the scalar reference kernels for every op (debugging / cross-checks) */
  reference?: boolean;
  /** compile for another input size [height, width]: shapes are re-derived through the graph
   *  (works for fully convolutional models with global pooling, e.g. MobileNetV2) */
  inputSize?: [number, number];
  /** give every tensor its own arena space so all intermediates survive a run (for traces) */
  noReuse?: boolean;
  /** keep every conv on the im2col kernel (benchmarks of the rows variant) */
  noRows?: boolean;
  sourceFile?: string;
}

export interface CompileReport {
  ops: number;
  tfliteOps: number;
  macs: number;
  arenaBytes: number;
  scratchBytes: number;
  weightsBytes: number;
  artifactBytes: number;
  refKernels: string[];
}

export type Domain = 'int8' | 'float32' | 'int32' | 'int16';

export interface TInfo {
  t: TfTensor;
  /** the tensor's shape (recomputed when the input size is overridden) */
  shape: number[];
  domain: Domain;
  /** quantization in the int8 domain */
  scale: number;
  zp: number;
  /** the uint8 tensor was shifted into the int8 domain */
  fromU8: boolean;
}

class WeightsBuilder {
  private chunks: Uint8Array[] = [];
  private size = 0;
  add(bytes: Uint8Array): WeightSlot {
    const off = this.size;
    this.chunks.push(bytes);
    const padded = (bytes.length + 15) & ~15;
    if (padded > bytes.length) this.chunks.push(new Uint8Array(padded - bytes.length));
    this.size += padded;
    return [off, bytes.length];
  }
  i32(a: Int32Array | number[]): WeightSlot {
    return this.add(new Uint8Array(Int32Array.from(a).buffer));
  }
  f32(a: Float32Array): WeightSlot {
    return this.add(new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice());
  }
  build(): Uint8Array {
    // 64 bytes of zero tail so kernels may read a vector past the last block
    const out = new Uint8Array(this.size + 64);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** TFLite's output size and padding for SAME / VALID */
export function padding(kind: number, stride: number, dil: number, inSize: number, filter: number): { out: number; pad: number } {
  const eff = (filter - 1) * dil + 1;
  const out = kind === 0 ? Math.floor((inSize + stride - 1) / stride) : Math.floor((inSize - eff + stride) / stride);
  const total = Math.max(0, (out - 1) * stride + eff - inSize);
  return { out, pad: Math.floor(total / 2) };
}

/** CONV_2D / DEPTHWISE_CONV_2D geometry from the filter and options, validated (TFLite's rules). */
/** FULLY_CONNECTED as a 1x1 conv over `batches` pixels: weights, shapes and format validated. */
export function fcGeometry(op: TfOperator, x: number[], f: TfTensor | undefined, out: number[], err: (op: TfOperator, msg: string) => never) {
  if (!f) return err(op, 'missing weights');
  if (f.shape.length !== 2) err(op, `weights must be 2-D, have shape [${f.shape}]`);
  if ((op.options.weightsFormat as number) !== 0) err(op, 'shuffled weights format is not supported');
  const [outC, inDepth] = [f.shape[0]!, f.shape[1]!];
  const n = numel(x);
  if (inDepth < 1 || n % inDepth !== 0) err(op, `input of ${n} elements is not a multiple of the weights' depth ${inDepth}`);
  const batches = n / inDepth;
  if (numel(out) !== batches * outC) err(op, `output shape [${out}] does not hold ${batches}x${outC}`);
  return {
    inH: 1, inW: batches, inC: inDepth, outH: 1, outW: batches, outC, kH: 1, kW: 1, sH: 1, sW: 1, dH: 1, dW: 1,
    padT: 0, padL: 0, depthMult: 1, actFn: op.options.activation as number,
  };
}

export function convGeometry(op: TfOperator, [inH, inW, inC]: [number, number, number], f: TfTensor, err: (op: TfOperator, msg: string) => never) {
  const o = op.options;
  if (f.shape.length !== 4) err(op, `filter must be 4-D, has shape [${f.shape}]`);
  const isDw = op.name === 'DEPTHWISE_CONV_2D';
  const [kH, kW] = [f.shape[1]!, f.shape[2]!];
  const outC = isDw ? f.shape[3]! : f.shape[0]!;
  if (!isDw && f.shape[3] !== inC) err(op, `filter has ${f.shape[3]} input channels, input has ${inC}`);
  const sH = o.strideH as number, sW = o.strideW as number, dH = o.dilationH as number, dW = o.dilationW as number;
  if (!(sH >= 1 && sW >= 1 && dH >= 1 && dW >= 1 && sH <= 64 && sW <= 64 && dH <= 64 && dW <= 64)) err(op, `invalid stride ${sH}x${sW} or dilation ${dH}x${dW}`);
  if (!(kH >= 1 && kW >= 1)) err(op, `invalid filter size ${kH}x${kW}`);
  const pad = o.padding as number;
  if (pad !== 0 && pad !== 1) err(op, `unknown padding ${pad}`);
  const ph = padding(pad, sH, dH, inH, kH), pw = padding(pad, sW, dW, inW, kW);
  if (ph.out < 1 || pw.out < 1) err(op, `filter ${kH}x${kW} does not fit input ${inH}x${inW}`);
  let depthMult = 1;
  if (isDw) {
    depthMult = outC / inC;
    if (!Number.isInteger(depthMult) || depthMult < 1) err(op, `output channels ${outC} are not a multiple of input channels ${inC}`);
    if (f.shape[0] !== 1) err(op, `depthwise filter must have shape [1,KH,KW,C], has [${f.shape}]`);
  }
  return { isDw, kH, kW, outC, sH, sW, dH, dW, outH: ph.out, outW: pw.out, padT: ph.pad, padL: pw.pad, depthMult };
}

export async function compileTflite(bytes: Uint8Array, opts: CompileOptions = {}): Promise<{ artifact: Uint8Array; manifest: ArtifactManifest; report: CompileReport }> {
  return lower(importTflite(bytes), opts);
}

/** Parse and verify a .tflite file; format problems become CompileErrors. */
export function importTflite(bytes: Uint8Array): TfModel {
  try {
    return parseTflite(bytes);
  } catch (e) {
    if (e instanceof ModelFormatError) throw new CompileError(`invalid TFLite model: ${e.message}`);
    throw e;
  }
}

/** Lower a parsed (or PTQ-rewritten, see ptq.ts) TFLite graph to an artifact. */
export async function lower(model: TfModel, opts: CompileOptions) {
  const T = model.tensors;
  const info: TInfo[] = T.map((t) => {
    const q = t.quant;
    const fromU8 = t.typeName === 'UINT8';
    let domain: Domain;
    if (t.typeName === 'INT8' || t.typeName === 'UINT8') domain = 'int8';
    else if (t.typeName === 'FLOAT32') domain = 'float32';
    else if (t.typeName === 'INT16' && !t.data) domain = 'int16'; // 16x8 activations (lower-int16.ts)
    else domain = 'int32';
    const scale = q ? q.scale[0]! : 0;
    if (q && domain === 'int8') {
      const [lo, hi] = fromU8 ? [0, 255] : [-128, 127];
      if (q.zeroPoint.some((z) => z < lo || z > hi)) {
        throw new CompileError(`tensor ${t.index} (${t.name}): zero point ${q.zeroPoint.find((z) => z < lo || z > hi)} is outside the ${t.typeName} range`);
      }
    }
    const zp = q ? q.zeroPoint[0]! - (fromU8 ? 128 : 0) : 0;
    return { t, shape: t.shape.slice(), domain, scale, zp, fromU8 };
  });

  const alias = new Map<number, number>();
  const rep = (i: number): number => {
    let r = i;
    while (alias.has(r)) r = alias.get(r)!;
    return r;
  };
  const constVals = new Map<number, Int32Array>();
  const softmaxOut = new Set<number>();
  const ops: (MOp & { ins: number[]; outs: number[] })[] = [];
  const W = new WeightsBuilder();
  const refKernels: string[] = [];
  let macs = 0;
  let anyU8 = false;
  let anyFloat = false;

  const where = (op: TfOperator) => `operator ${op.index} (${op.name})`;
  const err = (op: TfOperator, msg: string): never => {
    throw new CompileError(`${where(op)}: ${msg}`);
  };
  const isConst = (i: number) => i >= 0 && (T[i]!.data !== null || constVals.has(i));
  const act = (op: TfOperator, k: number): TInfo => {
    const i = op.inputs[k];
    if (i === undefined || i < 0) err(op, `missing input ${k}`);
    if (T[i!]!.data !== null) err(op, `input ${k} (${T[i!]!.name}) is a constant; constant activations are not supported`);
    return info[i!]!;
  };
  const out0 = (op: TfOperator): TInfo => {
    if (op.outputs.length !== 1) err(op, `expected 1 output, has ${op.outputs.length}`);
    return info[op.outputs[0]!]!;
  };
  const dims4 = (op: TfOperator, ti: TInfo, what: string): [number, number, number] => {
    const s = ti.shape;
    if (s.length !== 4 || s[0] !== 1) err(op, `${what} must be a batch-1 NHWC tensor, has shape [${s}]`);
    if (s.some((d) => d < 1)) err(op, `${what} has an empty dimension [${s}]`);
    return [s[1]!, s[2]!, s[3]!];
  };
  const needQuant = (op: TfOperator, ti: TInfo, what: string) => {
    if (!ti.t.quant) err(op, `${what} (${ti.t.name}) has no quantization parameters`);
    if (ti.t.quant!.scale.length !== 1) err(op, `${what} (${ti.t.name}) must be per-tensor quantized`);
  };
  const emit = (kind: OpKind, op: TfOperator, ins: number[], outs: number[], p: Record<string, number>, w: Record<string, WeightSlot> = {}) => {
    ops.push({ kind, in: [], out: [], ins: ins.map(rep), outs, p, w, src: `${op.index}:${op.name}` });
  };
  const qrange = (ti: TInfo) => (ti.fromU8 ? [0, 255] : [-128, 127]) as [number, number];
  const actRange8 = (op: TfOperator, actFn: number, o: TInfo): [number, number] => {
    const [qmin, qmax] = qrange(o);
    const origZp = o.t.quant!.zeroPoint[0]!;
    let r: [number, number];
    try {
      r = activationRange(actFn, o.scale, origZp, qmin, qmax);
    } catch (e) {
      return err(op, (e as Error).message);
    }
    const shift = o.fromU8 ? 128 : 0;
    return [r[0] - shift, r[1] - shift];
  };
  const fActRange = (op: TfOperator, actFn: number) => {
    try { return activationRangeFloat(actFn); } catch (e) { return err(op, (e as Error).message); }
  };
  const checkOutShape = (op: TfOperator, o: TInfo, want: number[]) => {
    if (opts.inputSize) { o.shape = want.slice(); return; }
    if (o.shape.join() !== want.join()) err(op, `output shape [${o.shape}] does not match the computed [${want}]`);
  };
  /** element-wise ops: the output has the input's shape */
  const sameShape = (op: TfOperator, x: TInfo, o: TInfo) => {
    if (opts.inputSize) o.shape = x.shape.slice();
  };
  if (opts.inputSize) {
    const [h, w] = opts.inputSize;
    if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 8 && w >= 8 && h <= 4096 && w <= 4096)) throw new CompileError(`invalid input size ${h}x${w}`);
    const ii = info[model.inputs[0]!];
    if (!ii || ii.shape.length !== 4) throw new CompileError('--input-size needs an NHWC image input');
    ii.shape = [ii.shape[0]!, h, w, ii.shape[3]!];
  }

  /** weights as int8 or (w - zp) int16 for one filter tensor, with per-output-channel scales */
  const filterData = (op: TfOperator, f: TfTensor, channelDim: number, channels: number) => {
    if (!f.data) err(op, `filter ${f.name} must be constant`);
    if (!f.quant) err(op, `filter ${f.name} has no quantization parameters`);
    const q = f.quant!;
    if (q.scale.length !== 1 && (q.scale.length !== channels || q.quantizedDimension !== channelDim)) {
      err(op, `filter ${f.name}: ${q.scale.length} scales on dimension ${q.quantizedDimension}, expected per-tensor or ${channels} on dimension ${channelDim}`);
    }
    const scales = Array.from({ length: channels }, (_, c) => q.scale[q.scale.length === 1 ? 0 : c]!);
    const zps = Array.from({ length: channels }, (_, c) => q.zeroPoint[q.zeroPoint.length === 1 ? 0 : c]!);
    const n = numel(f.shape);
    const inner = f.shape.slice(channelDim + 1).reduce((a, b) => a * b, 1);
    const chOf = (i: number) => Math.floor(i / inner) % channels;
    if (f.typeName === 'INT8' && zps.every((z) => z === 0)) {
      return { w: constInt8(f) as Int8Array | Int16Array, wIs16: 0, scales, perChannel: q.scale.length > 1 };
    }
    if (f.typeName !== 'INT8' && f.typeName !== 'UINT8') err(op, `filter type ${f.typeName} is not supported with ${'quantized'} inputs`);
    const raw = f.typeName === 'INT8' ? constInt8(f) : constUint8(f);
    const w16 = new Int16Array(n);
    for (let i = 0; i < n; i++) w16[i] = raw[i]! - zps[chOf(i)]!;
    return { w: w16 as Int8Array | Int16Array, wIs16: 1, scales, perChannel: q.scale.length > 1 };
  };
  const biasData = (op: TfOperator, k: number, n: number): Int32Array => {
    const i = op.inputs[k];
    if (i === undefined || i < 0) return new Int32Array(n);
    const b = T[i]!;
    if (!b.data) err(op, `bias ${b.name} must be constant`);
    if (b.typeName !== 'INT32') err(op, `bias type ${b.typeName} is not supported (int32 expected)`);
    if (numel(b.shape) !== n) err(op, `bias has ${numel(b.shape)} elements, expected ${n}`);
    return constInt32(b);
  };
  const floatConst = (op: TfOperator, k: number, n: number, what: string): Float32Array => {
    const i = op.inputs[k];
    if (i === undefined || i < 0) return new Float32Array(n);
    const t = T[i]!;
    if (!t.data || t.typeName !== 'FLOAT32') err(op, `${what} must be a float32 constant`);
    if (numel(t.shape) !== n) err(op, `${what} has ${numel(t.shape)} elements, expected ${n}`);
    return constFloat32(t);
  };

  /** shared by CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (as a 1x1 conv) */
  const lowerConvLike = (op: TfOperator, kind: 'conv' | 'dw', g: {
    inH: number; inW: number; inC: number; outH: number; outW: number; outC: number;
    kH: number; kW: number; sH: number; sW: number; dH: number; dW: number; padT: number; padL: number;
    depthMult: number; actFn: number; legacyScale: boolean;
  }) => {
    const x = act(op, 0);
    const o = out0(op);
    const f = T[op.inputs[1]!]!;
    macs += g.outH * g.outW * g.outC * g.kH * g.kW * (kind === 'conv' ? g.inC : 1);
    if (x.domain === 'float32') {
      anyFloat = true;
      if (o.domain !== 'float32') err(op, 'float input with a non-float output is not supported');
      if (f.typeName !== 'FLOAT32' || !f.data) err(op, `float ${op.name} needs a constant float32 filter, has ${f.typeName}`);
      const w = constFloat32(f);
      const bias = floatConst(op, 2, g.outC, 'bias');
      const [amin, amax] = fActRange(op, g.actFn);
      const fast = !opts.reference && (kind === 'conv' || g.depthMult === 1);
      const coPad = (g.outC + 3) & ~3;
      let wp: Float32Array;
      let bp = bias;
      if (fast) {
        const K = g.kH * g.kW * (kind === 'conv' ? g.inC : 1);
        wp = new Float32Array(K * coPad);
        if (kind === 'conv') for (let co = 0; co < g.outC; co++) for (let k = 0; k < K; k++) wp[k * coPad + co] = w[co * K + k]!;
        else for (let k = 0; k < K; k++) for (let c = 0; c < g.outC; c++) wp[k * coPad + c] = w[k * g.outC + c]!;
        bp = new Float32Array(coPad);
        bp.set(bias);
      } else {
        wp = w;
        refKernels.push(`${where(op)}: float reference kernel`);
      }
      const p = { inH: g.inH, inW: g.inW, inC: g.inC, outH: g.outH, outW: g.outW, outC: g.outC, kH: g.kH, kW: g.kW, sH: g.sH, sW: g.sW, dH: g.dH, dW: g.dW, padT: g.padT, padL: g.padL, actMin: amin, actMax: amax, fast: fast ? 1 : 0 };
      if (kind === 'conv') emit('conv_f32', op, [op.inputs[0]!], op.outputs, p, { w: W.f32(wp), b: W.f32(bp) });
      else emit('dw_f32', op, [op.inputs[0]!], op.outputs, { ...p, depthMult: g.depthMult }, { w: W.f32(wp), b: W.f32(bp) });
      return;
    }
    if (x.domain !== 'int8' || o.domain !== 'int8') err(op, `unsupported tensor types ${x.t.typeName} -> ${o.t.typeName}`);
    needQuant(op, x, 'input');
    needQuant(op, o, 'output');
    if (x.fromU8) anyU8 = true;
    const chDim = kind === 'conv' ? 0 : 3;
    const fd = filterData(op, f, chDim, g.outC);
    const bias = biasData(op, 2, g.outC);
    const mult = new Int32Array(g.outC);
    const shift = new Int32Array(g.outC);
    for (let c = 0; c < g.outC; c++) {
      // TFLite: per-channel in double; legacy per-tensor uint8 (and FC) via a float product
      const eff = !fd.perChannel && g.legacyScale
        ? f32(x.t.quant!.scale[0]! * fd.scales[c]!) / o.t.quant!.scale[0]!
        : (x.t.quant!.scale[0]! * fd.scales[c]!) / o.t.quant!.scale[0]!;
      if (!Number.isFinite(eff) || eff < 0) err(op, `invalid effective scale ${eff}`);
      [mult[c], shift[c]] = quantizeMultiplier(eff);
    }
    const [amin, amax] = actRange8(op, g.actFn, o);
    const fast = !opts.reference && (kind === 'conv' ? fastRequantSupported(mult, shift) : fastDepthwiseSupported(g.kH, g.kW, g.depthMult, mult, shift));
    if (!fast) refKernels.push(`${where(op)}: reference kernel (${opts.reference ? 'requested' : 'parameters outside the fast path'})`);
    let w: Record<string, WeightSlot>;
    // spatial int8 convs read widened input rows directly (assembly/conv_rows.ts) instead of an im2col buffer
    const rows = fast && kind === 'conv' && !opts.noRows && convRowsEligible({ ...g, wIs16: fd.wIs16 });
    if (fast) {
      const packed = kind === 'conv'
        ? packConvFast(fd.w, { outC: g.outC, kH: g.kH, kW: g.kW, inC: g.inC, rows: rows ? 1 : 0 })
        : packDepthwiseWeights(fd.w, g.kH, g.kW, g.outC);
      w = { w: W.add(packed), q: W.add(packRequant(bias, mult, shift, weightAbsSums(fd.w, g.outC, kind === 'dw'), { zp: o.zp, actMin: amin, actMax: amax, affine: true })) };
    } else {
      const q = new Int32Array(3 * g.outC);
      q.set(bias, 0); q.set(mult, g.outC); q.set(shift, 2 * g.outC);
      w = { w: W.add(new Uint8Array(fd.w.buffer, fd.w.byteOffset, fd.w.byteLength).slice()), q: W.i32(q) };
    }
    const p: Record<string, number> = {
      inH: g.inH, inW: g.inW, inC: g.inC, outH: g.outH, outW: g.outW, outC: g.outC, kH: g.kH, kW: g.kW,
      sH: g.sH, sW: g.sW, dH: g.dH, dW: g.dW, padT: g.padT, padL: g.padL,
      inZp: x.zp, outZp: o.zp, actMin: amin, actMax: amax, wIs16: fd.wIs16, fast: fast ? 1 : 0,
    };
    if (kind === 'dw') p.depthMult = g.depthMult;
    if (rows) p.rows = 1;
    emit(kind === 'conv' ? 'conv_i8' : 'dw_i8', op, [op.inputs[0]!], op.outputs, p, w);
  };

  // ---- MoveNet's pre/post-processing ops (kernels in assembly/movenet.ts) ----
  // Constant operands never become arena tensors: they travel as weight blocks
  // of the op that reads them (the `_c_` binary kinds, gather_nd_c_i8, rowfill_*).
  const plainType = (op: TfOperator, ti: TInfo, what: string) => {
    if (!['INT8', 'UINT8', 'INT32', 'FLOAT32'].includes(ti.t.typeName)) err(op, `${what} (${ti.t.name}) has unsupported type ${ti.t.typeName}`);
  };
  const constBytes = (op: TfOperator, i: number): Uint8Array => {
    const cv = constVals.get(i);
    if (cv) return new Uint8Array(Int32Array.from(cv).buffer);
    const t = T[i]!;
    if (!t.data) return err(op, `${t.name} is not a constant`);
    if (t.typeName === 'UINT8') return Uint8Array.from(t.data, (v) => v ^ 0x80); // into the int8 domain
    if (t.typeName === 'INT8' || t.typeName === 'INT32' || t.typeName === 'FLOAT32') return t.data.slice();
    return err(op, `constant ${t.name} of type ${t.typeName} is not supported`);
  };
  const constI32 = (op: TfOperator, i: number, what: string): number[] => {
    const cv = constVals.get(i);
    if (cv) return Array.from(cv);
    const t = T[i]!;
    if (t.data && t.typeName === 'INT32') return Array.from(constInt32(t));
    if (t.data && t.typeName === 'INT64') return Array.from(new BigInt64Array(t.data.slice().buffer), (v) => Number(v));
    return err(op, `${what} must be a constant int32 tensor`);
  };
  /** 4-D broadcast shapes a*, b*, o* for the bc_* kernels (TFLite's NumPy-style rule) */
  const bcastShapes = (op: TfOperator, a: number[], b: number[], out: TInfo): Record<string, number> => {
    const rank = Math.max(a.length, b.length);
    const ext = (s: number[]) => [...Array<number>(rank - s.length).fill(1), ...s];
    const ea = ext(a), eb = ext(b);
    if (ea.some((d, i) => d !== eb[i] && d !== 1 && eb[i] !== 1)) err(op, `shapes [${a}] and [${b}] do not broadcast`);
    checkOutShape(op, out, ea.map((d, i) => (d === 1 ? eb[i]! : d)));
    const o = out.shape;
    if (a.length > 4 || b.length > 4 || o.length > 4) err(op, `broadcasting is supported up to 4 dimensions (shapes [${a}], [${b}] -> [${o}])`);
    const pad4 = (s: number[]) => [...Array<number>(4 - s.length).fill(1), ...s];
    const A = pad4(a), B = pad4(b), O = pad4(o);
    for (let i = 0; i < 4; i++) {
      if (A[i]! < 1 || B[i]! < 1 || O[i]! < 1) err(op, `empty tensors are not supported (shapes [${a}], [${b}] -> [${o}])`);
      const want = A[i] === 1 ? B[i]! : B[i] === 1 || B[i] === A[i] ? A[i]! : -1;
      if (O[i] !== want) err(op, `shapes [${a}] and [${b}] do not broadcast to the output shape [${o}]`);
    }
    // merge neighbouring dimensions that broadcast alike (TFLite's ReduceDimensionsForBroadcast):
    // same element order, longer innermost rows for the kernels
    const dims: [number, number, number][] = [];
    for (let i = 0; i < 4; i++) {
      if (O[i] === 1) continue;
      const last = dims[dims.length - 1];
      if (last && (last[0] === 1) === (A[i] === 1) && (last[1] === 1) === (B[i] === 1)) {
        last[0] *= A[i]!; last[1] *= B[i]!; last[2] *= O[i]!;
      } else dims.push([A[i]!, B[i]!, O[i]!]);
    }
    while (dims.length < 4) dims.unshift([1, 1, 1]);
    const r: Record<string, number> = {};
    dims.forEach(([da, db, dout], i) => { r[`a${i}`] = da; r[`b${i}`] = db; r[`o${i}`] = dout; });
    return r;
  };
  const int32ActRange = (op: TfOperator, actFn: number): [number, number] => {
    switch (actFn) {
      case 0: return [-2147483648, 2147483647];
      case 1: return [0, 2147483647];
      case 2: return [-1, 1];
      case 3: return [0, 6];
      default: return err(op, `unsupported fused activation ${actFn}`);
    }
  };
  /** fast int8 binary kernels: result tables on a small operand (lut 1 = b, 2 = a) when that pays off, else SIMD rows */
  const binaryLut = (shp: Record<string, number>): Record<string, number> => {
    if (opts.reference) return { fast: 0, lut: 0 };
    const vol = (k: string) => shp[`${k}0`]! * shp[`${k}1`]! * shp[`${k}2`]! * shp[`${k}3`]!;
    const outN = vol('o'), nb = vol('b'), na = vol('a');
    // a table costs 256 scalar evaluations per element; only worth it when the output is much larger
    if (nb <= 64 && 1024 * nb <= outN && shp.o3 !== shp.b3) return { fast: 1, lut: 1 };
    if (na <= 64 && 1024 * na <= outN && shp.o3 !== shp.a3) return { fast: 1, lut: 2 };
    if (nb <= 64 && 1024 * nb <= outN && shp.o3! < 16) return { fast: 1, lut: 1 };
    if (na <= 64 && 1024 * na <= outN && shp.o3! < 16) return { fast: 1, lut: 2 };
    return { fast: 1, lut: 0 };
  };
  /** ADD (when it broadcasts, has a constant or is int32), SUB, MUL, DIV, FLOOR_DIV */
  const lowerBinary = (op: TfOperator) => {
    if (op.inputs.length !== 2) err(op, `expected 2 inputs, has ${op.inputs.length}`);
    const [ia, ib] = op.inputs as [number, number];
    if (ia < 0 || ib < 0) err(op, 'missing input');
    const ca = isConst(ia), cb = isConst(ib);
    if (ca && cb) err(op, 'both inputs are constants (constant folding of arithmetic is not supported)');
    const a = info[ia]!, b = info[ib]!, out = out0(op);
    plainType(op, a, 'input 1'); plainType(op, b, 'input 2'); plainType(op, out, 'output');
    if (a.t.typeName !== b.t.typeName || a.t.typeName !== out.t.typeName) err(op, `mixed tensor types ${a.t.typeName}, ${b.t.typeName} -> ${out.t.typeName}`);
    const shp = bcastShapes(op, a.shape, b.shape, out);
    const actFn = (op.options.activation as number | undefined) ?? 0;
    const withC = ca || cb;
    const ins = withC ? [ca ? ib : ia] : [ia, ib];
    const w: Record<string, WeightSlot> = withC ? { c: W.add(constBytes(op, ca ? ia : ib)) } : {};
    const cf: Record<string, number> = withC ? { constFirst: ca ? 1 : 0 } : {};
    const name = op.name;
    if (a.domain === 'float32') {
      const code = ({ ADD: 0, SUB: 1, MUL: 2, DIV: 3 } as Record<string, number>)[name];
      if (code === undefined) err(op, `float32 ${name} is not supported`);
      anyFloat = true;
      const [amin, amax] = fActRange(op, actFn);
      emit(withC ? 'bc_arith_c_f32' : 'bc_arith_f32', op, ins, op.outputs, { ...shp, op: code!, actMin: amin, actMax: amax, ...cf }, w);
      return;
    }
    if (a.domain === 'int32') {
      if (a.t.quant || b.t.quant || out.t.quant) err(op, 'quantized int32 tensors are not supported');
      const code = ({ ADD: 0, SUB: 1, MUL: 2, FLOOR_DIV: 3 } as Record<string, number>)[name];
      if (code === undefined) err(op, `int32 ${name} is not supported`);
      if (name === 'FLOOR_DIV' && cb && constI32(op, ib, 'divisor').includes(0)) err(op, 'division by zero (the constant divisor contains 0)');
      const [amin, amax] = int32ActRange(op, actFn);
      emit(withC ? 'bc_arith_c_i32' : 'bc_arith_i32', op, ins, op.outputs, { ...shp, op: code!, actMin: amin, actMax: amax, ...cf }, w);
      return;
    }
    needQuant(op, a, 'input 1'); needQuant(op, b, 'input 2'); needQuant(op, out, 'output');
    const sa = a.t.quant!.scale[0]!, sb = b.t.quant!.scale[0]!, so = out.t.quant!.scale[0]!;
    const [amin, amax] = actRange8(op, actFn, out);
    if (name === 'ADD' || name === 'SUB') {
      const leftShift = 20;
      let r1: number, r2: number, rOut: number;
      if (name === 'ADD') {
        // TFLM add_common.cc: in double
        const twice = 2 * Math.max(sa, sb);
        r1 = sa / twice; r2 = sb / twice; rOut = twice / ((1 << leftShift) * so);
      } else {
        // TFLM sub_common.cc: in float, then widened
        const twice = f32(2 * Math.max(sa, sb));
        r1 = f32(sa / twice); r2 = f32(sb / twice); rOut = f32(twice / f32((1 << leftShift) * so));
      }
      const [aMult, aShift] = quantizeMultiplier(r1);
      const [bMult, bShift] = quantizeMultiplier(r2);
      const [outMult, outShift] = quantizeMultiplier(rOut);
      emit(withC ? 'bc_addsub_c_i8' : 'bc_addsub_i8', op, ins, op.outputs, {
        ...shp, sub: name === 'SUB' ? 1 : 0, aOffset: -a.zp, aMult, aShift, bOffset: -b.zp, bMult, bShift, leftShift,
        outMult, outShift, outOffset: out.zp, actMin: amin, actMax: amax, ...binaryLut(shp), ...cf,
      }, w);
      return;
    }
    if (name === 'MUL') {
      // TFLM mul_common.cc: double product and quotient, QuantizeMultiplier
      const [outMult, outShift] = quantizeMultiplier((sa * sb) / so);
      emit(withC ? 'bc_mul_c_i8' : 'bc_mul_i8', op, ins, op.outputs, {
        ...shp, aOffset: -a.zp, bOffset: -b.zp, outMult, outShift, outOffset: out.zp, actMin: amin, actMax: amax, ...binaryLut(shp), ...cf,
      }, w);
      return;
    }
    err(op, `quantized ${name} is not supported`);
  };
  const needsGeneralBinary = (op: TfOperator) => op.inputs.length === 2 && op.inputs.every((i) => i >= 0) &&
    (op.inputs.some((i) => isConst(i)) || info[op.inputs[0]!]!.domain === 'int32' ||
      info[op.inputs[0]!]!.shape.join() !== info[op.inputs[1]!]!.shape.join());
  const rowKind = (ti: TInfo, base: 'rowcopy' | 'rowfill'): OpKind =>
    `${base}_${ti.domain === 'int8' ? 'i8' : ti.domain === 'int32' ? 'i32' : 'f32'}` as OpKind;
  /** PACK / CONCATENATION: copy each input's rows into the output at its offset; constants last (in place) */
  const lowerPieces = (op: TfOperator, pieces: { i: number; len: number; outOff: number }[], outer: number, outStride: number) => {
    const out = out0(op);
    const outN = numel(out.shape);
    if (outN < 1) err(op, 'empty output');
    if (pieces.every((pc) => isConst(pc.i))) err(op, 'all inputs are constants (constant folding is not supported here)');
    for (const pc of pieces.filter((x) => !isConst(x.i))) {
      emit(rowKind(out, 'rowcopy'), op, [pc.i], op.outputs, { outer, len: pc.len, inStride: pc.len, inOff: 0, outStride, outOff: pc.outOff, inN: outer * pc.len, outN });
    }
    for (const pc of pieces.filter((x) => isConst(x.i))) {
      emit(rowKind(out, 'rowfill'), op, [op.outputs[0]!], op.outputs, { outer, len: pc.len, inStride: pc.len, inOff: 0, outStride, outOff: pc.outOff, inN: outer * pc.len, outN },
        { d: W.add(constBytes(op, pc.i)) });
    }
  };
  const lowerPack = (op: TfOperator) => {
    const out = out0(op);
    plainType(op, out, 'output');
    if (op.inputs.length < 1 || op.inputs.some((i) => i < 0)) err(op, 'missing input');
    const s0 = info[op.inputs[0]!]!.shape;
    let axis = op.options.axis as number;
    if (axis < 0) axis += s0.length + 1;
    if (!(axis >= 0 && axis <= s0.length)) err(op, `axis ${op.options.axis as number} out of range for inputs of shape [${s0}]`);
    for (const i of op.inputs) {
      if (info[i]!.shape.join() !== s0.join() || T[i]!.typeName !== out.t.typeName) err(op, 'inputs must all have the output type and the same shape');
    }
    checkOutShape(op, out, [...s0.slice(0, axis), op.inputs.length, ...s0.slice(axis)]);
    const inner = numel(s0.slice(axis));
    lowerPieces(op, op.inputs.map((i, k) => ({ i, len: inner, outOff: k * inner })), numel(s0.slice(0, axis)), op.inputs.length * inner);
  };

  // ops touching int16 activations (TFLite's 16x8 scheme) are lowered in lower-int16.ts
  const i16: Int16LowerCtx = {
    T, info, opts, W, emit, err, act, out0, dims4, needQuant, isConst, constI32, rep, alias, softmaxOut, refKernels, checkOutShape,
    addMacs: (n) => { macs += n; }, markFloat: () => { anyFloat = true; },
  };
  // ---- PAD folding ----
  // A quantized PAD (its value is the zero point) of H/W only, whose output is read by nothing but the
  // input of one CONV_2D / DEPTHWISE_CONV_2D (and is no graph output), becomes that op's implicit padding:
  // the kernels skip taps outside the input, which is exactly a contribution of (zp - zp) * w = 0.
  // The PAD output aliases its input; the conv gets the unpadded size and padTop/padLeft += the pads
  // (bottom/right pads only change the output size, which is computed from the padded size as before).
  const padFold = new Map<number, { t: number; b: number; l: number; r: number }>();
  const foldPadInto = (op: TfOperator, pads: Int32Array | number[]): boolean => {
    if (opts.noReuse) return false; // traces read every intermediate tensor
    const out = op.outputs[0]!;
    if (pads[6] !== 0 || pads[7] !== 0 || model.outputs.includes(out)) return false;
    const readers = model.operators.filter((c) => c.inputs.includes(out));
    if (readers.length !== 1) return false;
    const c = readers[0]!;
    if (c.name !== 'CONV_2D' && c.name !== 'DEPTHWISE_CONV_2D') return false;
    if (c.inputs[0] !== out || c.inputs.indexOf(out) !== c.inputs.lastIndexOf(out)) return false;
    if ([...c.inputs, ...c.outputs].some((i) => i >= 0 && info[i]!.domain === 'int16')) return false;
    padFold.set(out, { t: pads[2]!, b: pads[3]!, l: pads[4]!, r: pads[5]! });
    return true;
  };

  for (const op of model.operators) {
    const o = op.options;
    if ([...op.inputs, ...op.outputs].some((i) => i >= 0 && info[i]!.domain === 'int16')) { lowerInt16Op(i16, op); continue; }
    switch (op.name) {
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D': {
        const x = act(op, 0);
        const [inH, inW, inC] = dims4(op, x, 'input');
        const f = op.inputs[1] !== undefined && op.inputs[1] >= 0 ? T[op.inputs[1]]! : err(op, 'missing filter');
        const g = convGeometry(op, [inH, inW, inC], f, err);
        checkOutShape(op, out0(op), [1, g.outH, g.outW, g.outC]);
        const pf = padFold.get(op.inputs[0]!) ?? { t: 0, b: 0, l: 0, r: 0 }; // a folded PAD (see foldPadInto)
        lowerConvLike(op, g.isDw ? 'dw' : 'conv', {
          ...g, inH: inH - pf.t - pf.b, inW: inW - pf.l - pf.r, inC, padT: g.padT + pf.t, padL: g.padL + pf.l,
          actFn: o.activation as number, legacyScale: x.fromU8,
        });
        break;
      }
      case 'FULLY_CONNECTED': {
        const f = op.inputs[1] !== undefined && op.inputs[1] >= 0 ? T[op.inputs[1]] : undefined;
        lowerConvLike(op, 'conv', { ...fcGeometry(op, act(op, 0).shape, f, out0(op).shape, err), legacyScale: true });
        break;
      }
      case 'ADD': {
        if (needsGeneralBinary(op)) { lowerBinary(op); break; }
        const a = act(op, 0), b = act(op, 1), out = out0(op);
        sameShape(op, a, out);
        if (a.shape.join() !== b.shape.join() || out.shape.join() !== a.shape.join()) {
          err(op, `broadcasting ADD is not supported (shapes [${a.shape}] + [${b.shape}] -> [${out.shape}])`);
        }
        const n = numel(out.shape);
        if (a.domain === 'float32') {
          anyFloat = true;
          const [amin, amax] = fActRange(op, o.activation as number);
          emit('add_f32', op, [op.inputs[0]!, op.inputs[1]!], op.outputs, { n, actMin: amin, actMax: amax });
          break;
        }
        if (a.domain !== 'int8' || b.domain !== 'int8' || out.domain !== 'int8') err(op, 'unsupported tensor types');
        needQuant(op, a, 'input 1'); needQuant(op, b, 'input 2'); needQuant(op, out, 'output');
        const leftShift = 20;
        const sa = a.t.quant!.scale[0]!, sb = b.t.quant!.scale[0]!, so = out.t.quant!.scale[0]!;
        const twiceMax = 2 * Math.max(sa, sb);
        const [aMult, aShift] = quantizeMultiplier(sa / twiceMax);
        const [bMult, bShift] = quantizeMultiplier(sb / twiceMax);
        const [outMult, outShift] = quantizeMultiplier(twiceMax / ((1 << leftShift) * so));
        const [amin, amax] = actRange8(op, o.activation as number, out);
        const ap = { aOffset: -a.zp, aMult, aShift, bOffset: -b.zp, bMult, bShift, leftShift, outMult, outShift, outOffset: out.zp, actMin: amin, actMax: amax };
        // the f32 form of the layer (fA, fB, fC: f32 bits), when one equals the exact arithmetic on all input pairs
        const fl = solveAddAffine(ap);
        emit('add_i8', op, [op.inputs[0]!, op.inputs[1]!], op.outputs, { n, ...ap, ...(fl ? { fA: fl[0], fB: fl[1], fC: fl[2] } : {}) });
        break;
      }
      case 'AVERAGE_POOL_2D':
      case 'MAX_POOL_2D': {
        const x = act(op, 0), out = out0(op);
        const [inH, inW, c] = dims4(op, x, 'input');
        const fH = o.filterH as number, fW = o.filterW as number, sH = o.strideH as number, sW = o.strideW as number;
        if (!(fH >= 1 && fW >= 1 && sH >= 1 && sW >= 1)) err(op, `invalid filter ${fH}x${fW} or stride ${sH}x${sW}`);
        const ph = padding(o.padding as number, sH, 1, inH, fH), pw = padding(o.padding as number, sW, 1, inW, fW);
        if (ph.out < 1 || pw.out < 1) err(op, 'pooling window does not fit the input');
        checkOutShape(op, out, [1, ph.out, pw.out, c]);
        const p: Record<string, number> = { inH, inW, c, outH: ph.out, outW: pw.out, fH, fW, sH, sW, padT: ph.pad, padL: pw.pad };
        const isAvg = op.name === 'AVERAGE_POOL_2D';
        if (x.domain === 'float32') {
          anyFloat = true;
          const [amin, amax] = fActRange(op, o.activation as number);
          emit(isAvg ? 'avgpool_f32' : 'maxpool_f32', op, [op.inputs[0]!], op.outputs, { ...p, actMin: amin, actMax: amax });
          break;
        }
        needQuant(op, x, 'input'); needQuant(op, out, 'output');
        if (x.scale !== out.scale || x.zp !== out.zp) err(op, 'input and output quantization must be equal for pooling');
        const [amin, amax] = actRange8(op, o.activation as number, out);
        if (isAvg) emit('avgpool_i8', op, [op.inputs[0]!], op.outputs, { ...p, actMin: amin, actMax: amax, offset: x.fromU8 ? 128 : 0 });
        else emit('maxpool_i8', op, [op.inputs[0]!], op.outputs, { ...p, actMin: amin, actMax: amax });
        break;
      }
      case 'MEAN': {
        const x = act(op, 0), out = out0(op);
        const [h, w, c] = dims4(op, x, 'input');
        const axisIdx = op.inputs[1]!;
        if (!isConst(axisIdx)) err(op, 'axis must be constant');
        const axes = Array.from(constVals.get(axisIdx) ?? constInt32(T[axisIdx]!)).map((a) => (a < 0 ? a + 4 : a)).sort();
        if (axes.join() !== '1,2') err(op, `only MEAN over the spatial axes [1,2] is supported, got [${axes}]`);
        if (numel(out.shape) !== c) err(op, `output shape [${out.shape}] must hold ${c} values`);
        if (x.domain === 'float32') {
          anyFloat = true;
          emit('mean_f32', op, [op.inputs[0]!], op.outputs, { h, w, c });
          break;
        }
        needQuant(op, x, 'input'); needQuant(op, out, 'output');
        if (x.fromU8) err(op, 'MEAN on uint8 tensors is not supported (TFLite Micro has no kernel for it)');
        // TFLM's integer QuantizedMeanOrSum: fold 1/n into the multiplier
        const n = h * w;
        let [mult, shift] = quantizeMultiplier(x.scale / out.scale);
        let sh = 31 - Math.clz32(n);
        sh = Math.min(sh, 32, 31 + shift);
        mult = Number((BigInt(mult) << BigInt(sh)) / BigInt(n));
        shift -= sh;
        emit('mean_i8', op, [op.inputs[0]!], op.outputs, { h, w, c, inZp: x.zp, mult, shift, outZp: out.zp });
        break;
      }
      case 'SOFTMAX': {
        const x = act(op, 0), out = out0(op);
        const s = x.shape;
        const depth = s[s.length - 1] ?? 1;
        const outer = numel(s) / depth;
        sameShape(op, x, out);
        if (out.shape.join() !== s.join()) err(op, 'output shape must equal input shape');
        const beta = o.beta as number;
        if (x.domain === 'float32') {
          anyFloat = true;
          emit('softmax_f32', op, [op.inputs[0]!], op.outputs, { outer, depth, beta });
        } else {
          needQuant(op, x, 'input'); needQuant(op, out, 'output');
          if (out.scale !== 1 / 256 || out.zp !== -128) err(op, `quantized softmax output must have scale 1/256 and zero point ${out.fromU8 ? 0 : -128}`);
          const [mult, leftShift] = preprocessSoftmaxScaling(beta, x.scale, 5);
          if (mult === 0) err(op, 'softmax input scale too small');
          const diffMin = -calculateInputRadius(5, leftShift);
          emit('softmax_i8', op, [op.inputs[0]!], op.outputs, { outer, depth, mult, leftShift, diffMin });
        }
        softmaxOut.add(op.outputs[0]!);
        break;
      }
      case 'QUANTIZE': {
        const x = act(op, 0), out = out0(op);
        sameShape(op, x, out);
        if (numel(x.shape) !== numel(out.shape)) err(op, 'shape mismatch');
        needQuant(op, out, 'output');
        if (out.domain !== 'int8') err(op, `quantizing to ${out.t.typeName} is not supported`);
        const n = numel(out.shape);
        if (x.domain === 'float32') {
          anyFloat = true;
          emit('quantize_f32_i8', op, [op.inputs[0]!], op.outputs, { n, scale: out.scale, zp: out.zp, qmin: -128, qmax: 127 });
        } else if (x.domain === 'int8') {
          needQuant(op, x, 'input');
          const eff = x.scale / out.scale;
          const [mult, shift] = quantizeMultiplier(eff);
          if (mult === 1 << 30 && shift === 1 && x.zp === out.zp) {
            alias.set(op.outputs[0]!, rep(op.inputs[0]!));
          } else {
            emit('requantize_i8', op, [op.inputs[0]!], op.outputs, { n, inZp: x.zp, mult, shift, outZp: out.zp });
          }
        } else err(op, `quantizing from ${x.t.typeName} is not supported`);
        if (softmaxOut.has(op.inputs[0]!)) softmaxOut.add(op.outputs[0]!);
        break;
      }
      case 'DEQUANTIZE': {
        const x = act(op, 0), out = out0(op);
        sameShape(op, x, out);
        if (x.domain !== 'int8' || out.domain !== 'float32') err(op, `dequantizing ${x.t.typeName} to ${out.t.typeName} is not supported`);
        needQuant(op, x, 'input');
        anyFloat = true;
        emit('dequantize_i8_f32', op, [op.inputs[0]!], op.outputs, { n: numel(x.shape), scale: x.scale, zp: x.zp });
        if (softmaxOut.has(op.inputs[0]!)) softmaxOut.add(op.outputs[0]!);
        break;
      }
      case 'RESHAPE':
      case 'SQUEEZE':
      case 'EXPAND_DIMS': {
        const x = act(op, 0), out = out0(op);
        if (numel(x.shape) !== numel(out.shape)) {
          err(op, opts.inputSize
            ? `cannot change the input size: this ${op.name} of [${x.shape}] to [${out.shape}] depends on it (only fully convolutional models with global pooling can be resized)`
            : `cannot reshape [${x.shape}] to [${out.shape}]`);
        }
        if (x.domain !== out.domain || x.scale !== out.scale || x.zp !== out.zp) err(op, 'input and output types/quantization differ');
        alias.set(op.outputs[0]!, rep(op.inputs[0]!));
        if (softmaxOut.has(op.inputs[0]!)) softmaxOut.add(op.outputs[0]!);
        break;
      }
      case 'PAD': {
        const x = act(op, 0), out = out0(op);
        const [h, w, c] = dims4(op, x, 'input');
        const pi = op.inputs[1]!;
        if (!isConst(pi)) err(op, 'paddings must be constant');
        const pads = constVals.get(pi) ?? constInt32(T[pi]!);
        if (pads.length !== 8) err(op, `paddings must be [4,2], have ${pads.length} values`);
        if (Array.from(pads).some((v) => v < 0 || v > 4096)) err(op, 'invalid paddings');
        if (pads[0] !== 0 || pads[1] !== 0) err(op, 'padding the batch dimension is not supported');
        const shape = [1, h + pads[2]! + pads[3]!, w + pads[4]! + pads[5]!, c + pads[6]! + pads[7]!];
        checkOutShape(op, out, shape);
        let es = 1, value = 0;
        if (x.domain === 'float32') { es = 4; value = 0; anyFloat = true; } else {
          needQuant(op, out, 'output');
          if (x.scale !== out.scale || x.zp !== out.zp) err(op, 'input and output quantization must be equal');
          value = out.zp & 0xff;
        }
        if (x.domain === 'int8' && foldPadInto(op, pads)) {
          alias.set(op.outputs[0]!, rep(op.inputs[0]!));
          break;
        }
        emit('pad', op, [op.inputs[0]!], op.outputs, {
          es, b: 1, h, w, c, pb0: 0, pb1: 0, ph0: pads[2]!, ph1: pads[3]!, pw0: pads[4]!, pw1: pads[5]!, pc0: pads[6]!, pc1: pads[7]!, value,
        });
        break;
      }
      case 'SHAPE': {
        const x = info[op.inputs[0]!]!;
        constVals.set(op.outputs[0]!, Int32Array.from(x.shape));
        break;
      }
      case 'STRIDED_SLICE': {
        const [src, bi, ei, si] = op.inputs;
        if (![src, bi, ei, si].every((i) => i !== undefined && isConst(i))) err(op, 'only constant strided slices (shape computations) are supported');
        const get = (i: number) => constVals.get(i) ?? constInt32(T[i]!);
        const v = get(src!), b = get(bi!), e = get(ei!), s = get(si!);
        if (b.length !== 1 || e.length !== 1 || s.length !== 1) err(op, 'only 1-D strided slices are supported');
        const stride = s[0]!;
        if (stride === 0) err(op, 'stride 0');
        const norm = (x: number) => (x < 0 ? x + v.length : x);
        let begin = (o.beginMask as number) & 1 ? (stride > 0 ? 0 : v.length - 1) : norm(b[0]!);
        let end = (o.endMask as number) & 1 ? (stride > 0 ? v.length : -1) : norm(e[0]!);
        if ((o.shrinkAxisMask as number) & 1) end = begin + 1;
        begin = Math.max(stride > 0 ? 0 : -1, Math.min(begin, v.length - (stride > 0 ? 0 : 1)));
        end = Math.max(-1, Math.min(end, v.length));
        const res: number[] = [];
        for (let i = begin; stride > 0 ? i < end : i > end; i += stride) res.push(v[i]!);
        constVals.set(op.outputs[0]!, Int32Array.from(res));
        break;
      }
      case 'PACK': {
        if (!op.inputs.every((i) => isConst(i))) { lowerPack(op); break; }
        if (!op.inputs.every((i) => isConst(i))) err(op, 'only constant PACK (shape computations) is supported');
        const vals: number[] = [];
        for (const i of op.inputs) {
          const v = constVals.get(i) ?? constInt32(T[i]!);
          if (v.length !== 1) err(op, 'only packing scalars is supported');
          vals.push(v[0]!);
        }
        constVals.set(op.outputs[0]!, Int32Array.from(vals));
        break;
      }
      case 'SUB':
      case 'MUL':
      case 'DIV':
      case 'FLOOR_DIV':
        lowerBinary(op);
        break;
      case 'CAST': {
        const x = act(op, 0), out = out0(op);
        sameShape(op, x, out);
        const n = numel(x.shape);
        if (numel(out.shape) !== n) err(op, 'input and output sizes differ');
        if (out.t.typeName !== 'FLOAT32') err(op, `CAST to ${out.t.typeName} is not supported`);
        anyFloat = true;
        // static_cast of the stored value: uint8 tensors hold (p - 128) here
        if (x.t.typeName === 'UINT8' || x.t.typeName === 'INT8') emit('cast_i8_f32', op, [op.inputs[0]!], op.outputs, { n, offset: x.fromU8 ? 128 : 0 });
        else if (x.t.typeName === 'INT32') emit('cast_i32_f32', op, [op.inputs[0]!], op.outputs, { n });
        else err(op, `CAST from ${x.t.typeName} is not supported`);
        break;
      }
      case 'SQRT': {
        const x = act(op, 0), out = out0(op);
        sameShape(op, x, out);
        if (x.t.typeName !== 'FLOAT32' || out.t.typeName !== 'FLOAT32') err(op, `only float32 SQRT is supported, not ${x.t.typeName}`);
        if (numel(out.shape) !== numel(x.shape)) err(op, 'input and output sizes differ');
        anyFloat = true;
        emit('sqrt_f32', op, [op.inputs[0]!], op.outputs, { n: numel(x.shape) });
        break;
      }
      case 'LOGISTIC': {
        const x = act(op, 0), out = out0(op);
        sameShape(op, x, out);
        const n = numel(x.shape);
        if (numel(out.shape) !== n) err(op, 'input and output sizes differ');
        if (x.t.typeName !== 'INT8' || out.t.typeName !== 'INT8') err(op, `only int8 LOGISTIC is supported (TFLite Micro's integer kernel), not ${x.t.typeName} -> ${out.t.typeName}`);
        needQuant(op, x, 'input'); needQuant(op, out, 'output');
        if (out.zp !== -128) err(op, `output zero point must be -128, is ${out.zp}`);
        // TFLM logistic_common.cc: input scale in Q4.27 (frexp of scale * 2^27), CalculateInputRadius(4, shift)
        const [q, shift] = frexp(x.t.quant!.scale[0]! * (1 << 27));
        const mult = roundHalfAway(q * 2147483648);
        if (!(mult > 0 && mult < 2147483648)) err(op, `input scale ${x.scale} gives an unusable multiplier`);
        const radius = Math.min(2147483647, calculateInputRadius(4, shift, 31));
        emit('logistic_i8', op, [op.inputs[0]!], op.outputs, { n, inZp: x.zp, radius, mult, leftShift: shift, fast: opts.reference ? 0 : 1 });
        if (opts.reference) refKernels.push(`${where(op)}: reference kernel (requested)`);
        break;
      }
      case 'RESIZE_BILINEAR': {
        const x = act(op, 0), out = out0(op);
        const [inH, inW, c] = dims4(op, x, 'input');
        const si = op.inputs[1];
        if (si === undefined || si < 0 || !isConst(si)) err(op, 'the size input must be constant');
        const size = constI32(op, si!, 'size');
        if (size.length !== 2 || !(size[0]! >= 1 && size[1]! >= 1)) err(op, `invalid size [${size}]`);
        checkOutShape(op, out, [1, size[0]!, size[1]!, c]);
        const [outH, outW] = [size[0]!, size[1]!];
        const ac = o.alignCorners ? 1 : 0, hp = o.halfPixelCenters ? 1 : 0;
        if (ac && hp) err(op, 'half_pixel_centers and align_corners cannot both be set');
        if (x.t.typeName !== 'INT8' || out.t.typeName !== 'INT8') err(op, `only int8 RESIZE_BILINEAR is supported (TFLite Micro's integer kernel), not ${x.t.typeName}`);
        if (Math.max(inH, inW, c, outH, outW) > 65536) err(op, 'dimensions above 65536 are not supported');
        emit('resize_bilinear_i8', op, [op.inputs[0]!], op.outputs, { inH, inW, c, outH, outW, alignCorners: ac, halfPixel: hp, fast: opts.reference ? 0 : 1 });
        if (opts.reference) refKernels.push(`${where(op)}: reference kernel (requested)`);
        break;
      }
      case 'ARG_MAX': {
        const x = act(op, 0), out = out0(op);
        const ai = op.inputs[1];
        if (ai === undefined || ai < 0 || !isConst(ai)) err(op, 'axis must be constant');
        const av = constI32(op, ai!, 'axis');
        if (av.length !== 1) err(op, `axis must be a single value, has ${av.length}`);
        const s = x.shape;
        const axis = av[0]! < 0 ? av[0]! + s.length : av[0]!;
        if (!(axis >= 0 && axis < s.length)) err(op, `axis ${av[0]} out of range for shape [${s}]`);
        if (out.t.typeName !== 'INT32') err(op, `output type ${out.t.typeName} is not supported (int32 only)`);
        if (x.t.typeName !== 'INT8' && x.t.typeName !== 'UINT8') err(op, `input type ${x.t.typeName} is not supported (int8 only)`);
        checkOutShape(op, out, [...s.slice(0, axis), ...s.slice(axis + 1)]);
        const outer = numel(s.slice(0, axis)), axisLen = s[axis]!, inner = numel(s.slice(axis + 1));
        if (outer < 1 || axisLen < 1 || inner < 1) err(op, 'empty tensors are not supported');
        emit('argmax_i8', op, [op.inputs[0]!], op.outputs, { outer, axisLen, inner });
        break;
      }
      case 'GATHER_ND': {
        const [pi, ii] = op.inputs;
        if (pi === undefined || ii === undefined || pi < 0 || ii < 0) err(op, 'missing input');
        const prm = act(op, 0), idx = info[ii!]!, out = out0(op);
        if (idx.t.typeName !== 'INT32') err(op, `indices type ${idx.t.typeName} is not supported (int32 only)`);
        if (prm.domain !== 'int8' || out.t.typeName !== prm.t.typeName) err(op, `only int8 params are supported, not ${prm.t.typeName} -> ${out.t.typeName}`);
        const ps = prm.shape, is = idx.shape;
        if (is.length < 1) err(op, 'indices must be at least a vector');
        const depth = is[is.length - 1]!;
        if (!(depth >= 1 && depth <= 4 && depth <= ps.length)) err(op, `index depth ${depth} is not supported (1 to min(4, params rank ${ps.length}))`);
        const nSlices = numel(is.slice(0, -1)), sliceSize = numel(ps.slice(depth));
        if (nSlices < 1 || sliceSize < 1 || ps.some((d) => d < 1)) err(op, 'empty tensors are not supported');
        checkOutShape(op, out, [...is.slice(0, -1), ...ps.slice(depth)]);
        const d = [0, 1, 2, 3].map((j) => (j < depth ? ps[j]! : 1));
        const p = { pN: numel(ps), nSlices, depth, sliceSize, d0: d[0]!, d1: d[1]!, d2: d[2]!, d3: d[3]! };
        if (isConst(ii!)) {
          const iv = constI32(op, ii!, 'indices');
          iv.forEach((v, k) => { if (v < 0 || v >= d[k % depth]!) err(op, `constant index ${v} out of range for dimension ${k % depth} of size ${d[k % depth]}`); });
          emit('gather_nd_c_i8', op, [pi!], op.outputs, p, { idx: W.i32(iv) });
        } else {
          emit('gather_nd_i8', op, [pi!, ii!], op.outputs, p);
        }
        break;
      }
      case 'UNPACK': {
        const x = act(op, 0);
        plainType(op, x, 'input');
        const s = x.shape;
        let axis = o.axis as number;
        if (axis < 0) axis += s.length;
        if (!(axis >= 0 && axis < s.length)) err(op, `axis ${o.axis as number} out of range for shape [${s}]`);
        const N = s[axis]!;
        if (op.outputs.length !== N) err(op, `${op.outputs.length} outputs for a dimension of size ${N}`);
        if (numel(s) < 1) err(op, 'empty tensors are not supported');
        const outer = numel(s.slice(0, axis)), inner = numel(s.slice(axis + 1));
        const want = [...s.slice(0, axis), ...s.slice(axis + 1)];
        op.outputs.forEach((oi, k) => {
          const ot = info[oi]!;
          if (ot.t.typeName !== x.t.typeName) err(op, `output ${k} is ${ot.t.typeName}, the input ${x.t.typeName}`);
          checkOutShape(op, ot, want);
          emit(rowKind(x, 'rowcopy'), op, [op.inputs[0]!], [oi], { outer, len: inner, inStride: N * inner, inOff: k * inner, outStride: inner, outOff: 0, inN: numel(s), outN: outer * inner });
        });
        break;
      }
      case 'CONCATENATION': {
        const out = out0(op);
        plainType(op, out, 'output');
        if (op.inputs.length < 1 || op.inputs.some((i) => i < 0)) err(op, 'missing input');
        const s0 = info[op.inputs[0]!]!.shape;
        let axis = o.axis as number;
        if (axis < 0) axis += s0.length;
        if (!(axis >= 0 && axis < s0.length)) err(op, `axis ${o.axis as number} out of range for shape [${s0}]`);
        if ((o.activation as number) !== 0) err(op, 'a fused activation is not supported (TFLite Micro requires none)');
        // the output is the inputs joined on the axis
        checkOutShape(op, out, s0.map((d, j) => (j === axis ? op.inputs.reduce((acc, i) => acc + (info[i]!.shape[j] ?? 0), 0) : d)));
        const s = out.shape;
        let off = 0;
        const pieces = op.inputs.map((i, k) => {
          const ti = info[i]!, ts = ti.shape;
          if (ts.length !== s.length || ts.some((dd, j) => j !== axis && dd !== s[j])) err(op, `input ${k} of shape [${ts}] does not fit the output [${s}] on axis ${axis}`);
          if (ti.t.typeName !== out.t.typeName) err(op, `input ${k} is ${ti.t.typeName}, the output ${out.t.typeName}`);
          if (ti.domain === 'int8' && (ti.scale !== out.scale || ti.zp !== out.zp)) {
            err(op, `input ${k} quantization (scale ${ti.scale}, zero point ${ti.t.quant?.zeroPoint[0]}) differs from the output's (${out.scale}, ${out.t.quant?.zeroPoint[0]}); ` +
              'requantizing CONCATENATION is not supported (TFLite and TFLite Micro require equal int8 quantization)');
          }
          const len = numel(ts.slice(axis));
          const pc = { i, len, outOff: off };
          off += len;
          return pc;
        });
        if (off !== numel(s.slice(axis))) err(op, 'the inputs do not add up to the output shape');
        lowerPieces(op, pieces, numel(s.slice(0, axis)), off);
        break;
      }
      default:
        err(op, `unsupported operator ${op.name}`);
    }
  }

  // ---- graph inputs / outputs ----
  if (model.inputs.length !== 1) throw new CompileError(`models with ${model.inputs.length} inputs are not supported (1 expected)`);
  const inIdx = model.inputs[0]!;
  const inInfo = info[inIdx]!;
  const inShape = inInfo.shape;
  if (inShape.length !== 4 || inShape[0] !== 1 || inShape[3] !== 3) throw new CompileError(`input must be an RGB image tensor [1,H,W,3], is [${inShape}]`);
  if (inInfo.domain === 'int32' || inInfo.domain === 'int16') throw new CompileError(`input type ${inInfo.t.typeName} is not supported`);
  const outIdxs = model.outputs;


  // ---- liveness + arena plan ----
  const used = new Set<number>();
  used.add(rep(inIdx));
  for (const op of ops) { op.ins.forEach((i) => used.add(rep(i))); op.outs.forEach((i) => used.add(rep(i))); }
  for (const i of outIdxs) {
    if (!used.has(rep(i))) throw new CompileError(`output ${T[i]!.name} is not computed by any supported op`);
    if (isConst(i)) throw new CompileError(`output ${T[i]!.name} is a constant`);
  }
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  first.set(rep(inIdx), -1);
  ops.forEach((op, k) => {
    for (const i of op.ins) {
      const r = rep(i);
      if (!first.has(r)) throw new CompileError(`op ${op.src} reads ${T[r]!.name} before anything writes it`);
      last.set(r, k);
    }
    for (const i of op.outs) {
      const r = rep(i);
      if (!first.has(r)) first.set(r, k);
      last.set(r, Math.max(last.get(r) ?? k, k));
    }
  });
  for (const i of outIdxs) last.set(rep(i), ops.length);
  last.set(rep(inIdx), Math.max(last.get(rep(inIdx)) ?? 0, 0));

  const planned = [...used].map((r) => {
    const ti = info[r]!;
    const es = ti.domain === 'int8' ? 1 : ti.domain === 'int16' ? 2 : 4;
    return { r, bytes: numel(ti.shape) * es, start: opts.noReuse ? -1 : first.get(r)!, end: opts.noReuse ? ops.length : last.get(r)! };
  });
  const placed: { start: number; end: number; off: number; size: number }[] = [];
  const offsetOf = new Map<number, number>();
  for (const t of [...planned].sort((a, b) => b.bytes - a.bytes || a.r - b.r)) {
    const size = ((t.bytes + 15) & ~15) + 16; // 16 bytes of slack for vector over-reads
    const conflicts = placed.filter((p) => !(p.end < t.start || t.end < p.start)).sort((a, b) => a.off - b.off);
    let off = 0;
    for (const c of conflicts) {
      if (off + size <= c.off) break;
      off = Math.max(off, c.off + c.size);
    }
    placed.push({ start: t.start, end: t.end, off, size });
    offsetOf.set(t.r, off);
  }
  const arenaBytes = placed.reduce((m, p) => Math.max(m, p.off + p.size), 0);

  const tensorIndex = new Map<number, number>();
  const mtensors: MTensor[] = [];
  for (const t of planned.sort((a, b) => a.r - b.r)) {
    const ti = info[t.r]!;
    tensorIndex.set(t.r, mtensors.length);
    mtensors.push({
      name: ti.t.name, shape: ti.shape.slice(), dtype: ti.domain === 'int8' ? 'int8' : ti.domain === 'float32' ? 'float32' : ti.domain === 'int16' ? 'int16' : 'int32',
      offset: offsetOf.get(t.r)!, bytes: t.bytes,
      ...(ti.t.quant ? { scale: ti.scale, zeroPoint: ti.zp } : {}),
    });
  }
  let scratchBytes = 0;
  const mops: MOp[] = ops.map((op) => {
    const spec = OPS[op.kind] as { scratch?: (p: Record<string, number>) => number };
    scratchBytes = Math.max(scratchBytes, spec.scratch?.(op.p) ?? 0);
    return { kind: op.kind, in: op.ins.map((i) => tensorIndex.get(rep(i))!), out: op.outs.map((i) => tensorIndex.get(rep(i))!), w: op.w, p: op.p, src: op.src };
  });
  scratchBytes = (scratchBytes + 15) & ~15;

  // ---- specs ----
  // unquantized uint8 input (raw pixels, e.g. feeding CAST as in MoveNet): real = p
  if (!opts.normalization && inInfo.fromU8 && !inInfo.t.quant) opts = { ...opts, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } };
  const dtypeOf = (ti: TInfo) => (ti.domain === 'float32' ? 'float32' : ti.fromU8 ? 'uint8' : 'int8') as 'float32' | 'uint8' | 'int8';
  const origZp = (ti: TInfo) => (ti.t.quant ? ti.t.quant.zeroPoint[0]! : 0);
  const inDtype = dtypeOf(inInfo);
  const normalization: PixelNormalization = opts.normalization ?? (inDtype === 'float32'
    ? { mean: [0, 0, 0], std: [255, 255, 255] }
    : inDtype === 'uint8'
      ? { mean: [origZp(inInfo), origZp(inInfo), origZp(inInfo)], std: Array(3).fill(1 / inInfo.scale) as [number, number, number] }
      : { mean: Array(3).fill(origZp(inInfo) + 128) as [number, number, number], std: Array(3).fill(1 / inInfo.scale) as [number, number, number] });
  const input: InputSpec = {
    name: inInfo.t.name, shape: inShape.slice(), dtype: inDtype, scale: inInfo.scale || 1, zeroPoint: origZp(inInfo), layout: 'NHWC', normalization,
  };
  const outputs: OutputSpec[] = outIdxs.map((i) => {
    const ti = info[i]!;
    if (ti.domain === 'int32' || ti.domain === 'int16') throw new CompileError(`output type ${ti.t.typeName} is not supported${ti.domain === 'int16' ? ' (end int16 graphs with DEQUANTIZE or QUANTIZE to int8)' : ''}`);
    return { name: ti.t.name, shape: ti.shape.slice(), dtype: dtypeOf(ti), scale: ti.scale || 1, zeroPoint: origZp(ti), kind: softmaxOut.has(i) ? 'softmax' : 'logits' };
  });
  if (opts.labels) {
    const classes = numel(outputs[0]!.shape);
    if (opts.labels.length !== classes) throw new CompileError(`${opts.labels.length} labels given for ${classes} output classes`);
  }
  const precision: Precision = ops.some((op) => op.kind.endsWith('_i16')) ? 'int16'
    : anyFloat && !ops.some((op) => op.kind.endsWith('_i8')) ? 'float32' : anyU8 ? 'uint8' : 'int8';
  const weights = W.build();
  const manifest = {
    name: opts.name ?? 'model',
    precision,
    source: { file: opts.sourceFile },
    createdBy: 'edgelens compiler 0.1',
    input, outputs,
    inputTensor: tensorIndex.get(rep(inIdx))!,
    outputTensors: outIdxs.map((i) => tensorIndex.get(rep(i))!),
    ...(opts.labels ? { labels: opts.labels } : {}),
    ...(opts.meta ? { meta: opts.meta } : {}),
    macs, arenaBytes, scratchBytes,
    tensors: mtensors, ops: mops,
  };
  const artifact = await writeArtifact(manifest, weights);
  const { parseArtifact } = await import('../src/model/artifact.ts');
  let parsed;
  try {
    parsed = await parseArtifact(artifact); // the compiler checks its own output like any reader would
  } catch (e) {
    throw new CompileError(`the compiled artifact failed validation: ${(e as Error).message}`);
  }
  return {
    artifact,
    manifest: parsed.manifest,
    report: { ops: mops.length, tfliteOps: model.operators.length, macs, arenaBytes, scratchBytes, weightsBytes: weights.length, artifactBytes: artifact.length, refKernels },
  };
}
