// Op table entries for TFLite's 16x8 scheme (int16 activations, symmetric, zero point 0; int8
// weights; int64 bias) and the compact weight encodings of conv_i8 / dw_i8 (wEnc / qEnc).
// Spread into OPS by ops.ts; the kernels are in assembly/int16.ts, the lowering in
// compiler/lower-int16.ts, the load-time expansion of the encodings in wbits.ts.
// Only type imports from ops.ts (it imports this module).

import type { OpSpec } from './ops.ts';
import { convScratchBytes } from './pack.ts';
import { CONV_PARAMS, POOL_PARAMS, allOf, flatN, geometryCheck, poolGeometryCheck } from './geometry.ts';

type P = Record<string, number>;

const up8 = (n: number) => (n + 7) & ~7;
const evenUp = (n: number) => (n + 1) & ~1;

/** Requant block of the int16 conv kernels, per channel (C padded to 8), as consecutive arrays:
 *  i64 bias | i64 reduced multiplier | i64 rounding (1 << (totalShift-1)) | i32 totalShift | i32 multiplier | i32 shift */
export const Q16_BYTES_PER_CHANNEL = 36;
export const q16Bytes = (c: number) => Q16_BYTES_PER_CHANNEL * up8(c);
/** Fast dw_i16 limits: taps per output (i32 accumulation stays exact below 2^31 / 2^22) and channels (zero row). */
export const DW16_MAX_TAPS = 256;
export const DW16_MAX_CHANNELS = 8000;
/** Softmax LUTs: exp and 1/(1+x), 513 int16 each (TFLite kInt16LUTArraySize). */
export const SOFTMAX16_LUT_BYTES = 2 * 513 * 2;

const conv = CONV_PARAMS;
const i16Range = (p: P): string | null => (p.actMin! >= -32768 && p.actMax! <= 32767 && p.actMin! <= p.actMax! ? null : 'activation range');
const both = allOf;
const pool = POOL_PARAMS;
// the window sum of int16 values must fit in i32
const poolCheck = allOf(poolGeometryCheck, (p: P) => (p.fH! * p.fW! < 65536 ? null : 'pool window'));
const requantCheck = (p: P) => (p.shift! >= -31 && p.shift! <= 30 && p.mult! >= 0 ? null : 'multiplier');

/** Bytes of a compactly encoded weight slot holding `count` logical weights. */
export function encodedWeightBytes(wEnc: number, count: number): number {
  return wEnc === 4 ? Math.ceil(count / 2) : count;
}
/** wEnc: absent/0 (kernel layout), 8 (logical int8) or 4 (logical nibbles); qEnc: absent/0 or 1 (raw). */
export const weightEncCheck = (p: P): string | null => {
  if (p.wEnc !== undefined && p.wEnc !== 0 && p.wEnc !== 4 && p.wEnc !== 8) return `wEnc=${p.wEnc}`;
  if (p.wEnc && p.wIs16) return 'wEnc with 16-bit weights';
  if (p.qEnc !== undefined && p.qEnc !== 0 && p.qEnc !== 1) return `qEnc=${p.qEnc}`;
  return null;
};

