// MoveNet's pre/post-processing kernels (assembly/movenet.ts):
//  - fast int8 ADD/SUB/MUL (SIMD rows, lookup tables) equal their scalar references
//    on random broadcasts, scales and clamps;
//  - every scalar reference equals an independent JS spec of TFLite (Micro)'s
//    reference arithmetic (BigInt where int64 matters);
//  - LOGISTIC's table path equals its reference on all 256 inputs, and the
//    reference has the properties of a rounded sigmoid;
//  - the op table rejects artifacts whose params would reach outside a tensor.
import { describe, it, expect, beforeAll } from 'vitest';
import { loadWasm, rng, type Wasm } from './wasm-harness.ts';
import { quantizeMultiplier, frexp, roundHalfAway, calculateInputRadius } from '../../src/model/quant.ts';
import { validateOps, type MOp, type MTensor } from '../../src/model/ops.ts';

let w: Wasm;
beforeAll(async () => {
  w = await loadWasm();
});

type R = ReturnType<typeof rng>;
const randI8 = (r: R, n: number) => Int8Array.from({ length: n }, () => r.int(-128, 127));
const INT_MIN = -2147483648, INT_MAX = 2147483647;

// ---- independent spec of the fixed-point helpers (gemmlowp, double rounding) ----
function srdhm(a: number, b: number): number {
  if (a === INT_MIN && b === INT_MIN) return INT_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C++
}
function rdbp(x: number, e: number): number {
  const mask = 2 ** e - 1;
  const remainder = Number(BigInt.asUintN(32, BigInt(x)) & BigInt(mask));
  const threshold = Math.floor(mask / 2) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}
function mbqm(x: number, m: number, s: number): number {
  const left = s > 0 ? s : 0, right = s > 0 ? 0 : -s;
  return rdbp(srdhm(Math.imul(x, 2 ** left) | 0, m), right);
}
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

// ---- broadcasting ----
interface Bc { a: number[]; b: number[]; o: number[] }
const vol = (s: number[]) => s.reduce((x, y) => x * y, 1);
function randBc(r: R, maxInner = 40): Bc {
  const o = [r.int(1, 3), r.int(1, 4), r.int(1, 5), r.int(1, maxInner)];
  const pick = () => o.map((d) => (r.next() < 0.4 ? 1 : d));
  let a = pick(), b = pick();
  if (r.next() < 0.2) a = [...o];
  if (r.next() < 0.2) b = [1, 1, 1, 1];
  if (r.next() < 0.1) a = [1, 1, 1, 1];
  return { a, b, o };
}
/** indices into a and b of each output element, in output order (TFLite's BroadcastXxxSlow) */
function bcIndex(s: Bc): [number, number][] {
  const res: [number, number][] = [];
  const idx = (shape: number[], c: number[]) => c.reduce((acc, ci, d) => acc * shape[d]! + (shape[d] === 1 ? 0 : ci), 0);
  for (let i0 = 0; i0 < s.o[0]!; i0++) for (let i1 = 0; i1 < s.o[1]!; i1++) for (let i2 = 0; i2 < s.o[2]!; i2++) for (let i3 = 0; i3 < s.o[3]!; i3++) {
    const c = [i0, i1, i2, i3];
    res.push([idx(s.a, c), idx(s.b, c)]);
  }
  return res;
}
const shapeArgs = (s: Bc) => [...s.a, ...s.b, ...s.o];

