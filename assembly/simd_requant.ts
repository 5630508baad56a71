// Vectorized, bit-exact tflite::MultiplyByQuantizedMultiplier (double rounding) for the fast conv /
// depthwise kernels, followed by + outZp, saturating narrow to int8 and the activation clamp.
//
// The kernels accumulate tiles of 4 output pixels x 8 output channels with lanes = channels. The requant
// works on vectors whose 4 lanes are the 4 pixels of ONE channel, so the per-channel multiplier and
// shift are uniform across a vector and the variable right shift is a plain i32x4.shr_s by a scalar:
//   t   = [p0c, p1c, p0c', p1c'] (first stage of a 4x4 transpose), times 2^L (i32x4.mul, wraps like the
//         scalar code; only in mode LEFT)
//   y   = SRDHM(v, M) = hi32(2*v*M + 2^31) via i64x2.extmul_{low,high}_i32x4_s against [M, M, M', M'];
//         = floor((v*M + 2^30) / 2^31), which equals gemmlowp's nudge + truncating division for every
//         (v, M) except v = M = INT32_MIN. Taking the high halves of two pixel pairs finishes the transpose.
//   RDBP(y, R):
//     GENERAL: (y >> R) + ((y & mask) > (mask >> 1) + (y < 0))  -- exactly the scalar formula, any R
//     FAST (no left shifts; every channel 1 <= R <= 21 and M = 0 or M >= 2^30): the accumulators are
//         first clamped to <= 2^30 (this only changes values whose result is >= 256 before and after, so
//         the int8 output saturates identically: x > 2^30 -> y >= 2^29 -> r >= 2^(29-R) >= 256). Then
//         y + c = hi32(2*v*M + 2^31 + c*2^32) with c = 2^(R-1) cannot overflow, and
//         r = ((y + c) + ((y + c) < c ? -1 : 0)) >> R = floor((y + 2^(R-1) - [y < 0]) / 2^R)
//         = round half away from zero = exactly RDBP(y, R).
//     FAST2: like FAST, but the accumulators arrive already doubled (conv doubles its im2col values,
//         depthwise uses its doubled weight copy; both start from the 2*bias field), which needs
//         |acc| < 2^30: the requant block flags |bias| < 2^29 and the kernel checks K * 255 * 255 < 2^29.
//         Then no clamp is needed (y <= 2^30) and SRDHM skips its doubling:
//         y + c = hi32((2v)*M + 2^31 + c*2^32).
//     FAST2F: FAST2 where the compiler proved every reachable |acc| <= 2^22 - 2 (header flag, from the
//         weights and biases), so A = 2*acc satisfies |A| <= 2^23 - 4. Lanes stay channels (no
//         transposes, no variable shifts, no 64-bit products): with P = A*M (|P| < 2^54 - 2^32) and
//         Ls = the low 32 bits of P as a signed value (i32x4.mul), y = SRDHM = floor((P + 2^31) / 2^32)
//         = (P - Ls) / 2^32 exactly, because Ls + 2^31 lies in [0, 2^32). In f32, d = fl(fl(A*fl(M)) -
//         fl(Ls)) differs from P - Ls by at most |A|*2^6 + 2^29 + 2^6 + 2^29 < 2^31 (A is exact below
//         2^24, |fl(M) - M| <= 2^6, the two roundings of values < 2^54 are <= 2^29 each), so adding and
//         subtracting 1.5*2^55 (whose ulp is 2^32) rounds d to exactly y*2^32. Then
//         (y*2^32 + copysign(2^31, y)) * 2^-(32+R) = (y +- 1/2) / 2^R is exact (|y| < 2^22), never a tie
//         (a half-integer over 2^R with R >= 1), and rounding it to the nearest integer (adding and
//         subtracting 1.5*2^23 as bits) gives round-half-away-from-zero of y / 2^R = RDBP(y, R).
//         M = 0 gives 0. It uses fewer shuffle-port operations than FAST2, which bound these kernels on x86.
//     FAST2R: FAST2F for layers whose activation clamp makes every result <= 0 give the same output
//         (outZp <= actMin: ReLU, ReLU6), with every reachable |acc| <= 1.5*2^20 (|A| <= 3*2^20) and
//         R <= 21 (header flag 2). Then the single-rounding form of the result, f = floor((P + 2^31 +
//         2^(31+R) - [acc < 0] * 2^32) / 2^(32+R)), may drop its sign term: for acc < 0 both forms are
//         <= 0. With |A| <= 3*2^20, |P| < 0.75*2^53, so each f32 rounding of a value below 2^53 is at
//         most 2^28, and d (as in FAST2F) is within |A|*2^6 + 2^28 + 2^7 + 2^28 < 2^30 of y*2^32;
//         adding K1 = 1.5*2^54 + 2^31 (ulp 2^31) rounds to exactly 1.5*2^54 + (y + 1/2)*2^32.
//         Adding C = 1.5*2^(55+R) - 1.5*2^54 (exact in f32 for R <= 21) rounds the exact sum
//         1.5*2^(55+R) + (y + 1/2)*2^32 to the ulp 2^(32+R): the integer nearest (y + 1/2)/2^R, never a
//         tie, = floor((y + 2^(R-1))/2^R) = RDBP(y, R) for y >= 0 (and <= 0 for y < 0). Its f32 bits
//         minus (bits(1.5*2^(55+R)) - outZp) are that integer + outZp. 8 operations per 4 outputs
//         (FAST2F: 13), and + outZp comes free.
//         Affine halves: where the compiler found, for all 4 channels of a half-block, f32 (alpha, beta)
//         with rne(fl(fl(A*alpha) + beta)) equal to the result at every output level the clamp keeps
//         (src/model/requant-affine.ts; verified exactly at each level's threshold, both sides being
//         monotone in A), the half marks its C field 0 and runs that: 5 operations per 4 outputs.
// Requant modes are compile-time type parameters Q: i64 = LEFT (some shift > 0; GENERAL rounding),
// i32 = GENERAL, i16 = FAST, i8 = FAST2, u8 = FAST2F, bool = FAST2R (every sizeof<Q>() == 1 path is
// FAST2's otherwise).
//
// Requant block (packRequant in src/model/pack.ts): 16-byte header
//   [i32 mode (0 GENERAL, 1 LEFT, 2 FAST), i32 nBlocks, i32 biasSmall (FAST2 allowed), i32 floatExact
//    (1: FAST2F allowed, 2: FAST2R allowed)]
// then per block of 8 channels RQ_BLOCK = 384 bytes:
//   +0   i32[8]  bias
//   +32  i32[16] M pairs  [M0 M0 M1 M1 | M2 M2 M3 M3 | M4 M4 M5 M5 | M6 M6 M7 M7]
//   +96  i32[16] 2^L pairs (same order); in FAST mode with floatExact: i32[8] M, then f32[8] fl(M)
//   +160 i32[8]  R
//   +192 i32[8]  2^(R-1) (0 if R = 0)
//   +224 i32[8]  (1 << R) - 1; in FAST mode with floatExact 1: f32[8] 2^-(32+R); with floatExact 2:
//                f32[8] C = 1.5*2^(55+R) - 1.5*2^54
//   +256 i32[8]  ((1 << R) - 1) >> 1; in FAST mode with floatExact 2: i32[8] bits(1.5*2^(55+R)) - outZp
//   (floatExact 2, affine half-blocks: f32 alpha at +96, f32 beta at +128, i32 0 at +224 and
//    i32 bits(1.5*2^23) - outZp at +256 for those 4 channels)
//   +288 i64[8]  2^31 + 2^(R-1) * 2^32 (FAST mode rounding constants)
//   +352 i32[8]  2 * bias (FAST2)
// (R = max(-shift, 0), L = max(shift, 0), shifts taken mod 32 like wasm / the scalar spec.)

