// Inverse DCTs of the JPEG decoder (build/jpeg.wasm), all with libjpeg-turbo's
// arithmetic so that the output matches libjpeg-turbo 2.1.5 (what Pillow uses):
//
// - idct8: jidctint.c jpeg_idct_islow (the default "slow integer" IDCT: LL&M,
//   CONST_BITS 13, PASS1_BITS 2, columns first then rows, DESCALE rounding), written
//   with SIMD: pass 1 runs on the 8 columns at once (i32x4 lanes = columns), the
//   intermediate is narrowed to i16 and transposed, pass 2 runs on the 8 rows at once
//   (lanes = rows), and the result is transposed back while narrowing to bytes.
//   libjpeg-turbo's own SIMD islow keeps the intermediate in 16 bits too; its
//   short-cuts for all-zero AC columns/rows are exact, so no special cases are
//   needed apart from the DC-only block fast path (also exact).
// - idct4 / idct2: jidctred.c jpeg_idct_4x4 / jpeg_idct_2x2 (reduced-size LL&M:
//   each 1-D 8-point step replaced by an 8-to-4 / 8-to-2 step on the low-frequency
//   coefficients), scalar. Used for 1/2 and 1/4 scale decoding.
// - idct1: jpeg_idct_1x1, DC only: (dc * q + 4) >> 3, + 128.
//
// Coefficients: 64 x i16 in natural (row-major) order. Quantisation tables: 64 x i32
// in natural order. Output: bytes at out + row * pitch.

// libjpeg's post-IDCT range limit (jdmaster.c prepare_range_limit_table): the value v
// is looked up as table[v & 1023]: [0,128) -> v+128, [128,512) -> 255,
// [512,896) -> 0, [896,1024) -> v-896. Equal to clamp(v + 128, 0, 255) for
// -512 <= v < 512; only corrupt data gets further out.
const RANGE = memory.data(1024);
let rangeReady = false;

export function initRangeLimit(): void {
  if (rangeReady) return;
  for (let i = 0; i < 1024; i++) {
    let v: i32;
    if (i < 128) v = i + 128;
    else if (i < 512) v = 255;
    else if (i < 896) v = 0;
    else v = i - 896;
    store<u8>(RANGE + <usize>i, <u8>v);
  }
  rangeReady = true;
}

@inline function rl(v: i32): u8 {
  return load<u8>(RANGE + <usize>(v & 1023));
}

// jidctint.c / jidctred.c constants (CONST_BITS = 13)
const F_0_211164243: i32 = 1730;
const F_0_298631336: i32 = 2446;
const F_0_390180644: i32 = 3196;
const F_0_509795579: i32 = 4176;
const F_0_541196100: i32 = 4433;
const F_0_601344887: i32 = 4926;
const F_0_720959822: i32 = 5906;
const F_0_765366865: i32 = 6270;
const F_0_850430095: i32 = 6967;
const F_0_899976223: i32 = 7373;
const F_1_061594337: i32 = 8697;
const F_1_175875602: i32 = 9633;
const F_1_272758580: i32 = 10426;
const F_1_451774981: i32 = 11893;
const F_1_501321110: i32 = 12299;
const F_1_847759065: i32 = 15137;
const F_1_961570560: i32 = 16069;
const F_2_053119869: i32 = 16819;
const F_2_172734803: i32 = 17799;
const F_2_562915447: i32 = 20995;
const F_3_072711026: i32 = 25172;
const F_3_624509785: i32 = 29692;

// ---- 8x8 islow (SIMD) ---------------------------------------------------------------

@inline function mulc(a: v128, c: i32): v128 {
  return i32x4.mul(a, i32x4.splat(c));
}

/** Dequantised coefficient row k, columns 4h..4h+3, as i32x4. */
@inline function dq(blk: usize, q: usize, k: i32, h: i32): v128 {
  const off = <usize>(k * 8 + h * 4);
  return i32x4.mul(v128.load16x4_s(blk + (off << 1)), v128.load(q + (off << 2)));
}

// One 1-D LL&M pass on 4 lanes. Inputs x0..x7 (the 8 points), returns outputs through
// the globals below (AssemblyScript has no tuples; globals stay in locals after inlining
// by Binaryen in practice, and the cost is small next to the multiplies).
let o0: v128 = i32x4.splat(0);
let o1: v128 = i32x4.splat(0);
let o2: v128 = i32x4.splat(0);
let o3: v128 = i32x4.splat(0);
let o4: v128 = i32x4.splat(0);
let o5: v128 = i32x4.splat(0);
let o6: v128 = i32x4.splat(0);
let o7: v128 = i32x4.splat(0);