function addsubParams(r: R, sub: number) {
  const sa = Math.exp(r.next() * 6 - 5), sb = Math.exp(r.next() * 6 - 5);
  const so = r.next() < 0.2 ? Math.min(sa, sb) / 50 : Math.exp(r.next() * 6 - 5);
  const twice = 2 * Math.max(sa, sb);
  const [am, as] = quantizeMultiplier(sa / twice);
  const [bm, bs] = quantizeMultiplier(sb / twice);
  const [om, os] = quantizeMultiplier(twice / ((1 << 20) * so));
  const clampy = r.next() < 0.3;
  return [sub, -r.int(-128, 127), am, as, -r.int(-128, 127), bm, bs, 20, om, os, r.int(-128, 127),
    clampy ? r.int(-128, 0) : -128, clampy ? r.int(0, 127) : 127];
}
function addsubSpec(x: number, y: number, q: number[]): number {
  const [sub, aOff, aM, aS, bOff, bM, bS, ls, oM, oS, oOff, lo, hi] = q as [number, number, number, number, number, number, number, number, number, number, number, number, number];
  const sa = mbqm((x + aOff) * 2 ** ls, aM, aS), sb = mbqm((y + bOff) * 2 ** ls, bM, bS);
  return clamp(mbqm(sub ? sa - sb : sa + sb, oM, oS) + oOff, lo, hi);
}
function mulParams(r: R) {
  const real = r.next() < 0.25 ? 1 + r.next() * 300 : Math.exp(r.next() * 10 - 12); // some multipliers > 1 (left shifts)
  const [m, s] = quantizeMultiplier(real);
  const clampy = r.next() < 0.3;
  return [-r.int(-128, 127), -r.int(-128, 127), m, s, r.int(-128, 127), clampy ? r.int(-128, 0) : -128, clampy ? r.int(0, 127) : 127];
}
function mulSpec(x: number, y: number, q: number[]): number {
  const [aOff, bOff, m, s, oOff, lo, hi] = q as [number, number, number, number, number, number, number];
  return clamp(mbqm((x + aOff) * (y + bOff), m, s) + oOff, lo, hi);
}

describe('int8 broadcasting ADD/SUB/MUL', () => {
  it('scalar references equal the JS spec', () => {
    const r = rng(11);
    for (let iter = 0; iter < 120; iter++) {
      w.reset();
      const s = randBc(r, 12);
      const av = randI8(r, vol(s.a)), bv = randI8(r, vol(s.b));
      const a = w.put(av), b = w.put(bv), n = vol(s.o), o = w.alloc(n);
      const idx = bcIndex(s);
      if (iter % 2) {
        const q = addsubParams(r, iter % 4 === 1 ? 1 : 0);
        w.exports.bc_addsub_i8_ref(a, b, o, ...shapeArgs(s), ...q);
        expect(Array.from(w.i8(o, n))).toEqual(idx.map(([i, j]) => addsubSpec(av[i]!, bv[j]!, q)));
      } else {
        const q = mulParams(r);
        w.exports.bc_mul_i8_ref(a, b, o, ...shapeArgs(s), ...q);
        expect(Array.from(w.i8(o, n))).toEqual(idx.map(([i, j]) => mulSpec(av[i]!, bv[j]!, q)));
      }
    }
  });

  it('fast kernels (SIMD rows and lookup tables) equal the references', () => {
    const r = rng(12);
    for (let iter = 0; iter < 600; iter++) {
      w.reset();
      const s = randBc(r, 45);
      const av = randI8(r, vol(s.a)), bv = randI8(r, vol(s.b));
      const a = w.put(av), b = w.put(bv), n = vol(s.o);
      const o1 = w.alloc(n), o2 = w.alloc(n), scratch = w.alloc(256 * 64);
      const luts = [0];
      if (vol(s.b) <= 64) luts.push(1);
      if (vol(s.a) <= 64) luts.push(2);
      const lut = luts[iter % luts.length]!;
      const isMul = iter % 3 === 0;
      const q = isMul ? mulParams(r) : addsubParams(r, iter % 3 === 1 ? 1 : 0);
      w.exports[isMul ? 'bc_mul_i8_ref' : 'bc_addsub_i8_ref'](a, b, o1, ...shapeArgs(s), ...q);
      w.exports[isMul ? 'bc_mul_i8' : 'bc_addsub_i8'](a, b, o2, ...shapeArgs(s), ...q, lut, scratch);
      expect(w.i8(o2, n), `iter ${iter} lut ${lut} ${JSON.stringify(s)}`).toEqual(w.i8(o1, n));
    }
  });

  it('a SUB and a MUL with the same tensor twice (x - x = zero point, x * x)', () => {
    w.reset();
    const n = 37;
    const xv = randI8(rng(3), n);
    const x = w.put(xv), o = w.alloc(n);
    const s: Bc = { a: [1, 1, 1, n], b: [1, 1, 1, n], o: [1, 1, 1, n] };
    const [m, sh] = quantizeMultiplier(0.5);
    const [om, os] = quantizeMultiplier(1 / (1 << 20));
    w.exports.bc_addsub_i8(x, x, o, ...shapeArgs(s), 1, 5, m, sh, 5, m, sh, 20, om, os, -7, -128, 127, 0, 0);
    expect(Array.from(w.i8(o, n))).toEqual(Array(n).fill(-7));
    const q = [3, 3, ...quantizeMultiplier(1 / 64), 0, -128, 127];
    w.exports.bc_mul_i8(x, x, o, ...shapeArgs(s), ...q, 0, 0);
    expect(Array.from(w.i8(o, n))).toEqual(Array.from(xv, (v) => mulSpec(v, v, q)));
  });
});

