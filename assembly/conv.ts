// CONV_2D / FULLY_CONNECTED, int8 activations, TFLite reference semantics (double-rounding requant).
import { mbqm, clampi } from './requant';
import { requantStore4x8, RQ_HEADER, RQ_BLOCK, RQ_MODE_LEFT, RQ_MODE_FAST } from './simd_requant';
export { test_vec_requant } from './simd_requant';

// ---------------------------------------------------------------------------------------------
// Scalar reference (the spec)
// ---------------------------------------------------------------------------------------------
export function conv_ref_i8(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32,
  wPtr: usize, wIs16: i32,
  biasPtr: usize, multPtr: usize, shiftPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  const K = kH * kW * inC;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const o = outPtr + <usize>((oy * outW + ox) * outC);
      for (let co = 0; co < outC; co++) {
        let acc: i32 = load<i32>(biasPtr + (<usize>co << 2));
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * strideH - padTop + ky * dilH;
          if (iy < 0 || iy >= inH) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * strideW - padLeft + kx * dilW;
            if (ix < 0 || ix >= inW) continue;
            const ip = inPtr + <usize>((iy * inW + ix) * inC);
            const wi = co * K + (ky * kW + kx) * inC;
            for (let ci = 0; ci < inC; ci++) {
              const x: i32 = <i32>load<i8>(ip + ci) - inZp;
              const w: i32 = wIs16 ? <i32>load<i16>(wPtr + (<usize>(wi + ci) << 1)) : <i32>load<i8>(wPtr + <usize>(wi + ci));
              acc += x * w;
            }
          }
        }
        const m = load<i32>(multPtr + (<usize>co << 2));
        const s = load<i32>(shiftPtr + (<usize>co << 2));
        store<i8>(o + co, <i8>clampi(mbqm(acc, m, s) + outZp, actMin, actMax));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fast kernel
//
// Packed weights (packConvWeights): K = kH*kW*Cin, Kp = K rounded up to even, Cout padded to 8.
// Per block of 8 output channels, per k-pair: [w(c0,k0) w(c0,k1) w(c1,k0) w(c1,k1) ... w(c7,k1)],
// int8 (16 bytes) or int16 (32 bytes); zero for padded k / channels. Block stride Kp*8 (*2).
//
// Scratch (conv_scratch_bytes / pack.ts convScratchBytes = CH*Kp*2 + 4*RS + 128):
//   [0, CH*Kp*2): im2col of a chunk of CH = convChunkPixels(Kp) output pixels as groups of 4 pixels:
//                 per k-pair 16 bytes = the (x(k0) - inZp, x(k1) - inZp) int16 pairs of the 4 pixels
//                 (0 for padding taps), so the micro-kernel reads one pointer with immediate offsets;
//   then 4 row-major int16 staging rows of stride RS = convRowStride(K) bytes (+ write slack).
// P < 4 output pixels (fully connected with 1..3 batches) use a matrix-vector path instead.
// ---------------------------------------------------------------------------------------------

/** Pixels per im2col chunk; pack.ts's convScratchBytes mirrors this formula. */
// @ts-ignore: decorator
@inline
export function convChunkPixels(Kp: i32): i32 {
  let ch = (32768 / (Kp * 2)) & ~3;
  if (ch < 4) ch = 4;
  if (ch > 256) ch = 256;
  return ch;
}

/** Scratch bytes of conv_i8; pack.ts's convScratchBytes mirrors this formula. */
export function conv_scratch_bytes(kH: i32, kW: i32, inC: i32): i32 {
  const K = kH * kW * inC;
  const Kp = (K + 1) & ~1;
  return convChunkPixels(Kp) * Kp * 2 + 4 * convRowStride(K) + 128;
}

/** Bytes between the 4 row-major int16 staging rows (K rounded up to 8, + 8 elements of write slack). */
// @ts-ignore: decorator
@inline
export function convRowStride(K: i32): i32 {
  return (((K + 7) & ~7) + 8) << 1;
}

// widen n int8 values to int16 (x - zp); may write up to 14 bytes past dst + 2n and read 7 past src + n
// @ts-ignore: decorator
@inline
function widen(src: usize, dst: usize, n: i32, zpv: v128): void {
  for (let i = 0; i < n; i += 8) {
    v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_s(src + <usize>i), zpv));
  }
}

// @ts-ignore: decorator
@inline
function zeroFill(dst: usize, n: i32): void {
  const z = i32x4.splat(0);
  for (let i = 0; i < n; i += 8) v128.store(dst + (<usize>i << 1), z);
}

