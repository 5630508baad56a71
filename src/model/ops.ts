// The engine's op set as plain data, and the checks that make an artifact safe
// to run: every op's reads and writes must stay inside its tensors, weight
// blocks and scratch. One table serves the compiler (which fills the params)
// and the engine loader (which validates before calling any kernel).

import { convScratchBytes, convRowsScratchBytes, convRowsPackedBytes, CONV_ROWS_MAX_SCRATCH, RQ_HEADER_BYTES, RQ_BLOCK_BYTES, DW_MAX_TAPS } from './pack.ts';
import { CONV_PARAMS, POOL_PARAMS, allOf, flatN, geometryCheck, poolGeometryCheck } from './geometry.ts';
import { OPS_I16, encodedWeightBytes, weightEncCheck } from './ops-int16.ts';

// Byte sizes of the packed layouts documented in pack.ts.
const evenUp = (n: number) => (n + 1) & ~1;
const blocks8 = (n: number) => Math.ceil(n / 8);
export const convPackedBytes = (cout: number, kh: number, kw: number, cin: number, wIs16: number) =>
  blocks8(cout) * evenUp(kh * kw * cin) * 8 * (wIs16 ? 2 : 1);
export const depthwisePackedBytes = (kh: number, kw: number, c: number) => blocks8(c) * (evenUp(kh * kw) / 2) * 32 + blocks8(c) * 32;
export const requantPackedBytes = (n: number) => RQ_HEADER_BYTES + blocks8(n) * RQ_BLOCK_BYTES;

export interface MTensor {
  name: string;
  shape: number[];
  dtype: 'int8' | 'int16' | 'int32' | 'float32';
  /** byte offset in the activation arena (16-byte aligned) */
  offset: number;
  bytes: number;
  scale?: number;
  zeroPoint?: number;
}

export type WeightSlot = [offset: number, length: number];

export interface MOp {
  kind: OpKind;
  /** tensor indices read, then written */
  in: number[];
  out: number[];
  /** weight blocks: offsets into the weights blob */
  w: Record<string, WeightSlot>;
  p: Record<string, number>;
  /** the TFLite op it came from, for error messages and traces */
  src?: string;
}

type P = Record<string, number>;
export interface OpSpec {
  /** dtype and element count of each input / output tensor */
  ins: [MTensor['dtype'], (p: P) => number][];
  outs: [MTensor['dtype'], (p: P) => number][];
  /** minimum byte length of each weight slot */
  weights: Record<string, (p: P) => number>;
  scratch?: (p: P) => number;
  params: string[];
  /** extra integrity checks on params */
  check?: (p: P) => string | null;
}

const conv = CONV_PARAMS;
const q8 = ['inZp', 'outZp', 'actMin', 'actMax'];
const q8Check = (p: P): string | null => {
  if (!(p.actMin! >= -128 && p.actMax! <= 127 && p.actMin! <= p.actMax!)) return 'activation range';
  if (!(Math.abs(p.inZp!) <= 255 && Math.abs(p.outZp!) <= 255)) return 'zero point';
  return null;
};
// conv_i8 rows variant (optional param rows = 1): fast int8 spatial kernels with dilationW 1, bounded scratch
const rowsCheck = (p: P): string | null => (p.rows === undefined || p.rows === 0 || (p.rows === 1 && p.fast === 1 && !p.wIs16 && p.dW === 1 && p.kH! * p.kW! > 1 && convRowsScratchBytes(p.kH!, p.kW!, p.inC!, p.outW!, p.sW!) <= CONV_ROWS_MAX_SCRATCH) ? null : 'rows variant');
const both = allOf;
const pool = POOL_PARAMS;
const poolCheck = poolGeometryCheck;

