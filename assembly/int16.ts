// TFLite's 16x8 scheme: int16 activations (symmetric, zero point 0), int8 weights, int64 bias.
// Arithmetic follows TFLite's reference kernels for int16 (reference_integer_ops ConvPerChannel /
// DepthwiseConvPerChannel / FullyConnected with AccumScalar = int64, MultiplyByQuantizedMultiplier
// for int64 accumulators; ADD with left_shift 15; AveragePool / MaxPool int16; the integer
// QuantizedMeanOrSum; SoftmaxInt16 with the exp and 1/(1+x) LUTs, built at compile time).
// Each SIMD kernel has a scalar reference (`_ref`) beside it and is tested against it for
// bit-equality (test/node/int16.test.ts).

import { mbqm, clampi } from './requant';
import { maxpoolRef, maxpoolSimd, avgpoolRef, roundedAverage } from './pool_ref';
import { vAddRescale, storeTransposed4x4 } from './simd_requant';

// ---------------------------------------------------------------------------------------------
// Shared arithmetic
// ---------------------------------------------------------------------------------------------

/** tflite::MultiplyByQuantizedMultiplier(int64_t x, int32_t m, int shift) (shift in [-31, 7]). */
// @ts-ignore: decorator
@inline
export function mbqm64(x: i64, m: i32, shift: i32): i32 {
  const rm: i64 = m < 0x7FFF0000 ? <i64>((m + (1 << 15)) >> 16) : <i64>0x7FFF;
  const ts: i64 = <i64>(15 - shift);
  return <i32>((x * rm + (<i64>1 << (ts - 1))) >> ts);
}

// Requant block per 8 output channels (Q16_BLOCK bytes; compiler/lower-int16.ts packQ16):
//   0   i64[8] bias          64  i64[8] reduced multiplier   128 i64[8] 1 << (totalShift - 1)
//   192 i32[8] totalShift    224 i32[8] multiplier           256 i32[8] shift
const Q16_BLOCK: usize = 288;
const Q_RM: usize = 64;
const Q_RND: usize = 128;
const Q_TS: usize = 192;
const Q_M: usize = 224;
const Q_S: usize = 256;

// @ts-ignore: decorator
@inline
function qAddr(qPtr: usize, c: i32): usize {
  return qPtr + <usize>(c >> 3) * Q16_BLOCK;
}

/** Scalar requant of one int64 accumulator of channel c (bias not yet added): the fast kernels' form. */
// @ts-ignore: decorator
@inline
function rq16(acc: i64, qb: usize, lane: usize, actMin: i32, actMax: i32): i32 {
  const x = acc + load<i64>(qb + (lane << 3));
  const y = <i32>((x * load<i64>(qb + Q_RM + (lane << 3)) + load<i64>(qb + Q_RND + (lane << 3))) >> <i64>load<i32>(qb + Q_TS + (lane << 2)));
  return clampi(y, actMin, actMax);
}

// i64 partial sums of a 4-pixel x 8-channel tile, channel-major: [c][p] (8 x 4 x 8 bytes)
const partBuf: usize = memory.data(256, 16);
const rowBuf: usize = memory.data(64, 16);