// 4 pixels x 8 channels (one weight block). rp: the tile's interleaved scratch group, per k-pair
// 16 bytes = the (k0, k1) int16 pairs of pixels 0..3.
// Kept out of line (called through a function reference, so Binaryen does not inline it): V8 then
// allocates registers for this small function alone and keeps the 8 accumulators in registers.
type Tile4x8 = (rp: usize, wp: usize, kpairs: i32, qb: usize,
  out: usize, pixStride: usize, np: i32, nc: i32, zp16: v128, lo8: v128, hi8: v128) => void;
// @ts-ignore: decorator
@inline
function tile4x8<W, L>(rp: usize, wp: usize, kpairs: i32, qb: usize,
  out: usize, pixStride: usize, np: i32, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  const bl = v128.load(qb);
  const bh = v128.load(qb, 16);
  let a0l = bl, a0h = bh, a1l = bl, a1h = bh, a2l = bl, a2h = bh, a3l = bl, a3h = bh;
  const end = rp + (<usize>kpairs << 4);
  while (rp < end) {
    let w0: v128, w1: v128;
    if (sizeof<W>() == 1) {
      w0 = v128.load8x8_s(wp);
      w1 = v128.load8x8_s(wp, 8);
      wp += 16;
    } else {
      w0 = v128.load(wp);
      w1 = v128.load(wp, 16);
      wp += 32;
    }
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
  requantStore4x8<L>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, out, pixStride, np, nc, zp16, lo8, hi8);
}
function tile_i8(rp: usize, wp: usize, kpairs: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128): void { tile4x8<i8, i32>(rp, wp, kpairs, qb, out, pixStride, np, nc, zp16, lo8, hi8); }
function tile_i8_left(rp: usize, wp: usize, kpairs: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128): void { tile4x8<i8, i64>(rp, wp, kpairs, qb, out, pixStride, np, nc, zp16, lo8, hi8); }
function tile_i8_fast(rp: usize, wp: usize, kpairs: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128): void { tile4x8<i8, i16>(rp, wp, kpairs, qb, out, pixStride, np, nc, zp16, lo8, hi8); }
function tile_i16(rp: usize, wp: usize, kpairs: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128): void { tile4x8<i16, i32>(rp, wp, kpairs, qb, out, pixStride, np, nc, zp16, lo8, hi8); }
function tile_i16_left(rp: usize, wp: usize, kpairs: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128): void { tile4x8<i16, i64>(rp, wp, kpairs, qb, out, pixStride, np, nc, zp16, lo8, hi8); }
function tile_i16_fast(rp: usize, wp: usize, kpairs: i32, qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128): void { tile4x8<i16, i16>(rp, wp, kpairs, qb, out, pixStride, np, nc, zp16, lo8, hi8); }

