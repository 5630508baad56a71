// CONV_2D / FULLY_CONNECTED kernels: vector requant arithmetic, conv_ref_i8 (the spec) against an
// independent JS statement of the formula, and conv_i8 (fast) against conv_ref_i8, byte for byte.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWasm, rng, type Wasm } from './wasm-harness';
import { packRequant, fastRequantSupported, packConvWeights, convScratchBytes } from '../../src/model/pack';
import {
  jsMbqm, jsConv, runConvRef, runConvFast, outDim, randomRequant, randomInt8, type ConvCase,
} from './conv-spec';

let wasm: Wasm;
beforeAll(async () => { wasm = await loadWasm(); });

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

type Rng = ReturnType<typeof rng>;

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

// ---------------------------------------------------------------------------------------------
// Requant arithmetic
// ---------------------------------------------------------------------------------------------
function randX(r: Rng): number {
  const u = r.next();
  if (u < 0.25) return (r.int(0, 0xffffffff) | 0);                                   // full range
  if (u < 0.35) return r.next() < 0.5 ? I32_MAX - r.int(0, 1000) : I32_MIN + r.int(0, 1000); // extremes
  if (u < 0.6) return r.int(-(1 << 20), 1 << 20);
  if (u < 0.8) return r.int(-5000, 5000);
  // multiples of powers of two, +- small offsets (hit exact halves)
  const e = r.int(0, 30);
  return (Math.imul(r.int(-64, 64), 1 << e) + r.int(-1, 1)) | 0;
}
function randM(r: Rng): number {
  const u = r.next();
  if (u < 0.1) return 1 << 30;
  if (u < 0.2) return I32_MAX;
  if (u < 0.22) return 0;
  if (u < 0.25) return r.int(1, 0x7fffffff);          // not normalized
  if (u < 0.28) return -r.int(1, 0x7fffffff);         // negative (never produced by TFLite, still exact)
  return r.int(1 << 30, I32_MAX);
}
function randShift(r: Rng, withLeft: boolean): number {
  const u = r.next();
  if (withLeft && u < 0.2) return r.int(1, 3);
  if (withLeft && u < 0.22) return r.int(4, 31);
  if (u < 0.3) return r.int(-31, -20);
  if (u < 0.35) return 0;
  return r.int(-19, -1);
}

/** Runs test_vec_requant on n channels x 4 values; returns results (Int32Array n*4). */
function vecRequant(x: Int32Array, mult: Int32Array, shift: Int32Array): Int32Array {
  wasm.reset();
  const n = mult.length;
  const q = wasm.put(packRequant(new Int32Array(n), mult, shift));
  const xp = wasm.put(x);
  const op = wasm.alloc(n * 16);
  wasm.exports.test_vec_requant(xp, q, n, op);
  return wasm.i32(op, n * 4);
}

function checkRequant(x: Int32Array, mult: Int32Array, shift: Int32Array, jsToo: boolean) {
  const got = vecRequant(x, mult, shift);
  const mbqm = wasm.exports.test_mbqm as (x: number, m: number, s: number) => number;
  for (let i = 0; i < x.length; i++) {
    const c = i >> 2;
    const want = mbqm(x[i], mult[c], shift[c]);
    if (got[i] !== want) {
      throw new Error(`vec requant x=${x[i]} M=${mult[c]} shift=${shift[c]}: got ${got[i]} want ${want}`);
    }
    if (jsToo && (i & 7) === 0) {
      const js = jsMbqm(x[i], mult[c], shift[c]);
      if (js !== want) throw new Error(`spec mbqm x=${x[i]} M=${mult[c]} shift=${shift[c]}: wasm ${want} js ${js}`);
    }
  }
}