/** LL&M 1-D IDCT, results before descaling (scaled by 2^13) into o0..o7. */
@inline function llm(x0: v128, x1: v128, x2: v128, x3: v128, x4: v128, x5: v128, x6: v128, x7: v128): void {
  // even part
  let z2 = x2;
  let z3 = x6;
  let z1 = mulc(i32x4.add(z2, z3), F_0_541196100);
  const tmp2e = i32x4.add(z1, mulc(z3, -F_1_847759065));
  const tmp3e = i32x4.add(z1, mulc(z2, F_0_765366865));
  const tmp0e = i32x4.shl(i32x4.add(x0, x4), 13);
  const tmp1e = i32x4.shl(i32x4.sub(x0, x4), 13);
  const tmp10 = i32x4.add(tmp0e, tmp3e);
  const tmp13 = i32x4.sub(tmp0e, tmp3e);
  const tmp11 = i32x4.add(tmp1e, tmp2e);
  const tmp12 = i32x4.sub(tmp1e, tmp2e);
  // odd part: tmp0..tmp3 = x7, x5, x3, x1
  let tmp0 = x7;
  let tmp1 = x5;
  let tmp2 = x3;
  let tmp3 = x1;
  z1 = i32x4.add(tmp0, tmp3);
  z2 = i32x4.add(tmp1, tmp2);
  z3 = i32x4.add(tmp0, tmp2);
  let z4 = i32x4.add(tmp1, tmp3);
  const z5 = mulc(i32x4.add(z3, z4), F_1_175875602);
  tmp0 = mulc(tmp0, F_0_298631336);
  tmp1 = mulc(tmp1, F_2_053119869);
  tmp2 = mulc(tmp2, F_3_072711026);
  tmp3 = mulc(tmp3, F_1_501321110);
  z1 = mulc(z1, -F_0_899976223);
  z2 = mulc(z2, -F_2_562915447);
  z3 = i32x4.add(mulc(z3, -F_1_961570560), z5);
  z4 = i32x4.add(mulc(z4, -F_0_390180644), z5);
  tmp0 = i32x4.add(tmp0, i32x4.add(z1, z3));
  tmp1 = i32x4.add(tmp1, i32x4.add(z2, z4));
  tmp2 = i32x4.add(tmp2, i32x4.add(z2, z3));
  tmp3 = i32x4.add(tmp3, i32x4.add(z1, z4));
  o0 = i32x4.add(tmp10, tmp3);
  o7 = i32x4.sub(tmp10, tmp3);
  o1 = i32x4.add(tmp11, tmp2);
  o6 = i32x4.sub(tmp11, tmp2);
  o2 = i32x4.add(tmp12, tmp1);
  o5 = i32x4.sub(tmp12, tmp1);
  o3 = i32x4.add(tmp13, tmp0);
  o4 = i32x4.sub(tmp13, tmp0);
}

/** Transpose 8x8 i16 given as 8 row vectors (in a scratch area of 8 x v128). */
const TR = memory.data(128, 16);

@inline function transpose16(src: usize, dst: usize): void {
  const a0 = v128.load(src, 0);
  const a1 = v128.load(src, 16);
  const a2 = v128.load(src, 32);
  const a3 = v128.load(src, 48);
  const a4 = v128.load(src, 64);
  const a5 = v128.load(src, 80);
  const a6 = v128.load(src, 96);
  const a7 = v128.load(src, 112);
  const b0 = i16x8.shuffle(a0, a1, 0, 8, 1, 9, 2, 10, 3, 11);
  const b1 = i16x8.shuffle(a0, a1, 4, 12, 5, 13, 6, 14, 7, 15);
  const b2 = i16x8.shuffle(a2, a3, 0, 8, 1, 9, 2, 10, 3, 11);
  const b3 = i16x8.shuffle(a2, a3, 4, 12, 5, 13, 6, 14, 7, 15);
  const b4 = i16x8.shuffle(a4, a5, 0, 8, 1, 9, 2, 10, 3, 11);
  const b5 = i16x8.shuffle(a4, a5, 4, 12, 5, 13, 6, 14, 7, 15);
  const b6 = i16x8.shuffle(a6, a7, 0, 8, 1, 9, 2, 10, 3, 11);
  const b7 = i16x8.shuffle(a6, a7, 4, 12, 5, 13, 6, 14, 7, 15);
  const c0 = i32x4.shuffle(b0, b2, 0, 4, 1, 5);
  const c1 = i32x4.shuffle(b0, b2, 2, 6, 3, 7);
  const c2 = i32x4.shuffle(b1, b3, 0, 4, 1, 5);
  const c3 = i32x4.shuffle(b1, b3, 2, 6, 3, 7);
  const c4 = i32x4.shuffle(b4, b6, 0, 4, 1, 5);
  const c5 = i32x4.shuffle(b4, b6, 2, 6, 3, 7);
  const c6 = i32x4.shuffle(b5, b7, 0, 4, 1, 5);
  const c7 = i32x4.shuffle(b5, b7, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(c0, c4, 0, 2), 0);
  v128.store(dst, i64x2.shuffle(c0, c4, 1, 3), 16);
  v128.store(dst, i64x2.shuffle(c1, c5, 0, 2), 32);
  v128.store(dst, i64x2.shuffle(c1, c5, 1, 3), 48);
  v128.store(dst, i64x2.shuffle(c2, c6, 0, 2), 64);
  v128.store(dst, i64x2.shuffle(c2, c6, 1, 3), 80);
  v128.store(dst, i64x2.shuffle(c3, c7, 0, 2), 96);
  v128.store(dst, i64x2.shuffle(c3, c7, 1, 3), 112);
}

