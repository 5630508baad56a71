// 16x8 kernels (assembly/int16.ts): every SIMD kernel equals its scalar reference bit for bit on
// random vectors (including the i64 partial sums of long reductions, borders, odd channel counts),
// and the references equal an independent JS (BigInt) spelling of TFLite's arithmetic.
import { describe, it, expect, beforeAll } from 'vitest';
import { loadWasm, rng, type Wasm } from './wasm-harness.ts';
import { quantizeMultiplier } from '../../src/model/quant.ts';
import { packConvWeights } from '../../src/model/pack.ts';
import { packQ16, packDw16Weights, reducedMultiplier, softmaxInt16Luts } from '../../src/model/pack-int16.ts';
import { convScratchBytes } from '../../src/model/pack.ts';

let w: Wasm;
beforeAll(async () => {
  w = await loadWasm();
});

type R = ReturnType<typeof rng>;
const i16 = (p: number, n: number) => new Int16Array(w.memory.buffer.slice(p, p + 2 * n));
const randI16 = (r: R, n: number, lo = -32768, hi = 32767) => Int16Array.from({ length: n }, () => r.int(lo, hi));
const randI8 = (r: R, n: number, lo = -127, hi = 127) => Int8Array.from({ length: n }, () => r.int(lo, hi));

/** JS spec of MultiplyByQuantizedMultiplier(int64 x, m, shift). */
function mbqm64(x: bigint, m: number, shift: number): number {
  const rm = BigInt(reducedMultiplier(m));
  const ts = BigInt(15 - shift);
  return Number(BigInt.asIntN(32, (x * rm + (1n << (ts - 1n))) >> ts));
}

function geometry(r: R, opts: { maxK?: number; maxC?: number; dw?: boolean } = {}) {
  const inH = r.int(1, 12), inW = r.int(1, 12);
  const kH = r.int(1, Math.min(opts.maxK ?? 5, inH + 1)), kW = r.int(1, Math.min(opts.maxK ?? 5, inW + 1));
  const sH = r.int(1, 3), sW = r.int(1, 3), dH = r.int(1, 2), dW = r.int(1, 2);
  const same = r.next() < 0.6;
  const geo = (inS: number, k: number, s: number, d: number) => {
    const eff = (k - 1) * d + 1;
    const out = same ? Math.floor((inS + s - 1) / s) : Math.floor((inS - eff + s) / s);
    const pad = Math.max(0, Math.floor(((out - 1) * s + eff - inS) / 2));
    return { out, pad };
  };
  const gh = geo(inH, kH, sH, dH), gw = geo(inW, kW, sW, dW);
  return { inH, inW, kH, kW, sH, sW, dH, dW, outH: gh.out, outW: gw.out, padT: gh.pad, padL: gw.pad };
}

function requantParams(r: R, C: number, wide = false) {
  const bias = BigInt64Array.from({ length: C }, () => BigInt(r.int(-(2 ** 24), 2 ** 24)) * (wide ? 4096n : 1n));
  const mult = new Int32Array(C), shift = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    const real = Math.exp(r.next() * 12 - 14); // ~1e-6 .. 0.1
    [mult[c], shift[c]] = quantizeMultiplier(c === 0 && r.next() < 0.2 ? 0 : real);
    if (shift[c]! > 7) shift[c] = 7;
  }
  return { bias, mult, shift };
}

