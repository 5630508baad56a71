// DEPTHWISE_CONV_2D kernels: dw_ref_i8 (the spec) against an independent JS statement of the formula,
// and dw_i8 (fast, depth multiplier 1) against dw_ref_i8, byte for byte.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWasm, rng, type Wasm } from './wasm-harness';
import { packDepthwiseWeights, fastDepthwiseSupported, packRequant } from '../../src/model/pack';
import {
 jsDepthwise, runDwRef, runDwFast, requantFor, reachDiffers, withDeadChannels, withReluClamp, shrinkForFast2r, checkFast2rBothWays, outDim, randomRequant, randomInt8, REQUANT_MODE_VARIANTS, type ConvCase,
} from './conv-spec';

let wasm: Wasm;
beforeAll(async () => { wasm = await loadWasm(); });

type Rng = ReturnType<typeof rng>;

interface Shape {
  inH: number; inW: number; c: number; k: number; kW?: number; s: number; sW?: number; d: number;
  mode: 'same' | 'valid' | 'random'; w16?: boolean; inZp?: number; saturate?: boolean; leftShift?: boolean;
  act?: [number, number]; depthMult?: number;
}

function makeCase(r: Rng, sh: Shape): ConvCase | null {
  const kH = sh.k, kW = sh.kW ?? sh.k, sH = sh.s, sW = sh.sW ?? sh.s;
  const [outH, padTop] = outDim(r, sh.inH, kH, sH, sh.d, sh.mode);
  const [outW, padLeft] = outDim(r, sh.inW, kW, sW, sh.d, sh.mode);
  if (outH <= 0 || outW <= 0) return null;
  const dm = sh.depthMult ?? 1;
  const outC = sh.c * dm;
  const T = kH * kW;
  let w: Int8Array | Int16Array;
  if (sh.w16) {
    w = new Int16Array(T * outC);
    for (let i = 0; i < w.length; i++) w[i] = r.int(-255, 255);
  } else {
    w = randomInt8(r, T * outC);
  }
  const bias = new Int32Array(outC);
  for (let i = 0; i < outC; i++) bias[i] = r.int(-5000, 5000);
  const typical = Math.sqrt(T) * 128 * (sh.w16 ? 150 : 75);
  const { mult, shift } = randomRequant(r, outC, typical, { saturate: sh.saturate, leftShift: sh.leftShift });
  const act = sh.act ?? [-128, 127];
  return {
    inH: sh.inH, inW: sh.inW, inC: sh.c, inZp: sh.inZp ?? r.int(-128, 127), w, bias, mult, shift,
    outH, outW, outC, outZp: r.int(-128, 127), actMin: act[0], actMax: act[1],
    kH, kW, sH, sW, dH: sh.d, dW: sh.d, padTop, padLeft, depthMult: dm, input: randomInt8(r, sh.inH * sh.inW * sh.c),
  };
}

const desc = (c: ConvCase) =>
  `in ${c.inH}x${c.inW}x${c.inC} zp ${c.inZp} k ${c.kH}x${c.kW} s ${c.sH}x${c.sW} d ${c.dH} pad ${c.padTop},${c.padLeft} ` +
  `out ${c.outH}x${c.outW}x${c.outC} dm ${c.depthMult} w16 ${c.w instanceof Int16Array}`;

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : a.length;
}

const stats = { inside: 0, total: 0, reach: 0 };
function fastEqualsRef(c: ConvCase) {
  const ref = runDwRef(wasm, c);
  for (const v of ref) { stats.total++; if (v > c.actMin && v < c.actMax) stats.inside++; }
  const fast = runDwFast(wasm, c);
  const i = firstDiff(fast, ref);
  if (i >= 0) throw new Error(`dw_i8 != dw_ref_i8 at ${i} (${fast[i]} vs ${ref[i]}): ${desc(c)}`);
  // packed as the compiler does (requant mode from the reachable accumulator bounds), where that differs
  if (reachDiffers(c)) {
    stats.reach++;
    const out = runDwFast(wasm, c, true);
    const j = firstDiff(out, ref);
    if (j >= 0) throw new Error(`dw_i8 (reach packing) != dw_ref_i8 at ${j} (${out[j]} vs ${ref[j]}): ${desc(c)}`);
  }
  return ref;
}