export const OPS_I16 = {
  conv_i16: {
    ins: [['int16', (p) => p.inH! * p.inW! * p.inC!]],
    outs: [['int16', (p) => p.outH! * p.outW! * p.outC!]],
    weights: {
      // fast: packConvWeights int8 layout (blocks of 8 channels x k-pairs); reference: OHWI int8
      w: (p) => (p.fast ? Math.ceil(p.outC! / 8) * evenUp(p.kH! * p.kW! * p.inC!) * 8 : p.outC! * p.kH! * p.kW! * p.inC!),
      q: (p) => q16Bytes(p.outC!),
    },
    scratch: (p) => (p.fast ? convScratchBytes(p.kH!, p.kW!, p.inC!, p.outW!) : 0),
    params: [...conv, 'actMin', 'actMax', 'fast'],
    check: both(geometryCheck, i16Range),
  },
  dw_i16: {
    ins: [['int16', (p) => p.inH! * p.inW! * p.inC!]],
    outs: [['int16', (p) => p.outH! * p.outW! * p.outC!]],
    weights: {
      // fast: [kH*kW][C padded to 8] int8; reference: [1][kH][kW][C] int8
      w: (p) => (p.fast ? p.kH! * p.kW! * up8(p.outC!) : p.outC! * p.kH! * p.kW!),
      q: (p) => q16Bytes(p.outC!),
    },
    params: [...conv, 'actMin', 'actMax', 'fast', 'depthMult'],
    check: both(geometryCheck, i16Range, (p) => (p.outC === p.inC! * p.depthMult! ? null : 'depth multiplier'),
      (p) => (!p.fast || (p.depthMult === 1 && p.kH! * p.kW! <= DW16_MAX_TAPS && p.outC! <= DW16_MAX_CHANNELS) ? null : 'fast path limits')),
  },
  add_i16: {
    ins: [['int16', flatN], ['int16', flatN]],
    outs: [['int16', flatN]],
    weights: {},
    params: ['n', 'aOffset', 'aMult', 'aShift', 'bOffset', 'bMult', 'bShift', 'leftShift', 'outMult', 'outShift', 'outOffset', 'actMin', 'actMax'],
    check: (p) => (p.leftShift! >= 0 && p.leftShift! <= 15 && Math.abs(p.aOffset!) <= 32768 && Math.abs(p.bOffset!) <= 32768 && i16Range(p) === null ? null : 'params'),
  },
  maxpool_i16: {
    ins: [['int16', (p) => p.inH! * p.inW! * p.c!]],
    outs: [['int16', (p) => p.outH! * p.outW! * p.c!]],
    weights: {},
    params: [...pool, 'actMin', 'actMax'],
    check: both(poolCheck, i16Range),
  },
  avgpool_i16: {
    ins: [['int16', (p) => p.inH! * p.inW! * p.c!]],
    outs: [['int16', (p) => p.outH! * p.outW! * p.c!]],
    weights: {},
    scratch: (p) => 4 * up8(p.c!) + 16,
    params: [...pool, 'actMin', 'actMax'],
    check: both(poolCheck, i16Range),
  },
  mean_i16: {
    ins: [['int16', (p) => p.h! * p.w! * p.c!]],
    outs: [['int16', (p) => p.c!]],
    weights: {},
    scratch: (p) => 4 * up8(p.c!) + 16,
    params: ['h', 'w', 'c', 'mult', 'shift'],
    check: (p) => (p.h! >= 1 && p.w! >= 1 && p.c! >= 1 && p.h! * p.w! < 65536 ? null : 'shape') ?? requantCheck(p),
  },
  softmax_i16: {
    ins: [['int16', (p) => p.outer! * p.depth!]],
    outs: [['int16', (p) => p.outer! * p.depth!]],
    weights: { lut: () => SOFTMAX16_LUT_BYTES },
    params: ['outer', 'depth', 'mult', 'shift'],
    // the sum of exps (<= 32767 per element) must fit in i32
    check: (p) => (p.outer! >= 1 && p.depth! >= 1 && p.depth! <= 65535 ? null : 'shape') ?? requantCheck(p),
  },
  pad_i16: {
    ins: [['int16', (p) => p.h! * p.w! * p.c!]],
    outs: [['int16', (p) => (p.h! + p.ph0! + p.ph1!) * (p.w! + p.pw0! + p.pw1!) * (p.c! + p.pc0! + p.pc1!)]],
    weights: {},
    params: ['h', 'w', 'c', 'ph0', 'ph1', 'pw0', 'pw1', 'pc0', 'pc1'],
    check: (p) => (['ph0', 'ph1', 'pw0', 'pw1', 'pc0', 'pc1'].every((k) => p[k]! >= 0 && p[k]! <= 1 << 16) && p.h! >= 1 && p.w! >= 1 && p.c! >= 1 ? null : 'pads'),
  },
  requantize_i8_i16: {
    ins: [['int8', flatN]], outs: [['int16', flatN]], weights: {},
    params: ['n', 'inZp', 'mult', 'shift', 'outZp'],
    check: (p) => requantCheck(p) ?? (Math.abs(p.inZp!) <= 128 && Math.abs(p.outZp!) <= 32768 ? null : 'zero point'),
  },
  requantize_i16_i8: {
    ins: [['int16', flatN]], outs: [['int8', flatN]], weights: {},
    params: ['n', 'inZp', 'mult', 'shift', 'outZp'],
    check: (p) => requantCheck(p) ?? (Math.abs(p.inZp!) <= 32768 && Math.abs(p.outZp!) <= 128 ? null : 'zero point'),
  },
  quantize_f32_i16: {
    ins: [['float32', flatN]], outs: [['int16', flatN]], weights: {},
    params: ['n', 'scale', 'zp'],
    check: (p) => (p.scale! > 0 && Math.abs(p.zp!) <= 32768 ? null : 'quantization'),
  },
  dequantize_i16_f32: {
    ins: [['int16', flatN]], outs: [['float32', flatN]], weights: {},
    params: ['n', 'scale', 'zp'],
    check: (p) => (Number.isFinite(p.scale) && Math.abs(p.zp!) <= 32768 ? null : 'quantization'),
  },
} satisfies Record<string, OpSpec>;

export type Int16OpKind = keyof typeof OPS_I16;