export const RQ_HEADER: usize = 16;
export const RQ_BLOCK: usize = 384;
export const RQ_B2: usize = 352;
const RQ_MP: usize = 32;
const RQ_LP: usize = 96;
const RQ_R: usize = 160;
const RQ_C: usize = 192;
const RQ_MASK: usize = 224;
const RQ_THR: usize = 256;
const RQ_K: usize = 288;
const RQ_FM_I: usize = 96; // FAST2F: i32 M, then f32 fl(M) at +128, f32 2^-(32+R) at +224
const RQ_FM_F: usize = 128;
const RQ_FS: usize = 224;
const RQ_FR_C: usize = 224; // FAST2R: f32 C, then i32 bits(1.5*2^(55+R)) - outZp at +256
const RQ_FR_K: usize = 256;

export const RQ_MODE_GENERAL: i32 = 0;
export const RQ_MODE_LEFT: i32 = 1;
export const RQ_MODE_FAST: i32 = 2;
export const RQ_MODE_FAST2: i32 = 3; // test hook only: FAST with pre-doubled accumulators
export const RQ_MODE_FAST2F: i32 = 4; // test hook only: FAST2F (floatExact blocks)
export const RQ_MODE_FAST2R: i32 = 5; // test hook only: FAST2R (floatExact 2 blocks)