describe('dw_ref_i8 == independent JS formula', () => {
  it('small random cases incl. depth multiplier > 1 and int16 weights', () => {
    const r = rng(30);
    let n = 0;
    while (n < 80) {
      const c = makeCase(r, {
        inH: r.int(1, 8), inW: r.int(1, 8), c: r.int(1, 11), k: [1, 2, 3, 5][r.int(0, 3)], s: r.int(1, 3), d: r.int(1, 2),
        mode: (['same', 'valid', 'random'] as const)[r.int(0, 2)], w16: r.next() < 0.3, depthMult: r.int(1, 3),
        leftShift: r.next() < 0.2, saturate: r.next() < 0.2, act: r.next() < 0.3 ? [r.int(-128, 0), r.int(0, 127)] : undefined,
      });
      if (!c) continue;
      const js = jsDepthwise(c);
      const ref = runDwRef(wasm, c);
      const i = firstDiff(ref, js);
      if (i >= 0) throw new Error(`dw_ref_i8 != JS at ${i} (${ref[i]} vs ${js[i]}): ${desc(c)}`);
      n++;
    }
  });
});

describe('dw_i8 == dw_ref_i8 (byte-identical)', () => {
  it('random shapes: odd channel counts, strides, pads, dilation, kernels, zero points', () => {
    const r = rng(40);
    const chans = [1, 3, 5, 7, 8, 13, 16, 17, 24, 33, 40];
    let n = 0;
    while (n < 200) {
      const sh: Shape = {
        inH: r.int(1, 13), inW: r.int(1, 13), c: chans[r.int(0, chans.length - 1)], k: [1, 2, 3, 3, 3, 5][r.int(0, 5)],
        s: r.int(1, 2), d: r.next() < 0.2 ? 2 : 1, mode: (['same', 'same', 'valid', 'random'] as const)[r.int(0, 3)],
        w16: r.next() < 0.25, inZp: [-128, 127, undefined][r.int(0, 2)], saturate: r.next() < 0.15, leftShift: r.next() < 0.15,
        act: r.next() < 0.3 ? [r.int(-128, -50), r.int(0, 127)] : undefined,
      };
      if (r.next() < 0.2) { sh.kW = [1, 3, 5][r.int(0, 2)]; sh.sW = r.int(1, 2); }
      const c = makeCase(r, sh);
      if (!c) continue;
      fastEqualsRef(c);
      n++;
    }
    expect(stats.inside / stats.total).toBeGreaterThan(0.5);
  });

  it('MobileNetV2 shapes: 3x3 s1/s2 SAME, channels 32..960', () => {
    const r = rng(41);
    const shapes: Shape[] = [
      { inH: 112, inW: 112, c: 32, k: 3, s: 1, d: 1, mode: 'same' },
      { inH: 112, inW: 112, c: 96, k: 3, s: 2, d: 1, mode: 'same' },
      { inH: 28, inW: 28, c: 144, k: 3, s: 2, d: 1, mode: 'same', act: [-128, 20] },
      { inH: 14, inW: 14, c: 384, k: 3, s: 1, d: 1, mode: 'same' },
      { inH: 14, inW: 14, c: 576, k: 3, s: 2, d: 1, mode: 'same' },
      { inH: 7, inW: 7, c: 960, k: 3, s: 1, d: 1, mode: 'same', inZp: -128 },
    ];
    for (const sh of shapes) fastEqualsRef(makeCase(r, sh)!);
  });

  it('tiny spatial sizes (1x1, 1xN, Nx1, widths < 4) and big kernels', () => {
    const r = rng(42);
    for (const [h, w] of [[1, 1], [1, 2], [2, 1], [1, 5], [5, 1], [2, 3], [3, 2], [1, 7]]) {
      for (const k of [1, 3, 5]) fastEqualsRef(makeCase(r, { inH: h, inW: w, c: 13, k, s: 1, d: 1, mode: 'same' })!);
      fastEqualsRef(makeCase(r, { inH: h, inW: w, c: 9, k: 3, s: 2, d: 1, mode: 'same' })!);
    }
    fastEqualsRef(makeCase(r, { inH: 12, inW: 11, c: 17, k: 7, s: 1, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 20, inW: 20, c: 5, k: 5, s: 1, d: 3, mode: 'same' })!);
    // more channels than the kernel's zero-point row (8176): border taps take the select path
    fastEqualsRef(makeCase(r, { inH: 3, inW: 5, c: 8181, k: 3, s: 1, d: 1, mode: 'same' })!);
    fastEqualsRef(makeCase(r, { inH: 4, inW: 3, c: 8177, k: 3, s: 2, d: 1, mode: 'same', inZp: -128 })!);
  });

  it('saturation at the int8 limits, ReLU6-like clamps, large multipliers with left shifts', () => {
    const r = rng(43);
    for (let i = 0; i < 10; i++) {
      const c = makeCase(r, { inH: 6, inW: 9, c: 21, k: 3, s: 1 + (i % 2), d: 1, mode: 'same', saturate: true, leftShift: i % 3 === 1,
        act: i % 3 === 0 ? [-128, 127] : [r.int(-128, -100), r.int(-20, 60)] })!;
      const ref = fastEqualsRef(c);
      if (i % 3 === 0) {
        expect(ref.some((v) => v === 127)).toBe(true);
        expect(ref.some((v) => v === -128)).toBe(true);
      }
    }
    const c = makeCase(r, { inH: 5, inW: 5, c: 19, k: 3, s: 1, d: 1, mode: 'same', w16: true })!;
    for (let i = 0; i < c.outC; i++) { c.mult[i] = 2147483647 - i; c.shift[i] = (i % 4) + 1; c.bias[i] = i * 100000000; }
    fastEqualsRef(c);
  });

  it('pack layout: tap pairs, phantom tap, sums; support predicate', () => {
    // 3x1 kernel (T = 3 -> Tp = 4), 9 channels, w = t*10 + c, wZp = 1
    const w = new Int8Array(3 * 9);
    for (let t = 0; t < 3; t++) for (let ch = 0; ch < 9; ch++) w[t * 9 + ch] = t * 10 + ch;
    const p = packDepthwiseWeights(w, 3, 1, 9, 1);
    const ws = new Int16Array(p.buffer, 0, 2 * 2 * 16);
    // values stored doubled: 2 * (w - wZp)
    expect(Array.from(ws.slice(0, 4))).toEqual([-2, 18, 0, 20]);   // pair (t0,t1), c0, c1
    expect(Array.from(ws.slice(16, 18))).toEqual([38, 0]);         // pair (t2, phantom), c0
    const sums = new Int32Array(p.buffer, 2 * 2 * 32, 16);
    expect(sums[0]).toBe(2 * (-1 + 9 + 19));
    expect(sums[8]).toBe(2 * (7 + 17 + 27));
    expect(sums[9]).toBe(0);
    expect(p.byteLength).toBe(2 * 2 * 32 + 16 * 4); // = src/model/ops.ts depthwisePackedBytes
    expect(fastDepthwiseSupported(3, 3, 1, new Int32Array([1 << 30]), new Int32Array([-5]))).toBe(true);
    expect(fastDepthwiseSupported(3, 3, 2, new Int32Array([1 << 30]), new Int32Array([-5]))).toBe(false);
  });

describe('requant modes of the fast kernel', () => {
  it('compiler packing: dead channels, right shifts up to 31 and huge biases stay on FAST / FAST2', () => {
    const r = rng(78);
    const before = stats.reach;
    for (let i = 0; i < 10; i++) {
      const c = withDeadChannels(makeCase(r, { inH: 5 + i, inW: 7, c: 21 + 3 * i, k: 3, s: 1 + (i % 2), d: 1, mode: 'same', w16: i % 4 === 3 })!, r);
      const q = new Int32Array(requantFor(c, true).buffer);
      expect(q[0], 'mode').toBe(2);
      expect(q[2], 'FAST2 flag').toBe(1);
      expect(new Int32Array(requantFor(c, false).buffer)[0], 'conservative mode').toBe(0);
      fastEqualsRef(c);
    }
    expect(stats.reach - before).toBe(10);
  });

  it('compiler packing with a ReLU clamp: FAST2R (with dead channels, int16 weights, odd shapes) matches the reference', () => {
    const r = rng(79);
    let affine = 0;
    for (let i = 0; i < 12; i++) {
      let c = makeCase(r, { inH: 5 + i, inW: 5 + (i % 5), c: 3 + 5 * i, k: [3, 5, 1][i % 3], s: 1 + (i % 2), d: 1, mode: (['same', 'valid'] as const)[i % 2], w16: i % 4 === 3 })!;
      c = shrinkForFast2r(withReluClamp(i % 3 === 1 ? withDeadChannels(c, r) : c, r));
      affine += checkFast2rBothWays(c, fastEqualsRef, `case ${i}`).affine;
    }
    // affine half-blocks ran (exact ones too, with the affine search off; tiles mixing both: kernels-conv)
    expect(affine).toBeGreaterThan(5);
  });

  it('3x3 stride-1 FAST2R layers (dw3x3.ts, packed pair rows): widths 1..9 and up to the row-buffer limit, pads, odd channels', () => {
    const r = rng(80);
    let affine = 0, n = 0;
    const run = (sh: Omit<Shape, 'k' | 's' | 'd'>) => {
      const c0 = makeCase(r, { k: 3, s: 1, d: 1, ...sh });
      if (!c0) return;
      const c = shrinkForFast2r(withReluClamp(n % 4 === 2 ? withDeadChannels(c0, r) : c0, r));
      affine += checkFast2rBothWays(c, fastEqualsRef, desc(c)).affine;
      n++;
    };
    for (let w = 1; w <= 9; w++) {
      for (const mode of ['same', 'valid', 'random'] as const) {
        run({ inH: r.int(1, 7), inW: w, c: [1, 5, 8, 13, 24][r.int(0, 4)], mode, inZp: [-128, 127, undefined][r.int(0, 2)], w16: r.next() < 0.2 });
      }
    }
    for (const w of [14, 56, 113]) run({ inH: 6, inW: w, c: 17, mode: 'random' });
    // several chunks of channel blocks (4 blocks of 58 entries per chunk at width 56), 128 channels (the
    // kernel's limit) and 129 (the tap-table kernel)
    for (const c of [100, 128, 129]) run({ inH: 4, inW: 56, c, mode: 'same' });
    // 518 output columns fill a ring slot (520 pair entries); 519 take the tap-table kernel
    run({ inH: 3, inW: 518, c: 9, mode: 'same', inZp: -128 });
    run({ inH: 3, inW: 519, c: 9, mode: 'same' });
    // the most blocks per chunk: 6-entry rows (widths <= 4), 128 channels
    run({ inH: 5, inW: 3, c: 128, mode: 'same' });
    expect(n).toBeGreaterThan(25);
    expect(affine).toBeGreaterThan(10);
  });

  it('FAST2, FAST, GENERAL (shift 0, shift -25, M < 2^30) and LEFT layers all match the reference', () => {
    const r = rng(77);
    for (const [name, tweak, mode] of REQUANT_MODE_VARIANTS) {
      for (let i = 0; i < 3; i++) {
        const c = makeCase(r, { inH: 6, inW: 7, c: 21, k: 3, s: 1, d: 1, mode: 'same' })!;
        tweak(c);
        expect(new Int32Array(packRequant(c.bias, c.mult, c.shift).buffer)[0], name).toBe(mode);
        fastEqualsRef(c);
      }
    }
  });
});

});