describe('conv_i16', () => {
  it('fast kernel equals the reference (random geometries, long K with i64 partials, 1..3 pixel rows)', () => {
    const r = rng(16);
    for (let iter = 0; iter < 120; iter++) {
      w.reset();
      const fc = iter % 6 === 5;
      const g = fc ? { inH: 1, inW: r.int(1, 5), kH: 1, kW: 1, sH: 1, sW: 1, dH: 1, dW: 1, padT: 0, padL: 0, outH: 1, outW: 0 } : geometry(r);
      if (fc) g.outW = g.inW;
      if (g.outH < 1 || g.outW < 1) continue;
      const inC = iter % 7 === 0 ? r.int(200, 700) : r.int(1, 40); // 700 * kH * kW pairs > 128 -> partial flushes
      const outC = r.int(1, 37);
      const K = g.kH * g.kW * inC;
      const x = w.put(randI16(r, g.inH * g.inW * inC, iter % 3 ? -32768 : -300, iter % 3 ? 32767 : 300));
      const wt = randI8(r, outC * K, iter % 4 ? -127 : -128, 127);
      const { bias, mult, shift } = requantParams(r, outC);
      const q = w.put(packQ16(bias, mult, shift));
      const actMin = iter % 3 === 0 ? r.int(-32768, 0) : -32768, actMax = iter % 3 === 0 ? r.int(0, 32767) : 32767;
      const n = g.outH * g.outW * outC;
      const o1 = w.alloc(2 * n), o2 = w.alloc(2 * n);
      const geo = [g.kH, g.kW, g.sH, g.sW, g.dH, g.dW, g.padT, g.padL];
      w.exports.conv_i16_ref(x, g.inH, g.inW, inC, w.put(wt), q, o1, g.outH, g.outW, outC, actMin, actMax, ...geo);
      const scratch = w.alloc(convScratchBytes(g.kH, g.kW, inC, g.outW));
      w.exports.conv_i16(x, g.inH, g.inW, inC, w.put(packConvWeights(wt, outC, g.kH, g.kW, inC)), q, o2, g.outH, g.outW, outC, actMin, actMax, ...geo, scratch);
      expect(i16(o2, n), `iter ${iter}`).toEqual(i16(o1, n));
    }
  });

  it('reference equals a BigInt spelling of TFLite ConvPerChannel<int64>', () => {
    const r = rng(3);
    for (let iter = 0; iter < 20; iter++) {
      w.reset();
      const g = geometry(r, { maxK: 3 });
      if (g.outH < 1 || g.outW < 1) continue;
      const inC = r.int(1, 9), outC = r.int(1, 9), K = g.kH * g.kW * inC;
      const xs = randI16(r, g.inH * g.inW * inC), ws = randI8(r, outC * K);
      const { bias, mult, shift } = requantParams(r, outC, true);
      const o = w.alloc(2 * g.outH * g.outW * outC);
      w.exports.conv_i16_ref(w.put(xs), g.inH, g.inW, inC, w.put(ws), w.put(packQ16(bias, mult, shift)), o, g.outH, g.outW, outC, -32768, 32767,
        g.kH, g.kW, g.sH, g.sW, g.dH, g.dW, g.padT, g.padL);
      const got = i16(o, g.outH * g.outW * outC);
      for (let oy = 0; oy < g.outH; oy++) for (let ox = 0; ox < g.outW; ox++) for (let co = 0; co < outC; co++) {
        let acc = 0n;
        for (let ky = 0; ky < g.kH; ky++) for (let kx = 0; kx < g.kW; kx++) {
          const iy = oy * g.sH - g.padT + ky * g.dH, ix = ox * g.sW - g.padL + kx * g.dW;
          if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) continue;
          for (let ci = 0; ci < inC; ci++) acc += BigInt(xs[(iy * g.inW + ix) * inC + ci]! * ws[co * K + (ky * g.kW + kx) * inC + ci]!);
        }
        const v = Math.min(32767, Math.max(-32768, mbqm64(acc + bias[co]!, mult[co]!, shift[co]!)));
        expect(got[(oy * g.outW + ox) * outC + co]).toBe(v);
      }
    }
  });
});