const WS = memory.data(128, 16);

/** Pass 1 on the column half h (columns 4h..4h+3): writes i32 results to the 8 o-vectors. */
@inline function pass1(blk: usize, q: usize, h: i32): void {
  llm(dq(blk, q, 0, h), dq(blk, q, 1, h), dq(blk, q, 2, h), dq(blk, q, 3, h),
    dq(blk, q, 4, h), dq(blk, q, 5, h), dq(blk, q, 6, h), dq(blk, q, 7, h));
}

@inline function descale11(v: v128): v128 {
  return i32x4.shr_s(i32x4.add(v, i32x4.splat(1 << 10)), 11);
}

// pass 2: DESCALE by CONST_BITS + PASS1_BITS + 3 = 18, then + 128 (CENTERJSAMPLE)
const P2_BIAS: i32 = (1 << 17) + (128 << 18);
@inline function descale18(v: v128): v128 {
  return i32x4.shr_s(i32x4.add(v, i32x4.splat(P2_BIAS)), 18);
}

/**
 * 8x8 islow IDCT of the block at blk (64 x i16) with quant table q (64 x i32) into
 * out (8 rows of 8 bytes, row stride pitch).
 */
export function idct8(blk: usize, q: usize, out: usize, pitch: usize): void {
  // DC-only fast path (exact: both passes' zero short-cuts give (dc*q + 4) >> 3).
  const r0 = v128.load(blk, 0);
  let acc = v128.or(v128.load(blk, 16), v128.load(blk, 32));
  acc = v128.or(acc, v128.or(v128.load(blk, 48), v128.load(blk, 64)));
  acc = v128.or(acc, v128.or(v128.load(blk, 80), v128.load(blk, 96)));
  acc = v128.or(acc, v128.load(blk, 112));
  acc = v128.or(acc, i16x8.replace_lane(r0, 0, 0));
  if (!v128.any_true(acc)) {
    const dc = <i32>i16x8.extract_lane_s(r0, 0) * load<i32>(q);
    const v = rl((dc + 4) >> 3);
    const row = u64(v) * 0x0101010101010101;
    for (let r = 0; r < 8; r++) store<u64>(out + <usize>r * pitch, row);
    return;
  }
  // pass 1, columns 0-3 then 4-7; rows of the work array narrowed to i16
  pass1(blk, q, 0);
  const l0 = descale11(o0), l1 = descale11(o1), l2 = descale11(o2), l3 = descale11(o3);
  const l4 = descale11(o4), l5 = descale11(o5), l6 = descale11(o6), l7 = descale11(o7);
  pass1(blk, q, 1);
  v128.store(WS, i16x8.narrow_i32x4_s(l0, descale11(o0)), 0);
  v128.store(WS, i16x8.narrow_i32x4_s(l1, descale11(o1)), 16);
  v128.store(WS, i16x8.narrow_i32x4_s(l2, descale11(o2)), 32);
  v128.store(WS, i16x8.narrow_i32x4_s(l3, descale11(o3)), 48);
  v128.store(WS, i16x8.narrow_i32x4_s(l4, descale11(o4)), 64);
  v128.store(WS, i16x8.narrow_i32x4_s(l5, descale11(o5)), 80);
  v128.store(WS, i16x8.narrow_i32x4_s(l6, descale11(o6)), 96);
  v128.store(WS, i16x8.narrow_i32x4_s(l7, descale11(o7)), 112);
  // TR row k = work-array column k (lanes = rows 0..7)
  transpose16(WS, TR);
  // pass 2 for rows 0-3 (low halves) then rows 4-7 (high halves)
  llm(i32x4.extend_low_i16x8_s(v128.load(TR, 0)), i32x4.extend_low_i16x8_s(v128.load(TR, 16)),
    i32x4.extend_low_i16x8_s(v128.load(TR, 32)), i32x4.extend_low_i16x8_s(v128.load(TR, 48)),
    i32x4.extend_low_i16x8_s(v128.load(TR, 64)), i32x4.extend_low_i16x8_s(v128.load(TR, 80)),
    i32x4.extend_low_i16x8_s(v128.load(TR, 96)), i32x4.extend_low_i16x8_s(v128.load(TR, 112)));
  const m0 = descale18(o0), m1 = descale18(o1), m2 = descale18(o2), m3 = descale18(o3);
  const m4 = descale18(o4), m5 = descale18(o5), m6 = descale18(o6), m7 = descale18(o7);
  llm(i32x4.extend_high_i16x8_s(v128.load(TR, 0)), i32x4.extend_high_i16x8_s(v128.load(TR, 16)),
    i32x4.extend_high_i16x8_s(v128.load(TR, 32)), i32x4.extend_high_i16x8_s(v128.load(TR, 48)),
    i32x4.extend_high_i16x8_s(v128.load(TR, 64)), i32x4.extend_high_i16x8_s(v128.load(TR, 80)),
    i32x4.extend_high_i16x8_s(v128.load(TR, 96)), i32x4.extend_high_i16x8_s(v128.load(TR, 112)));
  // WS row j = output column j, lanes = rows 0..7
  v128.store(WS, i16x8.narrow_i32x4_s(m0, descale18(o0)), 0);
  v128.store(WS, i16x8.narrow_i32x4_s(m1, descale18(o1)), 16);
  v128.store(WS, i16x8.narrow_i32x4_s(m2, descale18(o2)), 32);
  v128.store(WS, i16x8.narrow_i32x4_s(m3, descale18(o3)), 48);
  v128.store(WS, i16x8.narrow_i32x4_s(m4, descale18(o4)), 64);
  v128.store(WS, i16x8.narrow_i32x4_s(m5, descale18(o5)), 80);
  v128.store(WS, i16x8.narrow_i32x4_s(m6, descale18(o6)), 96);
  v128.store(WS, i16x8.narrow_i32x4_s(m7, descale18(o7)), 112);
  transpose16(WS, TR);
  // TR row r = output row r; saturating narrow = clamp to [0, 255]
  const p01 = i8x16.narrow_i16x8_u(v128.load(TR, 0), v128.load(TR, 16));
  const p23 = i8x16.narrow_i16x8_u(v128.load(TR, 32), v128.load(TR, 48));
  const p45 = i8x16.narrow_i16x8_u(v128.load(TR, 64), v128.load(TR, 80));
  const p67 = i8x16.narrow_i16x8_u(v128.load(TR, 96), v128.load(TR, 112));
  v128.store64_lane(out, p01, 0);
  v128.store64_lane(out + pitch, p01, 1);
  v128.store64_lane(out + 2 * pitch, p23, 0);
  v128.store64_lane(out + 3 * pitch, p23, 1);
  v128.store64_lane(out + 4 * pitch, p45, 0);
  v128.store64_lane(out + 5 * pitch, p45, 1);
  v128.store64_lane(out + 6 * pitch, p67, 0);
  v128.store64_lane(out + 7 * pitch, p67, 1);
}