// GENERAL / LEFT rounding constant (i64 2^31 x2) and FAST's accumulator clamp (i32 2^30 x4), loaded
// from memory: newer V8 (workerd's) rematerializes constant vectors at every use inside loops
const rqK: usize = memory.data<u32>([0x80000000, 0, 0x80000000, 0, 0x40000000, 0x40000000, 0x40000000, 0x40000000], 16);

// scratch for partial (< 8 channel) stores
const partialBuf: usize = memory.data(64, 16);

// ---- Per-tensor vector requantization (ADD stages, MoveNet's elementwise ops, int16 ADD): one
// multiplier and exponent for all lanes, inputs small enough that no lane overflows ----

// SRDHM for 4 lanes with a multiplier m >= 0, exactly (x*m + 2^30) >> 31 (the scalar form's nudge and
// truncation agree with this for m >= 0)
// @ts-ignore: decorator
@inline
export function vsrdhmPos(x: v128, m: v128): v128 {
  const nudge = i64x2.splat(1 << 30);
  const lo = i64x2.shr_s(i64x2.add(i64x2.extmul_low_i32x4_s(x, m), nudge), 31);
  const hi = i64x2.shr_s(i64x2.add(i64x2.extmul_high_i32x4_s(x, m), nudge), 31);
  return i32x4.shuffle(lo, hi, 0, 2, 4, 6);
}

// RoundingDivideByPOT for 4 lanes with a uniform exponent e >= 1 (no overflow for |x| < 2^30)
// @ts-ignore: decorator
@inline
export function vrdbp(x: v128, e: i32, half: v128): v128 {
  return i32x4.shr_s(i32x4.add(i32x4.add(x, half), i32x4.shr_s(x, 31)), e);
}

// MultiplyByQuantizedMultiplier for 4 lanes, right shifts only (exponent e >= 0, half = 2^(e-1))
// @ts-ignore: decorator
@inline
export function vmbqmRight(x: v128, m: v128, e: i32, half: v128): v128 {
  const y = vsrdhmPos(x, m);
  return e > 0 ? vrdbp(y, e, half) : y;
}

// TFLite ADD's rescale-and-sum for 4 lanes of the offset inputs a, b (widened to i32), right shifts
// only: MBQM(MBQM(a << L, aMult) + MBQM(b << L, bMult), outMult) + outOffset, before the clamp.
// @ts-ignore: decorator
@inline
export function vAddRescale(a: v128, b: v128, leftShift: i32, va: v128, ea: i32, ha: v128, vb: v128, eb: i32, hb: v128,
  vo: v128, eo: i32, ho: v128, vOut: v128): v128 {
  const s = i32x4.add(vmbqmRight(i32x4.shl(a, leftShift), va, ea, ha), vmbqmRight(i32x4.shl(b, leftShift), vb, eb, hb));
  return i32x4.add(vmbqmRight(s, vo, eo, ho), vOut);
}

