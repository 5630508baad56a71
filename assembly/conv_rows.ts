// CONV_2D, int8 activations and int8 weights, "rows" variant: spatial kernels (kH*kW > 1) with
// dilationW 1, computed straight from widened input rows instead of an im2col buffer.
// Same arithmetic as conv_i8 (TFLite reference semantics, double-rounding requant); tested against
// conv_ref_i8 byte for byte.
//
// For each output row, the kH input rows it reads are widened once into scratch as int16 (x - inZp;
// doubled in FAST2 mode) over the columns -padLeft .. (outW-1)*strideW - padLeft + kW - 1, with zeros
// for padding columns and whole zero rows for padding rows. A kernel row then reads S = kW*inC consecutive
// values of a widened row, so the k-pairs of output pixel ox, kernel row ky are the Sp = ceil(S/2) i32
// words at row + (ox*strideW*inC + 2j)*2 bytes. An odd S reads one value of the next column (or of the
// row's slack) against a zero weight.
//
// Packed weights (pack.ts packConvRowsWeights): per block of 8 output channels, per kernel row ky, per
// pair j < Sp: [w(c0,ky,2j) w(c0,ky,2j+1) w(c1,ky,2j) ... w(c7,ky,2j+1)] (16 int8), 0 past S and for
// padded channels; block stride kH*Sp*16 bytes. Requant block: as conv_i8 (simd_requant.ts).
// Scratch (conv_rows_scratch_bytes, mirrored by pack.ts convRowsScratchBytes): kH rows of rowBytes.
import { requantStore4x8, RQ_HEADER, RQ_BLOCK, RQ_MODE_LEFT, RQ_MODE_FAST } from './simd_requant';
import { biasOff, widen, zeroFill } from './conv_common';

// Columns of a widened row: those a group of 4 pixels can read (rows narrower than 4 pixels still
// compute 4 lanes)
// @ts-ignore: decorator
@inline
function rowCols(outW: i32, kW: i32, strideW: i32): i32 {
  return (max(outW, 4) - 1) * strideW + kW;
}

// int16 values per widened row: the columns, + 1 (odd S), rounded up to 8, + 8 of write slack
// (widen / zeroFill store whole vectors of 8)
// @ts-ignore: decorator
@inline
function rowValues(inC: i32, outW: i32, kW: i32, strideW: i32): i32 {
  return ((rowCols(outW, kW, strideW) * inC + 8) & ~7) + 8;
}

/** Scratch bytes of conv_rows_i8 (pack.ts convRowsScratchBytes mirrors this formula). */
export function conv_rows_scratch_bytes(kH: i32, kW: i32, inC: i32, outW: i32, strideW: i32): i32 {
  return kH * (rowValues(inC, outW, kW, strideW) << 1);
}

// 4 pixels x 8 channels. x0 = widened row of ky = 0 at pixel 0's first column; pixel p reads at
// x0 + p*ps; kernel rows are rowBytes apart.
// @ts-ignore: decorator
@inline
function rowsTile<L>(x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, wp: usize, qb: usize,
  out: usize, pixStride: usize, np: i32, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  const bq = qb + biasOff<L>();
  const bl = v128.load(bq);
  const bh = v128.load(bq, 16);
  let a0l = bl, a0h = bh, a1l = bl, a1h = bh, a2l = bl, a2h = bh, a3l = bl, a3h = bh;
  const ps2 = ps << 1, ps3 = ps * 3;
  const rowSkip = rowBytes - (<usize>Sp << 2);
  let r = x0;
  for (let ky = 0; ky < kH; ky++) {
    const end = r + (<usize>Sp << 2);
    while (r < end) {
      const w0 = v128.load8x8_s(wp);
      const w1 = v128.load8x8_s(wp, 8);
      wp += 16;
      let x = v128.load32_splat(r);
      a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(w0, x));
      a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(w1, x));
      x = v128.load32_splat(r + ps);
      a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(w0, x));
      a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(w1, x));
      x = v128.load32_splat(r + ps2);
      a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(w0, x));
      a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(w1, x));
      x = v128.load32_splat(r + ps3);
      a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(w0, x));
      a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(w1, x));
      r += 4;
    }
    r += rowSkip;
  }
  requantStore4x8<L>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, out, pixStride, np, nc, zp16, lo8, hi8);
}

// One group of 4 pixels x all output channels. Instantiated per requant mode and called through a
// function reference (kept out of the caller, like conv.ts's group_*: V8 then keeps the 8 accumulators
// in registers).
type RowsGroup = (x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, pw: usize, wBlock: usize, q0: usize,
  outC: i32, out: usize, pixStride: usize, np: i32, zp16: v128, lo8: v128, hi8: v128) => void;