describe('int32 and float32 broadcasting arithmetic', () => {
  const floorDivSpec = (a: number, b: number) => (b === 0 ? 0 : Math.floor(a / b) | 0);
  it('int32 ADD/SUB/MUL/FLOOR_DIV equal the JS spec, including floor division edge cases', () => {
    const r = rng(21);
    for (let iter = 0; iter < 80; iter++) {
      w.reset();
      const s = randBc(r, 9);
      const big = iter % 5 === 0;
      const gen = (n: number) => Int32Array.from({ length: n }, () => (big ? r.int(INT_MIN, INT_MAX) : r.int(-200, 200)));
      const av = gen(vol(s.a)), bv = gen(vol(s.b));
      const a = w.put(av), b = w.put(bv), n = vol(s.o), o = w.alloc(4 * n);
      const op = iter % 4;
      const [lo, hi] = iter % 7 === 0 ? [0, 6] : [INT_MIN, INT_MAX];
      w.exports.bc_arith_i32(a, b, o, ...shapeArgs(s), op, lo, hi);
      const f = [(x: number, y: number) => (x + y) | 0, (x: number, y: number) => (x - y) | 0, (x: number, y: number) => Math.imul(x, y), floorDivSpec][op]!;
      expect(Array.from(w.i32(o, n))).toEqual(bcIndex(s).map(([i, j]) => clamp(f(av[i]!, bv[j]!), lo, hi)));
    }
    w.reset();
    const av = Int32Array.from([7, -7, 7, -7, 0, INT_MIN, INT_MIN, 5, 95, -1]);
    const bv = Int32Array.from([2, 2, -2, -2, 3, -1, 1, 0, 48, 48]);
    const a = w.put(av), b = w.put(bv), o = w.alloc(40);
    const s: Bc = { a: [1, 1, 1, 10], b: [1, 1, 1, 10], o: [1, 1, 1, 10] };
    w.exports.bc_arith_i32(a, b, o, ...shapeArgs(s), 3, INT_MIN, INT_MAX);
    expect(Array.from(w.i32(o, 10))).toEqual([3, -4, -4, 3, 0, INT_MIN, INT_MIN, 0, 1, -1]);
  });

  it('float32 ADD/SUB/MUL/DIV equal the JS spec (float32 rounding, std::min/max clamp)', () => {
    const r = rng(22);
    for (let iter = 0; iter < 80; iter++) {
      w.reset();
      const s = randBc(r, 9);
      const gen = (n: number) => Float32Array.from({ length: n }, () => (r.next() < 0.05 ? 0 : (r.next() - 0.5) * 10 ** r.int(-3, 3)));
      const av = gen(vol(s.a)), bv = gen(vol(s.b));
      const a = w.put(av), b = w.put(bv), n = vol(s.o), o = w.alloc(4 * n);
      const op = iter % 4;
      const [lo, hi] = iter % 5 === 0 ? [0, 6] : [-3.4028234663852886e38, 3.4028234663852886e38];
      w.exports.bc_arith_f32(a, b, o, ...shapeArgs(s), op, lo, hi);
      const f = [(x: number, y: number) => x + y, (x: number, y: number) => x - y, (x: number, y: number) => x * y, (x: number, y: number) => x / y][op]!;
      const want = bcIndex(s).map(([i, j]) => {
        const v = Math.fround(f(av[i]!, bv[j]!));
        const m = v < lo ? lo : v;
        return hi < m ? hi : m;
      });
      expect(Array.from(w.f32(o, n))).toEqual(want.map(Math.fround));
    }
  });
});