// high 32 bits of the 4 i64 lanes of (pa, pb)
// @ts-ignore: decorator
@inline
function hi32x4(pa: v128, pb: v128): v128 {
  return i8x16.shuffle(pa, pb, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
}

// SRDHM of lanes 0,1 of ta and tb (one channel, 4 pixels) with m lanes 0,1
// @ts-ignore: decorator
@inline
function srdhmLo<Q>(ta: v128, tb: v128, m: v128, half: v128): v128 {
  let a = i64x2.extmul_low_i32x4_s(ta, m);
  let b = i64x2.extmul_low_i32x4_s(tb, m);
  if (sizeof<Q>() != 1) { a = i64x2.add(a, a); b = i64x2.add(b, b); }
  a = i64x2.add(a, half);
  b = i64x2.add(b, half);
  return hi32x4(a, b);
}

// SRDHM of lanes 2,3 of ta and tb with m lanes 2,3
// @ts-ignore: decorator
@inline
function srdhmHi<Q>(ta: v128, tb: v128, m: v128, half: v128): v128 {
  let a = i64x2.extmul_high_i32x4_s(ta, m);
  let b = i64x2.extmul_high_i32x4_s(tb, m);
  if (sizeof<Q>() != 1) { a = i64x2.add(a, a); b = i64x2.add(b, b); }
  a = i64x2.add(a, half);
  b = i64x2.add(b, half);
  return hi32x4(a, b);
}

// RDBP of one channel vector y (channel c of the block qb)
// @ts-ignore: decorator
@inline
function rdbpVec<Q>(y: v128, qb: usize, c: usize): v128 {
  const r = load<i32>(qb + RQ_R + (c << 2));
  if (sizeof<Q>() <= 2) {
    // y holds y + c here (rounding constant folded into the 64-bit sum)
    return i32x4.shr_s(i32x4.add(y, i32x4.lt_s(y, v128.load32_splat(qb + RQ_C + (c << 2)))), r);
  }
  const mask = v128.load32_splat(qb + RQ_MASK + (c << 2));
  const thr = i32x4.sub(v128.load32_splat(qb + RQ_THR + (c << 2)), i32x4.shr_s(y, 31));
  return i32x4.sub(i32x4.shr_s(y, r), i32x4.gt_s(v128.and(y, mask), thr));
}

// 64-bit rounding constant of channel c: 2^31 (+ 2^(R-1) * 2^32 in FAST mode)
// @ts-ignore: decorator
@inline
function rk<Q>(qb: usize, c: usize): v128 {
  if (sizeof<Q>() <= 2) return v128.load64_splat(qb + RQ_K + (c << 3));
  return v128.load(rqK); // i64 2^31 x2
}

// FAST2F constants, loaded from memory: newer V8 (workerd's) rematerializes constant vectors at every
// use inside loops, which made this path twice as slow there.
//   [1.5 * 2^55 (f32) x4 | sign bit x4 | 2^31 (f32) x4 | 1.5 * 2^23 (f32) x4]
const f2fK: usize = memory.data<u32>([0x5B400000, 0x5B400000, 0x5B400000, 0x5B400000, 0x80000000, 0x80000000, 0x80000000, 0x80000000,
  0x4F000000, 0x4F000000, 0x4F000000, 0x4F000000, 0x4B400000, 0x4B400000, 0x4B400000, 0x4B400000], 16);

// FAST2F for one pixel's 4 channels (lanes = channels): a = doubled accumulators, mi / mf / sf the
// channels' M, fl(M) and 2^-(32+R), k55 / ks / k31 / k23 the f2fK constants; returns
// RDBP(SRDHM(a/2, M), R) (see the header).
// @ts-ignore: decorator
@inline
function fast2f(a: v128, mi: v128, mf: v128, sf: v128, k55: v128, ks: v128, k31: v128, k23: v128): v128 {
  const ls = f32x4.convert_i32x4_s(i32x4.mul(a, mi));
  const d = f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(a), mf), ls);
  const y = f32x4.sub(f32x4.add(d, k55), k55); // y * 2^32, exactly
  const h = v128.or(v128.and(y, ks), k31); // copysign(2^31, y)
  const v = f32x4.add(f32x4.mul(f32x4.add(y, h), sf), k23); // + 1.5 * 2^23: the integer in the low bits
  return i32x4.sub(v, k23);
}

// FAST2R's rounding constant K1 = 1.5 * 2^54 + 2^31 (f32 x4), loaded from memory like f2fK
const f2rK: usize = memory.data<u32>([0x5AC00001, 0x5AC00001, 0x5AC00001, 0x5AC00001], 16);