// @ts-ignore: decorator
@inline
function rowsGroup<L>(x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, pw: usize, wBlock: usize, q0: usize,
  outC: i32, out: usize, pixStride: usize, np: i32, zp16: v128, lo8: v128, hi8: v128): void {
  for (let c0 = 0; c0 < outC; c0 += 8) {
    rowsTile<L>(x0, ps, rowBytes, kH, Sp, pw, q0, out + <usize>c0, pixStride, np, min(8, outC - c0), zp16, lo8, hi8);
    pw += wBlock;
    q0 += RQ_BLOCK;
  }
}
function rows_general(x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, pw: usize, wBlock: usize, q0: usize,
  outC: i32, out: usize, pixStride: usize, np: i32, zp16: v128, lo8: v128, hi8: v128): void {
  rowsGroup<i32>(x0, ps, rowBytes, kH, Sp, pw, wBlock, q0, outC, out, pixStride, np, zp16, lo8, hi8);
}
function rows_left(x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, pw: usize, wBlock: usize, q0: usize,
  outC: i32, out: usize, pixStride: usize, np: i32, zp16: v128, lo8: v128, hi8: v128): void {
  rowsGroup<i64>(x0, ps, rowBytes, kH, Sp, pw, wBlock, q0, outC, out, pixStride, np, zp16, lo8, hi8);
}
function rows_fast(x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, pw: usize, wBlock: usize, q0: usize,
  outC: i32, out: usize, pixStride: usize, np: i32, zp16: v128, lo8: v128, hi8: v128): void {
  rowsGroup<i16>(x0, ps, rowBytes, kH, Sp, pw, wBlock, q0, outC, out, pixStride, np, zp16, lo8, hi8);
}
function rows_fast2(x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, pw: usize, wBlock: usize, q0: usize,
  outC: i32, out: usize, pixStride: usize, np: i32, zp16: v128, lo8: v128, hi8: v128): void {
  rowsGroup<i8>(x0, ps, rowBytes, kH, Sp, pw, wBlock, q0, outC, out, pixStride, np, zp16, lo8, hi8);
}
function rows_fast2r(x0: usize, ps: usize, rowBytes: usize, kH: i32, Sp: i32, pw: usize, wBlock: usize, q0: usize,
  outC: i32, out: usize, pixStride: usize, np: i32, zp16: v128, lo8: v128, hi8: v128): void {
  rowsGroup<bool>(x0, ps, rowBytes, kH, Sp, pw, wBlock, q0, outC, out, pixStride, np, zp16, lo8, hi8);
}

// Widen the columns -padLeft .. -padLeft + cols - 1 of input row iy (zeros outside the input) to dst.
// @ts-ignore: decorator
@inline
function widenRow<L>(dst: usize, inPtr: usize, iy: i32, inH: i32, inW: i32, inC: i32, padLeft: i32, cols: i32, zpv: v128): void {
  if (iy < 0 || iy >= inH) {
    zeroFill(dst, cols * inC);
    return;
  }
  const left = min(padLeft, cols);
  const valid = max(0, min(inW, cols - padLeft));
  if (left > 0) zeroFill(dst, left * inC);
  if (valid > 0) widen<L>(inPtr + <usize>(iy * inW * inC), dst + (<usize>(left * inC) << 1), valid * inC, zpv);
  const right = cols - left - valid;
  if (right > 0) zeroFill(dst + (<usize>((left + valid) * inC) << 1), right * inC);
}

// @ts-ignore: decorator
@inline
function rowsBody<L>(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, padTop: i32, padLeft: i32, scratch: usize,
  group: RowsGroup): void {
  const Sp = (kW * inC + 1) >> 1;
  const wBlock = <usize>(kH * Sp) << 4;
  const cols = rowCols(outW, kW, strideW);
  const rowBytes = <usize>rowValues(inC, outW, kW, strideW) << 1;
  const ps = <usize>(strideW * inC) << 1;
  const zpv = i16x8.splat(<i16>(sizeof<L>() == 1 ? 2 * inZp : inZp));
  const zp16 = i16x8.splat(<i16>outZp);
  const lo8 = i8x16.splat(<i8>actMin);
  const hi8 = i8x16.splat(<i8>actMax);
  const pixStride = <usize>outC;
  const q0 = qPtr + RQ_HEADER;
  const np = min(4, outW);
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * strideH - padTop;
    for (let ky = 0; ky < kH; ky++) {
      widenRow<L>(scratch + <usize>ky * rowBytes, inPtr, iy0 + ky * dilH, inH, inW, inC, padLeft, cols, zpv);
    }
    const outRow = outPtr + <usize>(oy * outW) * pixStride;
    for (let t = 0; t < outW; t += 4) {
      // the last group of a row overlaps the previous one (recomputing identical bytes); rows narrower
      // than 4 pixels store np pixels
      const ox = t + 4 <= outW ? t : max(0, outW - 4);
      group(scratch + <usize>ox * ps, ps, rowBytes, kH, Sp, pwPtr, wBlock, q0, outC,
        outRow + <usize>ox * pixStride, pixStride, np, zp16, lo8, hi8);
    }
  }
}

export function conv_rows_i8(inPtr: usize, inH: i32, inW: i32, inC: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outC: i32, outZp: i32, actMin: i32, actMax: i32,
  kH: i32, kW: i32, strideH: i32, strideW: i32, dilH: i32, padTop: i32, padLeft: i32, scratchPtr: usize): void {
  // requant modes as conv_i8: FAST2 needs |acc| < 2^30 (K * 255 * 255 < 2^29 and |bias| < 2^29); FAST2R
  // where the block's floatExact is 2 (FAST2F's blocks run FAST2 here: no faster in this kernel)
  const mode = load<i32>(qPtr);
  const fast2 = mode == RQ_MODE_FAST && load<i32>(qPtr, 8) != 0 && kH * kW * inC < 8256;
  const group: RowsGroup = mode == RQ_MODE_LEFT ? rows_left : fast2 ? (load<i32>(qPtr, 12) == 2 ? rows_fast2r : rows_fast2)
    : mode == RQ_MODE_FAST ? rows_fast : rows_general;
  if (fast2) rowsBody<i8>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, padTop, padLeft, scratchPtr, group);
  else rowsBody<i32>(inPtr, inH, inW, inC, inZp, pwPtr, qPtr, outPtr, outH, outW, outC, outZp, actMin, actMax,
    kH, kW, strideH, strideW, dilH, padTop, padLeft, scratchPtr, group);
}
