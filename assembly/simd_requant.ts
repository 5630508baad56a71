// Vectorized, bit-exact tflite::MultiplyByQuantizedMultiplier (double rounding) for the
// fast conv / depthwise kernels.
//
// The kernels accumulate tiles of 4 output pixels x 8 output channels with lanes = channels.
// requantStore4x8 transposes each 4x4 sub-block so that lanes = 4 pixels of ONE channel: then the
// per-channel multiplier and shift are uniform across the vector and the variable right shift is a
// plain i32x4.shr_s by a scalar. Per channel vector:
//   v   = acc * 2^L                                 (i32x4.mul wraps like the scalar code; skipped when no channel has L > 0)
//   y   = SRDHM(v, M) = hi32(2*v*M + 2^31)          (= floor((v*M + 2^30) / 2^31), which equals gemmlowp's
//                                                    nudge + truncating division for every (v, M) except v = M = INT_MIN)
//   r   = RDBP(y, R) = (y >> R) + ((y & mask) > (mask >> 1) + (y < 0))   (exactly the scalar formula, lanes uniform)
// then + outZp (i16 saturating after a saturating narrow), narrow to int8 (saturating), clamp in int8.
//
// Requant block (packRequant in src/model/pack.ts), 16-byte header + per block of 8 channels 192 bytes:
//   header: i32 hasLeft (any shift > 0), i32 nBlocks, 0, 0
//   block:  i32[8] bias | i32[8] M | i32[8] 2^L | i32[8] R | i32[8] (1<<R)-1 | i32[8] ((1<<R)-1)>>1

export const RQ_HEADER: usize = 16;
export const RQ_BLOCK: usize = 192;
const RQ_M: usize = 32;
const RQ_LMUL: usize = 64;
const RQ_R: usize = 96;
const RQ_MASK: usize = 128;
const RQ_THR: usize = 160;

// scratch for partial (< 8 channel) stores
const partialBuf: usize = memory.data(64, 16);

// @ts-ignore: decorator
@inline
function rqChannel<L>(v: v128, qb: usize, c: usize): v128 {
  if (sizeof<L>() == 8) v = i32x4.mul(v, v128.load32_splat(qb + RQ_LMUL + (c << 2)));
  const m = v128.load32_splat(qb + RQ_M + (c << 2));
  let lo = i64x2.extmul_low_i32x4_s(v, m);
  let hi = i64x2.extmul_high_i32x4_s(v, m);
  const half = i64x2.splat(0x80000000);
  lo = i64x2.add(i64x2.add(lo, lo), half);
  hi = i64x2.add(i64x2.add(hi, hi), half);
  const y = i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  const r = load<i32>(qb + RQ_R + (c << 2));
  const mask = v128.load32_splat(qb + RQ_MASK + (c << 2));
  const thr = i32x4.sub(v128.load32_splat(qb + RQ_THR + (c << 2)), i32x4.shr_s(y, 31));
  return i32x4.sub(i32x4.shr_s(y, r), i32x4.gt_s(v128.and(y, mask), thr));
}

/** Requantize a 4-pixel x 8-channel tile (a<p><l|h>: pixel p, channels 0-3 / 4-7, lanes = channels,
 *  bias already included) and store pixels 0..np-1, channels 0..nc-1 at out + p*pixStride. */