// FAST2R for one pixel's 4 channels (lanes = channels): a = doubled accumulators, mi / mf the channels'
// M and fl(M), c / k their C and bits(1.5*2^(55+R)) - outZp, k1 = f2rK; returns the result + outZp
// (exact where it is > 0; <= outZp where it is <= 0, see the header).
// @ts-ignore: decorator
@inline
function fast2r(a: v128, mi: v128, mf: v128, c: v128, k: v128, k1: v128): v128 {
  const ls = f32x4.convert_i32x4_s(i32x4.mul(a, mi));
  const d = f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(a), mf), ls);
  return i32x4.sub(f32x4.add(f32x4.add(d, k1), c), k);
}

// FAST2R's affine half (4 channels): rne(fl(fl(A * alpha) + beta)) + outZp, with k23 = 1.5 * 2^23 and
// k = bits(1.5 * 2^23) - outZp
// @ts-ignore: decorator
@inline
function fast2a(a: v128, al: v128, be: v128, k23: v128, k: v128): v128 {
  return i32x4.sub(f32x4.add(f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(a), al), be), k23), k);
}

// 4x4 transpose of i32 lanes, stored as 64 bytes: the j-th i32 of v0..v3 at dst + 16*j (the conv
// kernels' interleaved im2col group layout; FAST2F's test hook uses it for channel vectors)
// @ts-ignore: decorator
@inline
export function storeTransposed4x4(dst: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(dst, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(dst, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

/** Requantize a 4-pixel x 8-channel tile (a<p><l|h>: pixel p, channels 0-3 / 4-7, lanes = channels,
 *  bias already included) and store pixels 0..np-1, channels 0..nc-1 at out + p*pixStride.
 *  RAW (a test hook, np/nc ignored): store the 8 requantized i32x4 channel vectors (lanes = pixels) at out. */
// @ts-ignore: decorator
@inline
export function requantStore4x8<Q>(
  a0l: v128, a0h: v128, a1l: v128, a1h: v128, a2l: v128, a2h: v128, a3l: v128, a3h: v128,
  qb: usize, out: usize, pixStride: usize, np: i32, nc: i32,
  zp16: v128, lo8: v128, hi8: v128, RAW: bool = false,
): void {
  if (isBoolean<Q>()) {
    // FAST2R (+ outZp already included); each half-block affine (C field 0) or exact
    let r0l: v128, r1l: v128, r2l: v128, r3l: v128, r0h: v128, r1h: v128, r2h: v128, r3h: v128;
    let mi = v128.load(qb + RQ_FM_I), mf = v128.load(qb + RQ_FM_F), k = v128.load(qb + RQ_FR_K);
    if (load<i32>(qb + RQ_FR_C) == 0) {
      const k23 = v128.load(f2fK, 48);
      r0l = fast2a(a0l, mi, mf, k23, k); r1l = fast2a(a1l, mi, mf, k23, k);
      r2l = fast2a(a2l, mi, mf, k23, k); r3l = fast2a(a3l, mi, mf, k23, k);
    } else {
      const k1 = v128.load(f2rK), c = v128.load(qb + RQ_FR_C);
      r0l = fast2r(a0l, mi, mf, c, k, k1); r1l = fast2r(a1l, mi, mf, c, k, k1);
      r2l = fast2r(a2l, mi, mf, c, k, k1); r3l = fast2r(a3l, mi, mf, c, k, k1);
    }
    mi = v128.load(qb + RQ_FM_I, 16); mf = v128.load(qb + RQ_FM_F, 16); k = v128.load(qb + RQ_FR_K, 16);
    if (load<i32>(qb + RQ_FR_C + 16) == 0) {
      const k23 = v128.load(f2fK, 48);
      r0h = fast2a(a0h, mi, mf, k23, k); r1h = fast2a(a1h, mi, mf, k23, k);
      r2h = fast2a(a2h, mi, mf, k23, k); r3h = fast2a(a3h, mi, mf, k23, k);
    } else {
      const k1 = v128.load(f2rK), c = v128.load(qb + RQ_FR_C, 16);
      r0h = fast2r(a0h, mi, mf, c, k, k1); r1h = fast2r(a1h, mi, mf, c, k, k1);
      r2h = fast2r(a2h, mi, mf, c, k, k1); r3h = fast2r(a3h, mi, mf, c, k, k1);
    }
    if (RAW) {
      storeTransposed4x4(out, r0l, r1l, r2l, r3l);
      storeTransposed4x4(out + 64, r0h, r1h, r2h, r3h);
      return;
    }
    // saturating narrows to i16 and i8 (clamping r to the i8 range first gives the same bytes)
    const P01 = i8x16.max_s(i8x16.min_s(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0l, r0h), i16x8.narrow_i32x4_s(r1l, r1h)), hi8), lo8);
    const P23 = i8x16.max_s(i8x16.min_s(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r2l, r2h), i16x8.narrow_i32x4_s(r3l, r3h)), hi8), lo8);
    storeTile(P01, P23, out, pixStride, np, nc);
    return;
  }
  if (sizeof<Q>() == 1 && !isSigned<Q>()) {
    // FAST2F
    const k55 = v128.load(f2fK), ks = v128.load(f2fK, 16), k31 = v128.load(f2fK, 32), k23 = v128.load(f2fK, 48);
    let mi = v128.load(qb + RQ_FM_I), mf = v128.load(qb + RQ_FM_F), sf = v128.load(qb + RQ_FS);
    const r0l = fast2f(a0l, mi, mf, sf, k55, ks, k31, k23), r1l = fast2f(a1l, mi, mf, sf, k55, ks, k31, k23);
    const r2l = fast2f(a2l, mi, mf, sf, k55, ks, k31, k23), r3l = fast2f(a3l, mi, mf, sf, k55, ks, k31, k23);
    mi = v128.load(qb + RQ_FM_I, 16); mf = v128.load(qb + RQ_FM_F, 16); sf = v128.load(qb + RQ_FS, 16);
    const r0h = fast2f(a0h, mi, mf, sf, k55, ks, k31, k23), r1h = fast2f(a1h, mi, mf, sf, k55, ks, k31, k23);
    const r2h = fast2f(a2h, mi, mf, sf, k55, ks, k31, k23), r3h = fast2f(a3h, mi, mf, sf, k55, ks, k31, k23);
    if (RAW) {
      storeTransposed4x4(out, r0l, r1l, r2l, r3l);
      storeTransposed4x4(out + 64, r0h, r1h, r2h, r3h);
      return;
    }
    // + outZp after a saturating narrow to i16 ([p: c0..c7]), two pixels per int8 vector
    const P01 = i8x16.max_s(i8x16.min_s(i8x16.narrow_i16x8_s(
      i16x8.add_sat_s(i16x8.narrow_i32x4_s(r0l, r0h), zp16), i16x8.add_sat_s(i16x8.narrow_i32x4_s(r1l, r1h), zp16)), hi8), lo8);
    const P23 = i8x16.max_s(i8x16.min_s(i8x16.narrow_i16x8_s(
      i16x8.add_sat_s(i16x8.narrow_i32x4_s(r2l, r2h), zp16), i16x8.add_sat_s(i16x8.narrow_i32x4_s(r3l, r3h), zp16)), hi8), lo8);
    storeTile(P01, P23, out, pixStride, np, nc);
    return;
  }
  if (sizeof<Q>() == 2) {
    const lim = v128.load(rqK, 16); // i32 2^30 x4
    a0l = i32x4.min_s(a0l, lim); a0h = i32x4.min_s(a0h, lim); a1l = i32x4.min_s(a1l, lim); a1h = i32x4.min_s(a1h, lim);
    a2l = i32x4.min_s(a2l, lim); a2h = i32x4.min_s(a2h, lim); a3l = i32x4.min_s(a3l, lim); a3h = i32x4.min_s(a3h, lim);
  }
  // channels 0..3
  let t0 = i32x4.shuffle(a0l, a1l, 0, 4, 1, 5); // [p0c0 p1c0 p0c1 p1c1]
  let t1 = i32x4.shuffle(a0l, a1l, 2, 6, 3, 7); // [p0c2 p1c2 p0c3 p1c3]
  let t2 = i32x4.shuffle(a2l, a3l, 0, 4, 1, 5); // [p2c0 p3c0 p2c1 p3c1]
  let t3 = i32x4.shuffle(a2l, a3l, 2, 6, 3, 7); // [p2c2 p3c2 p2c3 p3c3]
  if (sizeof<Q>() == 8) {
    const l01 = v128.load(qb + RQ_LP), l23 = v128.load(qb + RQ_LP, 16);
    t0 = i32x4.mul(t0, l01); t2 = i32x4.mul(t2, l01);
    t1 = i32x4.mul(t1, l23); t3 = i32x4.mul(t3, l23);
  }
  let m = v128.load(qb + RQ_MP);
  const c0 = rdbpVec<Q>(srdhmLo<Q>(t0, t2, m, rk<Q>(qb, 0)), qb, 0);
  const c1 = rdbpVec<Q>(srdhmHi<Q>(t0, t2, m, rk<Q>(qb, 1)), qb, 1);
  m = v128.load(qb + RQ_MP, 16);
  const c2 = rdbpVec<Q>(srdhmLo<Q>(t1, t3, m, rk<Q>(qb, 2)), qb, 2);
  const c3 = rdbpVec<Q>(srdhmHi<Q>(t1, t3, m, rk<Q>(qb, 3)), qb, 3);
  // channels 4..7
  t0 = i32x4.shuffle(a0h, a1h, 0, 4, 1, 5);
  t1 = i32x4.shuffle(a0h, a1h, 2, 6, 3, 7);
  t2 = i32x4.shuffle(a2h, a3h, 0, 4, 1, 5);
  t3 = i32x4.shuffle(a2h, a3h, 2, 6, 3, 7);
  if (sizeof<Q>() == 8) {
    const l45 = v128.load(qb + RQ_LP, 32), l67 = v128.load(qb + RQ_LP, 48);
    t0 = i32x4.mul(t0, l45); t2 = i32x4.mul(t2, l45);
    t1 = i32x4.mul(t1, l67); t3 = i32x4.mul(t3, l67);
  }
  m = v128.load(qb + RQ_MP, 32);
  const c4 = rdbpVec<Q>(srdhmLo<Q>(t0, t2, m, rk<Q>(qb, 4)), qb, 4);
  const c5 = rdbpVec<Q>(srdhmHi<Q>(t0, t2, m, rk<Q>(qb, 5)), qb, 5);
  m = v128.load(qb + RQ_MP, 48);
  const c6 = rdbpVec<Q>(srdhmLo<Q>(t1, t3, m, rk<Q>(qb, 6)), qb, 6);
  const c7 = rdbpVec<Q>(srdhmHi<Q>(t1, t3, m, rk<Q>(qb, 7)), qb, 7);
  if (RAW) {
    v128.store(out, c0); v128.store(out, c1, 16); v128.store(out, c2, 32); v128.store(out, c3, 48);
    v128.store(out, c4, 64); v128.store(out, c5, 80); v128.store(out, c6, 96); v128.store(out, c7, 112);
    return;
  }
  // + outZp after a saturating narrow to i16, then transpose to pixel-major with unpack-type shuffles only
  // (single instructions in V8): n01 = [c0 p0..3 | c1 p0..3] etc.
  const n01 = i16x8.add_sat_s(i16x8.narrow_i32x4_s(c0, c1), zp16);
  const n23 = i16x8.add_sat_s(i16x8.narrow_i32x4_s(c2, c3), zp16);
  const n45 = i16x8.add_sat_s(i16x8.narrow_i32x4_s(c4, c5), zp16);
  const n67 = i16x8.add_sat_s(i16x8.narrow_i32x4_s(c6, c7), zp16);
  let u0 = i16x8.shuffle(n01, n23, 0, 8, 1, 9, 2, 10, 3, 11);   // [c0p0 c2p0 c0p1 c2p1 ..]
  let u1 = i16x8.shuffle(n01, n23, 4, 12, 5, 13, 6, 14, 7, 15); // [c1p0 c3p0 c1p1 c3p1 ..]
  const X01 = i16x8.shuffle(u0, u1, 0, 8, 1, 9, 2, 10, 3, 11);  // [p0: c0..c3 | p1: c0..c3]
  const X23 = i16x8.shuffle(u0, u1, 4, 12, 5, 13, 6, 14, 7, 15);
  u0 = i16x8.shuffle(n45, n67, 0, 8, 1, 9, 2, 10, 3, 11);
  u1 = i16x8.shuffle(n45, n67, 4, 12, 5, 13, 6, 14, 7, 15);
  const Y01 = i16x8.shuffle(u0, u1, 0, 8, 1, 9, 2, 10, 3, 11);  // [p0: c4..c7 | p1: c4..c7]
  const Y23 = i16x8.shuffle(u0, u1, 4, 12, 5, 13, 6, 14, 7, 15);
  const P01 = i8x16.max_s(i8x16.min_s(i8x16.narrow_i16x8_s(i64x2.shuffle(X01, Y01, 0, 2), i64x2.shuffle(X01, Y01, 1, 3)), hi8), lo8);
  const P23 = i8x16.max_s(i8x16.min_s(i8x16.narrow_i16x8_s(i64x2.shuffle(X23, Y23, 0, 2), i64x2.shuffle(X23, Y23, 1, 3)), hi8), lo8);
  storeTile(P01, P23, out, pixStride, np, nc);
}