// Finish a 4x8 tile of i32 partial accumulators a<p><l|h> (pixel p, channels 0-3 / 4-7; lanes =
// channels): transpose so lanes = the 4 pixels of one channel (per-channel shifts are then uniform
// per vector), widen to i64 and
//   mode 0: store into partBuf     mode 1: add into partBuf
//   mode 2: requantize + store     mode 3: add partBuf, requantize + store
// Stores pixels 0..np-1, channels 0..nc-1 at out + p*pixStride (bytes).
function finish4x8(a0l: v128, a0h: v128, a1l: v128, a1h: v128, a2l: v128, a2h: v128, a3l: v128, a3h: v128,
  mode: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32, vmin: v128, vmax: v128): void {
  let t0 = i32x4.shuffle(a0l, a1l, 0, 4, 1, 5);
  let t1 = i32x4.shuffle(a0l, a1l, 2, 6, 3, 7);
  let t2 = i32x4.shuffle(a2l, a3l, 0, 4, 1, 5);
  let t3 = i32x4.shuffle(a2l, a3l, 2, 6, 3, 7);
  const r0 = chan16(i32x4.shuffle(t0, t2, 0, 1, 4, 5), 0, mode, qb, vmin, vmax);
  const r1 = chan16(i32x4.shuffle(t0, t2, 2, 3, 6, 7), 1, mode, qb, vmin, vmax);
  const r2 = chan16(i32x4.shuffle(t1, t3, 0, 1, 4, 5), 2, mode, qb, vmin, vmax);
  const r3 = chan16(i32x4.shuffle(t1, t3, 2, 3, 6, 7), 3, mode, qb, vmin, vmax);
  t0 = i32x4.shuffle(a0h, a1h, 0, 4, 1, 5);
  t1 = i32x4.shuffle(a0h, a1h, 2, 6, 3, 7);
  t2 = i32x4.shuffle(a2h, a3h, 0, 4, 1, 5);
  t3 = i32x4.shuffle(a2h, a3h, 2, 6, 3, 7);
  const r4 = chan16(i32x4.shuffle(t0, t2, 0, 1, 4, 5), 4, mode, qb, vmin, vmax);
  const r5 = chan16(i32x4.shuffle(t0, t2, 2, 3, 6, 7), 5, mode, qb, vmin, vmax);
  const r6 = chan16(i32x4.shuffle(t1, t3, 0, 1, 4, 5), 6, mode, qb, vmin, vmax);
  const r7 = chan16(i32x4.shuffle(t1, t3, 2, 3, 6, 7), 7, mode, qb, vmin, vmax);
  if (mode < 2) return;
  // channel vectors (already clamped into int16) -> pixel rows of 8 int16
  const n01 = i16x8.narrow_i32x4_s(r0, r1); // c0 p0..3 | c1 p0..3
  const n23 = i16x8.narrow_i32x4_s(r2, r3);
  const n45 = i16x8.narrow_i32x4_s(r4, r5);
  const n67 = i16x8.narrow_i32x4_s(r6, r7);
  const lo01 = i16x8.shuffle(n01, n23, 0, 4, 8, 12, 1, 5, 9, 13); // p0: c0..c3 | p1: c0..c3
  const lo23 = i16x8.shuffle(n01, n23, 2, 6, 10, 14, 3, 7, 11, 15); // p2 | p3
  const hi01 = i16x8.shuffle(n45, n67, 0, 4, 8, 12, 1, 5, 9, 13); // p0: c4..c7 | p1: c4..c7
  const hi23 = i16x8.shuffle(n45, n67, 2, 6, 10, 14, 3, 7, 11, 15);
  const p0 = i64x2.shuffle(lo01, hi01, 0, 2);
  const p1 = i64x2.shuffle(lo01, hi01, 1, 3);
  const p2 = i64x2.shuffle(lo23, hi23, 0, 2);
  const p3 = i64x2.shuffle(lo23, hi23, 1, 3);
  if (nc == 8) {
    v128.store(out, p0);
    if (np > 1) v128.store(out + pixStride, p1);
    if (np > 2) v128.store(out + 2 * pixStride, p2);
    if (np > 3) v128.store(out + 3 * pixStride, p3);
  } else {
    v128.store(rowBuf, p0);
    v128.store(rowBuf, p1, 16);
    v128.store(rowBuf, p2, 32);
    v128.store(rowBuf, p3, 48);
    for (let p = 0; p < np; p++) memory.copy(out + <usize>p * pixStride, rowBuf + (<usize>p << 4), <usize>nc << 1);
  }
}

// one channel (lanes = pixels 0..3): see finish4x8
// @ts-ignore: decorator
@inline
function chan16(v: v128, c: usize, mode: i32, qb: usize, vmin: v128, vmax: v128): v128 {
  let lo = i64x2.extend_low_i32x4_s(v);
  let hi = i64x2.extend_high_i32x4_s(v);
  const pp = partBuf + (c << 5);
  if (mode == 1 || mode == 3) {
    lo = i64x2.add(lo, v128.load(pp));
    hi = i64x2.add(hi, v128.load(pp, 16));
  }
  if (mode < 2) {
    v128.store(pp, lo);
    v128.store(pp, hi, 16);
    return v;
  }
  const b = v128.load64_splat(qb + (c << 3));
  const rm = v128.load64_splat(qb + Q_RM + (c << 3));
  const rnd = v128.load64_splat(qb + Q_RND + (c << 3));
  const ts = load<i32>(qb + Q_TS + (c << 2));
  lo = i64x2.shr_s(i64x2.add(i64x2.mul(i64x2.add(lo, b), rm), rnd), ts);
  hi = i64x2.shr_s(i64x2.add(i64x2.mul(i64x2.add(hi, b), rm), rnd), ts);
  // low 32 bits of each lane (the C++ int64 -> int32 conversion), then the activation clamp
  const r = i32x4.shuffle(lo, hi, 0, 2, 4, 6);
  return i32x4.min_s(i32x4.max_s(r, vmin), vmax);
}

// ---------------------------------------------------------------------------------------------
// CONV_2D / FULLY_CONNECTED (as a 1x1 conv), int16 x int8 -> int16
// ---------------------------------------------------------------------------------------------

