// DEPTHWISE_CONV_2D, int8 activations, TFLite reference semantics (double-rounding requant).
import { mbqm, clampi } from './requant';
import { requantStore4x8, RQ_HEADER, RQ_BLOCK, RQ_B2, RQ_MODE_LEFT, RQ_MODE_FAST } from './simd_requant';
import { dw3_fast2r, dw3Entries, DW3_MAX_ENTRIES } from './dw3x3';

// ---------------------------------------------------------------------------------------------
// Scalar reference (the spec)
// ---------------------------------------------------------------------------------------------
export function dw_ref_i8(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32,
  wPtr: usize, wIs16: i32, depthMult: i32,
  biasPtr: usize, multPtr: usize, shiftPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const o = outPtr + <usize>((oy * outW + ox) * outC);
      for (let ic = 0; ic < inC; ic++) {
        for (let m = 0; m < depthMult; m++) {
          const oc = ic * depthMult + m;
          let acc: i32 = load<i32>(biasPtr + (<usize>oc << 2));
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy * strideH - padTop + ky * dilH;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ox * strideW - padLeft + kx * dilW;
              if (ix < 0 || ix >= inW) continue;
              const x: i32 = <i32>load<i8>(inPtr + <usize>((iy * inW + ix) * inC + ic)) - inZp;
              const wi = (ky * kW + kx) * outC + oc;
              const w: i32 = wIs16 ? <i32>load<i16>(wPtr + (<usize>wi << 1)) : <i32>load<i8>(wPtr + <usize>wi);
              acc += x * w;
            }
          }
          const mu = load<i32>(multPtr + (<usize>oc << 2));
          const s = load<i32>(shiftPtr + (<usize>oc << 2));
          store<i8>(o + oc, <i8>clampi(mbqm(acc, mu, s) + outZp, actMin, actMax));
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fast kernel (depthMult == 1)
//
// Packed weights (packDepthwiseWeights): T = kH*kW taps, Tp = T rounded up to even (the phantom tap has
// weight 0), C padded to 8. Per block of 8 channels, per tap pair (t0, t1): 16 int16
//   [w(t0,c0) w(t1,c0) w(t0,c1) w(t1,c1) ... w(t0,c3) w(t1,c3) | same for c4..c7]   (32 bytes)
// values are 2*(w - wZp) (doubled: the FAST2 requant mode accumulates 2*acc; the other modes halve the
// weights as they load them, exactly). After all blocks: i32 sumW[Cpad8] = sum over taps of 2*(w - wZp).
// The input zero point is folded into the bias (acc = bias - inZp*sumW + sum x*w); taps outside the
// input read inZp instead (a static row of C+16 bytes of inZp at the same channel offset, or a 16-byte
// inZp buffer through a select when C > 8176), which then contributes exactly 0.
// Every output pixel tile is 4 consecutive pixels of one row x 8 channels, computed as two passes of
// 2 pixels (4 live accumulators, no spills); i32x4.dot_i16x8_s sums the two taps of a pair of the
// sign-extended, interleaved inputs. Interior tiles add precomputed tap offsets to the pixel pointers;
// border tiles go through a per-tile table of tap offsets. The last tile of a row overlaps the previous
// one when outW is not a multiple of 4 (recomputing identical bytes). Static memory used: tap tables
// (20 KB), the zero-point row (8 KB).
// ---------------------------------------------------------------------------------------------

const DW_MAX_TAPS: i32 = 1024; // pack.ts DW_MAX_TAPS
const tapOff: usize = memory.data(DW_MAX_TAPS * 4, 16);
const tapTbl: usize = memory.data(4 * DW_MAX_TAPS * 4, 16);
const zpBuf: usize = memory.data(32, 16);
// zero-point filled row: taps outside the input point into it (at the same channel offset) when C fits
const ZP_ROW: i32 = 8192;
const zpRow: usize = memory.data(ZP_ROW, 16);

// Input pointer of tap t (of pair j: t = 2j + second) for pixel row p of the tile.
// border: p is the pixel's row in the tap table (entries: input offsets or -1 = outside -> zpBuf);
// interior: p is the pixel's input pointer (+ channel offset) and tapOff holds relative offsets.
// @ts-ignore: decorator
@inline
function tapPtr(border: bool, ptrTable: bool, p: usize, j8: usize, second: usize, inPtr: usize, cOff: usize): usize {
  if (border) {
    const o = load<i32>(p + j8 + (second << 2));
    return select<usize>(inPtr + <usize>o + cOff, zpBuf, o >= 0);
  }
  // interior, or border with the zpRow table: p = tap table row, entries relative to inPtr + cOff (in the 'base' argument)
  if (ptrTable) return inPtr + <usize>load<i32>(p + j8 + (second << 2));
  return p + <usize>load<i32>(j8 + (second << 2), tapOff);
}

// @ts-ignore: decorator
@inline
function dwTile<L>(border: bool, ptrTable: bool, p0: usize, p1: usize, p2: usize, p3: usize, inPtr: usize,
  wp0: usize, npairs: i32, cOff: usize, bias: usize, sumW: usize, zpi: v128, qb: usize,
  out: usize, pixStride: usize, np: i32, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  let sl = v128.load(sumW), sh = v128.load(sumW, 16);
  if (sizeof<L>() != 1) { sl = i32x4.shr_s(sl, 1); sh = i32x4.shr_s(sh, 1); }
  const bl = i32x4.sub(v128.load(bias), i32x4.mul(sl, zpi));
  const bh = i32x4.sub(v128.load(bias, 16), i32x4.mul(sh, zpi));
  // two passes of 2 pixels each: 4 live accumulators per loop keep V8 from spilling
  let a0l = bl, a0h = bh, a1l = bl, a1h = bh;
  const wEnd = wp0 + (<usize>npairs << 5);
  let wp = wp0;
  let j8: usize = 0;
  while (wp < wEnd) {
    let w0 = v128.load(wp);
    let w1 = v128.load(wp, 16);
    if (sizeof<L>() != 1) { w0 = i16x8.shr_s(w0, 1); w1 = i16x8.shr_s(w1, 1); }
    wp += 32;
    let a = v128.load8x8_s(tapPtr(border, ptrTable, p0, j8, 0, inPtr, cOff));
    let b = v128.load8x8_s(tapPtr(border, ptrTable, p0, j8, 1, inPtr, cOff));
    a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
    a = v128.load8x8_s(tapPtr(border, ptrTable, p1, j8, 0, inPtr, cOff));
    b = v128.load8x8_s(tapPtr(border, ptrTable, p1, j8, 1, inPtr, cOff));
    a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
    j8 += 8;
  }
  let a2l = bl, a2h = bh, a3l = bl, a3h = bh;
  wp = wp0;
  j8 = 0;
  while (wp < wEnd) {
    let w0 = v128.load(wp);
    let w1 = v128.load(wp, 16);
    if (sizeof<L>() != 1) { w0 = i16x8.shr_s(w0, 1); w1 = i16x8.shr_s(w1, 1); }
    wp += 32;
    let a = v128.load8x8_s(tapPtr(border, ptrTable, p2, j8, 0, inPtr, cOff));
    let b = v128.load8x8_s(tapPtr(border, ptrTable, p2, j8, 1, inPtr, cOff));
    a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
    a = v128.load8x8_s(tapPtr(border, ptrTable, p3, j8, 0, inPtr, cOff));
    b = v128.load8x8_s(tapPtr(border, ptrTable, p3, j8, 1, inPtr, cOff));
    a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
    j8 += 8;
  }
  requantStore4x8<L>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, out, pixStride, np, nc, zp16, lo8, hi8);
}

