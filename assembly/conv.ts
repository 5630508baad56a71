// CONV_2D / FULLY_CONNECTED, int8 activations, TFLite reference semantics (double-rounding requant).
import { mbqm, clampi } from './requant';
import { requantStore4x8, storeTransposed4x4, RQ_HEADER, RQ_BLOCK, RQ_MODE_LEFT, RQ_MODE_FAST } from './simd_requant';
import { biasOff, xw, widen, zeroFill } from './conv_common';
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
// Scratch (conv_scratch_bytes / pack.ts convScratchBytes = CH*(Kp*2 + RS) + 192):
//   [0, CH*Kp*2): im2col of a chunk of CH = convChunkPixels(Kp) output pixels as groups of 4 pixels:
//                 per k-pair 16 bytes = the (x(k0) - inZp, x(k1) - inZp) int16 pairs of the 4 pixels
//                 (0 for padding taps), so the micro-kernel reads one pointer with immediate offsets;
//   64 bytes of slack, then CH row-major int16 staging rows of stride RS = convRowStride(K) bytes
//   (general im2col; 1x1 stride-1 convs widen + interleave straight from the input), + 128 bytes slack.
// P < 4 output pixels (fully connected with 1..3 batches) use a matrix-vector path instead.
// ---------------------------------------------------------------------------------------------

/** Pixels per im2col chunk; pack.ts's convScratchBytes mirrors this formula. */
// @ts-ignore: decorator
@inline
function convChunkPixels(Kp: i32): i32 {
  let ch = (32768 / (Kp * 2)) & ~3;
  if (ch < 4) ch = 4;
  if (ch > 256) ch = 256;
  return ch;
}

/** Scratch bytes of conv_i8; pack.ts's convScratchBytes mirrors this formula. */
export function conv_scratch_bytes(kH: i32, kW: i32, inC: i32): i32 {
  const K = kH * kW * inC;
  const Kp = (K + 1) & ~1;
  return convChunkPixels(Kp) * (Kp * 2 + convRowStride(K)) + 192;
}

/** Bytes between the row-major int16 staging rows (K rounded up to 8, + 8 elements of write slack). */
// @ts-ignore: decorator
@inline
function convRowStride(K: i32): i32 {
  return (((K + 7) & ~7) + 8) << 1;
}