describe('vector requant == MultiplyByQuantizedMultiplier', () => {
  it('random (x, M, shift) triples incl. extremes, right shifts only (4M values)', () => {
    const r = rng(1);
    for (let batch = 0; batch < 4; batch++) {
      const n = 1 << 18;
      const x = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      for (let c = 0; c < n; c++) { m[c] = randM(r); s[c] = randShift(r, false); }
      for (let i = 0; i < x.length; i++) x[i] = randX(r);
      checkRequant(x, m, s, batch === 0);
    }
  });

  it('random triples with left shifts (hasLeft path, wrapping x*2^L) (2M values)', () => {
    const r = rng(2);
    for (let batch = 0; batch < 2; batch++) {
      const n = 1 << 18;
      const x = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      for (let c = 0; c < n; c++) { m[c] = randM(r); s[c] = randShift(r, true); }
      for (let i = 0; i < x.length; i++) x[i] = randX(r);
      checkRequant(x, m, s, batch === 0);
    }
  });

  it('exact half-way cases of both roundings', () => {
    const r = rng(3);
    const xs: number[] = [], ms: number[] = [], ss: number[] = [];
    // M = 2^30: SRDHM(x) = floor((x+1)/2): odd x is a SRDHM tie; x = 2y makes y exact, then y = k*2^R +- 2^(R-1) is a RDBP tie
    for (let R = 0; R <= 31; R++) {
      for (let k = -40; k <= 40; k++) {
        for (const d of [-1, 0, 1]) {
          const y = k * 2 ** R + (R > 0 ? 2 ** (R - 1) : 0) + d;
          for (const xx of [2 * y, 2 * y + 1, 2 * y - 1]) {
            if (xx >= I32_MIN && xx <= I32_MAX) { xs.push(xx); ms.push(1 << 30); ss.push(-R); }
          }
          const y2 = -k * 2 ** R - (R > 0 ? 2 ** (R - 1) : 0) + d;
          if (2 * y2 >= I32_MIN && 2 * y2 <= I32_MAX) { xs.push(2 * y2); ms.push(1 << 30); ss.push(-R); }
        }
      }
    }
    // extremes for every shift
    for (let sh = -31; sh <= 3; sh++) {
      for (const xx of [I32_MIN, I32_MIN + 1, -1, 0, 1, I32_MAX, I32_MAX - 1, 1 << 30, -(1 << 30)]) {
        for (const mm of [1 << 30, I32_MAX, (1 << 30) + 1, 0, 1]) { xs.push(xx); ms.push(mm); ss.push(sh); }
      }
    }
    // channels = groups of 4 values with the same (M, shift): pad each group
    const nC = xs.length;
    const x = new Int32Array(nC * 4), m = new Int32Array(nC), s = new Int32Array(nC);
    for (let c = 0; c < nC; c++) {
      m[c] = ms[c]; s[c] = ss[c];
      x[4 * c] = xs[c]; x[4 * c + 1] = xs[c] + 1 | 0; x[4 * c + 2] = xs[c] - 1 | 0; x[4 * c + 3] = randX(r);
    }
    checkRequant(x, m, s, true);
  });

  it('fastRequantSupported rejects only M = INT32_MIN', () => {
    expect(fastRequantSupported(new Int32Array([1 << 30, I32_MAX, 0]), new Int32Array([-31, 3, 0]))).toBe(true);
    expect(fastRequantSupported(new Int32Array([1 << 30, I32_MIN]), new Int32Array([0, 0]))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Conv cases
// ---------------------------------------------------------------------------------------------
interface Shape {
  inH: number; inW: number; inC: number; outC: number; k: number; kW?: number; s: number; sW?: number; d: number;
  mode: 'same' | 'valid' | 'random'; w16?: boolean; inZp?: number; saturate?: boolean; leftShift?: boolean;
  act?: [number, number];
}

function makeCase(r: Rng, sh: Shape): ConvCase | null {
  const kH = sh.k, kW = sh.kW ?? sh.k, sH = sh.s, sW = sh.sW ?? sh.s;
  const [outH, padTop] = outDim(r, sh.inH, kH, sH, sh.d, sh.mode);
  const [outW, padLeft] = outDim(r, sh.inW, kW, sW, sh.d, sh.mode);
  if (outH <= 0 || outW <= 0) return null;
  const K = kH * kW * sh.inC;
  let w: Int8Array | Int16Array;
  if (sh.w16) {
    w = new Int16Array(sh.outC * K);
    for (let i = 0; i < w.length; i++) w[i] = r.int(-255, 255);
  } else {
    w = randomInt8(r, sh.outC * K);
  }
  const inZp = sh.inZp ?? r.int(-128, 127);
  const bias = new Int32Array(sh.outC);
  for (let i = 0; i < bias.length; i++) bias[i] = r.int(-20000, 20000);
  const typical = Math.sqrt(K) * 128 * (sh.w16 ? 150 : 75);
  const { mult, shift } = randomRequant(r, sh.outC, typical, { saturate: sh.saturate, leftShift: sh.leftShift });
  const act = sh.act ?? [-128, 127];
  return {
    inH: sh.inH, inW: sh.inW, inC: sh.inC, inZp, w, bias, mult, shift,
    outH, outW, outC: sh.outC, outZp: r.int(-128, 127), actMin: act[0], actMax: act[1],
    kH, kW, sH, sW, dH: sh.d, dW: sh.d, padTop, padLeft, input: randomInt8(r, sh.inH * sh.inW * sh.inC),
  };
}

const desc = (c: ConvCase) =>
  `in ${c.inH}x${c.inW}x${c.inC} zp ${c.inZp} k ${c.kH}x${c.kW} s ${c.sH}x${c.sW} d ${c.dH} pad ${c.padTop},${c.padLeft} ` +
  `out ${c.outH}x${c.outW}x${c.outC} w16 ${c.w instanceof Int16Array}`;

const stats = { inside: 0, total: 0 };
function fastEqualsRef(c: ConvCase) {
  const ref = runConvRef(wasm, c);
  for (const v of ref) { stats.total++; if (v > c.actMin && v < c.actMax) stats.inside++; }
  const fast = runConvFast(wasm, c);
  const i = firstDiff(fast, ref);
  if (i >= 0) throw new Error(`conv_i8 != conv_ref_i8 at ${i} (${fast[i]} vs ${ref[i]}): ${desc(c)}`);
  return ref;
}

describe('conv_ref_i8 == independent JS formula', () => {
  it('small random cases', () => {
    const r = rng(10);
    let n = 0;
    while (n < 60) {
      const sh: Shape = {
        inH: r.int(1, 7), inW: r.int(1, 7), inC: r.int(1, 9), outC: r.int(1, 11), k: [1, 2, 3, 5][r.int(0, 3)],
        s: r.int(1, 3), d: r.int(1, 2), mode: (['same', 'valid', 'random'] as const)[r.int(0, 2)],
        w16: r.next() < 0.3, leftShift: r.next() < 0.2, saturate: r.next() < 0.2,
        act: r.next() < 0.3 ? [r.int(-128, 0), r.int(0, 127)] : undefined,
      };
      sh.kW = r.next() < 0.3 ? [1, 3][r.int(0, 1)] : sh.k;
      const c = makeCase(r, sh);
      if (!c) continue;
      const js = jsConv(c);
      const ref = runConvRef(wasm, c);
      const i = firstDiff(ref, js);
      if (i >= 0) throw new Error(`conv_ref_i8 != JS at ${i} (${ref[i]} vs ${js[i]}): ${desc(c)}`);
      n++;
    }
  });
});

describe('conv_i8 == conv_ref_i8 (byte-identical)', () => {
  it('random shapes: odd channel counts, strides, pads, dilation, kernels, zero points', () => {
    const r = rng(20);
    const chans = [1, 3, 5, 7, 8, 13, 16, 17, 24, 33];
    let n = 0;
    while (n < 150) {
      const sh: Shape = {
        inH: r.int(1, 12), inW: r.int(1, 12), inC: chans[r.int(0, chans.length - 1)], outC: chans[r.int(0, chans.length - 1)],
        k: [1, 1, 3, 3, 5][r.int(0, 4)], s: r.int(1, 2), d: r.next() < 0.2 ? 2 : 1,
        mode: (['same', 'valid', 'random'] as const)[r.int(0, 2)], w16: r.next() < 0.25,
        inZp: [-128, 127, undefined][r.int(0, 2)], saturate: r.next() < 0.15, leftShift: r.next() < 0.15,
        act: r.next() < 0.3 ? [r.int(-128, -50), r.int(0, 127)] : undefined,
      };
      if (r.next() < 0.2) { sh.kW = [1, 3][r.int(0, 1)]; sh.sW = r.int(1, 2); }
      const c = makeCase(r, sh);
      if (!c) continue;
      fastEqualsRef(c);
      n++;
    }
    // the random requant params must exercise the rounding, not just saturate
    expect(stats.inside / stats.total).toBeGreaterThan(0.5);
  });

  it('MobileNetV2-like shapes (1x1 expand/project, first conv 3x3 s2)', () => {
    const r = rng(21);
    const shapes: Shape[] = [
      { inH: 14, inW: 14, inC: 24, outC: 144, k: 1, s: 1, d: 1, mode: 'same' },
      { inH: 9, inW: 9, inC: 192, outC: 32, k: 1, s: 1, d: 1, mode: 'same' },
      { inH: 5, inW: 5, inC: 384, outC: 64, k: 1, s: 1, d: 1, mode: 'same' },
      { inH: 3, inW: 3, inC: 960, outC: 320, k: 1, s: 1, d: 1, mode: 'same' },
      { inH: 17, inW: 17, inC: 3, outC: 32, k: 3, s: 2, d: 1, mode: 'same', inZp: -128 },
      { inH: 4, inW: 4, inC: 320, outC: 1280, k: 1, s: 1, d: 1, mode: 'same', act: [-128, 127] },
      { inH: 6, inW: 6, inC: 16, outC: 96, k: 1, s: 1, d: 1, mode: 'same', act: [-128, 40] }, // ReLU6-like clamp
    ];
    for (const sh of shapes) fastEqualsRef(makeCase(r, sh)!);
  });

  it('fully connected: 1 pixel Cin 1280 -> Cout 1001, and 2/3/5 batches', () => {
    const r = rng(22);
    fastEqualsRef(makeCase(r, { inH: 1, inW: 1, inC: 1280, outC: 1001, k: 1, s: 1, d: 1, mode: 'valid' })!);
    for (const b of [2, 3, 5]) fastEqualsRef(makeCase(r, { inH: 1, inW: b, inC: 100 + b, outC: 37 + b, k: 1, s: 1, d: 1, mode: 'valid' })!);
    for (const oc of [1, 8, 31, 32, 33, 64]) fastEqualsRef(makeCase(r, { inH: 1, inW: 1, inC: 7, outC: oc, k: 1, s: 1, d: 1, mode: 'valid', w16: oc === 33 })!);
  });

  it('1x1 spatial input with 3x3 SAME kernel, and large images spanning several im2col chunks', () => {
    const r = rng(23);
    fastEqualsRef(makeCase(r, { inH: 1, inW: 1, inC: 13, outC: 17, k: 3, s: 1, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 1, inW: 1, inC: 5, outC: 9, k: 3, s: 2, d: 2, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 40, inW: 37, inC: 8, outC: 12, k: 1, s: 1, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 30, inW: 23, inC: 17, outC: 20, k: 3, s: 1, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 20, inW: 20, inC: 600, outC: 9, k: 1, s: 1, d: 1, mode: 'same' })!);
  });

  it('saturation at the int8 limits and activation clamps', () => {
    const r = rng(24);
    for (let i = 0; i < 10; i++) {
      const c = makeCase(r, { inH: 5, inW: 6, inC: 13, outC: 17, k: 3, s: 1, d: 1, mode: 'same', saturate: true, leftShift: i % 2 === 1,
        act: i % 3 === 0 ? [-128, 127] : [r.int(-128, -100), r.int(-20, 60)] })!;
      const ref = fastEqualsRef(c);
      if (i % 3 === 0) {
        expect(ref.some((v) => v === 127)).toBe(true);
        expect(ref.some((v) => v === -128)).toBe(true);
      }
    }
    // huge multipliers with left shifts (x * 2^L wraps)
    const c = makeCase(r, { inH: 4, inW: 4, inC: 33, outC: 24, k: 1, s: 1, d: 1, mode: 'same', w16: true })!;
    for (let i = 0; i < c.outC; i++) { c.mult[i] = 2147483647 - i; c.shift[i] = (i % 4) + 1; c.bias[i] = i * 100000000; }
    fastEqualsRef(c);
  });

  it('pack layout: conv weights block/pair order and scratch size', () => {
    const w = new Int8Array(9 * 3); // cout 9, K 3
    for (let i = 0; i < w.length; i++) w[i] = i + 1;
    const p = new Int8Array(packConvWeights(w, 9, 1, 1, 3).buffer);
    expect(p.length).toBe(2 * 4 * 8); // 2 blocks, Kp 4
    expect(Array.from(p.slice(0, 6))).toEqual([1, 2, 4, 5, 7, 8]);
    expect(Array.from(p.slice(16, 20))).toEqual([3, 0, 6, 0]);
    expect(p[32]).toBe(25); // block 1, channel 8, k0
    expect(convScratchBytes(3, 3, 3, 112)).toBeGreaterThan(0);
  });
});
