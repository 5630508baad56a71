// Lowering of ops on int16 activations: TFLite's 16x8 quantization scheme (int16 activations,
// symmetric with zero point 0; int8 weights, per channel or per tensor; int64 or int32 bias).
// Called by lower() in compile.ts for every operator that reads or writes an int16 tensor.
// Kernels: assembly/int16.ts; op table: src/model/ops-int16.ts.

import { constInt8, constInt32, constInt64, type TfOperator, type TfTensor } from './tflite.ts';
import { convGeometry, fcGeometry, padding, type CompileOptions, type TInfo } from './compile.ts';
import { quantizeMultiplier, activationRange } from '../src/model/quant.ts';
import { packConvWeights } from '../src/model/pack.ts';
import { packQ16, packDw16Weights, softmaxInt16Luts } from '../src/model/pack-int16.ts';
import { DW16_MAX_TAPS, DW16_MAX_CHANNELS } from '../src/model/ops-int16.ts';
import type { OpKind, WeightSlot } from '../src/model/ops.ts';

export interface Int16LowerCtx {
  T: TfTensor[];
  info: TInfo[];
  opts: CompileOptions;
  W: { add(bytes: Uint8Array): WeightSlot; i32(a: Int32Array | number[]): WeightSlot };
  emit(kind: OpKind, op: TfOperator, ins: number[], outs: number[], p: Record<string, number>, w?: Record<string, WeightSlot>): void;
  err(op: TfOperator, msg: string): never;
  act(op: TfOperator, k: number): TInfo;
  out0(op: TfOperator): TInfo;
  dims4(op: TfOperator, ti: TInfo, what: string): [number, number, number];
  needQuant(op: TfOperator, ti: TInfo, what: string): void;
  isConst(i: number): boolean;
  constI32(op: TfOperator, i: number, what: string): number[];
  rep(i: number): number;
  alias: Map<number, number>;
  softmaxOut: Set<number>;
  refKernels: string[];
  checkOutShape(op: TfOperator, o: TInfo, want: number[]): void;
  addMacs(n: number): void;
  markFloat(): void;
}

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function lowerInt16Op(c: Int16LowerCtx, op: TfOperator): void {
  const { T, info, err } = c;
  const o = op.options;
  const where = `operator ${op.index} (${op.name})`;
  const i16 = (ti: TInfo, what: string) => {
    if (ti.domain !== 'int16') err(op, `${what} (${ti.t.name}) is ${ti.t.typeName}; int16 activations need int16 ${what}s (16x8)`);
    c.needQuant(op, ti, what);
    if (ti.zp !== 0) err(op, `${what} (${ti.t.name}) has zero point ${ti.zp}; int16 activations must be symmetric (zero point 0)`);
    return ti;
  };
  const actRange = (actFn: number, out: TInfo): [number, number] => {
    try {
      return activationRange(actFn, out.scale, 0, -32768, 32767);
    } catch (e) {
      return err(op, (e as Error).message);
    }
  };
  const mult = (real: number): [number, number] => {
    if (!Number.isFinite(real) || real < 0) err(op, `invalid effective scale ${real}`);
    return quantizeMultiplier(real);
  };

  /** CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED (as a 1x1 conv) */
  const convLike = (kind: 'conv' | 'dw', g: {
    inH: number; inW: number; inC: number; outH: number; outW: number; outC: number;
    kH: number; kW: number; sH: number; sW: number; dH: number; dW: number; padT: number; padL: number; depthMult: number; actFn: number;
  }) => {
    const x = i16(c.act(op, 0), 'input');
    const out = i16(c.out0(op), 'output');
    const f = T[op.inputs[1]!]!;
    if (!f.data || f.typeName !== 'INT8') err(op, `filter ${f.name} must be a constant int8 tensor for int16 activations (16x8), is ${f.typeName}`);
    const q = f.quant;
    const chDim = kind === 'conv' ? 0 : 3;
    if (!q) err(op, `filter ${f.name} has no quantization parameters`);
    if (q!.scale.length !== 1 && (q!.scale.length !== g.outC || q!.quantizedDimension !== chDim)) {
      err(op, `filter ${f.name}: ${q!.scale.length} scales on dimension ${q!.quantizedDimension}, expected per-tensor or ${g.outC} on dimension ${chDim}`);
    }
    if (q!.zeroPoint.some((z) => z !== 0)) err(op, `filter ${f.name} must be symmetric (zero point 0)`);
    const bias = new BigInt64Array(g.outC);
    const bi = op.inputs[2];
    if (bi !== undefined && bi >= 0) {
      const b = T[bi]!;
      if (!b.data) err(op, `bias ${b.name} must be constant`);
      if (numel(b.shape) !== g.outC) err(op, `bias has ${numel(b.shape)} elements, expected ${g.outC}`);
      if (b.typeName === 'INT64') bias.set(constInt64(b));
      else if (b.typeName === 'INT32') constInt32(b).forEach((v, k) => { bias[k] = BigInt(v); });
      else err(op, `bias type ${b.typeName} is not supported with int16 activations (int64 or int32 expected)`);
    }
    const M = new Int32Array(g.outC), S = new Int32Array(g.outC);
    for (let ch = 0; ch < g.outC; ch++) {
      const sw = q!.scale[q!.scale.length === 1 ? 0 : ch]!;
      [M[ch], S[ch]] = mult((x.scale * sw) / out.scale);
      if (!(S[ch]! >= -31 && S[ch]! <= 7)) err(op, `channel ${ch}: effective scale ${(x.scale * sw) / out.scale} is outside the range TFLite's int16 kernels accept (shift ${S[ch]})`);
    }
    const [amin, amax] = actRange(g.actFn, out);
    const taps = g.kH * g.kW;
    c.addMacs(g.outH * g.outW * g.outC * taps * (kind === 'conv' ? g.inC : 1));
    const fast = !c.opts.reference && (kind === 'conv' || (g.depthMult === 1 && taps <= DW16_MAX_TAPS && g.outC <= DW16_MAX_CHANNELS));
    if (!fast) c.refKernels.push(`${where}: reference kernel (${c.opts.reference ? 'requested' : 'parameters outside the fast path'})`);
    const w8 = constInt8(f);
    const wBytes = fast
      ? (kind === 'conv' ? packConvWeights(w8, g.outC, g.kH, g.kW, g.inC) : packDw16Weights(w8, taps, g.outC))
      : new Uint8Array(w8.buffer, w8.byteOffset, w8.byteLength).slice();
    const p: Record<string, number> = {
      inH: g.inH, inW: g.inW, inC: g.inC, outH: g.outH, outW: g.outW, outC: g.outC, kH: g.kH, kW: g.kW,
      sH: g.sH, sW: g.sW, dH: g.dH, dW: g.dW, padT: g.padT, padL: g.padL, actMin: amin, actMax: amax, fast: fast ? 1 : 0,
    };
    if (kind === 'dw') p.depthMult = g.depthMult;
    c.emit(kind === 'conv' ? 'conv_i16' : 'dw_i16', op, [op.inputs[0]!], op.outputs, p, { w: c.W.add(wBytes), q: c.W.add(packQ16(bias, M, S)) });
  };

  switch (op.name) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      const x = c.act(op, 0);
      const [inH, inW, inC] = c.dims4(op, x, 'input');
      const f = op.inputs[1] !== undefined && op.inputs[1] >= 0 ? T[op.inputs[1]]! : err(op, 'missing filter');
      const g = convGeometry(op, [inH, inW, inC], f, err);
      c.checkOutShape(op, c.out0(op), [1, g.outH, g.outW, g.outC]);
      convLike(g.isDw ? 'dw' : 'conv', { ...g, inH, inW, inC, actFn: o.activation as number });
      return;
    }
    case 'FULLY_CONNECTED': {
      const f = op.inputs[1] !== undefined && op.inputs[1] >= 0 ? T[op.inputs[1]] : undefined;
      convLike('conv', fcGeometry(op, c.act(op, 0).shape, f, c.out0(op).shape, err));
      return;
    }
    case 'ADD': {
      if (op.inputs.length !== 2 || op.inputs.some((i) => i < 0 || c.isConst(i))) err(op, 'int16 ADD needs two activation inputs');
      const a = i16(c.act(op, 0), 'input'), b = i16(c.act(op, 1), 'input'), out = i16(c.out0(op), 'output');
      if (a.shape.join() !== b.shape.join() || out.shape.join() !== a.shape.join()) {
        if (c.opts.inputSize && a.shape.join() === b.shape.join()) out.shape = a.shape.slice();
        else err(op, `broadcasting ADD is not supported with int16 activations (shapes [${a.shape}] + [${b.shape}] -> [${out.shape}])`);
      }
      // TFLM add_common.cc: left_shift 15 for int16, multipliers in double
      const leftShift = 15;
      const twice = 2 * Math.max(a.scale, b.scale);
      const [aMult, aShift] = mult(a.scale / twice);
      const [bMult, bShift] = mult(b.scale / twice);
      const [outMult, outShift] = mult(twice / ((1 << leftShift) * out.scale));
      const [amin, amax] = actRange(o.activation as number, out);
      c.emit('add_i16', op, [op.inputs[0]!, op.inputs[1]!], op.outputs, {
        n: numel(out.shape), aOffset: 0, aMult, aShift, bOffset: 0, bMult, bShift, leftShift, outMult, outShift, outOffset: 0, actMin: amin, actMax: amax,
      });
      return;
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const x = i16(c.act(op, 0), 'input'), out = i16(c.out0(op), 'output');
      const [inH, inW, ch] = c.dims4(op, x, 'input');
      const fH = o.filterH as number, fW = o.filterW as number, sH = o.strideH as number, sW = o.strideW as number;
      if (!(fH >= 1 && fW >= 1 && sH >= 1 && sW >= 1)) err(op, `invalid filter ${fH}x${fW} or stride ${sH}x${sW}`);
      const ph = padding(o.padding as number, sH, 1, inH, fH), pw = padding(o.padding as number, sW, 1, inW, fW);
      if (ph.out < 1 || pw.out < 1) err(op, 'pooling window does not fit the input');
      c.checkOutShape(op, out, [1, ph.out, pw.out, ch]);
      if (x.scale !== out.scale) err(op, 'input and output quantization must be equal for pooling');
      const [amin, amax] = actRange(o.activation as number, out);
      c.emit(op.name === 'AVERAGE_POOL_2D' ? 'avgpool_i16' : 'maxpool_i16', op, [op.inputs[0]!], op.outputs, {
        inH, inW, c: ch, outH: ph.out, outW: pw.out, fH, fW, sH, sW, padT: ph.pad, padL: pw.pad, actMin: amin, actMax: amax,
      });
      return;
    }
    case 'MEAN': {
      const x = i16(c.act(op, 0), 'input'), out = i16(c.out0(op), 'output');
      const [h, w, ch] = c.dims4(op, x, 'input');
      const axisIdx = op.inputs[1]!;
      if (!c.isConst(axisIdx)) err(op, 'axis must be constant');
      const axes = c.constI32(op, axisIdx, 'axis').map((v) => (v < 0 ? v + 4 : v)).sort();
      if (axes.join() !== '1,2') err(op, `only MEAN over the spatial axes [1,2] is supported, got [${axes}]`);
      if (numel(out.shape) !== ch) err(op, `output shape [${out.shape}] must hold ${ch} values`);
      const n = h * w;
      if (n >= 65536) err(op, `MEAN over ${n} int16 values per channel could overflow the int32 sum`);
      // as the int8 MEAN: TFLM's integer QuantizedMeanOrSum with 1/n folded into the multiplier
      let [m, shift] = mult(x.scale / out.scale);
      let sh = 31 - Math.clz32(n);
      sh = Math.min(sh, 32, 31 + shift);
      m = Number((BigInt(m) << BigInt(sh)) / BigInt(n));
      shift -= sh;
      c.emit('mean_i16', op, [op.inputs[0]!], op.outputs, { h, w, c: ch, mult: m, shift });
      return;
    }
    case 'SOFTMAX': {
      const x = i16(c.act(op, 0), 'input'), out = i16(c.out0(op), 'output');
      const s = x.shape;
      const depth = s[s.length - 1] ?? 1;
      if (c.opts.inputSize) out.shape = s.slice();
      if (out.shape.join() !== s.join()) err(op, 'output shape must equal input shape');
      // TFLM softmax_common.cc: int16 output scale 1/32768 (within 0.1%), zero point 0
      if (Math.abs(out.scale - 1 / 32768) > 0.001 / 32768) err(op, `int16 softmax output must have scale 1/32768, has ${out.scale}`);
      const beta = o.beta as number;
      const [m, shift] = mult((x.scale * beta) / (10.0 / 65535.0));
      if (!(shift >= -31 && shift <= 30)) err(op, `softmax input scale ${x.scale} is out of range`);
      c.emit('softmax_i16', op, [op.inputs[0]!], op.outputs, { outer: numel(s) / depth, depth, mult: m, shift }, { lut: c.W.add(softmaxInt16Luts()) });
      c.softmaxOut.add(op.outputs[0]!);
      return;
    }
    case 'PAD': {
      const x = i16(c.act(op, 0), 'input'), out = i16(c.out0(op), 'output');
      const [h, w, ch] = c.dims4(op, x, 'input');
      const pi = op.inputs[1]!;
      if (!c.isConst(pi)) err(op, 'paddings must be constant');
      const pads = c.constI32(op, pi, 'paddings');
      if (pads.length !== 8) err(op, `paddings must be [4,2], have ${pads.length} values`);
      if (pads.some((v) => v < 0 || v > 4096)) err(op, 'invalid paddings');
      if (pads[0] !== 0 || pads[1] !== 0) err(op, 'padding the batch dimension is not supported');
      c.checkOutShape(op, out, [1, h + pads[2]! + pads[3]!, w + pads[4]! + pads[5]!, ch + pads[6]! + pads[7]!]);
      if (x.scale !== out.scale) err(op, 'input and output quantization must be equal');
      c.emit('pad_i16', op, [op.inputs[0]!], op.outputs, { h, w, c: ch, ph0: pads[2]!, ph1: pads[3]!, pw0: pads[4]!, pw1: pads[5]!, pc0: pads[6]!, pc1: pads[7]! });
      return;
    }
    case 'RESHAPE':
    case 'SQUEEZE':
    case 'EXPAND_DIMS': {
      const x = c.act(op, 0), out = c.out0(op);
      if (numel(x.shape) !== numel(out.shape)) err(op, `cannot reshape [${x.shape}] to [${out.shape}]`);
      if (x.domain !== out.domain || x.scale !== out.scale || x.zp !== out.zp) err(op, 'input and output types/quantization differ');
      c.alias.set(op.outputs[0]!, c.rep(op.inputs[0]!));
      if (c.softmaxOut.has(op.inputs[0]!)) c.softmaxOut.add(op.outputs[0]!);
      return;
    }
    case 'QUANTIZE': {
      const x = c.act(op, 0), out = c.out0(op);
      if (c.opts.inputSize) out.shape = x.shape.slice();
      if (numel(x.shape) !== numel(out.shape)) err(op, 'shape mismatch');
      c.needQuant(op, out, 'output');
      const n = numel(out.shape);
      if (x.domain === 'int8' && out.domain === 'int16') {
        c.needQuant(op, x, 'input');
        i16(out, 'output');
        const [m, shift] = mult(x.scale / out.scale);
        c.emit('requantize_i8_i16', op, [op.inputs[0]!], op.outputs, { n, inZp: x.zp, mult: m, shift, outZp: 0 });
      } else if (x.domain === 'int16' && out.domain === 'int8') {
        i16(x, 'input');
        const [m, shift] = mult(x.scale / out.scale);
        c.emit('requantize_i16_i8', op, [op.inputs[0]!], op.outputs, { n, inZp: 0, mult: m, shift, outZp: out.zp });
      } else if (x.domain === 'float32' && out.domain === 'int16') {
        i16(out, 'output');
        c.markFloat();
        c.emit('quantize_f32_i16', op, [op.inputs[0]!], op.outputs, { n, scale: out.scale, zp: 0 });
      } else {
        err(op, `quantizing ${x.t.typeName} to ${out.t.typeName} is not supported`);
      }
      if (c.softmaxOut.has(op.inputs[0]!)) c.softmaxOut.add(op.outputs[0]!);
      return;
    }
    case 'DEQUANTIZE': {
      const x = i16(c.act(op, 0), 'input'), out = c.out0(op);
      if (c.opts.inputSize) out.shape = x.shape.slice();
      if (out.domain !== 'float32') err(op, `dequantizing int16 to ${out.t.typeName} is not supported`);
      c.markFloat();
      c.emit('dequantize_i16_f32', op, [op.inputs[0]!], op.outputs, { n: numel(x.shape), scale: x.scale, zp: 0 });
      if (c.softmaxOut.has(op.inputs[0]!)) c.softmaxOut.add(op.outputs[0]!);
      return;
    }
    default:
      err(op, `${op.name} is not supported with int16 activations (16x8 kernels exist for CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, ` +
        'AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SOFTMAX, PAD, RESHAPE, QUANTIZE, DEQUANTIZE)');
  }
}