// 1 pixel x 32 channels (4 weight blocks)
// @ts-ignore: decorator
@inline
function tile1x32<W, L>(r: usize, wp: usize, wStride: usize, kpairs: i32, qb: usize,
  out: usize, zp16: v128, lo8: v128, hi8: v128): void {
  let a0 = v128.load(qb), a1 = v128.load(qb, 16);
  let a2 = v128.load(qb + RQ_BLOCK), a3 = v128.load(qb + RQ_BLOCK, 16);
  let a4 = v128.load(qb + 2 * RQ_BLOCK), a5 = v128.load(qb + 2 * RQ_BLOCK, 16);
  let a6 = v128.load(qb + 3 * RQ_BLOCK), a7 = v128.load(qb + 3 * RQ_BLOCK, 16);
  const w1p = wp + wStride, w2p = wp + 2 * wStride, w3p = wp + 3 * wStride;
  const step: usize = sizeof<W>() == 1 ? 16 : 32;
  for (let k: usize = 0, off: usize = 0; k < <usize>kpairs; k++, off += step) {
    const x = v128.load32_splat(r + (k << 2));
    if (sizeof<W>() == 1) {
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(wp + off), x));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(wp + off, 8), x));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load8x8_s(w1p + off), x));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load8x8_s(w1p + off, 8), x));
      a4 = i32x4.add(a4, i32x4.dot_i16x8_s(v128.load8x8_s(w2p + off), x));
      a5 = i32x4.add(a5, i32x4.dot_i16x8_s(v128.load8x8_s(w2p + off, 8), x));
      a6 = i32x4.add(a6, i32x4.dot_i16x8_s(v128.load8x8_s(w3p + off), x));
      a7 = i32x4.add(a7, i32x4.dot_i16x8_s(v128.load8x8_s(w3p + off, 8), x));
    } else {
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(wp + off), x));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(wp + off, 16), x));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load(w1p + off), x));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load(w1p + off, 16), x));
      a4 = i32x4.add(a4, i32x4.dot_i16x8_s(v128.load(w2p + off), x));
      a5 = i32x4.add(a5, i32x4.dot_i16x8_s(v128.load(w2p + off, 16), x));
      a6 = i32x4.add(a6, i32x4.dot_i16x8_s(v128.load(w3p + off), x));
      a7 = i32x4.add(a7, i32x4.dot_i16x8_s(v128.load(w3p + off, 16), x));
    }
  }
  // requant as 4 "pixels" = the 4 blocks, then store each block's 8 channels
  // (requantStore4x8 needs uniform per-channel params per transposed vector, so do one block at a time)
  requantStore4x8<L>(a0, a1, a0, a1, a0, a1, a0, a1, qb, out, 0, 1, 8, zp16, lo8, hi8);
  requantStore4x8<L>(a2, a3, a2, a3, a2, a3, a2, a3, qb + RQ_BLOCK, out + 8, 0, 1, 8, zp16, lo8, hi8);
  requantStore4x8<L>(a4, a5, a4, a5, a4, a5, a4, a5, qb + 2 * RQ_BLOCK, out + 16, 0, 1, 8, zp16, lo8, hi8);
  requantStore4x8<L>(a6, a7, a6, a7, a6, a7, a6, a7, qb + 3 * RQ_BLOCK, out + 24, 0, 1, 8, zp16, lo8, hi8);
}

// 1 pixel x 8 channels (one block), nc valid channels
// @ts-ignore: decorator
@inline
function tile1x8<W, L>(r: usize, wp: usize, kpairs: i32, qb: usize,
  out: usize, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  let a0 = v128.load(qb), a1 = v128.load(qb, 16);
  const step: usize = sizeof<W>() == 1 ? 16 : 32;
  for (let k: usize = 0, off: usize = 0; k < <usize>kpairs; k++, off += step) {
    const x = v128.load32_splat(r + (k << 2));
    if (sizeof<W>() == 1) {
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(wp + off), x));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(wp + off, 8), x));
    } else {
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(wp + off), x));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(wp + off, 16), x));
    }
  }
  requantStore4x8<L>(a0, a1, a0, a1, a0, a1, a0, a1, qb, out, 0, 1, nc, zp16, lo8, hi8);
}