// @ts-ignore: decorator
@inline
function dwBody<L>(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  const C = outC;
  const T = kH * kW;
  const Tp = (T + 1) & ~1;
  const npairs = Tp >> 1;
  const nb = (C + 7) >> 3;
  const wBlock: usize = <usize>npairs << 5;
  // FAST2 (L = i8): the doubled weights and sums as packed, and 2*bias; other modes halve them
  const D = sizeof<L>() == 1;
  const sumW0 = pwPtr + <usize>nb * wBlock;
  const q0 = qPtr + RQ_HEADER;
  const bOff: usize = D ? RQ_B2 : 0;
  const zpi = i32x4.splat(inZp);
  const zp16 = i16x8.splat(<i16>outZp);
  const lo8 = i8x16.splat(<i8>actMin);
  const hi8 = i8x16.splat(<i8>actMax);
  v128.store(zpBuf, i8x16.splat(<i8>inZp));
  v128.store(zpBuf, i8x16.splat(<i8>inZp), 16);
  if (C + 16 <= ZP_ROW) memory.fill(zpRow, <u8>inZp, <usize>(C + 16));
  const pixStride = <usize>C;

  // relative tap offsets for interior pixels
  for (let ky = 0; ky < kH; ky++)
    for (let kx = 0; kx < kW; kx++)
      store<i32>(tapOff + (<usize>(ky * kW + kx) << 2), (ky * dilH * inW + kx * dilW) * inC);
  if (Tp > T) store<i32>(tapOff + (<usize>T << 2), load<i32>(tapOff + (<usize>(T - 1) << 2)));

  // interior ranges: every tap inside the input
  const oxLo = (padLeft + strideW - 1) / strideW;
  const oxHiN = inW - 1 - (kW - 1) * dilW + padLeft; // ox*strideW <= oxHiN
  const oxHi = oxHiN >= 0 ? oxHiN / strideW : -1;
  const oyLo = (padTop + strideH - 1) / strideH;
  const oyHiN = inH - 1 - (kH - 1) * dilH + padTop;
  const oyHi = oyHiN >= 0 ? oyHiN / strideH : -1;
  const np = min(4, outW);
  const tStride: usize = <usize>DW_MAX_TAPS << 2;

  for (let oy = 0; oy < outH; oy++) {
    const rowInterior = oy >= oyLo && oy <= oyHi;
    const iy0 = oy * strideH - padTop;
    const outRow = outPtr + <usize>(oy * outW) * pixStride;
    for (let t = 0; t < outW; t += 4) {
      const ox = t + 4 <= outW ? t : max(0, outW - 4); // last tile overlaps
      const o = outRow + <usize>ox * pixStride;
      if (rowInterior && ox >= oxLo && ox + 3 <= oxHi) {
        const base = inPtr + <usize>((iy0 * inW + ox * strideW - padLeft) * inC);
        const ps = <usize>(strideW * inC);
        for (let b = 0; b < nb; b++) {
          const cOff = <usize>b << 3;
          const pb = base + cOff;
          dwTile<L>(false, false, pb, pb + ps, pb + 2 * ps, pb + 3 * ps, inPtr, pwPtr + <usize>b * wBlock, npairs, cOff,
            q0 + <usize>b * RQ_BLOCK + bOff, sumW0 + (cOff << 2), zpi, q0 + <usize>b * RQ_BLOCK,
            o + cOff, pixStride, 4, min(8, C - (b << 3)), zp16, lo8, hi8);
        }
      } else {
        // tap table for the 4 pixels (pixels past the row end duplicate the last one)
        const useRow = C + 16 <= ZP_ROW;
        const oob: i32 = <i32>(zpRow - inPtr);
        for (let p = 0; p < 4; p++) {
          const oxp = min(ox + p, outW - 1);
          const ix0 = oxp * strideW - padLeft;
          const row = tapTbl + <usize>p * tStride;
          for (let ky = 0; ky < kH; ky++) {
            const iy = iy0 + ky * dilH;
            const rowOk = iy >= 0 && iy < inH;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ix0 + kx * dilW;
              store<i32>(row + (<usize>(ky * kW + kx) << 2), rowOk && ix >= 0 && ix < inW ? (iy * inW + ix) * inC : (useRow ? oob : -1));
            }
          }
          if (Tp > T) store<i32>(row + (<usize>T << 2), load<i32>(row + (<usize>(T - 1) << 2)));
        }
        if (useRow) {
          for (let b = 0; b < nb; b++) {
            const cOff = <usize>b << 3;
            dwTile<L>(false, true, tapTbl, tapTbl + tStride, tapTbl + 2 * tStride, tapTbl + 3 * tStride, inPtr + cOff,
              pwPtr + <usize>b * wBlock, npairs, cOff,
              q0 + <usize>b * RQ_BLOCK + bOff, sumW0 + (cOff << 2), zpi, q0 + <usize>b * RQ_BLOCK,
              o + cOff, pixStride, np, min(8, C - (b << 3)), zp16, lo8, hi8);
          }
        } else for (let b = 0; b < nb; b++) {
          const cOff = <usize>b << 3;
          dwTile<L>(true, false, tapTbl, tapTbl + tStride, tapTbl + 2 * tStride, tapTbl + 3 * tStride, inPtr,
            pwPtr + <usize>b * wBlock, npairs, cOff,
            q0 + <usize>b * RQ_BLOCK + bOff, sumW0 + (cOff << 2), zpi, q0 + <usize>b * RQ_BLOCK,
            o + cOff, pixStride, np, min(8, C - (b << 3)), zp16, lo8, hi8);
        }
      }
    }
  }
}