/** Reference: OHWI int8 weights, requant block per 8 channels (bias, multiplier, shift used). */
export function conv_i16_ref(inPtr: usize, inH: i32, inW: i32, inC: i32, wPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  const K = kH * kW * inC;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const o = outPtr + (<usize>((oy * outW + ox) * outC) << 1);
      for (let co = 0; co < outC; co++) {
        let acc: i64 = 0;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * strideH - padTop + ky * dilH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * strideW - padLeft + kx * dilW;
            if (ix < 0 || ix >= inW) continue;
            const ip = inPtr + (<usize>((iy * inW + ix) * inC) << 1);
            const wi = wPtr + <usize>(co * K + (ky * kW + kx) * inC);
            for (let ci = 0; ci < inC; ci++) {
              acc += <i64>(<i32>load<i16>(ip + (<usize>ci << 1)) * <i32>load<i8>(wi + <usize>ci));
            }
          }
        }
        const qb = qAddr(qPtr, co), lane = <usize>(co & 7);
        acc += load<i64>(qb + (lane << 3));
        const r = mbqm64(acc, load<i32>(qb + Q_M + (lane << 2)), load<i32>(qb + Q_S + (lane << 2)));
        store<i16>(o + (<usize>co << 1), <i16>clampi(r, actMin, actMax));
      }
    }
  }
}

// k-pairs per i32 segment: |one pair's dot| <= 2 * 32768 * 128 = 2^23, so 128 pairs stay below 2^30;
// longer reductions add segment sums into i64 partials (exactly int64 accumulation)
const KB: i32 = 128;

/** Pixels per im2col chunk: the same formula as conv_i8 (pack.ts convChunkPixels / convScratchBytes). */
// @ts-ignore: decorator
@inline
function chunkPixels(Kp: i32): i32 {
  let ch = (32768 / (Kp * 2)) & ~3;
  if (ch < 4) ch = 4;
  if (ch > 256) ch = 256;
  return ch;
}

// 4 pixels x 8 channels; rp: the interleaved group (per k-pair 16 bytes: the int16 pairs of pixels 0..3)
function tile16x4x8(rp: usize, wp: usize, kpairs: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  vmin: v128, vmax: v128): void {
  let k0 = 0;
  let mode = 0;
  while (true) {
    const kend = min(kpairs, k0 + KB);
    const z = i32x4.splat(0);
    let a0l = z, a0h = z, a1l = z, a1h = z, a2l = z, a2h = z, a3l = z, a3h = z;
    const end = rp + (<usize>(kend - k0) << 4);
    while (rp < end) {
      const w0 = v128.load8x8_s(wp);
      const w1 = v128.load8x8_s(wp, 8);
      wp += 16;
      let x = v128.load32_splat(rp);
      a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(w0, x));
      a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(w1, x));
      x = v128.load32_splat(rp, 4);
      a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(w0, x));
      a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(w1, x));
      x = v128.load32_splat(rp, 8);
      a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(w0, x));
      a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(w1, x));
      x = v128.load32_splat(rp, 12);
      a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(w0, x));
      a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(w1, x));
      rp += 16;
    }
    const last = kend == kpairs;
    finish4x8(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, last ? (mode == 0 ? 2 : 3) : mode, qb, out, pixStride, np, nc, vmin, vmax);
    if (last) return;
    mode = 1;
    k0 = kend;
  }
}

// 1 pixel x 8 channels (fully connected with 1..3 rows); r: the pixel's int16 row (k-pairs), scalar requant
function tile16x1x8(r: usize, wp: usize, kpairs: i32, qb: usize, out: usize, nc: i32, actMin: i32, actMax: i32): void {
  for (let c = 0; c < 8; c++) store<i64>(partBuf + (<usize>c << 3), 0);
  let k0 = 0;
  while (k0 < kpairs) {
    const kend = min(kpairs, k0 + KB);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
    for (let k = k0; k < kend; k++) {
      const x = v128.load32_splat(r + (<usize>k << 2));
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(wp), x));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(wp, 8), x));
      wp += 16;
    }
    v128.store(partBuf, i64x2.add(v128.load(partBuf), i64x2.extend_low_i32x4_s(a0)));
    v128.store(partBuf, i64x2.add(v128.load(partBuf, 16), i64x2.extend_high_i32x4_s(a0)), 16);
    v128.store(partBuf, i64x2.add(v128.load(partBuf, 32), i64x2.extend_low_i32x4_s(a1)), 32);
    v128.store(partBuf, i64x2.add(v128.load(partBuf, 48), i64x2.extend_high_i32x4_s(a1)), 48);
    k0 = kend;
  }
  for (let c = 0; c < nc; c++) {
    store<i16>(out + (<usize>c << 1), <i16>rq16(load<i64>(partBuf + (<usize>c << 3)), qb, <usize>c, actMin, actMax));
  }
}