describe('CAST, SQRT', () => {
  it('casts int8-domain and int32 values exactly, and takes float32 square roots', () => {
    w.reset();
    const i8 = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    const p = w.put(i8), o = w.alloc(1024);
    w.exports.cast_i8_f32(p, o, 256, 128); // a uint8 tensor in the int8 domain: p - 128 -> p
    expect(Array.from(w.f32(o, 256))).toEqual(Array.from({ length: 256 }, (_, i) => i));
    w.exports.cast_i8_f32(p, o, 256, 0);
    expect(Array.from(w.f32(o, 256))).toEqual(Array.from(i8));
    const i32 = Int32Array.from([0, -1, 47, 2 ** 24 + 1, INT_MIN, INT_MAX]);
    const q = w.put(i32), o2 = w.alloc(24);
    w.exports.cast_i32_f32(q, o2, 6);
    expect(Array.from(w.f32(o2, 6))).toEqual(Array.from(i32, Math.fround));
    const f = Float32Array.from([0, 1, 2, 0.25, 1e-30, 3.4e38, -1]);
    const fp = w.put(f), o3 = w.alloc(28);
    w.exports.sqrt_f32(fp, o3, 7);
    const got = w.f32(o3, 7);
    expect(Array.from(got.subarray(0, 6))).toEqual(Array.from(f.subarray(0, 6), (v) => Math.fround(Math.sqrt(v))));
    expect(Number.isNaN(got[6])).toBe(true);
  });
});

describe('LOGISTIC int8', () => {
  const params = (scale: number, zp: number) => {
    const [q, shift] = frexp(scale * (1 << 27));
    return { inZp: zp, radius: Math.min(INT_MAX, calculateInputRadius(4, shift, 31)), mult: roundHalfAway(q * 2 ** 31), shift };
  };
  it('the table path equals the reference on every input, for many scales and zero points', () => {
    const r = rng(31);
    const all = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    for (let iter = 0; iter < 60; iter++) {
      w.reset();
      const scale = Math.exp(r.next() * 9 - 7), zp = r.int(-128, 127);
      const p = params(scale, zp);
      const x = w.put(all), o1 = w.alloc(256), o2 = w.alloc(256), scratch = w.alloc(256);
      w.exports.logistic_i8_ref(x, o1, 256, p.inZp, p.radius, p.mult, p.shift);
      w.exports.logistic_i8(x, o2, 256, p.inZp, p.radius, p.mult, p.shift, scratch);
      expect(w.i8(o2, 256)).toEqual(w.i8(o1, 256));
    }
  });
  it('the reference is a monotone, rounded sigmoid with output scale 1/256, zero point -128', () => {
    const r = rng(32);
    const all = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    for (let iter = 0; iter < 40; iter++) {
      w.reset();
      const scale = Math.exp(r.next() * 6 - 6), zp = r.int(-128, 127);
      const p = params(scale, zp);
      const x = w.put(all), o = w.alloc(256);
      w.exports.logistic_i8_ref(x, o, 256, p.inZp, p.radius, p.mult, p.shift);
      const got = w.i8(o, 256);
      for (let i = 0; i < 256; i++) {
        if (i > 0) expect(got[i]!).toBeGreaterThanOrEqual(got[i - 1]!);
        const real = 1 / (1 + Math.exp(-scale * (i - 128 - zp)));
        expect(Math.abs(got[i]! - clamp(Math.round(real * 256) - 128, -128, 127))).toBeLessThanOrEqual(1);
      }
      expect(got[zp + 128]).toBe(0); // logistic(0) = 1/2
    }
  });
});