// Store pixels 0..np-1 (8 int8 channels each, P01 = pixels 0 and 1, P23 = 2 and 3), channels 0..nc-1.
// @ts-ignore: decorator
@inline
function storeTile(P01: v128, P23: v128, out: usize, pixStride: usize, np: i32, nc: i32): void {
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

// Test hook for the arithmetic: x is [nBlocks*8 channels][4 pixels] i32, q a packed requant block for
// those channels (its bias is ignored); writes the requantized i32 values (before + outZp, narrowing and
// clamping; FAST2R: + outZp included, see its header) in the same layout. mode: 0 GENERAL, 1 LEFT,
// 2 FAST, 3 FAST2, 4 FAST2F, 5 FAST2R (x = doubled accumulators for 3-5; the caller picks a mode valid for q).
export function test_vec_requant(xPtr: usize, qPtr: usize, nBlocks: i32, outPtr: usize, mode: i32): void {
  const z = i32x4.splat(0);
  for (let b = 0; b < nBlocks; b++) {
    const qb = qPtr + RQ_HEADER + <usize>b * RQ_BLOCK;
    const xb = xPtr + (<usize>b << 7);
    // channel vectors -> accumulator layout (lanes = channels) by 4x4 transposes
    const x0 = v128.load(xb), x1 = v128.load(xb, 16), x2 = v128.load(xb, 32), x3 = v128.load(xb, 48);
    const x4 = v128.load(xb, 64), x5 = v128.load(xb, 80), x6 = v128.load(xb, 96), x7 = v128.load(xb, 112);
    let u0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), u1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
    let u2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5), u3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
    const a0l = i32x4.shuffle(u0, u2, 0, 1, 4, 5), a1l = i32x4.shuffle(u0, u2, 2, 3, 6, 7);
    const a2l = i32x4.shuffle(u1, u3, 0, 1, 4, 5), a3l = i32x4.shuffle(u1, u3, 2, 3, 6, 7);
    u0 = i32x4.shuffle(x4, x5, 0, 4, 1, 5); u1 = i32x4.shuffle(x4, x5, 2, 6, 3, 7);
    u2 = i32x4.shuffle(x6, x7, 0, 4, 1, 5); u3 = i32x4.shuffle(x6, x7, 2, 6, 3, 7);
    const a0h = i32x4.shuffle(u0, u2, 0, 1, 4, 5), a1h = i32x4.shuffle(u0, u2, 2, 3, 6, 7);
    const a2h = i32x4.shuffle(u1, u3, 0, 1, 4, 5), a3h = i32x4.shuffle(u1, u3, 2, 3, 6, 7);
    const o = outPtr + (<usize>b << 7);
    if (mode == RQ_MODE_LEFT) requantStore4x8<i64>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, o, 0, 4, 8, z, z, z, true);
    else if (mode == RQ_MODE_FAST2) requantStore4x8<i8>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, o, 0, 4, 8, z, z, z, true);
    else if (mode == RQ_MODE_FAST2R) requantStore4x8<bool>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, o, 0, 4, 8, z, z, z, true);
    else if (mode == RQ_MODE_FAST2F) requantStore4x8<u8>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, o, 0, 4, 8, z, z, z, true);
    else if (mode == RQ_MODE_FAST) requantStore4x8<i16>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, o, 0, 4, 8, z, z, z, true);
    else requantStore4x8<i32>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, o, 0, 4, 8, z, z, z, true);
  }
}
