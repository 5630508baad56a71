// Fast kernels vs their scalar references on the same random vectors: ADD,
// pooling, MEAN, float conv/depthwise; plus properties of softmax and PAD.
import { describe, it, expect, beforeAll } from 'vitest';
import { loadWasm, rng, type Wasm } from './wasm-harness.ts';
import { quantizeMultiplier, bitsF32 } from '../../src/model/quant.ts';
import { solveAddAffine, addTable, type AddParams } from '../../src/model/add-affine.ts';

let w: Wasm;
beforeAll(async () => {
  w = await loadWasm();
});

const firstDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : x.length;
};
/** ADD's multipliers and shifts for random input / output scales (as compile.ts derives them); a tiny
 *  output scale saturates most results */
const addScales = (r: ReturnType<typeof rng>, tinyOut = false) => {
  const sa = Math.exp(r.next() * 6 - 5), sb = Math.exp(r.next() * 6 - 5);
  const so = tinyOut ? Math.min(sa, sb) / 50 : Math.exp(r.next() * 6 - 5);
  const twice = 2 * Math.max(sa, sb);
  return [...quantizeMultiplier(sa / twice), ...quantizeMultiplier(sb / twice), ...quantizeMultiplier(twice / ((1 << 20) * so))] as const;
};
const randI8 = (r: ReturnType<typeof rng>, n: number, lo = -128, hi = 127) => Int8Array.from({ length: n }, () => r.int(lo, hi));