describe('RESIZE_BILINEAR int8', () => {
  // reference_ops::ResizeBilinearInteger (double-rounding build), batch 1
  function spec(inp: Int8Array, inH: number, inW: number, c: number, outH: number, outW: number, ac: number, hp: number): number[] {
    const div = (a: number, b: number) => Math.trunc(a / b);
    let hs = div(1024 * inH + div(outH, 2), outH), ws = div(1024 * inW + div(outW, 2), outW);
    if (ac && outH > 1) hs = div(1024 * (inH - 1) + div(outH - 1, 2), outH - 1);
    if (ac && outW > 1) ws = div(1024 * (inW - 1) + div(outW - 1, 2), outW - 1);
    const interp = (v: number, s: number, size: number) => {
      const sv = hp ? v * s + div(s, 2) - 512 : v * s;
      // the lower index is clamped to the input as well (TFLite would read past it for extreme upscaling)
      return [sv, Math.min(Math.max(div(sv, 1024), 0), size - 1), Math.max(Math.min(div(sv + 1023, 1024), size - 1), 0)] as const;
    };
    const out: number[] = [];
    for (let y = 0; y < outH; y++) {
      const [iy, y0, y1] = interp(y, hs, inH);
      for (let x = 0; x < outW; x++) {
        const [ix, x0, x1] = interp(x, ws, inW);
        for (let ch = 0; ch < c; ch++) {
          const v = (yy: number, xx: number) => BigInt(inp[(yy * inW + xx) * c + ch]!);
          const fy = BigInt(iy - 1024 * y0), fx = BigInt(ix - 1024 * x0);
          const s = v(y0, x0) * (1024n - fy) * (1024n - fx) + v(y1, x0) * fy * (1024n - fx) + v(y0, x1) * (1024n - fy) * fx + v(y1, x1) * fy * fx;
          const round = s > 0n ? 1n << 19n : -(1n << 19n);
          out.push(Number(BigInt.asIntN(8, (s + round) / (1n << 20n))));
        }
      }
    }
    return out;
  }
  it('equals the JS spec for up- and downscaling, align_corners and half_pixel_centers', () => {
    const r = rng(41);
    for (let iter = 0; iter < 60; iter++) {
      w.reset();
      const inH = r.int(1, 9), inW = r.int(1, 9), c = r.int(1, 12), outH = r.int(1, iter % 10 ? 20 : 80), outW = r.int(1, 20);
      const mode = iter % 3; // 0 plain, 1 align_corners, 2 half_pixel_centers
      const inp = randI8(r, inH * inW * c);
      const x = w.put(inp), o = w.alloc(outH * outW * c);
      const want = spec(inp, inH, inW, c, outH, outW, mode === 1 ? 1 : 0, mode === 2 ? 1 : 0);
      for (const k of ['resize_bilinear_i8_ref', 'resize_bilinear_i8']) {
        w.exports[k](x, inH, inW, c, o, outH, outW, mode === 1 ? 1 : 0, mode === 2 ? 1 : 0);
        expect(Array.from(w.i8(o, outH * outW * c)), k).toEqual(want);
      }
    }
  });
  it('the SIMD kernel equals the int64 reference on MoveNet-like and extreme shapes', () => {
    const r = rng(42);
    const shapes = [[6, 6, 64, 12, 12], [12, 12, 32, 24, 24], [24, 24, 24, 48, 48], [1, 2, 17, 300, 7], [3, 1, 9, 5, 260], [7, 9, 24, 3, 4], [1, 1, 11, 70, 70]];
    for (const [inH, inW, c, outH, outW] of shapes as [number, number, number, number, number][]) {
      for (const [ac, hp] of [[0, 0], [1, 0], [0, 1]]) {
        w.reset();
        const x = w.put(randI8(r, inH * inW * c)), o1 = w.alloc(outH * outW * c), o2 = w.alloc(outH * outW * c);
        w.exports.resize_bilinear_i8_ref(x, inH, inW, c, o1, outH, outW, ac, hp);
        w.exports.resize_bilinear_i8(x, inH, inW, c, o2, outH, outW, ac, hp);
        expect(w.i8(o2, outH * outW * c), `${[inH, inW, c, outH, outW, ac, hp]}`).toEqual(w.i8(o1, outH * outW * c));
      }
    }
  });
  it('keeps a constant image constant (MoveNet\'s 2x upsampling with half-pixel centers)', () => {
    w.reset();
    const inp = new Int8Array(6 * 6 * 4).fill(-77);
    const x = w.put(inp), o = w.alloc(12 * 12 * 4);
    w.exports.resize_bilinear_i8(x, 6, 6, 4, o, 12, 12, 0, 1);
    expect(Array.from(w.i8(o, 12 * 12 * 4))).toEqual(Array(12 * 12 * 4).fill(-77));
  });
});