// @ts-ignore: decorator
@inline
function convBody<W, L>(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32,
  scratch: usize): void {
  const K = kH * kW * inC;
  const Kp = (K + 1) & ~1;
  const kpairs = Kp >> 1;
  const rowBytes = <usize>Kp << 1;
  const nb = (outC + 7) >> 3;
  const wBlock: usize = <usize>Kp * 8 * sizeof<W>();
  const P = outH * outW;
  const CH = convChunkPixels(Kp);
  const zpv = i16x8.splat(<i16>inZp);
  const zp16 = i16x8.splat(<i16>outZp);
  const lo8 = i8x16.splat(<i8>actMin);
  const hi8 = i8x16.splat(<i8>actMax);
  const pixStride = <usize>outC;
  const direct = kH == 1 && kW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0 && inW == outW && inH == outH;
  const q0 = qPtr + RQ_HEADER;
  const tile: Tile4x8 = sizeof<W>() == 1
    ? (sizeof<L>() == 8 ? tile_i8_left : sizeof<L>() == 2 ? tile_i8_fast : tile_i8)
    : (sizeof<L>() == 8 ? tile_i16_left : sizeof<L>() == 2 ? tile_i16_fast : tile_i16);

  const RS = <usize>convRowStride(K);
  const stage = scratch + <usize>CH * rowBytes; // 4 staging rows, row-major int16
  const groupBytes = <usize>kpairs << 4;

  if (P < 4) {
    // matrix-vector (fully connected with 1..3 batches): one pixel at a time, no wasted lanes
    for (let p = 0; p < P; p++) {
      im2colRow(p, stage, inPtr, inH, inW, inC, outW, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, direct, zpv);
      const o = outPtr + <usize>p * pixStride;
      let b = 0;
      const full = outC >> 3;
      for (; b + 4 <= full; b += 4) {
        tile1x32<W, L>(stage, pwPtr + <usize>b * wBlock, wBlock, kpairs, q0 + <usize>b * RQ_BLOCK,
          o + (<usize>b << 3), zp16, lo8, hi8);
      }
      for (; b < nb; b++) {
        const c0 = b << 3;
        tile1x8<W, L>(stage, pwPtr + <usize>b * wBlock, kpairs, q0 + <usize>b * RQ_BLOCK,
          o + <usize>c0, min(8, outC - c0), zp16, lo8, hi8);
      }
    }
    return;
  }

  for (let p0 = 0; p0 < P; p0 += CH) {
    const n = min(CH, P - p0);
    const ng = (n + 3) >> 2;
    // ---- im2col of pixels p0 .. p0+n-1 into groups of 4 interleaved pixels (a partial last group
    //      repeats its last pixel; those lanes are computed but not stored)
    for (let g = 0; g < ng; g++) {
      for (let p = 0; p < 4; p++) {
        const pix = p0 + min((g << 2) + p, n - 1);
        im2colRow(pix, stage + <usize>p * RS, inPtr, inH, inW, inC, outW, kH, kW, strideH, strideW, dilH, dilW,
          padTop, padLeft, direct, zpv);
      }
      // interleave: 4 k-pairs (8 values) of the 4 rows per step, 4x4 transpose of i32 pairs
      let dst = scratch + <usize>g * groupBytes;
      const r0 = stage, r1 = stage + RS, r2 = stage + 2 * RS, r3 = stage + 3 * RS;
      for (let k: usize = 0; k < <usize>Kp << 1; k += 16) {
        const v0 = v128.load(r0 + k), v1 = v128.load(r1 + k), v2 = v128.load(r2 + k), v3 = v128.load(r3 + k);
        const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
        const t1 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
        const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
        const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
        v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
        v128.store(dst, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
        v128.store(dst, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
        v128.store(dst, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
        dst += 64;
      }
    }
    // ---- GEMM + requant
    const outBase = outPtr + <usize>p0 * pixStride;
    for (let g = 0; g < ng; g++) {
      const rp = scratch + <usize>g * groupBytes;
      const o = outBase + (<usize>g << 2) * pixStride;
      const np = min(4, n - (g << 2));
      for (let b = 0; b < nb; b++) {
        const c0 = b << 3;
        tile(rp, pwPtr + <usize>b * wBlock, kpairs, q0 + <usize>b * RQ_BLOCK, o + <usize>c0, pixStride, np,
          min(8, outC - c0), zp16, lo8, hi8);
      }
    }
  }
}

// im2col of output pixel pix into one row-major int16 row (x - inZp, 0 for padding taps). Writes up to
// 7 values past K (the row stride leaves room) and reads up to 7 bytes past an input pixel.
// @ts-ignore: decorator
@inline
function im2colRow(pix: i32, dst: usize, inPtr: usize, inH: i32, inW: i32, inC: i32, outW: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32,
  direct: bool, zpv: v128): void {
  if (direct) {
    widen(inPtr + <usize>pix * <usize>inC, dst, inC, zpv);
    return;
  }
  const oy = pix / outW, ox = pix - oy * outW;
  const iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft;
  let d = dst;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * dilH;
    const rowOk = iy >= 0 && iy < inH;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * dilW;
      if (rowOk && ix >= 0 && ix < inW) widen(inPtr + <usize>((iy * inW + ix) * inC), d, inC, zpv);
      else zeroFill(d, inC);
      d += <usize>inC << 1;
    }
  }
}

export function conv_i8(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32,
  pwPtr: usize, wIs16: i32, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32,
  scratchPtr: usize): void {
  // requant mode (simd_requant.ts): 1 = LEFT (i64), 2 = FAST (i16), else GENERAL (i32)
  const mode = load<i32>(qPtr);
  if (wIs16) {
    if (mode == RQ_MODE_LEFT) convBody<i16, i64>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratchPtr);
    else if (mode == RQ_MODE_FAST) convBody<i16, i16>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratchPtr);
    else convBody<i16, i32>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratchPtr);
  } else {
    if (mode == RQ_MODE_LEFT) convBody<i8, i64>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratchPtr);
    else if (mode == RQ_MODE_FAST) convBody<i8, i16>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratchPtr);
    else convBody<i8, i32>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratchPtr);
  }
}