/** Scalar reference of idct8 (jpeg_idct_islow verbatim in arithmetic), for tests. */
const WSI = memory.data(256, 16);
export function idct8Scalar(blk: usize, q: usize, out: usize, pitch: usize): void {
  for (let c = 0; c < 8; c++) {
    const i0 = <i32>load<i16>(blk + (<usize>(0 + c) << 1)) * load<i32>(q + (<usize>(0 + c) << 2));
    const i1 = <i32>load<i16>(blk + (<usize>(8 + c) << 1)) * load<i32>(q + (<usize>(8 + c) << 2));
    const i2 = <i32>load<i16>(blk + (<usize>(16 + c) << 1)) * load<i32>(q + (<usize>(16 + c) << 2));
    const i3 = <i32>load<i16>(blk + (<usize>(24 + c) << 1)) * load<i32>(q + (<usize>(24 + c) << 2));
    const i4 = <i32>load<i16>(blk + (<usize>(32 + c) << 1)) * load<i32>(q + (<usize>(32 + c) << 2));
    const i5 = <i32>load<i16>(blk + (<usize>(40 + c) << 1)) * load<i32>(q + (<usize>(40 + c) << 2));
    const i6 = <i32>load<i16>(blk + (<usize>(48 + c) << 1)) * load<i32>(q + (<usize>(48 + c) << 2));
    const i7 = <i32>load<i16>(blk + (<usize>(56 + c) << 1)) * load<i32>(q + (<usize>(56 + c) << 2));
    llmScalar(i0, i1, i2, i3, i4, i5, i6, i7, 11, 0);
    for (let k = 0; k < 8; k++) store<i32>(WSI + (<usize>(k * 8 + c) << 2), load<i32>(SO + (<usize>k << 2)));
  }
  for (let r = 0; r < 8; r++) {
    const w = WSI + (<usize>(r * 8) << 2);
    llmScalar(load<i32>(w), load<i32>(w, 4), load<i32>(w, 8), load<i32>(w, 12),
      load<i32>(w, 16), load<i32>(w, 20), load<i32>(w, 24), load<i32>(w, 28), 18, 1);
    for (let k = 0; k < 8; k++) store<u8>(out + <usize>r * pitch + <usize>k, rl(load<i32>(SO + (<usize>k << 2))));
  }
}

