// DEPTHWISE_CONV_2D, int8 activations, TFLite reference semantics (double-rounding requant).
import { mbqm, clampi } from './requant';
import { requantStore4x8, RQ_HEADER, RQ_BLOCK } from './simd_requant';

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
// values are w - wZp. After all blocks: i32 sumW[Cpad8] = sum over taps of (w - wZp).
// The input zero point is folded into the bias (acc = bias - inZp*sumW + sum x*w); taps outside the
// input read a 16-byte buffer filled with inZp, which then contributes exactly 0.
// Every output pixel tile is 4 consecutive pixels of one row x 8 channels; i32x4.dot_i16x8_s sums the
// two taps of a pair.
// ---------------------------------------------------------------------------------------------

export const DW_MAX_TAPS: i32 = 1024;
const tapOff: usize = memory.data(DW_MAX_TAPS * 4, 16);
const tapTbl: usize = memory.data(4 * DW_MAX_TAPS * 4, 16);
const zpBuf: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline
function dwTile(border: bool, p0: usize, p1: usize, p2: usize, p3: usize, inPtr: usize,
  wp: usize, npairs: i32, cOff: usize, bias: usize, sumW: usize, zpi: v128, qb: usize, hasLeft: bool,
  out: usize, pixStride: usize, np: i32, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  const bl = i32x4.sub(v128.load(bias), i32x4.mul(v128.load(sumW), zpi));
  const bh = i32x4.sub(v128.load(bias, 16), i32x4.mul(v128.load(sumW, 16), zpi));
  let a0l = bl, a0h = bh, a1l = bl, a1h = bh, a2l = bl, a2h = bh, a3l = bl, a3h = bh;
  for (let j = 0; j < npairs; j++) {
    const w0 = v128.load(wp);
    const w1 = v128.load(wp, 16);
    wp += 32;
    let x0: usize, x1: usize, y0: usize, y1: usize, z0: usize, z1: usize, u0: usize, u1: usize;
    if (border) {
      // p<k> point at the tile's 4 rows of the tap table; entries are input offsets or -1
      const j8 = <usize>j << 3;
      const o00 = load<i32>(p0 + j8), o01 = load<i32>(p0 + j8, 4);
      const o10 = load<i32>(p1 + j8), o11 = load<i32>(p1 + j8, 4);
      const o20 = load<i32>(p2 + j8), o21 = load<i32>(p2 + j8, 4);
      const o30 = load<i32>(p3 + j8), o31 = load<i32>(p3 + j8, 4);
      x0 = select<usize>(inPtr + <usize>o00 + cOff, zpBuf, o00 >= 0);
      x1 = select<usize>(inPtr + <usize>o01 + cOff, zpBuf, o01 >= 0);
      y0 = select<usize>(inPtr + <usize>o10 + cOff, zpBuf, o10 >= 0);
      y1 = select<usize>(inPtr + <usize>o11 + cOff, zpBuf, o11 >= 0);
      z0 = select<usize>(inPtr + <usize>o20 + cOff, zpBuf, o20 >= 0);
      z1 = select<usize>(inPtr + <usize>o21 + cOff, zpBuf, o21 >= 0);
      u0 = select<usize>(inPtr + <usize>o30 + cOff, zpBuf, o30 >= 0);
      u1 = select<usize>(inPtr + <usize>o31 + cOff, zpBuf, o31 >= 0);
    } else {
      // p<k> = input pointer of pixel k (+ channel offset); tapOff relative offsets
      const j8 = <usize>j << 3;
      const t0 = <usize>load<i32>(tapOff + j8), t1 = <usize>load<i32>(tapOff + j8, 4);
      x0 = p0 + t0; x1 = p0 + t1;
      y0 = p1 + t0; y1 = p1 + t1;
      z0 = p2 + t0; z1 = p2 + t1;
      u0 = p3 + t0; u1 = p3 + t1;
    }
    let a = v128.load8x8_s(x0), b = v128.load8x8_s(x1);
    a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
    a = v128.load8x8_s(y0); b = v128.load8x8_s(y1);
    a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
    a = v128.load8x8_s(z0); b = v128.load8x8_s(z1);
    a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
    a = v128.load8x8_s(u0); b = v128.load8x8_s(u1);
    a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w0));
    a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w1));
  }
  requantStore4x8(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, hasLeft, out, pixStride, np, nc, zp16, lo8, hi8);
}

// @ts-ignore: decorator
@inline
function dwBody(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32, hasLeft: bool): void {
  const C = outC;
  const T = kH * kW;
  const Tp = (T + 1) & ~1;
  const npairs = Tp >> 1;
  const nb = (C + 7) >> 3;
  const wBlock: usize = <usize>npairs << 5;
  const sumW0 = pwPtr + <usize>nb * wBlock;
  const q0 = qPtr + RQ_HEADER;
  const zpi = i32x4.splat(inZp);
  const zp16 = i16x8.splat(<i16>outZp);
  const lo8 = i8x16.splat(<i8>actMin);
  const hi8 = i8x16.splat(<i8>actMax);
  v128.store(zpBuf, i8x16.splat(<i8>inZp));
  v128.store(zpBuf, i8x16.splat(<i8>inZp), 16);
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
          dwTile(false, pb, pb + ps, pb + 2 * ps, pb + 3 * ps, inPtr, pwPtr + <usize>b * wBlock, npairs, cOff,
            q0 + <usize>b * RQ_BLOCK, sumW0 + (cOff << 2), zpi, q0 + <usize>b * RQ_BLOCK, hasLeft,
            o + cOff, pixStride, 4, min(8, C - (b << 3)), zp16, lo8, hi8);
        }
      } else {
        // tap table for the 4 pixels (pixels past the row end duplicate the last one)
        for (let p = 0; p < 4; p++) {
          const oxp = min(ox + p, outW - 1);
          const ix0 = oxp * strideW - padLeft;
          const row = tapTbl + <usize>p * tStride;
          for (let ky = 0; ky < kH; ky++) {
            const iy = iy0 + ky * dilH;
            const rowOk = iy >= 0 && iy < inH;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ix0 + kx * dilW;
              store<i32>(row + (<usize>(ky * kW + kx) << 2), rowOk && ix >= 0 && ix < inW ? (iy * inW + ix) * inC : -1);
            }
          }
          if (Tp > T) store<i32>(row + (<usize>T << 2), load<i32>(row + (<usize>(T - 1) << 2)));
        }
        for (let b = 0; b < nb; b++) {
          const cOff = <usize>b << 3;
          dwTile(true, tapTbl, tapTbl + tStride, tapTbl + 2 * tStride, tapTbl + 3 * tStride, inPtr,
            pwPtr + <usize>b * wBlock, npairs, cOff,
            q0 + <usize>b * RQ_BLOCK, sumW0 + (cOff << 2), zpi, q0 + <usize>b * RQ_BLOCK, hasLeft,
            o + cOff, pixStride, np, min(8, C - (b << 3)), zp16, lo8, hi8);
        }
      }
    }
  }
}

export function dw_i8(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, dilW: i32, padTop: i32, padLeft: i32): void {
  if (load<i32>(qPtr) != 0)
    dwBody(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
      kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, true);
  else
    dwBody(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
      kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, false);
}
