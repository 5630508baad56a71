// Independent JS statement of the conv / depthwise formulas (TFLite reference integer kernels,
// double-rounding requant) and helpers to run the wasm kernels on the same data.
import { expect } from 'vitest';
import type { Wasm } from './wasm-harness';
import {
  packConvWeights, packConvRowsWeights, packDepthwiseWeights, packRequant, weightAbsSums, convScratchBytes, convRowsScratchBytes, convRowsEligible,
} from '../../src/model/pack';

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

/** gemmlowp SaturatingRoundingDoublingHighMul, written with BigInt. */
export function jsSrdhm(a: number, b: number): number {
  if (a === I32_MIN && b === I32_MIN) return I32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C++
}
/** gemmlowp RoundingDivideByPOT (exponent taken mod 32, like wasm shifts). */
export function jsRdbp(x: number, e: number): number {
  e &= 31;
  const mask = (1 << e) - 1;
  const rem = x & mask;
  const thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > thr ? 1 : 0);
}
export function jsMbqm(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift | 0;
  return jsRdbp(jsSrdhm(Math.imul(x, (1 << left) | 0), m), right);
}

export interface ConvCase {
  inH: number; inW: number; inC: number; inZp: number;
  w: Int8Array | Int16Array;   // conv: OHWI [outC][kH][kW][inC]; depthwise: [kH][kW][outC]
  bias: Int32Array; mult: Int32Array; shift: Int32Array;
  outH: number; outW: number; outC: number; outZp: number; actMin: number; actMax: number;
  kH: number; kW: number; sH: number; sW: number; dH: number; dW: number; padTop: number; padLeft: number;
  depthMult?: number; // set by (and only by) depthwise cases
  input: Int8Array;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Requant parameter tweaks (applied to a case with >= 21 channels) and the mode packRequant must pick:
 *  every mode of the fast kernels, for the conv and depthwise tests alike. */
export const REQUANT_MODE_VARIANTS: [string, (c: ConvCase) => void, number][] = [
  ['fast', () => {}, 2],
  ['shift 0', (c) => { c.shift[3] = 0; }, 0],
  ['shift -25', (c) => { c.shift[9] = -25; c.mult[9] = 2147483647; }, 0],
  ['M < 2^30', (c) => { c.mult[17] = (1 << 29) + 12345; }, 0],
  ['left shift', (c) => { c.shift[0] = 1; }, 1],
  // |bias| >= 2^29: FAST mode without the doubled-accumulator (FAST2) variant
  ['big bias', (c) => { c.bias[4] = (1 << 29) + 7; c.bias[5] = -(1 << 30); }, 2],
];

export function jsConv(c: ConvCase): Int8Array {
  const out = new Int8Array(c.outH * c.outW * c.outC);
  const K = c.kH * c.kW * c.inC;
  for (let oy = 0; oy < c.outH; oy++) for (let ox = 0; ox < c.outW; ox++) for (let co = 0; co < c.outC; co++) {
    let acc = c.bias[co];
    for (let ky = 0; ky < c.kH; ky++) for (let kx = 0; kx < c.kW; kx++) {
      const iy = oy * c.sH - c.padTop + ky * c.dH;
      const ix = ox * c.sW - c.padLeft + kx * c.dW;
      if (iy < 0 || iy >= c.inH || ix < 0 || ix >= c.inW) continue;
      for (let ci = 0; ci < c.inC; ci++) {
        acc = (acc + (c.input[(iy * c.inW + ix) * c.inC + ci] - c.inZp) * c.w[co * K + (ky * c.kW + kx) * c.inC + ci]) | 0;
      }
    }
    out[(oy * c.outW + ox) * c.outC + co] = clamp(jsMbqm(acc, c.mult[co], c.shift[co]) + c.outZp, c.actMin, c.actMax);
  }
  return out;
}

export function jsDepthwise(c: ConvCase): Int8Array {
  const dm = c.depthMult ?? 1;
  const out = new Int8Array(c.outH * c.outW * c.outC);
  for (let oy = 0; oy < c.outH; oy++) for (let ox = 0; ox < c.outW; ox++) for (let ic = 0; ic < c.inC; ic++) for (let m = 0; m < dm; m++) {
    const oc = ic * dm + m;
    let acc = c.bias[oc];
    for (let ky = 0; ky < c.kH; ky++) for (let kx = 0; kx < c.kW; kx++) {
      const iy = oy * c.sH - c.padTop + ky * c.dH;
      const ix = ox * c.sW - c.padLeft + kx * c.dW;
      if (iy < 0 || iy >= c.inH || ix < 0 || ix >= c.inW) continue;
      acc = (acc + (c.input[(iy * c.inW + ix) * c.inC + ic] - c.inZp) * c.w[(ky * c.kW + kx) * c.outC + oc]) | 0;
    }
    out[(oy * c.outW + ox) * c.outC + oc] = clamp(jsMbqm(acc, c.mult[oc], c.shift[oc]) + c.outZp, c.actMin, c.actMax);
  }
  return out;
}

function geom(c: ConvCase): number[] {
  return [c.kH, c.kW, c.sH, c.sW, c.dH, c.dW, c.padTop, c.padLeft];
}

export function runConvRef(wasm: Wasm, c: ConvCase): Int8Array {
  wasm.reset();
  const inP = wasm.put(c.input), wP = wasm.put(c.w);
  const bP = wasm.put(c.bias), mP = wasm.put(c.mult), sP = wasm.put(c.shift);
  const n = c.outH * c.outW * c.outC;
  const oP = wasm.alloc(n);
  wasm.exports.conv_ref_i8(inP, c.inH, c.inW, c.inC, c.inZp, wP, c.w instanceof Int16Array ? 1 : 0, bP, mP, sP,
    oP, c.outH, c.outW, c.outC, c.outZp, c.actMin, c.actMax, ...geom(c));
  return wasm.i8(oP, n);
}

/** Runs conv_i8; also checks that nothing outside the output tensor was written. */
export function runConvFast(wasm: Wasm, c: ConvCase, reach = false): Int8Array {
  wasm.reset();
  const inP = wasm.put(c.input);
  const pw = wasm.put(packConvWeights(c.w, c.outC, c.kH, c.kW, c.inC));
  const q = wasm.put(requantFor(c, reach));
  const scratch = wasm.alloc(convScratchBytes(c.kH, c.kW, c.inC, c.outW));
  const n = c.outH * c.outW * c.outC;
  const guard = 64;
  const oP = wasm.alloc(n + 2 * guard) + guard;
  new Uint8Array(wasm.memory.buffer, oP - guard, n + 2 * guard).fill(0xa5);
  wasm.exports.conv_i8(inP, c.inH, c.inW, c.inC, c.inZp, pw, c.w instanceof Int16Array ? 1 : 0, q,
    oP, c.outH, c.outW, c.outC, c.outZp, c.actMin, c.actMax, ...geom(c), scratch);
  checkGuards(wasm, oP, n, guard);
  return wasm.i8(oP, n);
}

/** Whether the rows variant (conv_rows_i8) applies to the case, as the compiler decides. */
export function rowsEligible(c: ConvCase): boolean {
  return convRowsEligible({ kH: c.kH, kW: c.kW, inC: c.inC, outW: c.outW, sW: c.sW, dW: c.dW, wIs16: c.w instanceof Int16Array ? 1 : 0 });
}

/** Runs conv_rows_i8 (the rows variant); also checks that nothing outside the output tensor was written. */
export function runConvRowsFast(wasm: Wasm, c: ConvCase, reach = false): Int8Array {
  if (!(c.w instanceof Int8Array) || c.dW !== 1) throw new Error('rows variant: int8 weights and dilationW 1 only');
  wasm.reset();
  const inP = wasm.put(c.input);
  const pw = wasm.put(packConvRowsWeights(c.w, c.outC, c.kH, c.kW, c.inC));
  const q = wasm.put(requantFor(c, reach));
  const scratch = wasm.alloc(convRowsScratchBytes(c.kH, c.kW, c.inC, c.outW, c.sW));
  const n = c.outH * c.outW * c.outC;
  const guard = 64;
  const oP = wasm.alloc(n + 2 * guard) + guard;
  new Uint8Array(wasm.memory.buffer, oP - guard, n + 2 * guard).fill(0xa5);
  wasm.exports.conv_rows_i8(inP, c.inH, c.inW, c.inC, c.inZp, pw, q,
    oP, c.outH, c.outW, c.outC, c.outZp, c.actMin, c.actMax, c.kH, c.kW, c.sH, c.sW, c.dH, c.padTop, c.padLeft, scratch);
  checkGuards(wasm, oP, n, guard);
  return wasm.i8(oP, n);
}

/**
 * The fast kernels' requant block for a case: as packed without the weights (the conservative mode
 * choice), or with reach = true as the compiler packs it (reachable accumulator bounds from the weights).
 */
/** The compiler packing's options the tests may switch off (affine: FAST2R's affine half-blocks). */
const packing = { affine: true };

export function requantFor(c: ConvCase, reach: boolean): Uint8Array {
  // depthwise cases carry depthMult; their weights are [kH][kW][outC] (channel innermost)
  return packRequant(c.bias, c.mult, c.shift, reach ? weightAbsSums(c.w, c.outC, c.depthMult !== undefined) : undefined,
    reach ? { zp: c.outZp, actMin: c.actMin, actMax: c.actMax, affine: packing.affine } : undefined);
}

/**
 * Runs check(c) with the compiler's packing, which must pick FAST2R, then again with FAST2R's affine
 * half-blocks off (exact FAST2R everywhere); returns how many half-blocks of each kind the first had.
 */
export function checkFast2rBothWays(c: ConvCase, check: (c: ConvCase) => void, tag: string): { affine: number; exact: number } {
  const q = new Int32Array(requantFor(c, true).buffer);
  expect(q[3], `FAST2R flag, ${tag}: mode ${q[0]} FAST2 ${q[2]}`).toBe(2);
  let affine = 0, exact = 0;
  for (let b = 0; b < q[1]!; b++) for (let h = 0; h < 2; h++) if (q[4 + b * 96 + 56 + 4 * h] === 0) affine++; else exact++;
  check(c);
  packing.affine = false;
  try {
    expect(new Int32Array(requantFor(c, true).buffer)[3]).toBe(2);
    check(c);
  } finally {
    packing.affine = true;
  }
  return { affine, exact };
}

/** Whether the compiler's packing (reach = true) differs from the conservative one for this case. */
export function reachDiffers(c: ConvCase): boolean {
  const a = requantFor(c, true), b = requantFor(c, false);
  return a.length !== b.length || a.some((x, i) => x !== b[i]);
}

/**
 * Dead channels and huge requant exponents, as post-training quantization leaves them (vww_96_int8):
 * every weight of some channels zero with |bias| just above 2^30, right shifts up to 31 (with and
 * without weights), and one M = 0 channel with shift 0.
 */
/** A ReLU / ReLU6-style activation clamp (actMin = outZp, as TFLite sets it), which allows FAST2R. */
export function withReluClamp(c: ConvCase, rnd: { int(lo: number, hi: number): number }): ConvCase {
  c.outZp = rnd.int(-128, 100);
  c.actMin = c.outZp;
  c.actMax = Math.min(127, c.outZp + rnd.int(0, 200));
  return c;
}

/**
 * Keeps withDeadChannels' all-zero-weight channels (whose huge bias packRequant folds away) but brings
 * the other channels within FAST2R's limits: shifts -21 or above, |bias| <= 2^19, and weights halved
 * until the reachable |acc| <= |bias| + 255 * sum |w| stays <= 1.5 * 2^20.
 */
export function shrinkForFast2r(c: ConvCase): ConvCase {
  const dw = c.depthMult !== undefined;
  const per = c.w.length / c.outC;
  const at = (co: number, k: number) => (dw ? k * c.outC + co : co * per + k);
  for (let co = 0; co < c.outC; co++) {
    let sum = 0;
    for (let k = 0; k < per; k++) sum += Math.abs(c.w[at(co, k)]!);
    if (sum === 0) continue;
    if (c.shift[co]! < -21) c.shift[co] = -21;
    c.bias[co] %= 1 << 19;
    while (Math.abs(c.bias[co]!) + 255 * sum > 1.5 * 2 ** 20) {
      sum = 0;
      for (let k = 0; k < per; k++) { const i = at(co, k); c.w[i] = Math.trunc(c.w[i]! / 2); sum += Math.abs(c.w[i]!); }
    }
  }
  return c;
}

export function withDeadChannels(c: ConvCase, rnd: { int(lo: number, hi: number): number }): ConvCase {
  const dw = c.depthMult !== undefined;
  const per = c.w.length / c.outC;
  const dead = (co: number) => { for (let k = 0; k < per; k++) c.w[dw ? k * c.outC + co : co * per + k] = 0; };
  for (let co = 0; co < c.outC; co++) {
    const kind = co % 5;
    if (kind === 0) { dead(co); c.bias[co] = rnd.int(0, 1) ? 1073741952 : -1073741952; c.shift[co] = -rnd.int(22, 31); }
    else if (kind === 1) { c.shift[co] = -rnd.int(22, 31); c.bias[co] = rnd.int(-(1 << 28), 1 << 28); }
    else if (kind === 2 && co < 5) { c.mult[co] = 0; c.shift[co] = 0; }
  }
  return c;
}

export function runDwRef(wasm: Wasm, c: ConvCase): Int8Array {
  wasm.reset();
  const inP = wasm.put(c.input), wP = wasm.put(c.w);
  const bP = wasm.put(c.bias), mP = wasm.put(c.mult), sP = wasm.put(c.shift);
  const n = c.outH * c.outW * c.outC;
  const oP = wasm.alloc(n);
  wasm.exports.dw_ref_i8(inP, c.inH, c.inW, c.inC, c.inZp, wP, c.w instanceof Int16Array ? 1 : 0, c.depthMult ?? 1,
    bP, mP, sP, oP, c.outH, c.outW, c.outC, c.outZp, c.actMin, c.actMax, ...geom(c));
  return wasm.i8(oP, n);
}

export function runDwFast(wasm: Wasm, c: ConvCase, reach = false): Int8Array {
  wasm.reset();
  const inP = wasm.put(c.input);
  const pw = wasm.put(packDepthwiseWeights(c.w, c.kH, c.kW, c.outC));
  const q = wasm.put(requantFor(c, reach));
  const n = c.outH * c.outW * c.outC;
  const guard = 64;
  const oP = wasm.alloc(n + 2 * guard) + guard;
  new Uint8Array(wasm.memory.buffer, oP - guard, n + 2 * guard).fill(0xa5);
  wasm.exports.dw_i8(inP, c.inH, c.inW, c.inC, c.inZp, pw, q,
    oP, c.outH, c.outW, c.outC, c.outZp, c.actMin, c.actMax, ...geom(c));
  checkGuards(wasm, oP, n, guard);
  return wasm.i8(oP, n);
}

function checkGuards(wasm: Wasm, oP: number, n: number, guard: number) {
  const before = new Uint8Array(wasm.memory.buffer, oP - guard, guard);
  const after = new Uint8Array(wasm.memory.buffer, oP + n, guard);
  if (before.some((b) => b !== 0xa5) || after.some((b) => b !== 0xa5)) throw new Error('kernel wrote outside its output tensor');
}

type Rng = { next(): number; int(lo: number, hi: number): number };

/** Output size and padding for TFLite SAME / VALID, or random explicit (asymmetric) pads. */
export function outDim(rnd: Rng, inS: number, k: number, s: number, d: number, mode: 'same' | 'valid' | 'random'): [number, number] {
  const eff = (k - 1) * d + 1;
  if (mode === 'same') {
    const out = Math.ceil(inS / s);
    const total = Math.max((out - 1) * s + eff - inS, 0);
    return [out, Math.floor(total / 2)];
  }
  if (mode === 'valid') {
    if (inS < eff) return [0, 0];
    return [Math.floor((inS - eff) / s) + 1, 0];
  }
  const before = rnd.int(0, eff - 1), after = rnd.int(0, eff - 1);
  const tot = inS + before + after;
  if (tot < eff) return [0, 0];
  return [Math.floor((tot - eff) / s) + 1, before];
}

/** Random per-channel requant params that put typical accumulators near the int8 range. */
export function randomRequant(rnd: Rng, n: number, typicalAcc: number, opts: { saturate?: boolean; leftShift?: boolean } = {}) {
  const mult = new Int32Array(n), shift = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    mult[c] = rnd.int(1 << 30, 2147483647);
    // scale ~ 100 / typicalAcc  -> shift = log2(scale) + 1 roughly
    let s = Math.round(Math.log2(100 / Math.max(1, typicalAcc))) + rnd.int(-2, 2);
    if (opts.saturate) s += rnd.int(2, 6);
    if (opts.leftShift && rnd.next() < 0.5) s = rnd.int(1, 3);
    mult[c] = rnd.next() < 0.05 ? (rnd.next() < 0.5 ? 1 << 30 : 2147483647) : mult[c];
    shift[c] = Math.max(-31, Math.min(s, 8));
  }
  return { mult, shift };
}

export function randomInt8(rnd: Rng, n: number): Int8Array {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd.int(-128, 127);
  return a;
}