const SO = memory.data(32, 16);
function llmScalar(x0: i32, x1: i32, x2: i32, x3: i32, x4: i32, x5: i32, x6: i32, x7: i32, shift: i32, _p: i32): void {
  let z2 = x2, z3 = x6;
  let z1 = (z2 + z3) * F_0_541196100;
  const tmp2e = z1 + z3 * -F_1_847759065;
  const tmp3e = z1 + z2 * F_0_765366865;
  const tmp0e = (x0 + x4) << 13;
  const tmp1e = (x0 - x4) << 13;
  const tmp10 = tmp0e + tmp3e, tmp13 = tmp0e - tmp3e, tmp11 = tmp1e + tmp2e, tmp12 = tmp1e - tmp2e;
  let tmp0 = x7, tmp1 = x5, tmp2 = x3, tmp3 = x1;
  z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2;
  let z4 = tmp1 + tmp3;
  const z5 = (z3 + z4) * F_1_175875602;
  tmp0 *= F_0_298631336; tmp1 *= F_2_053119869; tmp2 *= F_3_072711026; tmp3 *= F_1_501321110;
  z1 *= -F_0_899976223; z2 *= -F_2_562915447; z3 = z3 * -F_1_961570560 + z5; z4 = z4 * -F_0_390180644 + z5;
  tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4;
  const r = 1 << (shift - 1);
  store<i32>(SO, (tmp10 + tmp3 + r) >> shift, 0);
  store<i32>(SO, (tmp10 - tmp3 + r) >> shift, 28);
  store<i32>(SO, (tmp11 + tmp2 + r) >> shift, 4);
  store<i32>(SO, (tmp11 - tmp2 + r) >> shift, 24);
  store<i32>(SO, (tmp12 + tmp1 + r) >> shift, 8);
  store<i32>(SO, (tmp12 - tmp1 + r) >> shift, 20);
  store<i32>(SO, (tmp13 + tmp0 + r) >> shift, 12);
  store<i32>(SO, (tmp13 - tmp0 + r) >> shift, 16);
}

// ---- reduced-size IDCTs (jidctred.c), scalar ----------------------------------------

@inline function cq(blk: usize, q: usize, i: i32): i32 {
  return <i32>load<i16>(blk + (<usize>i << 1)) * load<i32>(q + (<usize>i << 2));
}

// The reduced IDCTs in SIMD: pass 1 on the 8 columns at once (i32x4 lanes = columns,
// two halves), exactly jidctred.c's arithmetic (its all-zero short-cuts are exact, so
// they are not needed); pass 2 per output row.

@inline function tr4lo(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 0, 4, 1, 5); }
@inline function tr4hi(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 2, 6, 3, 7); }