// im2col of output pixel pix into one row of int16 (0 for padding taps); writes up to 7 values past K
// @ts-ignore: decorator
@inline
function im2colRow16(pix: i32, dst: usize, inPtr: usize, inH: i32, inW: i32, inC: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  const oy = pix / outW, ox = pix - oy * outW;
  const iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft;
  const rowBytes = <usize>inC << 1;
  const z = i32x4.splat(0);
  let d = dst;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * dilH;
    const rowOk = iy >= 0 && iy < inH;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * dilW;
      if (rowOk && ix >= 0 && ix < inW) {
        const src = inPtr + (<usize>(iy * inW + ix) * rowBytes);
        for (let i: usize = 0; i < rowBytes; i += 16) v128.store(d + i, v128.load(src + i));
      } else {
        for (let i: usize = 0; i < rowBytes; i += 16) v128.store(d + i, z);
      }
      d += rowBytes;
    }
  }
}

/**
 * Fast kernel. Weights packed like conv_i8's int8 layout (packConvWeights): per block of 8 output
 * channels, per k-pair 16 int8. Scratch: conv_i8's formula (pack.ts convScratchBytes): an im2col
 * chunk of CH pixels interleaved by groups of 4, then 4 int16 staging rows.
 */
export function conv_i16(inPtr: usize, inH: i32, inW: i32, inC: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32,
  scratch: usize): void {
  const K = kH * kW * inC;
  const Kp = (K + 1) & ~1;
  const kpairs = Kp >> 1;
  const nb = (outC + 7) >> 3;
  const wBlock: usize = <usize>Kp * 8;
  const P = outH * outW;
  const CH = chunkPixels(Kp);
  const vmin = i32x4.splat(actMin), vmax = i32x4.splat(actMax);
  const pixStride = <usize>outC << 1;
  const direct = kH == 1 && kW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0 && inW == outW && inH == outH;
  const RS = <usize>((((K + 7) & ~7) + 8) << 1);
  const stage = scratch + <usize>CH * (<usize>Kp << 1);
  const groupBytes = <usize>kpairs << 4;
  const inRow = <usize>inC << 1;

  if (P < 4) {
    for (let p = 0; p < P; p++) {
      let row = stage;
      if (direct) row = inPtr + <usize>p * inRow;
      else im2colRow16(p, stage, inPtr, inH, inW, inC, outW, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
      const o = outPtr + <usize>p * pixStride;
      for (let b = 0; b < nb; b++) {
        tile16x1x8(row, pwPtr + <usize>b * wBlock, kpairs, qPtr + <usize>b * Q16_BLOCK, o + (<usize>b << 4),
          min(8, outC - (b << 3)), actMin, actMax);
      }
    }
    return;
  }

  for (let p0 = 0; p0 < P; p0 += CH) {
    const n = min(CH, P - p0);
    const ng = (n + 3) >> 2;
    for (let g = 0; g < ng; g++) {
      let r0: usize, r1: usize, r2: usize, r3: usize;
      if (direct) {
        // 1x1 stride 1: the input pixels are the rows (k past K meets weight 0)
        r0 = inPtr + <usize>(p0 + min((g << 2), n - 1)) * inRow;
        r1 = inPtr + <usize>(p0 + min((g << 2) + 1, n - 1)) * inRow;
        r2 = inPtr + <usize>(p0 + min((g << 2) + 2, n - 1)) * inRow;
        r3 = inPtr + <usize>(p0 + min((g << 2) + 3, n - 1)) * inRow;
      } else {
        for (let p = 0; p < 4; p++) {
          const pix = p0 + min((g << 2) + p, n - 1);
          im2colRow16(pix, stage + <usize>p * RS, inPtr, inH, inW, inC, outW, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
        }
        r0 = stage; r1 = stage + RS; r2 = stage + 2 * RS; r3 = stage + 3 * RS;
      }
      let dst = scratch + <usize>g * groupBytes;
      for (let k: usize = 0; k < <usize>Kp << 1; k += 16) {
        const v0 = v128.load(r0 + k), v1 = v128.load(r1 + k), v2 = v128.load(r2 + k), v3 = v128.load(r3 + k);
        storeTransposed4x4(dst, v0, v1, v2, v3);
        dst += 64;
      }
    }
    const outBase = outPtr + <usize>p0 * pixStride;
    for (let g = 0; g < ng; g++) {
      const rp = scratch + <usize>g * groupBytes;
      const o = outBase + (<usize>g << 2) * pixStride;
      const np = min(4, n - (g << 2));
      for (let b = 0; b < nb; b++) {
        tile16x4x8(rp, pwPtr + <usize>b * wBlock, kpairs, qPtr + <usize>b * Q16_BLOCK, o + (<usize>b << 4), pixStride, np,
          min(8, outC - (b << 3)), vmin, vmax);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DEPTHWISE_CONV_2D, int16 x int8 -> int16
// ---------------------------------------------------------------------------------------------

export function dw_i16_ref(inPtr: usize, inH: i32, inW: i32, inC: i32, wPtr: usize, depthMult: i32, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const o = outPtr + (<usize>((oy * outW + ox) * outC) << 1);
      for (let ic = 0; ic < inC; ic++) {
        for (let m = 0; m < depthMult; m++) {
          const oc = ic * depthMult + m;
          let acc: i64 = 0;
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy * strideH - padTop + ky * dilH;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ox * strideW - padLeft + kx * dilW;
              if (ix < 0 || ix >= inW) continue;
              const x = <i32>load<i16>(inPtr + (<usize>((iy * inW + ix) * inC + ic) << 1));
              const w = <i32>load<i8>(wPtr + <usize>((ky * kW + kx) * outC + oc));
              acc += <i64>(x * w);
            }
          }
          const qb = qAddr(qPtr, oc), lane = <usize>(oc & 7);
          acc += load<i64>(qb + (lane << 3));
          const r = mbqm64(acc, load<i32>(qb + Q_M + (lane << 2)), load<i32>(qb + Q_S + (lane << 2)));
          store<i16>(o + (<usize>oc << 1), <i16>clampi(r, actMin, actMax));
        }
      }
    }
  }
}

export const DW16_MAX_TAPS: i32 = 256;
const tapTbl16: usize = memory.data(4 * 256 * 4, 16);
// zeros for taps outside the input (read at the block's channel offset): C <= 8000
const zeroRow16: usize = memory.data(16 * 1024 + 64, 16);

/**
 * Fast kernel, depth multiplier 1, kH*kW <= 256, C <= 8000. Weights [kH*kW][C padded to 8] int8.
 * Tiles of 4 output pixels of a row (the last tile of a row overlaps) x 8 channels; taps outside the
 * input read zeros (zero point 0), so they add exactly nothing.
 */
export function dw_i16(inPtr: usize, inH: i32, inW: i32, C: i32, wPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  const T = kH * kW;
  const Cp = (C + 7) & ~7;
  const nb = Cp >> 3;
  const pixBytes = <usize>C << 1;
  const vmin = i32x4.splat(actMin), vmax = i32x4.splat(actMax);
  const np = min(4, outW);
  const t1 = tapTbl16 + 1024, t2 = tapTbl16 + 2048, t3 = tapTbl16 + 3072;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    for (let t = 0; t < outW; t += 4) {
      const ox = t + 4 <= outW ? t : max(0, outW - 4);
      for (let p = 0; p < 4; p++) {
        const ix0 = min(ox + p, outW - 1) * strideW - padLeft;
        const row = tapTbl16 + (<usize>p << 10);
        for (let ky = 0; ky < kH; ky++) {
          const iy = iy0 + ky * dilH;
          const rowOk = iy >= 0 && iy < inH;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ix0 + kx * dilW;
            const ptr = rowOk && ix >= 0 && ix < inW ? inPtr + <usize>(iy * inW + ix) * pixBytes : zeroRow16;
            store<u32>(row + (<usize>(ky * kW + kx) << 2), <u32>ptr);
          }
        }
      }
      const o = outPtr + <usize>(oy * outW + ox) * pixBytes;
      for (let b = 0; b < nb; b++) {
        const cOff = <usize>b << 4;
        const z = i32x4.splat(0);
        let a0l = z, a0h = z, a1l = z, a1h = z, a2l = z, a2h = z, a3l = z, a3h = z;
        let wp = wPtr + (<usize>b << 3);
        for (let k = 0; k < T; k++) {
          const w = v128.load8x8_s(wp);
          wp += <usize>Cp;
          const ko = <usize>k << 2;
          let x = v128.load(<usize>load<u32>(tapTbl16 + ko) + cOff);
          a0l = i32x4.add(a0l, i32x4.extmul_low_i16x8_s(x, w));
          a0h = i32x4.add(a0h, i32x4.extmul_high_i16x8_s(x, w));
          x = v128.load(<usize>load<u32>(t1 + ko) + cOff);
          a1l = i32x4.add(a1l, i32x4.extmul_low_i16x8_s(x, w));
          a1h = i32x4.add(a1h, i32x4.extmul_high_i16x8_s(x, w));
          x = v128.load(<usize>load<u32>(t2 + ko) + cOff);
          a2l = i32x4.add(a2l, i32x4.extmul_low_i16x8_s(x, w));
          a2h = i32x4.add(a2h, i32x4.extmul_high_i16x8_s(x, w));
          x = v128.load(<usize>load<u32>(t3 + ko) + cOff);
          a3l = i32x4.add(a3l, i32x4.extmul_low_i16x8_s(x, w));
          a3h = i32x4.add(a3h, i32x4.extmul_high_i16x8_s(x, w));
        }
        finish4x8(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, 2, qPtr + <usize>b * Q16_BLOCK, o + cOff, pixBytes, np,
          min(8, C - (b << 3)), vmin, vmax);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ADD (same shapes), TFLite reference_integer_ops::Add for int16 (left_shift 15)
// ---------------------------------------------------------------------------------------------

export function add_i16_ref(aPtr: usize, bPtr: usize, outPtr: usize, n: i32,
  aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  for (let i = 0; i < n; i++) {
    const a = (<i32>load<i16>(aPtr + (<usize>i << 1)) + aOffset) * (1 << leftShift);
    const b = (<i32>load<i16>(bPtr + (<usize>i << 1)) + bOffset) * (1 << leftShift);
    const raw = mbqm(mbqm(a, aMult, aShift) + mbqm(b, bMult, bShift), outMult, outShift) + outOffset;
    store<i16>(outPtr + (<usize>i << 1), <i16>clampi(raw, actMin, actMax));
  }
}

export function add_i16(aPtr: usize, bPtr: usize, outPtr: usize, n: i32,
  aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  // vector path: zero offsets (|x| << 15 <= 2^30), right shifts, non-negative multipliers
  if (aOffset != 0 || bOffset != 0 || aShift > 0 || bShift > 0 || outShift > 0 || leftShift > 15 ||
      aMult < 0 || bMult < 0 || outMult < 0 || outOffset < -32768 || outOffset > 32767) {
    add_i16_ref(aPtr, bPtr, outPtr, n, aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
    return;
  }
  const ea = -aShift, eb = -bShift, eo = -outShift;
  const va = i32x4.splat(aMult), vb = i32x4.splat(bMult), vo = i32x4.splat(outMult);
  const ha = i32x4.splat(ea > 0 ? 1 << (ea - 1) : 0);
  const hb = i32x4.splat(eb > 0 ? 1 << (eb - 1) : 0);
  const ho = i32x4.splat(eo > 0 ? 1 << (eo - 1) : 0);
  const vOut = i32x4.splat(outOffset);
  const vmin = i32x4.splat(actMin), vmax = i32x4.splat(actMax);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a16 = v128.load(aPtr + (<usize>i << 1));
    const b16 = v128.load(bPtr + (<usize>i << 1));
    const oLo = vAddRescale(i32x4.extend_low_i16x8_s(a16), i32x4.extend_low_i16x8_s(b16), leftShift, va, ea, ha, vb, eb, hb, vo, eo, ho, vOut);
    const oHi = vAddRescale(i32x4.extend_high_i16x8_s(a16), i32x4.extend_high_i16x8_s(b16), leftShift, va, ea, ha, vb, eb, hb, vo, eo, ho, vOut);
    v128.store(outPtr + (<usize>i << 1), i16x8.narrow_i32x4_s(i32x4.min_s(i32x4.max_s(oLo, vmin), vmax), i32x4.min_s(i32x4.max_s(oHi, vmin), vmax)));
  }
  if (i < n) {
    const o = <usize>i << 1;
    add_i16_ref(aPtr + o, bPtr + o, outPtr + o, n - i, aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
  }
}

// ---------------------------------------------------------------------------------------------
// MAX_POOL_2D / AVERAGE_POOL_2D / MEAN (spatial), int16
// ---------------------------------------------------------------------------------------------

export function maxpool_i16_ref(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32): void {
  maxpoolRef<i16>(inPtr, inH, inW, c, outPtr, outH, outW, fH, fW, sH, sW, padT, padL, actMin, actMax);
}

export function maxpool_i16(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32): void {
  maxpoolSimd<i16>(inPtr, inH, inW, c, outPtr, outH, outW, fH, fW, sH, sW, padT, padL, actMin, actMax);
}

export function avgpool_i16_ref(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32): void {
  avgpoolRef<i16>(inPtr, inH, inW, c, outPtr, outH, outW, fH, fW, sH, sW, padT, padL, actMin, actMax, 0);
}

export function avgpool_i16(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  fH: i32, fW: i32, sH: i32, sW: i32, padT: i32, padL: i32, actMin: i32, actMax: i32, scratchPtr: usize): void {
  const c8 = c & ~7;
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sH - padT;
    const fy0 = max(0, -y0), fy1 = min(fH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sW - padL;
      const fx0 = max(0, -x0), fx1 = min(fW, inW - x0);
      const count = (fy1 - fy0) * (fx1 - fx0);
      for (let ch = 0; ch < c8; ch += 8) {
        let lo = i32x4.splat(0), hi = i32x4.splat(0);
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const v = v128.load(inPtr + (<usize>(((y0 + fy) * inW + x0 + fx) * c + ch) << 1));
            lo = i32x4.add(lo, i32x4.extend_low_i16x8_s(v));
            hi = i32x4.add(hi, i32x4.extend_high_i16x8_s(v));
          }
        }
        v128.store(scratchPtr + (<usize>ch << 2), lo);
        v128.store(scratchPtr + (<usize>ch << 2), hi, 16);
      }
      for (let ch = c8; ch < c; ch++) {
        let acc: i32 = 0;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            acc += <i32>load<i16>(inPtr + (<usize>(((y0 + fy) * inW + x0 + fx) * c + ch) << 1));
          }
        }
        store<i32>(scratchPtr + (<usize>ch << 2), acc);
      }
      const out = outPtr + (<usize>((oy * outW + ox) * c) << 1);
      for (let ch = 0; ch < c; ch++) {
        const avg = count > 0 ? roundedAverage(load<i32>(scratchPtr + (<usize>ch << 2)), count) : 0;
        store<i16>(out + (<usize>ch << 1), <i16>clampi(avg, actMin, actMax));
      }
    }
  }
}