describe('ARG_MAX, GATHER_ND, row copies', () => {
  it('ARG_MAX picks the first maximum along the axis', () => {
    const r = rng(51);
    for (let iter = 0; iter < 40; iter++) {
      w.reset();
      const outer = r.int(1, 3), axisLen = r.int(1, 60), inner = r.int(1, 5);
      const inp = Int8Array.from({ length: outer * axisLen * inner }, () => r.int(-128, iter % 2 ? -120 : 127)); // many ties when odd
      const x = w.put(inp), o = w.alloc(4 * outer * inner);
      w.exports.argmax_i8(x, o, outer, axisLen, inner);
      const want: number[] = [];
      for (let a = 0; a < outer; a++) for (let k = 0; k < inner; k++) {
        let best = -Infinity, bi = 0;
        for (let i = 0; i < axisLen; i++) { const v = inp[(a * axisLen + i) * inner + k]!; if (v > best) { best = v; bi = i; } }
        want.push(bi);
      }
      expect(Array.from(w.i32(o, outer * inner))).toEqual(want);
    }
  });

  it('GATHER_ND copies the indexed slices; an out-of-range index gives zeros', () => {
    const r = rng(52);
    for (let iter = 0; iter < 40; iter++) {
      w.reset();
      const rank = r.int(1, 4), ps = Array.from({ length: rank }, () => r.int(1, 5));
      const depth = r.int(1, rank), nSlices = r.int(1, 6);
      const sliceSize = vol(ps.slice(depth)), pN = vol(ps);
      const params = randI8(r, pN);
      const idx = Int32Array.from({ length: nSlices * depth }, (_, k) => (r.next() < 0.1 ? r.int(-2, 7) : r.int(0, ps[k % depth]! - 1)));
      const p = w.put(params), ip = w.put(idx), o = w.alloc(nSlices * sliceSize);
      const d = [0, 1, 2, 3].map((j) => (j < depth ? ps[j]! : 1));
      w.exports.gather_nd_i8(p, ip, o, nSlices, depth, sliceSize, ...d);
      const want: number[] = [];
      for (let s = 0; s < nSlices; s++) {
        let pos = 0, ok = true;
        for (let j = 0; j < depth; j++) {
          const v = idx[s * depth + j]!;
          if (v < 0 || v >= ps[j]!) ok = false;
          pos = pos * ps[j]! + v;
        }
        for (let e = 0; e < sliceSize; e++) want.push(ok ? params[pos * sliceSize + e]! : 0);
      }
      expect(Array.from(w.i8(o, nSlices * sliceSize))).toEqual(want);
    }
  });

  it('rowcopy places strided rows (PACK / UNPACK / CONCATENATION pieces)', () => {
    w.reset();
    // UNPACK [3,2,4] on axis 1, piece k = 1 (int32: es 4)
    const src = Int32Array.from({ length: 24 }, (_, i) => i * 10 - 7);
    const s = w.put(src), o = w.alloc(4 * 12);
    w.exports.rowcopy(s, o, 4, 3, 4, 8, 4, 4, 0);
    expect(Array.from(w.i32(o, 12))).toEqual([4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23].map((i) => src[i]!));
    // PACK two [3] int8 vectors on axis 1 -> [3,2]
    const a = w.put(Int8Array.from([1, 2, 3])), b = w.put(Int8Array.from([-1, -2, -3])), p = w.alloc(6);
    w.exports.rowcopy(a, p, 1, 3, 1, 1, 0, 2, 0);
    w.exports.rowcopy(b, p, 1, 3, 1, 1, 0, 2, 1);
    expect(Array.from(w.i8(p, 6))).toEqual([1, -1, 2, -2, 3, -3]);
  });
});