/** 4x4 output from an 8x8 block (jpeg_idct_4x4). */
export function idct4(blk: usize, q: usize, out: usize, pitch: usize): void {
  // pass 1, columns 0-3 (a*) and 4-7 (b*): workspace rows 0..3 (column 4 is never used)
  idct4Pass1(blk, q, 0);
  const aw0 = p0, aw1 = p1, aw2 = p2, aw3 = p3;
  idct4Pass1(blk, q, 1);
  const bw0 = p0, bw1 = p1, bw2 = p2, bw3 = p3;
  // transpose: c_k = workspace column k across rows 0..3
  const t0 = tr4lo(aw0, aw1), t1 = tr4hi(aw0, aw1), t2 = tr4lo(aw2, aw3), t3 = tr4hi(aw2, aw3);
  const c0 = i64x2.shuffle(t0, t2, 0, 2), c1 = i64x2.shuffle(t0, t2, 1, 3);
  const c2 = i64x2.shuffle(t1, t3, 0, 2), c3 = i64x2.shuffle(t1, t3, 1, 3);
  const u1 = tr4lo(bw0, bw1), u2 = tr4hi(bw0, bw1), u3 = tr4lo(bw2, bw3), u4 = tr4hi(bw2, bw3);
  const c5 = i64x2.shuffle(u1, u3, 1, 3);
  const c6 = i64x2.shuffle(u2, u4, 0, 2), c7 = i64x2.shuffle(u2, u4, 1, 3);
  // pass 2 (lanes = rows), DESCALE by 19, + 128
  const tmp0 = i32x4.shl(c0, 14);
  const tmp2 = i32x4.add(mulc(c2, F_1_847759065), mulc(c6, -F_0_765366865));
  const tmp10 = i32x4.add(tmp0, tmp2);
  const tmp12 = i32x4.sub(tmp0, tmp2);
  const x0 = i32x4.add(i32x4.add(mulc(c7, -F_0_211164243), mulc(c5, F_1_451774981)),
    i32x4.add(mulc(c3, -F_2_172734803), mulc(c1, F_1_061594337)));
  const x2 = i32x4.add(i32x4.add(mulc(c7, -F_0_509795579), mulc(c5, -F_0_601344887)),
    i32x4.add(mulc(c3, F_0_899976223), mulc(c1, F_2_562915447)));
  const bias = i32x4.splat((1 << 18) + (128 << 19));
  const o0 = i32x4.shr_s(i32x4.add(i32x4.add(tmp10, x2), bias), 19);
  const o3 = i32x4.shr_s(i32x4.add(i32x4.sub(tmp10, x2), bias), 19);
  const o1 = i32x4.shr_s(i32x4.add(i32x4.add(tmp12, x0), bias), 19);
  const o2 = i32x4.shr_s(i32x4.add(i32x4.sub(tmp12, x0), bias), 19);
  // back to rows
  const v0 = tr4lo(o0, o1), v1 = tr4hi(o0, o1), v2 = tr4lo(o2, o3), v3 = tr4hi(o2, o3);
  const r0 = i64x2.shuffle(v0, v2, 0, 2), r1 = i64x2.shuffle(v0, v2, 1, 3);
  const r2 = i64x2.shuffle(v1, v3, 0, 2), r3 = i64x2.shuffle(v1, v3, 1, 3);
  const px = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3));
  v128.store32_lane(out, px, 0);
  v128.store32_lane(out + pitch, px, 1);
  v128.store32_lane(out + 2 * pitch, px, 2);
  v128.store32_lane(out + 3 * pitch, px, 3);
}

let p0: v128 = i32x4.splat(0);
let p1: v128 = i32x4.splat(0);
let p2: v128 = i32x4.splat(0);
let p3: v128 = i32x4.splat(0);

/** jpeg_idct_4x4 pass 1 on columns 4h..4h+3: workspace rows 0..3 into p0..p3. */
@inline function idct4Pass1(blk: usize, q: usize, h: i32): void {
  const tmp0 = i32x4.shl(dq(blk, q, 0, h), 14);
  const tmp2 = i32x4.add(mulc(dq(blk, q, 2, h), F_1_847759065), mulc(dq(blk, q, 6, h), -F_0_765366865));
  const tmp10 = i32x4.add(tmp0, tmp2);
  const tmp12 = i32x4.sub(tmp0, tmp2);
  const z1 = dq(blk, q, 7, h), z2 = dq(blk, q, 5, h), z3 = dq(blk, q, 3, h), z4 = dq(blk, q, 1, h);
  const t0 = i32x4.add(i32x4.add(mulc(z1, -F_0_211164243), mulc(z2, F_1_451774981)),
    i32x4.add(mulc(z3, -F_2_172734803), mulc(z4, F_1_061594337)));
  const t2 = i32x4.add(i32x4.add(mulc(z1, -F_0_509795579), mulc(z2, -F_0_601344887)),
    i32x4.add(mulc(z3, F_0_899976223), mulc(z4, F_2_562915447)));
  const rnd = i32x4.splat(1 << 11); // DESCALE by CONST_BITS - PASS1_BITS + 1 = 12
  p0 = i32x4.shr_s(i32x4.add(i32x4.add(tmp10, t2), rnd), 12);
  p3 = i32x4.shr_s(i32x4.add(i32x4.sub(tmp10, t2), rnd), 12);
  p1 = i32x4.shr_s(i32x4.add(i32x4.add(tmp12, t0), rnd), 12);
  p2 = i32x4.shr_s(i32x4.add(i32x4.sub(tmp12, t0), rnd), 12);
}