// MEAN over H, W (zero points 0): out = mbqm(sum, M', s') with 1/n folded into M' at compile time
export function mean_hw_i16_ref(inPtr: usize, h: i32, w: i32, c: i32, outPtr: usize, mult: i32, shift: i32): void {
  const n = h * w;
  for (let ch = 0; ch < c; ch++) {
    let sum: i32 = 0;
    for (let i = 0; i < n; i++) sum += <i32>load<i16>(inPtr + (<usize>(i * c + ch) << 1));
    store<i16>(outPtr + (<usize>ch << 1), <i16>clampi(mbqm(sum, mult, shift), -32768, 32767));
  }
}

export function mean_hw_i16(inPtr: usize, h: i32, w: i32, c: i32, outPtr: usize, mult: i32, shift: i32, scratchPtr: usize): void {
  const n = h * w;
  const c8 = c & ~7;
  memory.fill(scratchPtr, 0, <usize>c << 2);
  for (let i = 0; i < n; i++) {
    const row = inPtr + (<usize>(i * c) << 1);
    for (let ch = 0; ch < c8; ch += 8) {
      const v = v128.load(row + (<usize>ch << 1));
      const p = scratchPtr + (<usize>ch << 2);
      v128.store(p, i32x4.add(v128.load(p), i32x4.extend_low_i16x8_s(v)));
      v128.store(p, i32x4.add(v128.load(p, 16), i32x4.extend_high_i16x8_s(v)), 16);
    }
    for (let ch = c8; ch < c; ch++) {
      const p = scratchPtr + (<usize>ch << 2);
      store<i32>(p, load<i32>(p) + <i32>load<i16>(row + (<usize>ch << 1)));
    }
  }
  for (let ch = 0; ch < c; ch++) {
    store<i16>(outPtr + (<usize>ch << 1), <i16>clampi(mbqm(load<i32>(scratchPtr + (<usize>ch << 2)), mult, shift), -32768, 32767));
  }
}