// ng consecutive groups of 4 output pixels x all output channels: rp = the first group's interleaved
// scratch (per k-pair 16 bytes = the (k0, k1) int16 pairs of pixels 0..3; groups kpairs*16 bytes apart). Instantiated per (weight type W, requant mode L)
// as group_* below and called through a function reference, so Binaryen does not inline it into the
// big convBody: V8 then allocates registers for this small function alone and keeps the 8 accumulators
// of the micro-kernel in registers (inlined, the same code ran up to 3x slower).
type Group4 = (rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128) => void;
// @ts-ignore: decorator
@inline
function group4<W, L>(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  const groupBytes = <usize>kpairs << 4;
  const groupOut = pixStride << 2;
  for (let g = 0; g < ng; g++) {
    let w = pw, q = q0;
    for (let c0 = 0; c0 < outC; c0 += 8) {
      tile4x8<W, L>(rp, w, kpairs, q, out + <usize>c0, pixStride, 4, min(8, outC - c0), zp16, lo8, hi8);
      w += wBlock;
      q += RQ_BLOCK;
    }
    rp += groupBytes;
    out += groupOut;
  }
}
// 4 pixels x 8 channels (one weight block): k-pair loop (2 weight loads, 4 load32_splat, 8 dot + 8 add
// per k-pair = 64 MACs), then the vector requant and the int8 stores.
// @ts-ignore: decorator
@inline
function tile4x8<W, L>(rp: usize, wp: usize, kpairs: i32, qb: usize,
  out: usize, pixStride: usize, np: i32, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  const bq = qb + biasOff<L>();
  const bl = v128.load(bq);
  const bh = v128.load(bq, 16);
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
function group_i8(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i8, i32>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i8_left(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i8, i64>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i8_fast(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i8, i16>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i8_fast2(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i8, i8>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i8_fast2f(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i8, u8>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i8_fast2r(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i8, bool>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i16(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i16, i32>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i16_left(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i16, i64>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i16_fast(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i16, i16>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i16_fast2(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i16, i8>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}
function group_i16_fast2f(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i16, u8>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}

function group_i16_fast2r(rp: usize, pw: usize, wBlock: usize, kpairs: i32, q0: usize, outC: i32,
  out: usize, pixStride: usize, ng: i32, zp16: v128, lo8: v128, hi8: v128): void {
  group4<i16, bool>(rp, pw, wBlock, kpairs, q0, outC, out, pixStride, ng, zp16, lo8, hi8);
}

// 1 pixel x 32 channels (4 weight blocks)
// @ts-ignore: decorator
@inline
function tile1x32<W, L>(r: usize, wp: usize, wStride: usize, kpairs: i32, qb: usize,
  out: usize, zp16: v128, lo8: v128, hi8: v128): void {
  const bq = qb + biasOff<L>();
  let a0 = v128.load(bq), a1 = v128.load(bq, 16);
  let a2 = v128.load(bq + RQ_BLOCK), a3 = v128.load(bq + RQ_BLOCK, 16);
  let a4 = v128.load(bq + 2 * RQ_BLOCK), a5 = v128.load(bq + 2 * RQ_BLOCK, 16);
  let a6 = v128.load(bq + 3 * RQ_BLOCK), a7 = v128.load(bq + 3 * RQ_BLOCK, 16);
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
  // requant one block (8 channels) at a time
  rqStore1x8<L>(a0, a1, qb, out, 8, zp16, lo8, hi8);
  rqStore1x8<L>(a2, a3, qb + RQ_BLOCK, out + 8, 8, zp16, lo8, hi8);
  rqStore1x8<L>(a4, a5, qb + 2 * RQ_BLOCK, out + 16, 8, zp16, lo8, hi8);
  rqStore1x8<L>(a6, a7, qb + 3 * RQ_BLOCK, out + 24, 8, zp16, lo8, hi8);
}

// 1 pixel x 8 channels (one block), nc valid channels
// @ts-ignore: decorator
@inline
function tile1x8<W, L>(r: usize, wp: usize, kpairs: i32, qb: usize,
  out: usize, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  const bq = qb + biasOff<L>();
  let a0 = v128.load(bq), a1 = v128.load(bq, 16);
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
  rqStore1x8<L>(a0, a1, qb, out, nc, zp16, lo8, hi8);
}

// Requant + store of one pixel x 8 channels (the matrix-vector path): one out-of-line copy per requant
// mode instead of one per call site (the matrix-vector path is not requant-bound; this keeps the module small)
function rq1x8_left(a0: v128, a1: v128, qb: usize, out: usize, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  requantStore4x8<i64>(a0, a1, a0, a1, a0, a1, a0, a1, qb, out, 0, 1, nc, zp16, lo8, hi8);
}
function rq1x8_general(a0: v128, a1: v128, qb: usize, out: usize, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  requantStore4x8<i32>(a0, a1, a0, a1, a0, a1, a0, a1, qb, out, 0, 1, nc, zp16, lo8, hi8);
}
function rq1x8_fast(a0: v128, a1: v128, qb: usize, out: usize, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  requantStore4x8<i16>(a0, a1, a0, a1, a0, a1, a0, a1, qb, out, 0, 1, nc, zp16, lo8, hi8);
}
function rq1x8_fast2(a0: v128, a1: v128, qb: usize, out: usize, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  requantStore4x8<i8>(a0, a1, a0, a1, a0, a1, a0, a1, qb, out, 0, 1, nc, zp16, lo8, hi8);
}
// @ts-ignore: decorator
@inline
function rqStore1x8<L>(a0: v128, a1: v128, qb: usize, out: usize, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  if (sizeof<L>() == 8) rq1x8_left(a0, a1, qb, out, nc, zp16, lo8, hi8);
  else if (sizeof<L>() == 4) rq1x8_general(a0, a1, qb, out, nc, zp16, lo8, hi8);
  else if (sizeof<L>() == 2) rq1x8_fast(a0, a1, qb, out, nc, zp16, lo8, hi8);
  else rq1x8_fast2(a0, a1, qb, out, nc, zp16, lo8, hi8);
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
  const zpv = i16x8.splat(<i16>(sizeof<L>() == 1 ? 2 * inZp : inZp));
  const zp16 = i16x8.splat(<i16>outZp);
  const lo8 = i8x16.splat(<i8>actMin);
  const hi8 = i8x16.splat(<i8>actMax);
  const pixStride = <usize>outC;
  const direct = kH == 1 && kW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0 && inW == outW && inH == outH;
  const q0 = qPtr + RQ_HEADER;
  const group: Group4 = sizeof<W>() == 1
    ? (sizeof<L>() == 8 ? group_i8_left : sizeof<L>() == 2 ? group_i8_fast : isBoolean<L>() ? group_i8_fast2r : sizeof<L>() == 1 ? (isSigned<L>() ? group_i8_fast2 : group_i8_fast2f) : group_i8)
    : (sizeof<L>() == 8 ? group_i16_left : sizeof<L>() == 2 ? group_i16_fast : isBoolean<L>() ? group_i16_fast2r : sizeof<L>() == 1 ? (isSigned<L>() ? group_i16_fast2 : group_i16_fast2f) : group_i16);

  const RS = <usize>convRowStride(K);
  // interior output pixels (every tap inside the input) use a table of tap offsets
  const T = kH * kW;
  const useTbl = !direct && T <= MAX_TAPS;
  if (useTbl) {
    for (let ky = 0; ky < kH; ky++)
      for (let kx = 0; kx < kW; kx++)
        store<i32>(convTapOff + (<usize>(ky * kW + kx) << 2), (ky * dilH * inW + kx * dilW) * inC);
  }
  const oxLo = (padLeft + strideW - 1) / strideW;
  const oxHiN = inW - 1 - (kW - 1) * dilW + padLeft;
  const oxHi = oxHiN >= 0 ? oxHiN / strideW : -1;
  const oyLo = (padTop + strideH - 1) / strideH;
  const oyHiN = inH - 1 - (kH - 1) * dilH + padTop;
  const oyHi = oyHiN >= 0 ? oyHiN / strideH : -1;
  const stage = scratch + <usize>CH * rowBytes + 64; // CH staging rows, row-major int16 (after 64 bytes of slack)
  const groupBytes = <usize>kpairs << 4;

  for (let p0 = 0; p0 < P; p0 += CH) {
    const n = min(CH, P - p0);
    // full groups of 4 pixels run the 4x8 GEMM tiles; the last 1..3 pixels of the layer (P not a multiple
    // of 4, e.g. 7x7 maps or fully connected layers with 1..3 batches) run the matrix-vector tiles, one
    // pixel at a time, instead of a group with wasted lanes
    const ng = n >> 2;
    const full = ng << 2;
    // ---- im2col of pixels p0 .. p0+n-1 into groups of 4 interleaved pixels
    if (direct) {
      // 1x1 stride 1: pixel rows are contiguous in the input; widen + transpose straight into the groups
      for (let g = 0; g < ng; g++) {
        const s0 = inPtr + <usize>(p0 + (g << 2)) * <usize>inC;
        interleave4<L>(s0, s0 + <usize>inC, s0 + 2 * <usize>inC, s0 + 3 * <usize>inC, scratch + <usize>g * groupBytes, Kp, true, zpv);
      }
    } else {
      // stage all rows first (row-major int16), then interleave: the overlapping tap stores are long
      // retired when the interleave loads them (no store-forwarding stalls)
      let oy = p0 / outW, ox = p0 - oy * outW;
      for (let p = 0; p < n; p++) {
        im2colPixel<L>(p0 + p, oy, ox, stage + <usize>p * RS, inPtr, inH, inW, inC, kH, kW, strideH, strideW, dilH, dilW,
          padTop, padLeft, useTbl, oyLo, oyHi, oxLo, oxHi, zpv);
        if (++ox == outW) { ox = 0; oy++; }
      }
      for (let g = 0; g < ng; g++) {
        const r0 = stage + <usize>(g << 2) * RS;
        interleave4<L>(r0, r0 + RS, r0 + 2 * RS, r0 + 3 * RS, scratch + <usize>g * groupBytes, Kp, false, zpv);
      }
    }
    // ---- GEMM + requant
    const outBase = outPtr + <usize>p0 * pixStride;
    if (ng > 0) group(scratch, pwPtr, wBlock, kpairs, q0, outC, outBase, pixStride, ng, zp16, lo8, hi8);
    for (let p = full; p < n; p++) {
      let r = stage + <usize>p * RS; // the staged row (general im2col)
      if (direct) {
        r = stage;
        widen<L>(inPtr + <usize>(p0 + p) * <usize>inC, stage, inC, zpv);
      }
      const o = outBase + <usize>p * pixStride;
      let b = 0;
      const fullBlocks = outC >> 3;
      for (; b + 4 <= fullBlocks; b += 4) {
        tile1x32<W, L>(r, pwPtr + <usize>b * wBlock, wBlock, kpairs, q0 + <usize>b * RQ_BLOCK,
          o + (<usize>b << 3), zp16, lo8, hi8);
      }
      for (; b < nb; b++) {
        const c0 = b << 3;
        tile1x8<W, L>(r, pwPtr + <usize>b * wBlock, kpairs, q0 + <usize>b * RQ_BLOCK,
          o + <usize>c0, min(8, outC - c0), zp16, lo8, hi8);
      }
    }
  }
}

// 4 rows (int8 input rows widened with - zp if WIDEN, else int16 staging rows) -> one interleaved group:
// per k-pair 16 bytes = the pairs of rows 0..3. Processes 4 k-pairs per step (4x4 transpose of i32
// pairs); may read 7 values past Kp of each row and write up to 48 bytes past the group.
// @ts-ignore: decorator
@inline
function interleave4<L>(r0: usize, r1: usize, r2: usize, r3: usize, dst: usize, Kp: i32, WIDEN: bool, zpv: v128): void {
  for (let k = 0; k < Kp; k += 8) {
    let v0: v128, v1: v128, v2: v128, v3: v128;
    if (WIDEN) {
      v0 = xw<L>(r0 + <usize>k, zpv);
      v1 = xw<L>(r1 + <usize>k, zpv);
      v2 = xw<L>(r2 + <usize>k, zpv);
      v3 = xw<L>(r3 + <usize>k, zpv);
    } else {
      v0 = v128.load(r0 + (<usize>k << 1)); v1 = v128.load(r1 + (<usize>k << 1));
      v2 = v128.load(r2 + (<usize>k << 1)); v3 = v128.load(r3 + (<usize>k << 1));
    }
    storeTransposed4x4(dst, v0, v1, v2, v3);
    dst += 64;
  }
}

const MAX_TAPS: i32 = 1024;
const convTapOff: usize = memory.data(MAX_TAPS * 4, 16);

// im2col of output pixel pix = (oy, ox) into one row-major int16 row (x - inZp, 0 for padding taps).
// Writes up to 7 values past K (the row stride leaves room) and reads up to 7 bytes past an input pixel.
// @ts-ignore: decorator
@inline
function im2colPixel<L>(pix: i32, oy: i32, ox: i32, dst: usize, inPtr: usize, inH: i32, inW: i32, inC: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32,
  useTbl: bool, oyLo: i32, oyHi: i32, oxLo: i32, oxHi: i32, zpv: v128): void {
  const iy0 = oy * strideH - padTop, ix0 = ox * strideW - padLeft;
  if (useTbl && oy >= oyLo && oy <= oyHi && ox >= oxLo && ox <= oxHi) {
    const base = inPtr + <usize>((iy0 * inW + ix0) * inC);
    const T = kH * kW;
    let d = dst;
    if (inC <= 8) {
      for (let t = 0; t < T; t++) {
        v128.store(d, xw<L>(base + <usize>load<i32>(convTapOff + (<usize>t << 2)), zpv));
        d += <usize>inC << 1;
      }
    } else {
      for (let t = 0; t < T; t++) {
        widen<L>(base + <usize>load<i32>(convTapOff + (<usize>t << 2)), d, inC, zpv);
        d += <usize>inC << 1;
      }
    }
    return;
  }
  let d = dst;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * dilH;
    const rowOk = iy >= 0 && iy < inH;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * dilW;
      if (rowOk && ix >= 0 && ix < inW) widen<L>(inPtr + <usize>((iy * inW + ix) * inC), d, inC, zpv);
      else zeroFill(d, inC);
      d += <usize>inC << 1;
    }
  }
}

// One function per (weight type, requant mode), called through a reference: V8 compiles and
// optimizes each on its own, so a model's first runs reach the optimized tier sooner than with
// all eight inlined into one large function.
type ConvBody = (inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize) => void;
function conv_w8_left(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i8, i64>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w8_fast2(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i8, i8>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w8_fast2f(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i8, u8>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w8_fast2r(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i8, bool>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w8_fast(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i8, i16>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w8_general(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i8, i32>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w16_left(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i16, i64>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w16_fast2(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i16, i8>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w16_fast2f(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i16, u8>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w16_fast2r(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i16, bool>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w16_fast(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i16, i16>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}
function conv_w16_general(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, scratch: usize): void {
  convBody<i16, i32>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratch);
}

export function conv_i8(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32,
  pwPtr: usize, wIs16: i32, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32,
  scratchPtr: usize): void {
  // requant mode (simd_requant.ts): 1 = LEFT (i64), 2 = FAST (i16; FAST2 (i8) with doubled accumulators
  // when |bias| < 2^29 and K*255*255 < 2^29, so |acc| < 2^30; FAST2F (u8) when the block's floatExact is
  // 1, FAST2R (bool) when it is 2), else GENERAL (i32)
  const mode = load<i32>(qPtr);
  const fast2 = mode == RQ_MODE_FAST && load<i32>(qPtr, 8) != 0 && kH * kW * inC < 8256;
  const fe = fast2 ? load<i32>(qPtr, 12) : 0;
  const body: ConvBody = wIs16
    ? (mode == RQ_MODE_LEFT ? conv_w16_left : fe == 2 ? conv_w16_fast2r : fe != 0 ? conv_w16_fast2f : fast2 ? conv_w16_fast2 : mode == RQ_MODE_FAST ? conv_w16_fast : conv_w16_general)
    : (mode == RQ_MODE_LEFT ? conv_w8_left : fe == 2 ? conv_w8_fast2r : fe != 0 ? conv_w8_fast2f : fast2 ? conv_w8_fast2 : mode == RQ_MODE_FAST ? conv_w8_fast : conv_w8_general);
  body(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, scratchPtr);
}