// ---- MoveNet's pre/post-processing ops (assembly/movenet.ts) ----
// Broadcasting binary ops take 4-D shapes a*, b*, o* (leading 1s added); every
// input dimension is 1 or the output's. One operand may be a constant stored as
// weight block `c` instead of a tensor (constFirst: the constant is operand a).
const bc4 = ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3', 'o0', 'o1', 'o2', 'o3'];
const vol4 = (p: P, k: string) => p[`${k}0`]! * p[`${k}1`]! * p[`${k}2`]! * p[`${k}3`]!;
const bcCheck = (p: P): string | null => {
  for (let i = 0; i < 4; i++) {
    const o = p[`o${i}`]!, a = p[`a${i}`]!, b = p[`b${i}`]!;
    if (!(o >= 1 && o <= 1 << 24)) return `o${i}=${o}`;
    if (!((a === 1 || a === o) && (b === 1 || b === o))) return 'broadcast shapes';
  }
  if (p.constFirst !== undefined && p.constFirst !== 0 && p.constFirst !== 1) return 'constFirst';
  return vol4(p, 'o') <= 2 ** 28 ? null : 'size';
};
/** int8 fast kernels (fast=1): lut=1 (2) builds a 256-entry result table per element of operand b (a) in scratch */
const LUT_MAX_ELEMENTS = 64;
const lutSide = (p: P) => (p.fast && p.lut === 1 ? vol4(p, 'b') : p.fast && p.lut === 2 ? vol4(p, 'a') : 0);
const lutCheck = (p: P) => ((p.fast === 0 || p.fast === 1) && (p.lut === 0 || p.lut === 1 || p.lut === 2) && lutSide(p) <= LUT_MAX_ELEMENTS ? null : 'fast/lut');
const bcSpec = (dt: MTensor['dtype'], extra: string[], withConst: boolean, check?: (p: P) => string | null, lut = false): OpSpec => ({
  ins: withConst ? [[dt, (p) => vol4(p, p.constFirst ? 'b' : 'a')]] : [[dt, (p) => vol4(p, 'a')], [dt, (p) => vol4(p, 'b')]],
  outs: [[dt, (p) => vol4(p, 'o')]],
  weights: withConst ? { c: (p) => dtypeBytes(dt) * vol4(p, p.constFirst ? 'a' : 'b') } : {},
  ...(lut ? { scratch: (p: P) => 256 * lutSide(p) } : {}),
  params: [...bc4, ...extra, ...(lut ? ['fast', 'lut'] : []), ...(withConst ? ['constFirst'] : [])],
  check: both(bcCheck, ...(check ? [check] : []), ...(lut ? [lutCheck] : [])),
});
const addsubQ = ['sub', 'aOffset', 'aMult', 'aShift', 'bOffset', 'bMult', 'bShift', 'leftShift', 'outMult', 'outShift', 'outOffset', 'actMin', 'actMax'];
const addsubCheck = (p: P) => (p.leftShift! >= 0 && p.leftShift! <= 24 && p.actMin! >= -128 && p.actMax! <= 127 && (p.sub === 0 || p.sub === 1) ? null : 'params');
const mulQ = ['aOffset', 'bOffset', 'outMult', 'outShift', 'outOffset', 'actMin', 'actMax'];
const mulCheck = (p: P) => (p.actMin! >= -128 && p.actMax! <= 127 && Math.abs(p.aOffset!) <= 255 && Math.abs(p.bOffset!) <= 255 ? null : 'params');
const arithCheck = (p: P) => (p.op! >= 0 && p.op! <= 3 ? null : 'op');
/** strided row copy: out[r*outStride + outOff + i] = src[r*inStride + inOff + i] */
const rowParams = ['outer', 'len', 'inStride', 'inOff', 'outStride', 'outOff', 'inN', 'outN'];
const rowCheck = (p: P): string | null => {
  for (const k of rowParams) if (!(p[k]! >= 0 && p[k]! < 2 ** 28)) return `${k}=${p[k]}`;
  if (!(p.outer! >= 1 && p.len! >= 1)) return 'empty';
  if (!((p.outer! - 1) * p.inStride! + p.inOff! + p.len! <= p.inN! && (p.outer! - 1) * p.outStride! + p.outOff! + p.len! <= p.outN!)) return 'rows out of bounds';
  return null;
};
const rowSpec = (dt: MTensor['dtype'], fromWeights: boolean): OpSpec => ({
  // rowfill (fromWeights) writes constant rows into a tensor other ops already wrote part of: it lists that tensor as input too
  ins: [[dt, (p) => (fromWeights ? p.outN! : p.inN!)]],
  outs: [[dt, (p) => p.outN!]],
  weights: fromWeights ? { d: (p) => dtypeBytes(dt) * p.inN! } : {},
  params: rowParams,
  check: rowCheck,
});
const gatherParams = ['pN', 'nSlices', 'depth', 'sliceSize', 'd0', 'd1', 'd2', 'd3'];
const gatherCheck = (p: P): string | null => {
  if (!(p.depth! >= 1 && p.depth! <= 4 && p.nSlices! >= 1 && p.sliceSize! >= 1)) return 'gather geometry';
  let n = p.sliceSize!;
  for (let j = 0; j < 4; j++) {
    const d = p[`d${j}`]!;
    if (!(d >= 1 && d <= 1 << 24)) return `d${j}`;
    if (j < p.depth!) n *= d;
  }
  return n === p.pN && n < 2 ** 28 && p.nSlices! * p.sliceSize! < 2 ** 28 ? null : 'params shape';
};