describe('dw_i16', () => {
  it('fast kernel equals the reference (borders, strides, dilation, odd channel counts, narrow rows)', () => {
    const r = rng(17);
    for (let iter = 0; iter < 150; iter++) {
      w.reset();
      const g = geometry(r, { maxK: 5 });
      if (g.outH < 1 || g.outW < 1) continue;
      const C = iter % 10 === 0 ? r.int(100, 300) : r.int(1, 40);
      const T = g.kH * g.kW;
      const x = w.put(randI16(r, g.inH * g.inW * C));
      const wt = randI8(r, T * C);
      const { bias, mult, shift } = requantParams(r, C);
      const q = w.put(packQ16(bias, mult, shift));
      const actMin = iter % 3 === 0 ? r.int(-32768, 0) : -32768, actMax = iter % 3 === 0 ? r.int(0, 32767) : 32767;
      const n = g.outH * g.outW * C;
      const o1 = w.alloc(2 * n), o2 = w.alloc(2 * n);
      const geo = [g.kH, g.kW, g.sH, g.sW, g.dH, g.dW, g.padT, g.padL];
      w.exports.dw_i16_ref(x, g.inH, g.inW, C, w.put(wt), 1, q, o1, g.outH, g.outW, C, actMin, actMax, ...geo);
      w.exports.dw_i16(x, g.inH, g.inW, C, w.put(packDw16Weights(wt, T, C)), q, o2, g.outH, g.outW, actMin, actMax, ...geo);
      expect(i16(o2, n), `iter ${iter}`).toEqual(i16(o1, n));
    }
  });
});

describe('add_i16', () => {
  it('SIMD equals reference (random scales, clamps, tails; non-zero offsets take the scalar path)', () => {
    const r = rng(18);
    for (let iter = 0; iter < 200; iter++) {
      w.reset();
      const n = r.int(1, 300);
      const sa = Math.exp(r.next() * 6 - 10), sb = Math.exp(r.next() * 6 - 10);
      const so = iter % 5 === 0 ? Math.min(sa, sb) / 20 : Math.exp(r.next() * 6 - 10);
      const twice = 2 * Math.max(sa, sb);
      const [am, as] = quantizeMultiplier(sa / twice);
      const [bm, bs] = quantizeMultiplier(sb / twice);
      const [om, os] = quantizeMultiplier(twice / ((1 << 15) * so));
      const a = w.put(randI16(r, n)), b = w.put(randI16(r, n));
      const o1 = w.alloc(2 * n), o2 = w.alloc(2 * n);
      const actMin = iter % 3 === 0 ? r.int(-32768, 0) : -32768, actMax = iter % 3 === 0 ? r.int(0, 32767) : 32767;
      const off = iter % 11 === 0 ? r.int(-100, 100) : 0;
      const args = [n, off, am, as, 0, bm, bs, 15, om, os, 0, actMin, actMax];
      w.exports.add_i16_ref(a, b, o1, ...args);
      w.exports.add_i16(a, b, o2, ...args);
      expect(i16(o2, n)).toEqual(i16(o1, n));
    }
  });
});