// One function per requant mode, called through a reference (optimized by V8 one by one, as conv_i8's).
type DwBody = (inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32) => void;
function dw_fast2(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  dwBody<i8>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
}
function dw_fast2f(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  dwBody<u8>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
}
function dw_fast2r(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  dwBody<bool>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
}
function dw_left(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  dwBody<i64>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
}
function dw_fast(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  dwBody<i16>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
}
function dw_general(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  dwBody<i32>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
}

export function dw_i8(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  // requant mode: 1 = LEFT (i64), 2 = FAST (i16; FAST2 (i8) with the doubled weights when |bias| < 2^29
  // and taps * 255 * 255 < 2^29, so |acc| < 2^30; FAST2F (u8) when the block's floatExact is 1, FAST2R
  // (bool) when it is 2), else GENERAL (i32)
  if (kH * kW > DW_MAX_TAPS) unreachable(); // static tap tables; packDepthwiseWeights refuses these too
  const mode = load<i32>(qPtr);
  const fast2 = mode == RQ_MODE_FAST && load<i32>(qPtr, 8) != 0 && kH * kW < 8256;
  const fe = fast2 ? load<i32>(qPtr, 12) : 0;
  // 3x3 stride-1 FAST2R layers of up to 128 channels take the packed-row kernel (dw3x3.ts). Measured (interleaved
  // per-layer A/B): 5-35% faster on wv_quality_mobilenetv2's and vww_96's layers of 8-128 channels, equal at
  // MobileNetV2's 32, but 3-15% slower on its 144-960 channel layers, which stay on the tap-table kernel.
  if (fe == 2 && kH == 3 && kW == 3 && dilH == 1 && dilW == 1 && strideH == 1 && strideW == 1 && inC <= 128 && dw3Entries(outW) <= DW3_MAX_ENTRIES) {
    dw3_fast2r(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outZp, actMin, actMax, padTop, padLeft);
    return;
  }
  const body: DwBody = fast2 ? (fe == 2 ? dw_fast2r : fe != 0 ? dw_fast2f : dw_fast2) : mode == RQ_MODE_LEFT ? dw_left : mode == RQ_MODE_FAST ? dw_fast : dw_general;
  body(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft);
}