describe('add_i8', () => {
  it('SIMD equals reference on random tensors, scales and clamps (incl. saturation)', () => {
    const r = rng(7);
    for (let iter = 0; iter < 300; iter++) {
      w.reset();
      const n = r.int(1, 300);
      const [am, as, bm, bs, om, os] = addScales(r, iter % 5 === 0);
      const a = w.put(randI8(r, n)), b = w.put(randI8(r, n));
      const o1 = w.alloc(n), o2 = w.alloc(n);
      const actMin = iter % 3 === 0 ? r.int(-128, 0) : -128, actMax = iter % 3 === 0 ? r.int(0, 127) : 127;
      const args = [n, -r.int(-128, 127), am, as, -r.int(-128, 127), bm, bs, 20, om, os, r.int(-128, 127), actMin, actMax];
      w.exports.add_i8_ref(a, b, o1, ...args);
      w.exports.add_i8(a, b, o2, ...args);
      expect(w.i8(o2, n)).toEqual(w.i8(o1, n));
    }
  });
  it('SIMD equals reference for any left shift, extreme multipliers, offsets and inputs', () => {
    const r = rng(11);
    const mults = [0, 1, 2047, 2048, 1 << 30, (1 << 30) + 12345, 0x7fffffff, 0x7ffff800, 0x400007ff];
    for (let iter = 0; iter < 400; iter++) {
      w.reset();
      const n = r.int(1, 200);
      const leftShift = r.int(0, 22);
      const pick = () => (r.next() < 0.4 ? mults[r.int(0, mults.length - 1)]! : r.int(1 << 30, 0x7fffffff));
      const am = pick(), bm = pick(), om = pick();
      const as = -r.int(0, 12), bs = -r.int(0, 12), os = -r.int(0, 24);
      const ext = iter % 4 === 0;
      const a = w.put(ext ? Int8Array.from({ length: n }, () => (r.next() < 0.5 ? -128 : 127)) : randI8(r, n));
      const b = w.put(ext ? Int8Array.from({ length: n }, () => (r.next() < 0.5 ? -128 : 127)) : randI8(r, n));
      const o1 = w.alloc(n), o2 = w.alloc(n);
      const off = () => (r.next() < 0.3 ? [-128, 128, -127, 127][r.int(0, 3)]! : -r.int(-128, 127));
      const args = [n, off(), am, as, off(), bm, bs, leftShift, om, os, r.int(-128, 127), -128, 127];
      w.exports.add_i8_ref(a, b, o1, ...args);
      w.exports.add_i8(a, b, o2, ...args);
      expect(w.i8(o2, n)).toEqual(w.i8(o1, n));
    }
  });
  it('result table (add_i8_lut_build + add_i8_lut) equals the reference on all 65536 input pairs', () => {
    const r = rng(12);
    const N = 65536;
    const aa = new Int8Array(N), bb = new Int8Array(N);
    for (let i = 0; i < N; i++) { aa[i] = i >> 8; bb[i] = i & 255; }
    for (let iter = 0; iter < 16; iter++) {
      w.reset();
      const [am, as, bm, bs, om, os] = addScales(r);
      // iter 6, 7: left shifts and extreme multipliers (add_i8's scalar fallback inside the table build)
      const params = iter < 6
        ? [-r.int(-128, 127), am, as, -r.int(-128, 127), bm, bs, 20, om, os, r.int(-128, 127), iter % 2 ? -128 : r.int(-128, 0), iter % 2 ? 127 : r.int(0, 127)]
        : iter < 8
          ? [-r.int(-128, 127), 0x7fffffff, 2, 128, 1 << 30, -3, r.int(0, 22), (1 << 30) + 7, iter - 5, r.int(-128, 127), -128, 127]
          : [ // the threshold build's edges: zero / tiny output shifts, R 21-23, a zero output multiplier,
              // one-value clamps, negative b multipliers (non-monotone b stage), extreme offsets
              [128, am, as, -128, bm, bs, 20, om, 0, 127, -128, 127],
              [-128, am, as, 128, bm, bs, 20, om, -1, -128, -128, 127],
              [0, am, as, 0, bm, bs, 20, 0x7fffffff, -21, 5, -128, 127],
              [0, am, as, 0, bm, bs, 20, 0x7fffffff, -23, 5, -128, 127],
              [3, am, as, -7, bm, bs, 20, 0, -5, 17, -128, 127],
              [3, am, as, -7, bm, bs, 20, om, os, 0, 40, 40],
              [3, am, as, -7, -bm, bs, 20, om, os, 0, -128, 127],
              [3, am, as, -7, bm, 2, 20, om, os, 0, -128, 127],
            ][iter - 8]!;
      const a = w.put(aa), b = w.put(bb), o1 = w.alloc(N), o2 = w.alloc(N + 16), tbl = w.alloc(N + 16);
      w.exports.add_i8_ref(a, b, o1, N, ...params);
      w.exports.add_i8_lut_build(tbl, ...params);
      // odd lengths and offsets exercise the 16-wide loop and the scalar tail
      for (const [off, n] of [[0, N], [5, 1000], [17, 15], [3, 33]]) {
        w.exports.add_i8_lut(a + off, b + off, o2 + off, n, tbl);
        expect(w.i8(o2 + off, n)).toEqual(w.i8(o1 + off, n));
      }
    }
  });
  it('f32 form (solveAddAffine + add_i8_f) equals the reference on all 65536 input pairs; its gamma is the least that works', () => {
    const r = rng(13);
    const N = 65536;
    const aa = new Int8Array(N), bb = new Int8Array(N);
    for (let i = 0; i < N; i++) { aa[i] = (i >> 8) - 128; bb[i] = (i & 255) - 128; } // addTable's order
    let solved = 0;
    for (let iter = 0; iter < 24; iter++) {
      w.reset();
      const [aMult, aShift, bMult, bShift, outMult, outShift] = addScales(r, iter % 6 === 5);
      const clamp = iter % 3 === 0;
      const p: AddParams = {
        aOffset: -r.int(-128, 127), aMult, aShift, bOffset: -r.int(-128, 127), bMult, bShift, leftShift: 20, outMult, outShift,
        outOffset: r.int(-128, 127), actMin: clamp ? r.int(-128, 0) : -128, actMax: clamp ? r.int(0, 127) : 127,
      };
      const params = [p.aOffset, p.aMult, p.aShift, p.bOffset, p.bMult, p.bShift, p.leftShift, p.outMult, p.outShift, p.outOffset, p.actMin, p.actMax];
      const a = w.put(aa), b = w.put(bb), o1 = w.alloc(N), o2 = w.alloc(N + 16);
      w.exports.add_i8_ref(a, b, o1, N, ...params);
      const ref = w.i8(o1, N);
      expect(firstDiff(addTable(p), ref), 'the solver\'s JS table').toBe(-1);
      const f = solveAddAffine(p);
      if (!f) continue;
      solved++;
      const [al, be, ga] = f.map(bitsF32) as [number, number, number];
      // odd lengths and offsets exercise the 16-wide loop and the scalar tail
      for (const [off, n] of [[0, N], [5, 1000], [17, 15], [3, 33]]) {
        w.exports.add_i8_f(a + off, b + off, o2 + off, n, al, be, ga, p.actMin, p.actMax);
        expect(firstDiff(w.i8(o2 + off, n), w.i8(o1 + off, n)), `add_i8_f, offset ${off}, length ${n}`).toBe(-1);
      }
      // one f32 step lower, some pair rounds below the reference (the bisection's bound is tight)
      const gaLower = bitsF32(f[2] + (ga > 0 ? -1 : 1));
      w.exports.add_i8_f(a, b, o2, N, al, be, gaLower, p.actMin, p.actMax);
      expect(firstDiff(w.i8(o2, N), ref)).toBeGreaterThanOrEqual(0);
    }
    expect(solved).toBeGreaterThan(12);
  });
  it('reference equals an independent float-free JS spec on a small case', () => {
    // TFLite Add with both scales equal: out = clamp(round-ish((a-za)+(b-zb)) + zo)
    w.reset();
    const a = w.put(Int8Array.from([10, -20, 127, -128])), b = w.put(Int8Array.from([5, 5, 127, -128]));
    const o = w.alloc(4);
    const s = 0.05, twice = 2 * s;
    const [am, as] = quantizeMultiplier(0.5);
    const [om, os] = quantizeMultiplier(twice / ((1 << 20) * s));
    w.exports.add_i8_ref(a, b, o, 4, 0, am, as, 0, am, as, 20, om, os, 0, -128, 127);
    expect(Array.from(w.i8(o, 4))).toEqual([15, -15, 127, -128]);
  });
});