export const OPS = {
  conv_i8: {
    ins: [['int8', (p) => p.inH! * p.inW! * p.inC!]],
    outs: [['int8', (p) => p.outH! * p.outW! * p.outC!]],
    weights: {
      // wEnc / qEnc: compact encodings (4- or 8-bit logical weights, raw requant params) that
      // the engine packs at load (src/model/wbits.ts); absent = the kernel layouts below
      w: (p) => (p.wEnc ? encodedWeightBytes(p.wEnc, p.outC! * p.kH! * p.kW! * p.inC!) : p.fast ? (p.rows ? convRowsPackedBytes(p.outC!, p.kH!, p.kW!, p.inC!) : convPackedBytes(p.outC!, p.kH!, p.kW!, p.inC!, p.wIs16!)) : p.outC! * p.kH! * p.kW! * p.inC! * (p.wIs16 ? 2 : 1)),
      q: (p) => (p.fast && !p.qEnc ? requantPackedBytes(p.outC!) : 12 * p.outC!),
    },
    scratch: (p) => (!p.fast ? 0 : p.rows ? convRowsScratchBytes(p.kH!, p.kW!, p.inC!, p.outW!, p.sW!) : convScratchBytes(p.kH!, p.kW!, p.inC!, p.outW!)),
    params: [...conv, ...q8, 'wIs16', 'fast'],
    check: both(geometryCheck, q8Check, weightEncCheck, rowsCheck),
  },
  dw_i8: {
    ins: [['int8', (p) => p.inH! * p.inW! * p.inC!]],
    outs: [['int8', (p) => p.outH! * p.outW! * p.outC!]],
    weights: {
      w: (p) => (p.wEnc ? encodedWeightBytes(p.wEnc, p.outC! * p.kH! * p.kW!) : p.fast ? depthwisePackedBytes(p.kH!, p.kW!, p.outC!) : p.outC! * p.kH! * p.kW! * (p.wIs16 ? 2 : 1)),
      q: (p) => (p.fast && !p.qEnc ? requantPackedBytes(p.outC!) : 12 * p.outC!),
    },
    params: [...conv, ...q8, 'wIs16', 'fast', 'depthMult'],
    check: both(geometryCheck, q8Check, weightEncCheck, (p) => (p.outC === p.inC! * p.depthMult! && (!p.fast || (p.depthMult === 1 && p.kH! * p.kW! <= DW_MAX_TAPS)) ? null : 'depth multiplier or tap count')),
  },
  add_i8: {
    ins: [['int8', flatN], ['int8', flatN]],
    outs: [['int8', flatN]],
    weights: {},
    params: ['n', 'aOffset', 'aMult', 'aShift', 'bOffset', 'bMult', 'bShift', 'leftShift', 'outMult', 'outShift', 'outOffset', 'actMin', 'actMax'],
    // optional fA, fB, fC: the f32 form (add_i8_f) as f32 bit patterns, all three or none
    check: (p) => (p.leftShift! >= 0 && p.leftShift! <= 24 && p.actMin! >= -128 && p.actMax! <= 127 &&
      [p.fA, p.fB, p.fC].filter((v) => v === undefined).length % 3 === 0 ? null : 'params'),
  },
  maxpool_i8: {
    ins: [['int8', (p) => p.inH! * p.inW! * p.c!]],
    outs: [['int8', (p) => p.outH! * p.outW! * p.c!]],
    weights: {},
    params: [...pool, 'actMin', 'actMax'],
    check: poolCheck,
  },
  avgpool_i8: {
    ins: [['int8', (p) => p.inH! * p.inW! * p.c!]],
    outs: [['int8', (p) => p.outH! * p.outW! * p.c!]],
    weights: {},
    scratch: (p) => 4 * p.c! + 16,
    params: [...pool, 'actMin', 'actMax', 'offset'],
    check: poolCheck,
  },
  mean_i8: {
    ins: [['int8', (p) => p.h! * p.w! * p.c!]],
    outs: [['int8', (p) => p.c!]],
    weights: {},
    scratch: (p) => 4 * p.c! + 16,
    params: ['h', 'w', 'c', 'inZp', 'mult', 'shift', 'outZp'],
    check: (p) => (p.h! >= 1 && p.w! >= 1 && p.c! >= 1 ? null : 'shape'),
  },
  softmax_i8: {
    ins: [['int8', (p) => p.outer! * p.depth!]],
    outs: [['int8', (p) => p.outer! * p.depth!]],
    weights: {},
    scratch: () => 16,
    params: ['outer', 'depth', 'mult', 'leftShift', 'diffMin'],
    check: (p) => (p.leftShift! >= 0 && p.leftShift! <= 31 ? null : 'leftShift'),
  },
  requantize_i8: {
    ins: [['int8', flatN]], outs: [['int8', flatN]], weights: {},
    params: ['n', 'inZp', 'mult', 'shift', 'outZp'],
  },
  quantize_f32_i8: {
    ins: [['float32', flatN]], outs: [['int8', flatN]], weights: {},
    params: ['n', 'scale', 'zp', 'qmin', 'qmax'],
  },
  dequantize_i8_f32: {
    ins: [['int8', flatN]], outs: [['float32', flatN]], weights: {},
    params: ['n', 'scale', 'zp'],
  },
  copy: {
    ins: [['int8', (p) => p.bytes!]], outs: [['int8', (p) => p.bytes!]], weights: {},
    params: ['bytes'],
  },
  pad: {
    ins: [['int8', (p) => p.b! * p.h! * p.w! * p.c! * p.es!]],
    outs: [['int8', (p) => (p.b! + p.pb0! + p.pb1!) * (p.h! + p.ph0! + p.ph1!) * (p.w! + p.pw0! + p.pw1!) * (p.c! + p.pc0! + p.pc1!) * p.es!]],
    weights: {},
    params: ['es', 'b', 'h', 'w', 'c', 'pb0', 'pb1', 'ph0', 'ph1', 'pw0', 'pw1', 'pc0', 'pc1', 'value'],
    check: (p) => ((p.es === 1 || p.es === 4) && ['pb0', 'pb1', 'ph0', 'ph1', 'pw0', 'pw1', 'pc0', 'pc1'].every((k) => p[k]! >= 0 && p[k]! <= 1 << 16) ? null : 'pads'),
  },
  conv_f32: {
    ins: [['float32', (p) => p.inH! * p.inW! * p.inC!]],
    outs: [['float32', (p) => p.outH! * p.outW! * p.outC!]],
    weights: {
      w: (p) => 4 * p.kH! * p.kW! * p.inC! * (p.fast ? (p.outC! + 3) & ~3 : p.outC!),
      b: (p) => 4 * (p.fast ? (p.outC! + 3) & ~3 : p.outC!),
    },
    scratch: (p) => (p.fast ? 4 * ((p.outC! + 3) & ~3) + 16 : 0),
    params: [...conv, 'actMin', 'actMax', 'fast'],
    check: geometryCheck,
  },
  dw_f32: {
    ins: [['float32', (p) => p.inH! * p.inW! * p.inC!]],
    outs: [['float32', (p) => p.outH! * p.outW! * p.outC!]],
    weights: {
      w: (p) => 4 * p.kH! * p.kW! * (p.fast ? (p.outC! + 3) & ~3 : p.outC!),
      b: (p) => 4 * (p.fast ? (p.outC! + 3) & ~3 : p.outC!),
    },
    scratch: () => 16,
    params: [...conv, 'actMin', 'actMax', 'fast', 'depthMult'],
    check: both(geometryCheck, (p) => (p.outC === p.inC! * p.depthMult! && (!p.fast || p.depthMult === 1) ? null : 'depth multiplier')),
  },
  avgpool_f32: {
    ins: [['float32', (p) => p.inH! * p.inW! * p.c!]],
    outs: [['float32', (p) => p.outH! * p.outW! * p.c!]],
    weights: {}, params: [...pool, 'actMin', 'actMax'], check: poolCheck,
  },
  maxpool_f32: {
    ins: [['float32', (p) => p.inH! * p.inW! * p.c!]],
    outs: [['float32', (p) => p.outH! * p.outW! * p.c!]],
    weights: {}, params: [...pool, 'actMin', 'actMax'], check: poolCheck,
  },
  mean_f32: {
    ins: [['float32', (p) => p.h! * p.w! * p.c!]], outs: [['float32', (p) => p.c!]], weights: {},
    params: ['h', 'w', 'c'],
    check: (p) => (p.h! >= 1 && p.w! >= 1 ? null : 'shape'),
  },
  softmax_f32: {
    ins: [['float32', (p) => p.outer! * p.depth!]], outs: [['float32', (p) => p.outer! * p.depth!]], weights: {},
    params: ['outer', 'depth', 'beta'],
  },
  add_f32: {
    ins: [['float32', flatN], ['float32', flatN]], outs: [['float32', flatN]], weights: {},
    params: ['n', 'actMin', 'actMax'],
  },
  // MoveNet ops (assembly/movenet.ts)
  bc_addsub_i8: bcSpec('int8', addsubQ, false, addsubCheck, true),
  bc_addsub_c_i8: bcSpec('int8', addsubQ, true, addsubCheck, true),
  bc_mul_i8: bcSpec('int8', mulQ, false, mulCheck, true),
  bc_mul_c_i8: bcSpec('int8', mulQ, true, mulCheck, true),
  bc_arith_i32: bcSpec('int32', ['op', 'actMin', 'actMax'], false, arithCheck),
  bc_arith_c_i32: bcSpec('int32', ['op', 'actMin', 'actMax'], true, arithCheck),
  bc_arith_f32: bcSpec('float32', ['op', 'actMin', 'actMax'], false, arithCheck),
  bc_arith_c_f32: bcSpec('float32', ['op', 'actMin', 'actMax'], true, arithCheck),
  cast_i8_f32: { ins: [['int8', flatN]], outs: [['float32', flatN]], weights: {}, params: ['n', 'offset'] },
  cast_i32_f32: { ins: [['int32', flatN]], outs: [['float32', flatN]], weights: {}, params: ['n'] },
  sqrt_f32: { ins: [['float32', flatN]], outs: [['float32', flatN]], weights: {}, params: ['n'] },
  logistic_i8: {
    ins: [['int8', flatN]], outs: [['int8', flatN]], weights: {},
    scratch: (p) => (p.fast ? 256 : 0),
    params: ['n', 'inZp', 'radius', 'mult', 'leftShift', 'fast'],
  },
  resize_bilinear_i8: {
    ins: [['int8', (p) => p.inH! * p.inW! * p.c!]], outs: [['int8', (p) => p.outH! * p.outW! * p.c!]], weights: {},
    params: ['inH', 'inW', 'c', 'outH', 'outW', 'alignCorners', 'halfPixel', 'fast'],
    check: (p) => (['inH', 'inW', 'c', 'outH', 'outW'].every((k) => p[k]! >= 1 && p[k]! <= 1 << 16) ? null : 'shape'),
  },
  argmax_i8: {
    ins: [['int8', (p) => p.outer! * p.axisLen! * p.inner!]], outs: [['int32', (p) => p.outer! * p.inner!]], weights: {},
    params: ['outer', 'axisLen', 'inner'],
    check: (p) => (p.outer! >= 1 && p.axisLen! >= 1 && p.inner! >= 1 ? null : 'shape'),
  },
  gather_nd_i8: {
    ins: [['int8', (p) => p.pN!], ['int32', (p) => p.nSlices! * p.depth!]], outs: [['int8', (p) => p.nSlices! * p.sliceSize!]], weights: {},
    params: gatherParams, check: gatherCheck,
  },
  gather_nd_c_i8: {
    ins: [['int8', (p) => p.pN!]], outs: [['int8', (p) => p.nSlices! * p.sliceSize!]],
    weights: { idx: (p) => 4 * p.nSlices! * p.depth! },
    params: gatherParams, check: gatherCheck,
  },
  rowcopy_i8: rowSpec('int8', false),
  rowcopy_i32: rowSpec('int32', false),
  rowcopy_f32: rowSpec('float32', false),
  rowfill_i8: rowSpec('int8', true),
  rowfill_i32: rowSpec('int32', true),
  rowfill_f32: rowSpec('float32', true),
  // TFLite 16x8: int16 activations, int8 weights (assembly/int16.ts, src/model/ops-int16.ts)
  ...OPS_I16,
} satisfies Record<string, OpSpec>;