describe('op table validation of the new kinds', () => {
  const T = (dtype: MTensor['dtype'], n: number): MTensor => ({ name: 't', shape: [n], dtype, offset: 0, bytes: n * (dtype === 'int8' ? 1 : 4) });
  const check = (op: MOp, tensors: MTensor[], weights = 4096, scratch = 1 << 16) => () => validateOps([op], tensors, weights, scratch);
  const bc = { a0: 1, a1: 1, a2: 4, a3: 3, b0: 1, b1: 1, b2: 1, b3: 3, o0: 1, o1: 1, o2: 4, o3: 3 };
  const q = { sub: 1, aOffset: 0, aMult: 1 << 30, aShift: -1, bOffset: 0, bMult: 1 << 30, bShift: -1, leftShift: 20, outMult: 1 << 30, outShift: -20, outOffset: 0, actMin: -128, actMax: 127 };
  it('accepts a well-formed broadcasting op and rejects bad shapes, tables and constants', () => {
    const ts = [T('int8', 12), T('int8', 3), T('int8', 12)];
    expect(check({ kind: 'bc_addsub_i8', in: [0, 1], out: [2], w: {}, p: { ...bc, ...q, fast: 1, lut: 1 } }, ts)).not.toThrow();
    expect(check({ kind: 'bc_addsub_i8', in: [0, 1], out: [2], w: {}, p: { ...bc, b2: 2, ...q, fast: 1, lut: 0 } }, ts)).toThrow(/broadcast|bytes/);
    expect(check({ kind: 'bc_addsub_i8', in: [0, 1], out: [2], w: {}, p: { ...bc, ...q, fast: 1, lut: 2 } }, ts, 4096, 256 * 3)).toThrow(/scratch/);
    expect(check({ kind: 'bc_addsub_i8', in: [0, 1], out: [2], w: {}, p: { ...bc, ...q, fast: 1, lut: 3 } }, ts)).toThrow(/lut/);
    // constant operand: its weight block must hold the whole constant
    expect(check({ kind: 'bc_addsub_c_i8', in: [0], out: [2], w: { c: [0, 3] }, p: { ...bc, ...q, fast: 0, lut: 0, constFirst: 0 } }, ts)).not.toThrow();
    expect(check({ kind: 'bc_addsub_c_i8', in: [0], out: [2], w: { c: [0, 2] }, p: { ...bc, ...q, fast: 0, lut: 0, constFirst: 0 } }, ts)).toThrow(/weight block c/);
    expect(check({ kind: 'bc_addsub_c_i8', in: [0], out: [2], w: { c: [0, 16] }, p: { ...bc, ...q, fast: 0, lut: 0, constFirst: 1 } }, ts)).toThrow(/bytes/);
  });
  it('rejects row copies, gathers and resizes that would leave their tensors', () => {
    const ts = [T('int8', 24), T('int8', 12), T('int32', 6)];
    const row = { outer: 3, len: 4, inStride: 8, inOff: 4, outStride: 4, outOff: 0, inN: 24, outN: 12 };
    expect(check({ kind: 'rowcopy_i8', in: [0], out: [1], w: {}, p: row }, ts)).not.toThrow();
    expect(check({ kind: 'rowcopy_i8', in: [0], out: [1], w: {}, p: { ...row, inOff: 5 } }, ts)).toThrow(/rows out of bounds/);
    expect(check({ kind: 'rowcopy_i8', in: [0], out: [1], w: {}, p: { ...row, outStride: 5 } }, ts)).toThrow(/rows out of bounds/);
    expect(check({ kind: 'rowfill_i8', in: [1], out: [1], w: { d: [0, 24] }, p: row }, ts)).not.toThrow();
    expect(check({ kind: 'rowfill_i8', in: [1], out: [1], w: { d: [0, 20] }, p: row }, ts)).toThrow(/weight block d/);
    const g = { pN: 24, nSlices: 3, depth: 2, sliceSize: 4, d0: 2, d1: 3, d2: 1, d3: 1 };
    expect(check({ kind: 'gather_nd_i8', in: [0, 2], out: [1], w: {}, p: g }, ts)).not.toThrow();
    expect(check({ kind: 'gather_nd_i8', in: [0, 2], out: [1], w: {}, p: { ...g, d1: 4 } }, ts)).toThrow(/params shape/);
    expect(check({ kind: 'gather_nd_i8', in: [0, 2], out: [1], w: {}, p: { ...g, depth: 5 } }, ts)).toThrow(/gather geometry/);
    expect(check({ kind: 'resize_bilinear_i8', in: [0], out: [1], w: {}, p: { inH: 2, inW: 3, c: 4, outH: 1, outW: 3, alignCorners: 0, halfPixel: 1, fast: 1 } }, ts)).not.toThrow();
    expect(check({ kind: 'resize_bilinear_i8', in: [0], out: [1], w: {}, p: { inH: 2, inW: 3, c: 4, outH: 2, outW: 3, alignCorners: 0, halfPixel: 1, fast: 1 } }, ts)).toThrow(/bytes/);
  });
});