function poolCase(r: ReturnType<typeof rng>) {
  const inH = r.int(1, 12), inW = r.int(1, 12), c = r.int(1, 40);
  const fH = r.int(1, Math.min(4, inH)), fW = r.int(1, Math.min(4, inW)), sH = r.int(1, 3), sW = r.int(1, 3);
  const same = r.next() < 0.5;
  const geo = (inS: number, f: number, s: number) => {
    const out = same ? Math.floor((inS + s - 1) / s) : Math.floor((inS - f + s) / s);
    const pad = Math.max(0, Math.floor(((out - 1) * s + f - inS) / 2));
    return { out, pad };
  };
  const gh = geo(inH, fH, sH), gw = geo(inW, fW, sW);
  return { inH, inW, c, fH, fW, sH, sW, outH: gh.out, outW: gw.out, padT: gh.pad, padL: gw.pad };
}

describe('pooling', () => {
  it('maxpool_i8 SIMD equals reference (odd channels, SAME/VALID, stride 2, clamps)', () => {
    const r = rng(11);
    for (let iter = 0; iter < 200; iter++) {
      w.reset();
      const g = poolCase(r);
      const x = w.put(randI8(r, g.inH * g.inW * g.c));
      const n = g.outH * g.outW * g.c;
      const o1 = w.alloc(n), o2 = w.alloc(n);
      const amin = r.int(-128, -100), amax = r.int(50, 127);
      const args = [g.inH, g.inW, g.c, 0, g.outH, g.outW, g.fH, g.fW, g.sH, g.sW, g.padT, g.padL, amin, amax];
      w.exports.maxpool_i8_ref(x, ...args.slice(0, 3), o1, ...args.slice(4));
      w.exports.maxpool_i8(x, ...args.slice(0, 3), o2, ...args.slice(4));
      expect(w.i8(o2, n)).toEqual(w.i8(o1, n));
    }
  });
  it('avgpool_i8 SIMD equals reference, int8 and uint8-domain rounding', () => {
    const r = rng(12);
    for (let iter = 0; iter < 200; iter++) {
      w.reset();
      const g = poolCase(r);
      const x = w.put(randI8(r, g.inH * g.inW * g.c));
      const n = g.outH * g.outW * g.c;
      const o1 = w.alloc(n), o2 = w.alloc(n), scratch = w.alloc(4 * g.c + 16);
      const offset = iter % 2 ? 128 : 0;
      const a = [g.inH, g.inW, g.c] as const;
      const b = [g.outH, g.outW, g.fH, g.fW, g.sH, g.sW, g.padT, g.padL, -128, 127, offset] as const;
      w.exports.avgpool_i8_ref(x, ...a, o1, ...b);
      w.exports.avgpool_i8(x, ...a, o2, ...b, scratch);
      expect(w.i8(o2, n)).toEqual(w.i8(o1, n));
    }
  });
  it('avgpool rounds halves away from zero (int8) and up (uint8 domain)', () => {
    w.reset();
    const x = w.put(Int8Array.from([-3, -2])); // mean -2.5
    const o = w.alloc(1);
    w.exports.avgpool_i8_ref(x, 1, 2, 1, o, 1, 1, 1, 2, 1, 1, 0, 0, -128, 127, 0);
    expect(w.i8(o, 1)[0]).toBe(-3);
    w.exports.avgpool_i8_ref(x, 1, 2, 1, o, 1, 1, 1, 2, 1, 1, 0, 0, -128, 127, 128);
    expect(w.i8(o, 1)[0]).toBe(-2);
  });
});