describe('pooling and MEAN, int16', () => {
  it('maxpool_i16 / avgpool_i16 SIMD equal their references', () => {
    const r = rng(19);
    for (let iter = 0; iter < 150; iter++) {
      w.reset();
      const g = geometry(r, { maxK: 4 });
      if (g.outH < 1 || g.outW < 1) continue;
      const c = r.int(1, 40);
      const x = w.put(randI16(r, g.inH * g.inW * c));
      const n = g.outH * g.outW * c;
      const actMin = iter % 3 === 0 ? r.int(-32768, 0) : -32768, actMax = iter % 3 === 0 ? r.int(0, 32767) : 32767;
      const args = [g.outH, g.outW, g.kH, g.kW, g.sH, g.sW, g.padT, g.padL, actMin, actMax];
      const o1 = w.alloc(2 * n), o2 = w.alloc(2 * n), o3 = w.alloc(2 * n), o4 = w.alloc(2 * n);
      w.exports.maxpool_i16_ref(x, g.inH, g.inW, c, o1, ...args);
      w.exports.maxpool_i16(x, g.inH, g.inW, c, o2, ...args);
      expect(i16(o2, n)).toEqual(i16(o1, n));
      w.exports.avgpool_i16_ref(x, g.inH, g.inW, c, o3, ...args);
      w.exports.avgpool_i16(x, g.inH, g.inW, c, o4, ...args, w.alloc(4 * (c + 8) + 16));
      expect(i16(o4, n)).toEqual(i16(o3, n));
    }
  });

  it('mean_hw_i16 SIMD equals reference', () => {
    const r = rng(20);
    for (let iter = 0; iter < 100; iter++) {
      w.reset();
      const h = r.int(1, 20), wd = r.int(1, 20), c = r.int(1, 70);
      const x = w.put(randI16(r, h * wd * c));
      const [m, s] = quantizeMultiplier(Math.exp(r.next() * 4 - 2) / (h * wd));
      const o1 = w.alloc(2 * c), o2 = w.alloc(2 * c);
      w.exports.mean_hw_i16_ref(x, h, wd, c, o1, m, s);
      w.exports.mean_hw_i16(x, h, wd, c, o2, m, s, w.alloc(4 * (c + 8) + 16));
      expect(i16(o2, c)).toEqual(i16(o1, c));
    }
  });
});

describe('softmax_i16', () => {
  it('follows TFLite SoftmaxInt16: probabilities in Q0.15, close to the float softmax', () => {
    const r = rng(21);
    const lut = softmaxInt16Luts();
    for (let iter = 0; iter < 20; iter++) {
      w.reset();
      const depth = r.int(2, 1001);
      const scale = Math.exp(r.next() * 3 - 9); // ~1e-4 .. 2.5e-3
      const xs = randI16(r, depth, -Math.round(8 / scale), Math.round(8 / scale));
      const [m, s] = quantizeMultiplier((scale * 1.0) / (10 / 65535));
      const o = w.alloc(2 * depth);
      w.exports.softmax_i16(w.put(xs), o, 1, depth, m, s, w.put(lut));
      const got = i16(o, depth);
      const mx = Math.max(...xs);
      const e = Array.from(xs, (v) => Math.exp((v - mx) * scale));
      const sum = e.reduce((a, b) => a + b, 0);
      let maxErr = 0;
      e.forEach((v, i) => { maxErr = Math.max(maxErr, Math.abs(got[i]! / 32768 - v / sum)); });
      expect(maxErr).toBeLessThan(2e-3);
      // argmax preserved
      expect(got.indexOf(Math.max(...got))).toBe(xs.indexOf(mx));
    }
  });
});

describe('conversions', () => {
  it('requantize int8 -> int16 by 128 is exact; int16 -> int8 and (de)quantize round as TFLite', () => {
    w.reset();
    const xs = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    const o = w.alloc(512);
    const [m, s] = quantizeMultiplier(128);
    w.exports.requantize_i8_i16(w.put(xs), o, 256, -128, m, s, 0);
    expect(Array.from(i16(o, 256))).toEqual(Array.from(xs, (v) => (v + 128) * 128));
    const back = w.alloc(256);
    const [m2, s2] = quantizeMultiplier(1 / 128);
    w.exports.requantize_i16_i8(o, back, 256, 0, m2, s2, -128);
    expect(Array.from(w.i8(back, 256))).toEqual(Array.from(xs));
    const f = w.alloc(1024);
    w.exports.dequantize_i16_f32(o, f, 256, 0.5, 0);
    expect(Array.from(w.f32(f, 256))).toEqual(Array.from(xs, (v) => (v + 128) * 64));
    const q = w.alloc(512);
    w.exports.quantize_f32_i16(w.put(Float32Array.from([0, 0.25, 0.75, -0.25, -0.75, 1e9, -1e9, 3.5])), q, 8, 0.5, 0);
    expect(Array.from(i16(q, 8))).toEqual([0, 1, 2, -1, -2, 32767, -32768, 7]);
  });
});