/** jpeg_idct_2x2 pass 1 on columns 4h..4h+3: workspace rows 0, 1 into p0, p1. */
@inline function idct2Pass1(blk: usize, q: usize, h: i32): void {
  const tmp10 = i32x4.shl(dq(blk, q, 0, h), 15);
  const tmp0 = i32x4.add(i32x4.add(mulc(dq(blk, q, 7, h), -F_0_720959822), mulc(dq(blk, q, 5, h), F_0_850430095)),
    i32x4.add(mulc(dq(blk, q, 3, h), -F_1_272758580), mulc(dq(blk, q, 1, h), F_3_624509785)));
  const rnd = i32x4.splat(1 << 12); // DESCALE by CONST_BITS - PASS1_BITS + 2 = 13
  p0 = i32x4.shr_s(i32x4.add(i32x4.add(tmp10, tmp0), rnd), 13);
  p1 = i32x4.shr_s(i32x4.add(i32x4.sub(tmp10, tmp0), rnd), 13);
}

@inline function idct2Row(lo: v128, hi: v128, o: usize): void {
  const w0 = i32x4.extract_lane(lo, 0), w1 = i32x4.extract_lane(lo, 1), w3 = i32x4.extract_lane(lo, 3);
  const w5 = i32x4.extract_lane(hi, 1), w7 = i32x4.extract_lane(hi, 3);
  const tmp10 = w0 << 15;
  const tmp0 = w7 * -F_0_720959822 + w5 * F_0_850430095 + w3 * -F_1_272758580 + w1 * F_3_624509785;
  const rnd = 1 << 19; // DESCALE by CONST_BITS + PASS1_BITS + 3 + 2 = 20
  store<u8>(o, rl((tmp10 + tmp0 + rnd) >> 20), 0);
  store<u8>(o, rl((tmp10 - tmp0 + rnd) >> 20), 1);
}

/** 2x2 output from an 8x8 block (jpeg_idct_2x2). */
export function idct2(blk: usize, q: usize, out: usize, pitch: usize): void {
  idct2Pass1(blk, q, 0);
  const a0 = p0, a1 = p1;
  idct2Pass1(blk, q, 1);
  idct2Row(a0, p0, out);
  idct2Row(a1, p1, out + pitch);
}

// Scalar jidctred.c versions (reference for tests).
const WS4 = memory.data(128, 16);

/** 4x4 output from an 8x8 block (jpeg_idct_4x4). */
export function idct4Scalar(blk: usize, q: usize, out: usize, pitch: usize): void {
  for (let c = 0; c < 8; c++) {
    if (c == 4) continue;
    const w = WS4 + (<usize>c << 2);
    if (load<i16>(blk + (<usize>(8 + c) << 1)) == 0 && load<i16>(blk + (<usize>(16 + c) << 1)) == 0 &&
      load<i16>(blk + (<usize>(24 + c) << 1)) == 0 && load<i16>(blk + (<usize>(40 + c) << 1)) == 0 &&
      load<i16>(blk + (<usize>(48 + c) << 1)) == 0 && load<i16>(blk + (<usize>(56 + c) << 1)) == 0) {
      const dc = cq(blk, q, c) << 2;
      store<i32>(w, dc, 0);
      store<i32>(w, dc, 32);
      store<i32>(w, dc, 64);
      store<i32>(w, dc, 96);
      continue;
    }
    const tmp0 = cq(blk, q, c) << 14;
    const tmp2 = cq(blk, q, 16 + c) * F_1_847759065 + cq(blk, q, 48 + c) * -F_0_765366865;
    const tmp10 = tmp0 + tmp2;
    const tmp12 = tmp0 - tmp2;
    const z1 = cq(blk, q, 56 + c), z2 = cq(blk, q, 40 + c), z3 = cq(blk, q, 24 + c), z4 = cq(blk, q, 8 + c);
    const t0 = z1 * -F_0_211164243 + z2 * F_1_451774981 + z3 * -F_2_172734803 + z4 * F_1_061594337;
    const t2 = z1 * -F_0_509795579 + z2 * -F_0_601344887 + z3 * F_0_899976223 + z4 * F_2_562915447;
    const rnd = 1 << 11; // DESCALE by CONST_BITS - PASS1_BITS + 1 = 12
    store<i32>(w, (tmp10 + t2 + rnd) >> 12, 0);
    store<i32>(w, (tmp10 - t2 + rnd) >> 12, 96);
    store<i32>(w, (tmp12 + t0 + rnd) >> 12, 32);
    store<i32>(w, (tmp12 - t0 + rnd) >> 12, 64);
  }
  for (let r = 0; r < 4; r++) {
    const w = WS4 + (<usize>(r * 8) << 2);
    const o = out + <usize>r * pitch;
    const w1 = load<i32>(w, 4), w2 = load<i32>(w, 8), w3 = load<i32>(w, 12);
    const w5 = load<i32>(w, 20), w6 = load<i32>(w, 24), w7 = load<i32>(w, 28);
    if ((w1 | w2 | w3 | w5 | w6 | w7) == 0) {
      const v = rl((load<i32>(w) + 16) >> 5);
      store<u8>(o, v, 0);
      store<u8>(o, v, 1);
      store<u8>(o, v, 2);
      store<u8>(o, v, 3);
      continue;
    }
    const tmp0 = load<i32>(w) << 14;
    const tmp2 = w2 * F_1_847759065 + w6 * -F_0_765366865;
    const tmp10 = tmp0 + tmp2;
    const tmp12 = tmp0 - tmp2;
    const t0 = w7 * -F_0_211164243 + w5 * F_1_451774981 + w3 * -F_2_172734803 + w1 * F_1_061594337;
    const t2 = w7 * -F_0_509795579 + w5 * -F_0_601344887 + w3 * F_0_899976223 + w1 * F_2_562915447;
    const rnd = 1 << 18; // DESCALE by CONST_BITS + PASS1_BITS + 3 + 1 = 19
    store<u8>(o, rl((tmp10 + t2 + rnd) >> 19), 0);
    store<u8>(o, rl((tmp10 - t2 + rnd) >> 19), 3);
    store<u8>(o, rl((tmp12 + t0 + rnd) >> 19), 1);
    store<u8>(o, rl((tmp12 - t0 + rnd) >> 19), 2);
  }
}