describe('mean_hw_i8', () => {
  it('SIMD equals reference and an independent JS spec', () => {
    const r = rng(13);
    for (let iter = 0; iter < 100; iter++) {
      w.reset();
      const h = r.int(1, 9), ww = r.int(1, 9), c = r.int(1, 37);
      const data = randI8(r, h * ww * c);
      const x = w.put(data);
      const o1 = w.alloc(c), o2 = w.alloc(c), scratch = w.alloc(4 * c + 16);
      const inZp = r.int(-128, 127), outZp = r.int(-128, 127);
      const n = h * ww;
      let [mult, shift] = quantizeMultiplier(Math.exp(r.next() * 4 - 2));
      let sh = Math.min(31 - Math.clz32(n), 32, 31 + shift);
      mult = Number((BigInt(mult) << BigInt(sh)) / BigInt(n));
      shift -= sh;
      w.exports.mean_hw_i8_ref(x, h, ww, c, o1, inZp, mult, shift, outZp);
      w.exports.mean_hw_i8(x, h, ww, c, o2, inZp, mult, shift, outZp, scratch);
      const ref = w.i8(o1, c);
      expect(w.i8(o2, c)).toEqual(ref);
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += data[i * c + ch]!;
        const spec = Math.max(-128, Math.min(127, Number(w.exports.test_mbqm(s - inZp * n, mult, shift)) + outZp));
        expect(ref[ch]).toBe(spec);
      }
    }
  });
});

describe('softmax_i8', () => {
  it('outputs a distribution: sums to ~256 steps, argmax preserved, monotone', () => {
    const r = rng(14);
    for (let iter = 0; iter < 100; iter++) {
      w.reset();
      const depth = r.int(2, 1001);
      const data = randI8(r, depth);
      const x = w.put(data), o = w.alloc(depth), s = w.alloc(16);
      const inScale = Math.exp(r.next() * 4 - 4);
      const [mult, ls] = quantizeMultiplier(Math.min(inScale * 2 ** 26, 2 ** 31 - 1));
      const radius = Math.floor((31 * 2 ** 26) / 2 ** ls);
      w.exports.softmax_i8(x, o, 1, depth, mult, ls, -radius, s);
      const out = Array.from(w.i8(o, depth)).map((v) => v + 128);
      const sum = out.reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - 256)).toBeLessThanOrEqual(depth);
      let mi = 0;
      for (let i = 1; i < depth; i++) if (data[i]! > data[mi]!) mi = i;
      expect(out[mi]).toBe(Math.max(...out));
      for (let i = 0; i < depth; i++) for (let j = 0; j < 3; j++) {
        const k = r.int(0, depth - 1);
        if (data[i]! > data[k]!) expect(out[i]).toBeGreaterThanOrEqual(out[k]!);
      }
    }
  });
});

describe('softmax_i8 (tabulated) == softmax_i8_ref', () => {
  it('long and short rows, narrow and full value spans, several rows, diffMin cutoffs', () => {
    const r = rng(16);
    for (let iter = 0; iter < 200; iter++) {
      w.reset();
      const depth = [1, 2, 3, 50, 129, 1001][r.int(0, 5)], outer = r.int(1, 3);
      const lo = r.int(-128, 127), hi = r.int(lo, 127);
      const data = Int8Array.from({ length: depth * outer }, () => r.int(lo, hi));
      const x = w.put(data), o1 = w.alloc(depth * outer), o2 = w.alloc(depth * outer), s = w.alloc(16);
      const inScale = Math.exp(r.next() * 6 - 5);
      const [mult, ls] = quantizeMultiplier(Math.min(inScale * 2 ** 26, 2 ** 31 - 1));
      const radius = r.next() < 0.3 ? r.int(0, 300) : Math.floor((31 * 2 ** 26) / 2 ** ls);
      w.exports.softmax_i8_ref(x, o1, outer, depth, mult, ls, -radius, s);
      w.exports.softmax_i8(x, o2, outer, depth, mult, ls, -radius, s);
      expect(w.i8(o2, depth * outer)).toEqual(w.i8(o1, depth * outer));
    }
  });
});

