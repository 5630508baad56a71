// CONV_2D / FULLY_CONNECTED kernels: vector requant arithmetic, conv_ref_i8 (the spec) against an
// independent JS statement of the formula, and conv_i8 (fast) against conv_ref_i8, byte for byte.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWasm, rng, type Wasm } from './wasm-harness';
import { levelThreshold } from '../../src/model/requant-affine';
import { mbqmExact } from '../../src/model/quant';
import { packRequant, weightAbsSums, fastRequantSupported, packConvWeights, packConvRowsWeights, convScratchBytes, convRowsScratchBytes, convRowsPackedBytes } from '../../src/model/pack';
import { validateOps, type MTensor } from '../../src/model/ops';
import {
  jsMbqm, jsConv, runConvRef, runConvFast, runConvRowsFast, rowsEligible, outDim, randomRequant, randomInt8, REQUANT_MODE_VARIANTS, type ConvCase,
  requantFor, reachDiffers, withDeadChannels, withReluClamp, shrinkForFast2r, checkFast2rBothWays,
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

const MODE_GENERAL = 0, MODE_LEFT = 1, MODE_FAST = 2, MODE_FAST2 = 3, MODE_FAST2F = 4, MODE_FAST2R = 5;

/** Runs test_vec_requant on n channels (a multiple of 8) x 4 values; returns the raw i32 results. */
function vecRequant(x: Int32Array, mult: Int32Array, shift: Int32Array, mode: number, packed?: Uint8Array): Int32Array {
  wasm.reset();
  const n = mult.length;
  const q = wasm.put(packed ?? packRequant(new Int32Array(n), mult, shift));
  const xp = wasm.put(x);
  const op = wasm.alloc(n * 16);
  wasm.exports.test_vec_requant(xp, q, n >> 3, op, mode);
  return wasm.i32(op, n * 4);
}

/**
 * Checks the vector requant against the scalar spec (test_mbqm) and, for some values, the BigInt JS
 * statement. GENERAL / LEFT must be raw-exact; FAST may differ only where both results saturate int8
 * (|r| >= 256, then r + outZp is outside [-128, 127] for every zero point).
 */
function checkRequant(x: Int32Array, mult: Int32Array, shift: Int32Array, jsToo: boolean) {
  const q = new Int32Array(packRequant(new Int32Array(mult.length), mult, shift).buffer);
  const packedMode = q[0];
  const modes = packedMode === MODE_FAST ? [MODE_GENERAL, MODE_FAST] : [packedMode];
  const mbqm = wasm.exports.test_mbqm as (x: number, m: number, s: number) => number;
  const want = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i >> 2;
    want[i] = mbqm(x[i], mult[c], shift[c]);
    if (jsToo && (i & 7) === 0) {
      const js = jsMbqm(x[i], mult[c], shift[c]);
      if (js !== want[i]) throw new Error(`spec mbqm x=${x[i]} M=${mult[c]} shift=${shift[c]}: wasm ${want[i]} js ${js}`);
    }
  }
  for (const mode of modes) {
    const got = vecRequant(x, mult, shift, mode);
    for (let i = 0; i < x.length; i++) {
      const c = i >> 2;
      if (got[i] === want[i]) continue;
      if (mode === MODE_FAST && ((got[i] >= 256 && want[i] >= 256) || (got[i] <= -256 && want[i] <= -256))) continue;
      throw new Error(`vec requant mode ${mode} x=${x[i]} M=${mult[c]} shift=${shift[c]}: got ${got[i]} want ${want[i]}`);
    }
  }
  return packedMode;
}