// @ts-ignore: decorator
@inline
/** L = i64: some channel has a left shift (multiply by 2^L first); L = i32: none. */
export function requantStore4x8<L>(
  a0l: v128, a0h: v128, a1l: v128, a1h: v128, a2l: v128, a2h: v128, a3l: v128, a3h: v128,
  qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128,
): void {
  // 4x4 transposes: c<i> = channel i of pixels 0..3
  let t0 = i32x4.shuffle(a0l, a1l, 0, 4, 1, 5);
  let t1 = i32x4.shuffle(a0l, a1l, 2, 6, 3, 7);
  let t2 = i32x4.shuffle(a2l, a3l, 0, 4, 1, 5);
  let t3 = i32x4.shuffle(a2l, a3l, 2, 6, 3, 7);
  let c0 = rqChannel<L>(i32x4.shuffle(t0, t2, 0, 1, 4, 5), qb, 0);
  let c1 = rqChannel<L>(i32x4.shuffle(t0, t2, 2, 3, 6, 7), qb, 1);
  let c2 = rqChannel<L>(i32x4.shuffle(t1, t3, 0, 1, 4, 5), qb, 2);
  let c3 = rqChannel<L>(i32x4.shuffle(t1, t3, 2, 3, 6, 7), qb, 3);
  const A = i8x16.narrow_i16x8_s(
    i16x8.add_sat_s(i16x8.narrow_i32x4_s(c0, c1), zp16),
    i16x8.add_sat_s(i16x8.narrow_i32x4_s(c2, c3), zp16));
  t0 = i32x4.shuffle(a0h, a1h, 0, 4, 1, 5);
  t1 = i32x4.shuffle(a0h, a1h, 2, 6, 3, 7);
  t2 = i32x4.shuffle(a2h, a3h, 0, 4, 1, 5);
  t3 = i32x4.shuffle(a2h, a3h, 2, 6, 3, 7);
  c0 = rqChannel<L>(i32x4.shuffle(t0, t2, 0, 1, 4, 5), qb, 4);
  c1 = rqChannel<L>(i32x4.shuffle(t0, t2, 2, 3, 6, 7), qb, 5);
  c2 = rqChannel<L>(i32x4.shuffle(t1, t3, 0, 1, 4, 5), qb, 6);
  c3 = rqChannel<L>(i32x4.shuffle(t1, t3, 2, 3, 6, 7), qb, 7);
  const B = i8x16.narrow_i16x8_s(
    i16x8.add_sat_s(i16x8.narrow_i32x4_s(c0, c1), zp16),
    i16x8.add_sat_s(i16x8.narrow_i32x4_s(c2, c3), zp16));
  // A = [c0 p0..3 | c1 p0..3 | c2 .. | c3 ..], B likewise for c4..c7 -> pixel-major
  const P01 = i8x16.max_s(i8x16.min_s(i8x16.shuffle(A, B, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29), hi8), lo8);
  const P23 = i8x16.max_s(i8x16.min_s(i8x16.shuffle(A, B, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31), hi8), lo8);
  if (nc == 8) {
    v128.store64_lane(out, P01, 0);
    if (np > 1) v128.store64_lane(out + pixStride, P01, 1);
    if (np > 2) v128.store64_lane(out + 2 * pixStride, P23, 0);
    if (np > 3) v128.store64_lane(out + 3 * pixStride, P23, 1);
  } else {
    v128.store(partialBuf, P01);
    v128.store(partialBuf, P23, 16);
    for (let p = 0; p < np; p++) {
      const src = partialBuf + (<usize>p << 3);
      const dst = out + <usize>p * pixStride;
      for (let c = 0; c < nc; c++) store<u8>(dst + c, load<u8>(src + c));
    }
  }
}

// Exported for the arithmetic tests: requantizes n values x[i] with per-value (M, shift) given as a
// packed requant block for n channels (bias = 0 in the block), writing i32 results (no zero point,
// no clamp: the result before narrowing) to out. Values are processed as channel i, pixel 0..3 = the
// 4 entries x[4i..4i+3], i.e. x is [n][4].
export function test_vec_requant(xPtr: usize, qPtr: usize, nChannels: i32, outPtr: usize): void {
  const hasLeft = load<i32>(qPtr) != 0;
  for (let c = 0; c < nChannels; c++) {
    const qb = qPtr + RQ_HEADER + <usize>(c >> 3) * RQ_BLOCK;
    const v = v128.load(xPtr + (<usize>c << 4));
    const r = hasLeft ? rqChannel<i64>(v, qb, <usize>(c & 7)) : rqChannel<i32>(v, qb, <usize>(c & 7));
    v128.store(outPtr + (<usize>c << 4), r);
  }
}