export type OpKind = keyof typeof OPS;

/** int8/int16/etc. bytes per element */
export function dtypeBytes(d: MTensor['dtype']): number {
  return d === 'int8' ? 1 : d === 'int16' ? 2 : 4;
}

export function validateOps(ops: MOp[], tensors: MTensor[], weightsLen: number, scratchBytes: number): void {
  ops.forEach((op, i) => {
    const where = `op ${i} (${String(op?.kind)})`;
    if (typeof op !== 'object' || op === null) throw new Error(`${where}: not an object`);
    const spec = (OPS as Record<string, OpSpec>)[op.kind];
    if (!spec) throw new Error(`${where}: unknown op kind`);
    if (typeof op.p !== 'object' || op.p === null) throw new Error(`${where}: params`);
    for (const name of spec.params) {
      const v = op.p[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: param ${name} missing or not a number`);
    }
    // numeric params other than float scales must be 32-bit integers
    for (const [k, v] of Object.entries(op.p)) {
      if (k !== 'scale' && k !== 'beta' && k !== 'actMin' && k !== 'actMax' && !(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) {
        throw new Error(`${where}: param ${k}=${v} is not a 32-bit integer`);
      }
    }
    const bad = spec.check?.(op.p);
    if (bad) throw new Error(`${where}: invalid ${bad}`);
    const checkTensors = (ids: unknown, want: OpSpec['ins'], what: string) => {
      if (!Array.isArray(ids) || ids.length !== want.length) throw new Error(`${where}: expects ${want.length} ${what}`);
      ids.forEach((id, j) => {
        const t = Number.isInteger(id) ? tensors[id as number] : undefined;
        if (!t) throw new Error(`${where}: ${what} ${j} tensor index ${String(id)} out of range`);
        const [dtype, count] = want[j]!;
        const n = count(op.p);
        const bytes = op.kind === 'copy' || op.kind === 'pad' ? n : n * dtypeBytes(dtype);
        if (op.kind !== 'copy' && op.kind !== 'pad' && t.dtype !== dtype) throw new Error(`${where}: ${what} ${j} must be ${dtype}, is ${t.dtype}`);
        if (!(Number.isSafeInteger(bytes) && bytes === t.bytes)) throw new Error(`${where}: ${what} ${j} has ${t.bytes} bytes, the op's shape needs ${bytes}`);
      });
    };
    checkTensors(op.in, spec.ins, 'inputs');
    checkTensors(op.out, spec.outs, 'outputs');
    if (typeof op.w !== 'object' || op.w === null) throw new Error(`${where}: weights`);
    for (const [name, size] of Object.entries(spec.weights)) {
      const slot = op.w[name];
      if (!Array.isArray(slot) || slot.length !== 2) throw new Error(`${where}: weight block ${name} missing`);
      const [off, len] = slot;
      const need = size(op.p);
      if (!(Number.isInteger(off) && Number.isInteger(len) && off >= 0 && off % 16 === 0 && len >= need && off + len <= weightsLen)) {
        throw new Error(`${where}: weight block ${name} [${off}, +${len}] invalid (needs ${need} bytes inside ${weightsLen})`);
      }
    }
    const sc = spec.scratch?.(op.p) ?? 0;
    if (sc > scratchBytes) throw new Error(`${where}: needs ${sc} scratch bytes, artifact reserves ${scratchBytes}`);
  });
}