// ---------------------------------------------------------------------------------------------
// SOFTMAX int16 -> int16 (scale 1/32768, zero point 0): TFLite reference_ops::SoftmaxInt16.
// A few thousand elements per inference at most: the scalar spec is the kernel.
// lut: exp LUT (513 int16, inputs [-10, 0]) then 1/(1+x) LUT (513 int16, inputs [0, 1]).
// ---------------------------------------------------------------------------------------------

// generic_int16_table_lookup
// @ts-ignore: decorator
@inline
function lut16(value: i32, lut: usize): i32 {
  const index = 256 + (value >> 7);
  const offset = value & 0x7f;
  const base = <i32>load<i16>(lut + (<usize>index << 1));
  const slope = <i32><i16>(<i32>load<i16>(lut + (<usize>(index + 1) << 1)) - base);
  const delta = (slope * offset + 64) >> 7;
  return <i32><i16>(base + delta);
}

export function softmax_i16(inPtr: usize, outPtr: usize, outer: i32, depth: i32, mult: i32, shift: i32, lutPtr: usize): void {
  const expLut = lutPtr, recipLut = lutPtr + 1026;
  for (let r = 0; r < outer; r++) {
    const row = inPtr + (<usize>(r * depth) << 1);
    const orow = outPtr + (<usize>(r * depth) << 1);
    let maxv: i32 = -32768;
    for (let c = 0; c < depth; c++) maxv = max(maxv, <i32>load<i16>(row + (<usize>c << 1)));
    let sum: i32 = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i16>(row + (<usize>c << 1)) - maxv;
      const scaled = mbqm(diff, mult, shift);
      const e = lut16(clampi(scaled + 32767, -32768, 32767), expLut);
      store<i16>(orow + (<usize>c << 1), <i16>e);
      sum += e;
    }
    const headroomPlusOne = <i32>clz<u32>(<u32>sum);
    const shiftedSum = <i32>(((<i64>sum << <i64>(headroomPlusOne - 1)) + (1 << 13)) >> 14);
    const sym = shiftedSum - ((1 << 15) + (1 << 16));
    const recip = <i64>lut16(clampi(sym, -32768, 32767), recipLut);
    const rs = 31 - headroomPlusOne;
    const round: i64 = <i64>(1 << (rs - 1));
    for (let c = 0; c < depth; c++) {
      const e = <i64>load<i16>(orow + (<usize>c << 1));
      const v = <i32>((e * recip + round) >> <i64>rs);
      store<i16>(orow + (<usize>c << 1), <i16>clampi(v, 0, 32767));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// QUANTIZE / DEQUANTIZE / PAD
// ---------------------------------------------------------------------------------------------

// TFLM Requantize: clamp(mbqm(x - inZp, M, s) + outZp, out type range)
export function requantize_i8_i16(inPtr: usize, outPtr: usize, n: i32, inZp: i32, mult: i32, shift: i32, outZp: i32): void {
  for (let i = 0; i < n; i++) {
    const v = mbqm(<i32>load<i8>(inPtr + <usize>i) - inZp, mult, shift) + outZp;
    store<i16>(outPtr + (<usize>i << 1), <i16>clampi(v, -32768, 32767));
  }
}

export function requantize_i16_i8(inPtr: usize, outPtr: usize, n: i32, inZp: i32, mult: i32, shift: i32, outZp: i32): void {
  for (let i = 0; i < n; i++) {
    const v = mbqm(<i32>load<i16>(inPtr + (<usize>i << 1)) - inZp, mult, shift) + outZp;
    store<i8>(outPtr + <usize>i, <i8>clampi(v, -128, 127));
  }
}

// reference_ops::AffineQuantize: round half away from zero of x / scale (float), + zp, clamp
export function quantize_f32_i16(inPtr: usize, outPtr: usize, n: i32, scale: f32, zp: i32): void {
  for (let i = 0; i < n; i++) {
    const q = load<f32>(inPtr + (<usize>i << 2)) / scale;
    const a = Mathf.abs(q);
    let r = Mathf.floor(a);
    if (a - r >= 0.5) r += 1;
    const rr = q < 0 ? -r : r;
    let v: i64;
    if (rr != rr) v = <i64>zp;
    else if (rr < -1e9) v = -1000000000;
    else if (rr > 1e9) v = 1000000000;
    else v = <i64><i32>rr + <i64>zp;
    store<i16>(outPtr + (<usize>i << 1), <i16>(v < -32768 ? -32768 : v > 32767 ? 32767 : <i32>v));
  }
}

export function dequantize_i16_f32(inPtr: usize, outPtr: usize, n: i32, scale: f64, zp: i32): void {
  for (let i = 0; i < n; i++) {
    store<f32>(outPtr + (<usize>i << 2), <f32>(scale * <f64>(<i32>load<i16>(inPtr + (<usize>i << 1)) - zp)));
  }
}

// [1,h,w,c] -> [1,h+ph0+ph1,w+pw0+pw1,c+pc0+pc1], zeros (the int16 zero point)
export function pad_i16(inPtr: usize, outPtr: usize, h: i32, w: i32, c: i32,
  ph0: i32, ph1: i32, pw0: i32, pw1: i32, pc0: i32, pc1: i32): void {
  const oh = h + ph0 + ph1, ow = w + pw0 + pw1, oc = c + pc0 + pc1;
  memory.fill(outPtr, 0, <usize>(oh * ow * oc) << 1);
  const rowBytes = <usize>c << 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      memory.copy(outPtr + (<usize>(((y + ph0) * ow + x + pw0) * oc + pc0) << 1), inPtr + (<usize>((y * w + x) * c) << 1), rowBytes);
    }
  }
}