describe('vector requant == MultiplyByQuantizedMultiplier', () => {
  it('random (x, M, shift) triples incl. extremes, right shifts only (4M values, GENERAL mode)', () => {
    const r = rng(1);
    for (let batch = 0; batch < 4; batch++) {
      const n = 1 << 18;
      const x = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      for (let c = 0; c < n; c++) { m[c] = randM(r); s[c] = randShift(r, false); }
      s[0] = 0; // forces GENERAL
      for (let i = 0; i < x.length; i++) x[i] = randX(r);
      expect(checkRequant(x, m, s, batch === 0)).toBe(MODE_GENERAL);
    }
  });

  it('mbqmExact (quant.ts, used to fold all-zero-weight channels and by the affine search) == the independent JS formula', () => {
    const r = rng(5);
    for (let i = 0; i < 200000; i++) {
      const x = randX(r), m = randM(r), s = i % 7 === 0 ? r.int(0, 6) : -r.int(0, 31);
      expect(mbqmExact(x, m, s), `${x} ${m} ${s}`).toBe(jsMbqm(x, m, s));
    }
    expect(mbqmExact(-2147483648, -2147483648, 0)).toBe(jsMbqm(-2147483648, -2147483648, 0));
  });

  it('weightAbsSums: conv channels outermost, depthwise channels innermost', () => {
    const w = Int8Array.from([1, -2, 3, -4, 5, -6]);
    expect(Array.from(weightAbsSums(w, 2, false))).toEqual([6, 15]);
    expect(Array.from(weightAbsSums(w, 2, true))).toEqual([9, 12]);
  });

  it('random triples with shifts -21..-1 (4M values, FAST and GENERAL modes)', () => {
    const r = rng(4);
    for (let batch = 0; batch < 4; batch++) {
      const n = 1 << 18;
      const x = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      // FAST needs M = 0 or M >= 2^30 (TFLite's multipliers always are)
      for (let c = 0; c < n; c++) { m[c] = randM(r); if (m[c] !== 0 && m[c] < 1 << 30) m[c] = I32_MAX - r.int(0, 3); s[c] = -r.int(1, 21); }
      for (let i = 0; i < x.length; i++) x[i] = randX(r);
      expect(checkRequant(x, m, s, batch === 0)).toBe(MODE_FAST);
      // one non-normalized multiplier makes the layer GENERAL
      m[5] = (1 << 30) - 1;
      expect(checkRequant(x.subarray(0, 4096), m.subarray(0, 1024), s.subarray(0, 1024), false)).toBe(MODE_GENERAL);
    }
  });

  it('random triples with left shifts (hasLeft path, wrapping x*2^L) (2M values)', () => {
    const r = rng(2);
    for (let batch = 0; batch < 2; batch++) {
      const n = 1 << 18;
      const x = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      for (let c = 0; c < n; c++) { m[c] = randM(r); s[c] = randShift(r, true); }
      for (let i = 0; i < x.length; i++) x[i] = randX(r);
      s[0] = 2; // forces LEFT
      expect(checkRequant(x, m, s, batch === 0)).toBe(MODE_LEFT);
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
    // channels = groups of 4 values with the same (M, shift): pad each group; channel count to a multiple of 8
    while (xs.length % 8) { xs.push(0); ms.push(1 << 30); ss.push(-1); }
    const nC = xs.length;
    const x = new Int32Array(nC * 4), m = new Int32Array(nC), s = new Int32Array(nC);
    for (let c = 0; c < nC; c++) {
      m[c] = ms[c]; s[c] = ss[c];
      x[4 * c] = xs[c]; x[4 * c + 1] = xs[c] + 1 | 0; x[4 * c + 2] = xs[c] - 1 | 0; x[4 * c + 3] = randX(r);
    }
    checkRequant(x, m, s, true);
    // the right-shift-only subset with 1 <= R <= 21 in FAST mode as well
    const keep: number[] = [];
    for (let c = 0; c < nC; c++) if (s[c] <= -1 && s[c] >= -21 && (m[c] === 0 || m[c] >= 1 << 30)) keep.push(c);
    while (keep.length % 8) keep.pop();
    const x2 = new Int32Array(keep.length * 4), m2 = new Int32Array(keep.length), s2 = new Int32Array(keep.length);
    keep.forEach((c, i) => { m2[i] = m[c]; s2[i] = s[c]; x2.set(x.subarray(4 * c, 4 * c + 4), 4 * i); });
    expect(checkRequant(x2, m2, s2, false)).toBe(MODE_FAST);
  });

  it('FAST2 (pre-doubled accumulators, |x| < 2^30) is raw-exact (2M values)', () => {
    const r = rng(5);
    for (let batch = 0; batch < 2; batch++) {
      const n = 1 << 17;
      const x = new Int32Array(n * 4), x2 = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      for (let c = 0; c < n; c++) {
        m[c] = r.next() < 0.02 ? 0 : r.next() < 0.1 ? (r.next() < 0.5 ? 1 << 30 : I32_MAX) : r.int(1 << 30, I32_MAX);
        s[c] = -r.int(1, 21);
      }
      for (let i = 0; i < x.length; i++) {
        const u = r.next();
        x[i] = u < 0.1 ? (r.next() < 0.5 ? (1 << 30) - 1 - r.int(0, 100) : -(1 << 30) + 1 + r.int(0, 100))
          : u < 0.5 ? r.int(-(1 << 30) + 1, (1 << 30) - 1) : u < 0.8 ? r.int(-(1 << 20), 1 << 20) : r.int(-3000, 3000);
        x2[i] = 2 * x[i];
      }
      const got = vecRequant(x2, m, s, MODE_FAST2);
      const mbqm = wasm.exports.test_mbqm as (x: number, m: number, s: number) => number;
      for (let i = 0; i < x.length; i++) {
        const c = i >> 2;
        const want = mbqm(x[i], m[c], s[c]);
        if (got[i] !== want) throw new Error(`FAST2 x=${x[i]} M=${m[c]} shift=${s[c]}: got ${got[i]} want ${want}`);
      }
    }
  });

  it('FAST2F (float-exact, every reachable |acc| <= 2^22 - 2) is raw-exact (2M values, shifts -31..-1)', () => {
    const r = rng(6);
    const LIM = 2 ** 22 - 2;
    for (let batch = 0; batch < 2; batch++) {
      const n = 1 << 17;
      const x = new Int32Array(n * 4), x2 = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      for (let c = 0; c < n; c++) {
        m[c] = r.next() < 0.02 ? 0 : r.next() < 0.1 ? (r.next() < 0.5 ? 1 << 30 : I32_MAX) : r.int(1 << 30, I32_MAX);
        s[c] = r.next() < 0.2 ? -r.int(22, 31) : -r.int(1, 21);
      }
      for (let i = 0; i < x.length; i++) {
        const u = r.next();
        x[i] = u < 0.15 ? (r.next() < 0.5 ? LIM - r.int(0, 100) : -LIM + r.int(0, 100))
          : u < 0.6 ? r.int(-LIM, LIM) : u < 0.85 ? r.int(-(1 << 16), 1 << 16) : r.int(-300, 300);
        x2[i] = 2 * x[i];
      }
      // the compiler's packing with a reachable bound of |acc| <= 255 * 1 turns FAST2F on
      const packed = packRequant(new Int32Array(n), m, s, new Float64Array(n).fill(1));
      expect(new Int32Array(packed.buffer, 0, 4)[3], 'floatExact').toBe(1);
      const got = vecRequant(x2, m, s, MODE_FAST2F, packed);
      const mbqm = wasm.exports.test_mbqm as (x: number, m: number, s: number) => number;
      for (let i = 0; i < x.length; i++) {
        const c = i >> 2;
        const want = mbqm(x[i], m[c], s[c]);
        if (got[i] !== want) throw new Error(`FAST2F x=${x[i]} M=${m[c]} shift=${s[c]}: got ${got[i]} want ${want}`);
      }
    }
    // the flag needs the bound: one channel that may reach 2^22 - 1 turns it off
    const m1 = new Int32Array(8).fill(1 << 30), s1 = new Int32Array(8).fill(-7), b1 = new Int32Array(8);
    const w1 = new Float64Array(8).fill(1);
    expect(new Int32Array(packRequant(b1, m1, s1, w1).buffer, 0, 4)[3]).toBe(1);
    b1[5] = 2 ** 22 - 2 - 255 + 1;
    expect(new Int32Array(packRequant(b1, m1, s1, w1).buffer, 0, 4)[3]).toBe(0);
    expect(new Int32Array(packRequant(b1, m1, s1).buffer, 0, 4)[3]).toBe(0);
  });

  it('FAST2R (ReLU-clamped float-exact, every reachable |acc| <= 1.5 * 2^20) matches wherever a result > 0 (2M values + ties)', () => {
    const r = rng(7);
    const LIM = 1.5 * 2 ** 20;
    const mbqm = wasm.exports.test_mbqm as (x: number, m: number, s: number) => number;
    // result r + outZp must equal want + outZp where want > 0, and be <= outZp where want <= 0 (then the
    // clamp to actMin >= outZp gives actMin for both)
    const check = (x: Int32Array, m: Int32Array, s: Int32Array, zp: number) => {
      const packed = packRequant(new Int32Array(m.length), m, s, new Float64Array(m.length).fill(1), { zp, actMin: zp });
      expect(new Int32Array(packed.buffer, 0, 4)[3], 'floatExact').toBe(2);
      const x2 = x.map((v) => 2 * v);
      const got = vecRequant(x2, m, s, MODE_FAST2R, packed);
      for (let i = 0; i < x.length; i++) {
        const c = i >> 2;
        const want = mbqm(x[i], m[c], s[c]);
        if (Math.max(got[i] - zp, 0) !== Math.max(want, 0)) {
          throw new Error(`FAST2R x=${x[i]} M=${m[c]} shift=${s[c]} zp=${zp}: got ${got[i] - zp} want ${want}`);
        }
      }
    };
    for (let batch = 0; batch < 2; batch++) {
      const n = 1 << 17;
      const x = new Int32Array(n * 4), m = new Int32Array(n), s = new Int32Array(n);
      for (let c = 0; c < n; c++) {
        m[c] = r.next() < 0.02 ? 0 : r.next() < 0.1 ? (r.next() < 0.5 ? 1 << 30 : I32_MAX) : r.int(1 << 30, I32_MAX);
        s[c] = -r.int(1, 21);
      }
      for (let i = 0; i < x.length; i++) {
        const u = r.next();
        x[i] = u < 0.15 ? (r.next() < 0.5 ? LIM - r.int(0, 100) : -LIM + r.int(0, 100))
          : u < 0.6 ? r.int(-LIM, LIM) : u < 0.85 ? r.int(-(1 << 16), 1 << 16) : r.int(-300, 300);
      }
      check(x, m, s, batch === 0 ? -128 : r.int(-128, 127));
    }
    // exact half-way cases of both roundings (M = 2^30: SRDHM(acc) = floor((acc + 1) / 2)), every shift
    const xs: number[] = [], ss: number[] = [];
    for (let R = 1; R <= 21; R++) {
      for (let k = -20; k <= 20; k++) {
        for (const d of [-1, 0, 1]) {
          const y = k * 2 ** R + 2 ** (R - 1) + d;
          for (const acc of [2 * y, 2 * y + 1, 2 * y - 1]) if (Math.abs(acc) <= LIM) { xs.push(acc); ss.push(-R); }
        }
      }
    }
    while (xs.length % 8) { xs.push(0); ss.push(-1); }
    const x = new Int32Array(xs.length * 4), m = new Int32Array(xs.length).fill(1 << 30), s = Int32Array.from(ss);
    xs.forEach((v, c) => { x[4 * c] = v; x[4 * c + 1] = v + 1; x[4 * c + 2] = v - 1; x[4 * c + 3] = -v; });
    check(x, m, s, 5);
    // the flag needs outZp <= actMin, the bound and R <= 21
    const m1 = new Int32Array(8).fill(1 << 30), s1 = new Int32Array(8).fill(-7), b1 = new Int32Array(8);
    const w1 = new Float64Array(8).fill(1);
    const fe = (out?: { zp: number; actMin: number }) => new Int32Array(packRequant(b1, m1, s1, w1, out).buffer, 0, 4)[3];
    expect(fe({ zp: 3, actMin: 3 })).toBe(2);
    expect(fe({ zp: 3, actMin: 2 })).toBe(1);
    expect(fe()).toBe(1);
    b1[5] = LIM - 255 + 1;
    expect(fe({ zp: 3, actMin: 3 })).toBe(1);
    b1[5] = 0; s1[2] = -22;
    expect(fe({ zp: 3, actMin: 3 })).toBe(1);
  });

  it('FAST2R affine halves: exact at every output level the clamp keeps, within the reachable bound', () => {
    const r = rng(8);
    const mbqm = wasm.exports.test_mbqm as (x: number, m: number, s: number) => number;
    // the thresholds the solver verifies against: the closed forms agree with the spec
    for (let i = 0; i < 3000; i++) {
      const M = r.int(1 << 30, I32_MAX), R = r.int(1, 21), acc = r.int(0, 1.5 * 2 ** 20);
      expect(mbqmExact(acc, M, -R)).toBe(mbqm(acc, M, -R));
      const k = r.int(1, 255), B = levelThreshold(k, M, R);
      if (B <= 1.5 * 2 ** 20) {
        expect(mbqm(B, M, -R), `level ${k}`).toBeGreaterThanOrEqual(k);
        expect(mbqm(B - 1, M, -R), `level ${k}`).toBeLessThan(k);
      }
    }
    let affine = 0, exact = 0;
    for (let batch = 0; batch < 6; batch++) {
      const n = 64;
      const m = new Int32Array(n), s = new Int32Array(n), wAbs = new Float64Array(n), bias = new Int32Array(n);
      for (let c = 0; c < n; c++) {
        m[c] = r.next() < 0.05 ? 0 : r.int(1 << 30, I32_MAX);
        s[c] = -r.int(1, 14);
        wAbs[c] = r.int(1, 6000);
      }
      const zp = r.int(-128, 100), actMax = Math.min(127, zp + r.int(1, 255));
      const T = actMax - zp;
      const packed = packRequant(bias, m, s, wAbs, { zp, actMin: zp, actMax, affine: true });
      const q = new Int32Array(packed.buffer);
      expect(q[3], 'floatExact').toBe(2);
      for (let b = 0; b < n / 8; b++) for (let h = 0; h < 2; h++) if (q[4 + b * 96 + 56 + 4 * h] === 0) affine++; else exact++;
      // per channel: every level threshold within the bound, and its predecessor, plus random values
      const x = new Int32Array(n * 4 * 600);
      const mm = new Int32Array(n * 600), ss = new Int32Array(n * 600);
      let at = 0;
      for (let rep = 0; rep < 600; rep++) {
        for (let c = 0; c < n; c++) {
          const lim = 255 * wAbs[c];
          const k = (rep >> 1) + 1;
          const B = m[c] !== 0 && k <= 255 ? levelThreshold(k, m[c], -s[c]) - (rep & 1) : -1;
          for (let j = 0; j < 4; j++) x[at * 4 + j] = j === 0 && B >= 0 && B <= lim ? B : r.int(-lim, lim);
          mm[at] = m[c]; ss[at] = s[c]; at++;
        }
      }
      // run as repeated blocks of the same n channels
      const reps = new Uint8Array(16 + 600 * (packed.length - 16));
      reps.set(packed.subarray(0, 16));
      new Int32Array(reps.buffer)[1] = 600 * (n / 8);
      for (let rep = 0; rep < 600; rep++) reps.set(packed.subarray(16), 16 + rep * (packed.length - 16));
      const got = vecRequant(x.map((v) => 2 * v), mm, ss, MODE_FAST2R, reps);
      const clampT = (v: number) => Math.min(Math.max(v, 0), T);
      for (let i = 0; i < x.length; i++) {
        const c = i >> 2;
        const want = mbqm(x[i], mm[c], ss[c]);
        if (clampT(got[i] - zp) !== clampT(want)) {
          throw new Error(`FAST2R affine x=${x[i]} M=${mm[c]} shift=${ss[c]} zp=${zp} T=${T}: got ${got[i] - zp} want ${want}`);
        }
      }
    }
    // both kinds of half-blocks ran
    expect(affine).toBeGreaterThan(20);
    expect(exact).toBeGreaterThan(0);
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
  dW?: number; mode: 'same' | 'valid' | 'random'; w16?: boolean; inZp?: number; saturate?: boolean; leftShift?: boolean;
  act?: [number, number];
}

function makeCase(r: Rng, sh: Shape): ConvCase | null {
  const kH = sh.k, kW = sh.kW ?? sh.k, sH = sh.s, sW = sh.sW ?? sh.s;
  const [outH, padTop] = outDim(r, sh.inH, kH, sH, sh.d, sh.mode);
  const [outW, padLeft] = outDim(r, sh.inW, kW, sW, sh.dW ?? sh.d, sh.mode);
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
    kH, kW, sH, sW, dH: sh.d, dW: sh.dW ?? sh.d, padTop, padLeft, input: randomInt8(r, sh.inH * sh.inW * sh.inC),
  };
}

const desc = (c: ConvCase) =>
  `in ${c.inH}x${c.inW}x${c.inC} zp ${c.inZp} k ${c.kH}x${c.kW} s ${c.sH}x${c.sW} d ${c.dH} pad ${c.padTop},${c.padLeft} ` +
  `out ${c.outH}x${c.outW}x${c.outC} w16 ${c.w instanceof Int16Array}`;

const stats = { inside: 0, total: 0 };
let rowsCases = 0;
let reachCases = 0;
function fastEqualsRef(c: ConvCase) {
  const ref = runConvRef(wasm, c);
  for (const v of ref) { stats.total++; if (v > c.actMin && v < c.actMax) stats.inside++; }
  const fast = runConvFast(wasm, c);
  const i = firstDiff(fast, ref);
  if (i >= 0) throw new Error(`conv_i8 != conv_ref_i8 at ${i} (${fast[i]} vs ${ref[i]}): ${desc(c)}`);
  if (rowsEligible(c)) {
    rowsCases++;
    const rows = runConvRowsFast(wasm, c);
    const j = firstDiff(rows, ref);
    if (j >= 0) throw new Error(`conv_rows_i8 != conv_ref_i8 at ${j} (${rows[j]} vs ${ref[j]}): ${desc(c)}`);
  }
  // packed as the compiler does (requant mode from the reachable accumulator bounds), where that differs
  if (reachDiffers(c)) {
    reachCases++;
    for (const [name, out] of [['conv_i8', runConvFast(wasm, c, true)], ...(rowsEligible(c) ? [['conv_rows_i8', runConvRowsFast(wasm, c, true)] as const] : [])] as const) {
      const j = firstDiff(out, ref);
      if (j >= 0) throw new Error(`${name} (reach packing) != conv_ref_i8 at ${j} (${out[j]} vs ${ref[j]}): ${desc(c)}`);
    }
  }
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
    // last im2col chunk (256 pixels for small K) with 1..3 pixels; partial groups of 4
    for (const P of [257, 258, 259, 261, 514]) fastEqualsRef(makeCase(r, { inH: P, inW: 1, inC: 8, outC: 11, k: 1, s: 1, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 17, inW: 31, inC: 3, outC: 8, k: 3, s: 1, d: 1, mode: 'same' })!);
    // K >= 8256 (no FAST2) and K > chunk budget (CH = 4 rows)
    fastEqualsRef(makeCase(r, { inH: 3, inW: 3, inC: 1000, outC: 12, k: 3, s: 1, d: 1, mode: 'same' })!);
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
    // pack.ts mirrors the kernel's scratch formula exactly
    for (const [kh, kw, cin] of [[3, 3, 3], [1, 1, 16], [1, 1, 960], [3, 3, 1000], [5, 5, 7], [1, 1, 1], [1, 1, 20000]]) {
      expect(convScratchBytes(kh, kw, cin, 112)).toBe(wasm.exports.conv_scratch_bytes(kh, kw, cin));
    }
  });

describe('conv_rows_i8 (rows variant) == conv_ref_i8 (byte-identical)', () => {
  it('random spatial kernels: odd channel counts, strides 1-4, dilationH, pads, narrow rows, zero points', () => {
    const r = rng(30);
    const chans = [1, 2, 3, 5, 7, 8, 13, 17, 33];
    const before = rowsCases;
    let n = 0;
    while (n < 150) {
      const k = [2, 3, 3, 5, 7][r.int(0, 4)];
      const sh: Shape = {
        inH: r.int(1, 14), inW: r.int(1, 14), inC: chans[r.int(0, chans.length - 1)], outC: chans[r.int(0, chans.length - 1)],
        k, kW: r.next() < 0.3 ? [1, 2, 3][r.int(0, 2)] : k, s: r.int(1, 3), sW: r.int(1, 4), d: r.next() < 0.25 ? 2 : 1, dW: 1,
        mode: (['same', 'valid', 'random'] as const)[r.int(0, 2)],
        inZp: [-128, 127, undefined][r.int(0, 2)], saturate: r.next() < 0.15, leftShift: r.next() < 0.15,
        act: r.next() < 0.3 ? [r.int(-128, -50), r.int(0, 127)] : undefined,
      };
      const c = makeCase(r, sh);
      if (!c || !rowsEligible(c)) continue;
      fastEqualsRef(c);
      n++;
    }
    expect(rowsCases - before).toBe(150);
  });

  it('first-layer shapes (3x3 s2 over RGB), wide rows, every requant mode, K >= 8256 (no FAST2)', () => {
    const r = rng(31);
    fastEqualsRef(makeCase(r, { inH: 33, inW: 61, inC: 3, outC: 32, k: 3, s: 2, d: 1, mode: 'same', inZp: -128 })!);
    fastEqualsRef(makeCase(r, { inH: 24, inW: 96, inC: 3, outC: 8, k: 3, s: 2, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 9, inW: 50, inC: 3, outC: 32, k: 3, s: 1, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 3, inW: 3, inC: 1000, outC: 12, k: 3, s: 1, d: 1, mode: 'same' })!);
    for (const [name, tweak] of [
      ['shift 0', (c: ConvCase) => { c.shift[3] = 0; }],
      ['left shift', (c: ConvCase) => { c.shift[0] = 1; }],
      ['big bias', (c: ConvCase) => { c.bias[4] = (1 << 29) + 7; }],
    ] as const) {
      const c = makeCase(r, { inH: 7, inW: 9, inC: 5, outC: 11, k: 3, s: 1, d: 1, mode: 'same' })!;
      tweak(c);
      expect(rowsEligible(c), name).toBe(true);
      fastEqualsRef(c);
    }
  });

  it('pack layout: rows weights pad each kernel row to an even count; scratch formula mirrors the kernel', () => {
    // cout 1, kH 2, kW 1, cin 3: rows [1 2 3] [4 5 6] -> pairs (1,2) (3,0) (4,5) (6,0)
    const p = new Int8Array(packConvRowsWeights(Int8Array.from([1, 2, 3, 4, 5, 6]), 1, 2, 1, 3).buffer);
    expect(p.length).toBe(4 * 16);
    expect([0, 16, 32, 48].map((o) => [p[o], p[o + 1]])).toEqual([[1, 2], [3, 0], [4, 5], [6, 0]]);
    for (const [kh, kw, cin, outW, sW] of [[3, 3, 3, 112, 2], [3, 3, 3, 1, 1], [5, 2, 7, 3, 4], [7, 7, 64, 56, 1]]) {
      expect(convRowsScratchBytes(kh, kw, cin, outW, sW)).toBe(wasm.exports.conv_rows_scratch_bytes(kh, kw, cin, outW, sW));
    }
  });
});

describe('conv op validation (artifacts are untrusted)', () => {
  const T = (n: number): MTensor => ({ name: 't', shape: [n], dtype: 'int8', offset: 0, bytes: n });
  const base = { inH: 1, inW: 1, inC: 8, outH: 1, outW: 1, outC: 8, kH: 3, kW: 3, sH: 1, sW: 1, dH: 1, dW: 1, padT: 1, padL: 1,
    inZp: 0, outZp: 0, actMin: -128, actMax: 127, wIs16: 0, fast: 1 };
  const check = (p: Record<string, number>, inBytes: number, wBytes = 1 << 20) => () =>
    validateOps([{ kind: 'conv_i8', in: [0], out: [1], w: { w: [0, wBytes], q: [wBytes, 16 + 384] }, p }], [T(inBytes), T(8)], wBytes + 400, 1 << 20);
  it('accepts a well-formed conv, rejects K = kH*kW*inC that would wrap the 32-bit size formulas', () => {
    expect(check(base, 8)).not.toThrow();
    // 64*64*2^20 = 2^32: before the bound, every size formula wrapped to ~0 and the kernel's im2col wrote far past its scratch
    expect(check({ ...base, kH: 64, kW: 64, inC: 1 << 20, padT: 0, padL: 0 }, 1 << 20, 16)).toThrow(/K = kH\*kW\*inC/);
  });
  it('rows variant: bounded scratch, computed without 32-bit wrap-around', () => {
    expect(check({ ...base, rows: 1 }, 8)).not.toThrow();
    expect(check({ ...base, rows: 1, dW: 2 }, 8)).toThrow(/rows variant/);
    expect(check({ ...base, rows: 1, kH: 1, kW: 1, padT: 0, padL: 0 }, 8)).toThrow(/rows variant/);
    // (4-1)*2^20 + 3 columns of 2^10 channels: ~2^32 values; must be refused, not wrapped to a small size
    expect(convRowsScratchBytes(3, 3, 1 << 10, 4, 1 << 20)).toBeGreaterThan(2 ** 32);
    expect(check({ ...base, rows: 1, inC: 1 << 10, sW: 1 << 20, outW: 4 }, 1 << 10)).toThrow(/rows variant|bytes/);
    expect(convRowsPackedBytes(8, 3, 3, 3)).toBe(3 * 5 * 16);
  });
});

describe('requant modes of the fast kernel', () => {
  it('compiler packing: dead channels, right shifts up to 31 and huge biases stay on FAST / FAST2', () => {
    const r = rng(78);
    const before = reachCases;
    for (let i = 0; i < 12; i++) {
      const c = withDeadChannels(makeCase(r, { inH: 6, inW: 7, inC: 1 + (i % 5) * 4, outC: 21 + i, k: [1, 3][i % 2], s: 1 + (i % 3 === 2 ? 1 : 0), d: 1, mode: 'same' })!, r);
      const q = new Int32Array(requantFor(c, true).buffer);
      expect(q[0], 'mode').toBe(2);
      expect(q[2], 'FAST2 flag').toBe(1);
      expect(new Int32Array(requantFor(c, false).buffer)[0], 'conservative mode').toBe(0);
      fastEqualsRef(c);
    }
    expect(reachCases - before).toBe(12);
  });

  it('compiler packing with a ReLU clamp: FAST2R (with dead channels, int16 weights, odd shapes) matches the reference', () => {
    const r = rng(79);
    let affine = 0, exact = 0;
    for (let i = 0; i < 14; i++) {
      let c = makeCase(r, {
        inH: 3 + (i % 4), inW: 5 + (i % 3), inC: 1 + (i % 5) * 7, outC: 5 + 3 * i, k: [1, 3, 1, 2][i % 4], s: 1 + (i % 3 === 2 ? 1 : 0),
        d: 1, mode: (['same', 'valid'] as const)[i % 2], w16: i % 4 === 3,
      })!;
      c = shrinkForFast2r(withReluClamp(i % 3 === 1 ? withDeadChannels(c, r) : c, r));
      const n = checkFast2rBothWays(c, fastEqualsRef, `case ${i}`);
      affine += n.affine; exact += n.exact;
    }
    // half-blocks of both kinds (affine and exact FAST2R) ran
    expect(affine).toBeGreaterThan(5);
    expect(exact).toBeGreaterThan(0);
  });

  it('FAST2, FAST, GENERAL (shift 0, shift -25, M < 2^30) and LEFT layers all match the reference', () => {
    const r = rng(77);
    for (const [name, tweak, mode] of REQUANT_MODE_VARIANTS) {
      for (let i = 0; i < 3; i++) {
        const c = makeCase(r, { inH: 5, inW: 7, inC: 13, outC: 21, k: 3, s: 1, d: 1, mode: 'same' })!;
        tweak(c);
        expect(new Int32Array(packRequant(c.bias, c.mult, c.shift).buffer)[0], name).toBe(mode);
        fastEqualsRef(c);
      }
    }
  });
});

});