describe('float conv / depthwise', () => {
  it('conv_f32 and dw_f32 equal their references within 1e-5 relative', () => {
    const r = rng(15);
    for (let iter = 0; iter < 60; iter++) {
      w.reset();
      const inH = r.int(1, 9), inW = r.int(1, 9), inC = r.int(1, 13), outC = r.int(1, 19);
      const k = r.int(1, 3), s = r.int(1, 2), same = r.next() < 0.5;
      const out = (n: number) => (same ? Math.floor((n + s - 1) / s) : Math.floor((n - k + s) / s));
      const outH = out(inH), outW = out(inW);
      if (outH < 1 || outW < 1) continue;
      const pad = (n: number, o: number) => Math.max(0, Math.floor(((o - 1) * s + k - n) / 2));
      const x = w.put(Float32Array.from({ length: inH * inW * inC }, () => r.next() * 2 - 1));
      const wt = Float32Array.from({ length: outC * k * k * inC }, () => r.next() * 2 - 1);
      const bias = Float32Array.from({ length: outC }, () => r.next() - 0.5);
      const coPad = (outC + 3) & ~3;
      const packed = new Float32Array(k * k * inC * coPad);
      for (let co = 0; co < outC; co++) for (let kk = 0; kk < k * k * inC; kk++) packed[kk * coPad + co] = wt[co * k * k * inC + kk]!;
      const bp = new Float32Array(coPad); bp.set(bias);
      const n = outH * outW * outC;
      const o1 = w.alloc(4 * n), o2 = w.alloc(4 * n), scratch = w.alloc(4 * coPad + 16);
      const g = [k, k, s, s, 1, 1, pad(inH, outH), pad(inW, outW)];
      w.exports.conv_f32_ref(x, inH, inW, inC, w.put(wt), w.put(bias), o1, outH, outW, outC, -1e30, 6, ...g);
      w.exports.conv_f32(x, inH, inW, inC, w.put(packed), w.put(bp), o2, outH, outW, outC, -1e30, 6, ...g, scratch);
      const a = w.f32(o1, n), b = w.f32(o2, n);
      for (let i = 0; i < n; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(a[i]!)));
      // depthwise on the same input (multiplier 1)
      const dwW = Float32Array.from({ length: k * k * inC }, () => r.next() * 2 - 1);
      const cPad = (inC + 3) & ~3;
      const dwP = new Float32Array(k * k * cPad);
      for (let t = 0; t < k * k; t++) for (let c = 0; c < inC; c++) dwP[t * cPad + c] = dwW[t * inC + c]!;
      const db = Float32Array.from({ length: inC }, () => r.next() - 0.5);
      const dbp = new Float32Array(cPad); dbp.set(db);
      const m = outH * outW * inC;
      const d1 = w.alloc(4 * m), d2 = w.alloc(4 * m);
      w.exports.dw_f32_ref(x, inH, inW, inC, w.put(dwW), 1, w.put(db), d1, outH, outW, inC, 0, 1e30, ...g);
      w.exports.dw_f32(x, inH, inW, inC, w.put(dwP), w.put(dbp), d2, outH, outW, 0, 1e30, ...g, scratch);
      const c1 = w.f32(d1, m), c2 = w.f32(d2, m);
      for (let i = 0; i < m; i++) expect(Math.abs(c1[i]! - c2[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(c1[i]!)));
    }
  });
});

describe('pad_nhwc', () => {
  it('copies the interior and fills the border with the pad value', () => {
    w.reset();
    const x = w.put(Int8Array.from([1, 2, 3, 4])); // [1,2,2,1]
    const o = w.alloc(4 * 4);
    w.exports.pad_nhwc(x, o, 1, 1, 2, 2, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0xf6); // value -10
    expect(Array.from(w.i8(o, 16))).toEqual([-10, -10, -10, -10, -10, 1, 2, -10, -10, 3, 4, -10, -10, -10, -10, -10]);
  });
});