/** 2x2 output from an 8x8 block (jpeg_idct_2x2). */
export function idct2Scalar(blk: usize, q: usize, out: usize, pitch: usize): void {
  for (let c = 0; c < 8; c++) {
    if (c == 2 || c == 4 || c == 6) continue;
    const w = WS4 + (<usize>c << 2);
    if (load<i16>(blk + (<usize>(8 + c) << 1)) == 0 && load<i16>(blk + (<usize>(24 + c) << 1)) == 0 &&
      load<i16>(blk + (<usize>(40 + c) << 1)) == 0 && load<i16>(blk + (<usize>(56 + c) << 1)) == 0) {
      const dc = cq(blk, q, c) << 2;
      store<i32>(w, dc, 0);
      store<i32>(w, dc, 32);
      continue;
    }
    const tmp10 = cq(blk, q, c) << 15;
    const tmp0 = cq(blk, q, 56 + c) * -F_0_720959822 + cq(blk, q, 40 + c) * F_0_850430095 +
      cq(blk, q, 24 + c) * -F_1_272758580 + cq(blk, q, 8 + c) * F_3_624509785;
    const rnd = 1 << 12; // DESCALE by CONST_BITS - PASS1_BITS + 2 = 13
    store<i32>(w, (tmp10 + tmp0 + rnd) >> 13, 0);
    store<i32>(w, (tmp10 - tmp0 + rnd) >> 13, 32);
  }
  for (let r = 0; r < 2; r++) {
    const w = WS4 + (<usize>(r * 8) << 2);
    const o = out + <usize>r * pitch;
    const w1 = load<i32>(w, 4), w3 = load<i32>(w, 12), w5 = load<i32>(w, 20), w7 = load<i32>(w, 28);
    if ((w1 | w3 | w5 | w7) == 0) {
      const v = rl((load<i32>(w) + 16) >> 5);
      store<u8>(o, v, 0);
      store<u8>(o, v, 1);
      continue;
    }
    const tmp10 = load<i32>(w) << 15;
    const tmp0 = w7 * -F_0_720959822 + w5 * F_0_850430095 + w3 * -F_1_272758580 + w1 * F_3_624509785;
    const rnd = 1 << 19; // DESCALE by CONST_BITS + PASS1_BITS + 3 + 2 = 20
    store<u8>(o, rl((tmp10 + tmp0 + rnd) >> 20), 0);
    store<u8>(o, rl((tmp10 - tmp0 + rnd) >> 20), 1);
  }
}

/** 1x1 output: the block average (jpeg_idct_1x1). */
@inline export function idct1(blk: usize, q: usize): u8 {
  return rl((<i32>load<i16>(blk) * load<i32>(q) + 4) >> 3);
}
