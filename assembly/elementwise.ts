// Element-wise and small ops on int8 tensors: ADD, QUANTIZE (requantize),
// float QUANTIZE / DEQUANTIZE, sign flip (uint8 <-> int8 domain), PAD.
// Each op has a scalar reference (`_ref`) that spells out TFLite's reference
// arithmetic; hot ops have a SIMD kernel beside it, tested on the same vectors.

import { srdhm, rdbp, mbqm, clampi } from './requant';
import { vrdbp, vAddRescale } from './simd_requant';

// ---- uint8 <-> int8 domain: x ^ 0x80 == x - 128 (mod 256) ----
export function flip_sign(ptr: usize, n: i32): void {
  const m = i8x16.splat(-128);
  let i = 0;
  for (; i + 16 <= n; i += 16) v128.store(ptr + i, v128.xor(v128.load(ptr + i), m));
  for (; i < n; i++) store<u8>(ptr + i, load<u8>(ptr + i) ^ 0x80);
}

export function copy_bytes(dst: usize, src: usize, n: i32): void {
  memory.copy(dst, src, n);
}

// ---- ADD (int8, same shapes), TFLite reference_integer_ops::Add ----
export function add_i8_ref(aPtr: usize, bPtr: usize, outPtr: usize, n: i32,
  aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  for (let i = 0; i < n; i++) {
    const a = (<i32>load<i8>(aPtr + i) + aOffset) * (1 << leftShift);
    const b = (<i32>load<i8>(bPtr + i) + bOffset) * (1 << leftShift);
    const sa = mbqm(a, aMult, aShift);
    const sb = mbqm(b, bMult, bShift);
    const raw = mbqm(sa + sb, outMult, outShift) + outOffset;
    store<i8>(outPtr + i, <i8>clampi(raw, actMin, actMax));
  }
}

// First ADD stage for 4 lanes, exact: SRDHM(v << L, M) with 9 <= L <= 22, |v| <= 255, 0 <= M < 2^31.
// floor((v*2^L*M + 2^30) / 2^31) = floor((v*M + 2^(s-1)) / 2^s) with s = 31 - L; split M = Mh*2^s + Ml:
// = v*Mh + ((v*Ml + 2^(s-1)) >> s). |v*Mh| < 2^(8+L) <= 2^30 and |v*Ml| + 2^(s-1) < 2^(39-L) + 2^(30-L) < 2^31,
// so everything stays in i32 lanes (no i64 products).
// @ts-ignore: decorator
@inline
function vsrdhmSplit(v: v128, mh: v128, ml: v128, half: v128, s: i32): v128 {
  return i32x4.add(i32x4.mul(v, mh), i32x4.shr_s(i32x4.add(i32x4.mul(v, ml), half), s));
}

// SRDHM for 4 lanes, M >= 0: hi32(2*x*M + 2^31) (= floor((x*M + 2^30) / 2^31); no i64 shifts)
// @ts-ignore: decorator
@inline
function vsrdhmHi(x: v128, m: v128, k: v128): v128 {
  let lo = i64x2.extmul_low_i32x4_s(x, m);
  let hi = i64x2.extmul_high_i32x4_s(x, m);
  lo = i64x2.add(i64x2.add(lo, lo), k);
  hi = i64x2.add(i64x2.add(hi, hi), k);
  return i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
}

export function add_i8(aPtr: usize, bPtr: usize, outPtr: usize, n: i32,
  aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  // The vector path needs right shifts (shift <= 0) and inputs that cannot overflow.
  if (aShift > 0 || bShift > 0 || outShift > 0 || leftShift > 22 || aMult < 0 || bMult < 0 || outMult < 0) {
    add_i8_ref(aPtr, bPtr, outPtr, n, aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
    return;
  }
  const ea = -aShift, eb = -bShift, eo = -outShift;
  const ha = i32x4.splat(ea > 0 ? 1 << (ea - 1) : 0);
  const hb = i32x4.splat(eb > 0 ? 1 << (eb - 1) : 0);
  const ho = i32x4.splat(eo > 0 ? 1 << (eo - 1) : 0);
  const offA = i16x8.splat(<i16>aOffset), offB = i16x8.splat(<i16>bOffset);
  const vOut = i32x4.splat(outOffset);
  const vmin = i8x16.splat(<i8>actMin), vmax = i8x16.splat(<i8>actMax);
  let i = 0;
  if (leftShift >= 9 && aOffset >= -128 && aOffset <= 128 && bOffset >= -128 && bOffset <= 128) {
    // |x + offset| <= 255: the input stages run in i32 lanes (vsrdhmSplit), the output stage via hi32
    const s = 31 - leftShift;
    const lowMask = (1 << s) - 1;
    const mha = i32x4.splat(aMult >>> s), mla = i32x4.splat(aMult & lowMask);
    const mhb = i32x4.splat(bMult >>> s), mlb = i32x4.splat(bMult & lowMask);
    const hs = i32x4.splat(1 << (s - 1));
    const vo = i32x4.splat(outMult);
    const k31 = i64x2.splat(<i64>1 << 31);
    for (; i + 8 <= n; i += 8) {
      const a16 = i16x8.add(v128.load8x8_s(aPtr + i), offA);
      const b16 = i16x8.add(v128.load8x8_s(bPtr + i), offB);
      let saLo = vsrdhmSplit(i32x4.extend_low_i16x8_s(a16), mha, mla, hs, s);
      let saHi = vsrdhmSplit(i32x4.extend_high_i16x8_s(a16), mha, mla, hs, s);
      let sbLo = vsrdhmSplit(i32x4.extend_low_i16x8_s(b16), mhb, mlb, hs, s);
      let sbHi = vsrdhmSplit(i32x4.extend_high_i16x8_s(b16), mhb, mlb, hs, s);
      if (ea > 0) { saLo = vrdbp(saLo, ea, ha); saHi = vrdbp(saHi, ea, ha); }
      if (eb > 0) { sbLo = vrdbp(sbLo, eb, hb); sbHi = vrdbp(sbHi, eb, hb); }
      let oLo = vsrdhmHi(i32x4.add(saLo, sbLo), vo, k31);
      let oHi = vsrdhmHi(i32x4.add(saHi, sbHi), vo, k31);
      if (eo > 0) { oLo = vrdbp(oLo, eo, ho); oHi = vrdbp(oHi, eo, ho); }
      const o16 = i16x8.narrow_i32x4_s(i32x4.add(oLo, vOut), i32x4.add(oHi, vOut));
      let o8 = i8x16.narrow_i16x8_s(o16, o16);
      o8 = i8x16.min_s(i8x16.max_s(o8, vmin), vmax);
      v128.store64_lane(outPtr + i, o8, 0);
    }
  } else {
    const va = i32x4.splat(aMult), vb = i32x4.splat(bMult), vo = i32x4.splat(outMult);
    for (; i + 8 <= n; i += 8) {
      const a16 = i16x8.add(v128.load8x8_s(aPtr + i), offA);
      const b16 = i16x8.add(v128.load8x8_s(bPtr + i), offB);
      const oLo = vAddRescale(i32x4.extend_low_i16x8_s(a16), i32x4.extend_low_i16x8_s(b16), leftShift, va, ea, ha, vb, eb, hb, vo, eo, ho, vOut);
      const oHi = vAddRescale(i32x4.extend_high_i16x8_s(a16), i32x4.extend_high_i16x8_s(b16), leftShift, va, ea, ha, vb, eb, hb, vo, eo, ho, vOut);
      const o16 = i16x8.narrow_i32x4_s(oLo, oHi);
      let o8 = i8x16.narrow_i16x8_s(o16, o16);
      o8 = i8x16.min_s(i8x16.max_s(o8, vmin), vmax);
      v128.store64_lane(outPtr + i, o8, 0);
    }
  }
  if (i < n) {
    add_i8_ref(aPtr + i, bPtr + i, outPtr + i, n - i, aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
  }
}

// ---- ADD through its f32 form (src/model/add-affine.ts): out = clamp(rne(fl(fl(fl(a*al) + fl(b*be)) + ga))),
// proven equal to add_i8_ref on all 65536 input pairs by the compiler for the layer's parameters.
// rne(y) + 1.5*2^23 = fl(y + 1.5*2^23) for |y| < 2^22, so subtracting the constant's bits gives rne(y).
const ADDF_K: f32 = 12582912.0; // 1.5 * 2^23
// @ts-ignore: decorator
@inline
function addfQuad(a: v128, b: v128, al: v128, be: v128, ga: v128, k: v128, kb: v128): v128 {
  const s = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(a), al), f32x4.mul(f32x4.convert_i32x4_s(b), be));
  return i32x4.sub(f32x4.add(f32x4.add(s, ga), k), kb);
}

export function add_i8_f(aPtr: usize, bPtr: usize, outPtr: usize, n: i32, al: f32, be: f32, ga: f32, actMin: i32, actMax: i32): void {
  const val = f32x4.splat(al), vbe = f32x4.splat(be), vga = f32x4.splat(ga);
  const k = f32x4.splat(ADDF_K), kb = i32x4.splat(reinterpret<i32>(ADDF_K));
  const vmin = i8x16.splat(<i8>actMin), vmax = i8x16.splat(<i8>actMax);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const va = v128.load(aPtr + i), vb = v128.load(bPtr + i);
    const al16 = i16x8.extend_low_i8x16_s(va), ah16 = i16x8.extend_high_i8x16_s(va);
    const bl16 = i16x8.extend_low_i8x16_s(vb), bh16 = i16x8.extend_high_i8x16_s(vb);
    const r0 = addfQuad(i32x4.extend_low_i16x8_s(al16), i32x4.extend_low_i16x8_s(bl16), val, vbe, vga, k, kb);
    const r1 = addfQuad(i32x4.extend_high_i16x8_s(al16), i32x4.extend_high_i16x8_s(bl16), val, vbe, vga, k, kb);
    const r2 = addfQuad(i32x4.extend_low_i16x8_s(ah16), i32x4.extend_low_i16x8_s(bh16), val, vbe, vga, k, kb);
    const r3 = addfQuad(i32x4.extend_high_i16x8_s(ah16), i32x4.extend_high_i16x8_s(bh16), val, vbe, vga, k, kb);
    const o = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3));
    v128.store(outPtr + i, i8x16.min_s(i8x16.max_s(o, vmin), vmax));
  }
  for (; i < n; i++) {
    const s: f32 = <f32>load<i8>(aPtr + i) * al + <f32>load<i8>(bPtr + i) * be;
    const r = reinterpret<i32>((s + ga) + ADDF_K) - reinterpret<i32>(ADDF_K);
    store<i8>(outPtr + i, <i8>clampi(r, actMin, actMax));
  }
}

// ---- int8 -> int16 sign extension (the engine widens some packed conv weights at load) ----
export function widen_i8_i16(src: usize, dst: usize, n: i32): void {
  let i = 0;
  // 32 per step: this runs once per model load, often before V8 has optimized it
  for (; i + 32 <= n; i += 32) {
    const a = v128.load(src + i), b = v128.load(src + i, 16);
    const d = dst + (<usize>i << 1);
    v128.store(d, i16x8.extend_low_i8x16_s(a));
    v128.store(d, i16x8.extend_high_i8x16_s(a), 16);
    v128.store(d, i16x8.extend_low_i8x16_s(b), 32);
    v128.store(d, i16x8.extend_high_i8x16_s(b), 48);
  }
  for (; i + 8 <= n; i += 8) v128.store(dst + (<usize>i << 1), v128.load8x8_s(src + i));
  for (; i < n; i++) store<i16>(dst + (<usize>i << 1), <i16>load<i8>(src + i));
}

// ---- QUANTIZE int8 -> int8 (TFLM Requantize) ----
export function requantize_i8(inPtr: usize, outPtr: usize, n: i32, inZp: i32, mult: i32, shift: i32, outZp: i32): void {
  for (let i = 0; i < n; i++) {
    const v = mbqm(<i32>load<i8>(inPtr + i) - inZp, mult, shift) + outZp;
    store<i8>(outPtr + i, <i8>clampi(v, -128, 127));
  }
}

// ---- QUANTIZE float32 -> int8 (reference_ops::AffineQuantize) ----
// @ts-ignore: decorator
@inline
function roundAwayF32(x: f32): f32 {
  // std::round(float): half away from zero
  const a = Mathf.abs(x);
  let r = Mathf.floor(a);
  if (a - r >= 0.5) r += 1;
  return x < 0 ? -r : r;
}

export function quantize_f32_i8(inPtr: usize, outPtr: usize, n: i32, scale: f32, zp: i32, qmin: i32, qmax: i32): void {
  for (let i = 0; i < n; i++) {
    const r = roundAwayF32(load<f32>(inPtr + 4 * i) / scale);
    let q: i32;
    if (r != r) q = zp; // NaN: TFLite's cast is undefined; pick the zero point
    else if (r < -2147483648.0) q = i32.MIN_VALUE;
    else if (r > 2147483520.0) q = i32.MAX_VALUE;
    else q = <i32>r;
    // overflow-safe: zp is small
    const v: i64 = <i64>q + <i64>zp;
    store<i8>(outPtr + i, <i8>(v < <i64>qmin ? qmin : (v > <i64>qmax ? qmax : <i32>v)));
  }
}

// ---- DEQUANTIZE int8 -> float32: (float)(scale_double * (q - zp)) ----
export function dequantize_i8_f32(inPtr: usize, outPtr: usize, n: i32, scale: f64, zp: i32): void {
  for (let i = 0; i < n; i++) {
    store<f32>(outPtr + 4 * i, <f32>(scale * <f64>(<i32>load<i8>(inPtr + i) - zp)));
  }
}

// ---- PAD (any element size): NHWC 4-D, constant value ----
// in [b,h,w,c] -> out [b+pb0+pb1, h+ph0+ph1, w+pw0+pw1, c+pc0+pc1], elements of `es` bytes
export function pad_nhwc(inPtr: usize, outPtr: usize, es: i32,
  b: i32, h: i32, w: i32, c: i32,
  pb0: i32, pb1: i32, ph0: i32, ph1: i32, pw0: i32, pw1: i32, pc0: i32, pc1: i32,
  valueBits: i32): void {
  const ob = b + pb0 + pb1, oh = h + ph0 + ph1, ow = w + pw0 + pw1, oc = c + pc0 + pc1;
  const total = ob * oh * ow * oc;
  // fill with the pad value
  if (es == 1) memory.fill(outPtr, <u8>valueBits, total);
  else for (let i = 0; i < total; i++) store<i32>(outPtr + 4 * i, valueBits);
  const rowBytes = c * es;
  for (let ib = 0; ib < b; ib++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = inPtr + <usize>(((ib * h + y) * w + x) * c) * es;
        const dst = outPtr + <usize>((((ib + pb0) * oh + y + ph0) * ow + x + pw0) * oc + pc0) * es;
        memory.copy(dst, src, rowBytes);
      }
    }
  }
}

// ---- ADD float32 ----
export function add_f32(aPtr: usize, bPtr: usize, outPtr: usize, n: i32, actMin: f32, actMax: f32): void {
  let i = 0;
  const vmin = f32x4.splat(actMin), vmax = f32x4.splat(actMax);
  for (; i + 4 <= n; i += 4) {
    const s = f32x4.add(v128.load(aPtr + 4 * i), v128.load(bPtr + 4 * i));
    v128.store(outPtr + 4 * i, f32x4.pmin(f32x4.pmax(s, vmin), vmax));
  }
  for (; i < n; i++) {
    const s = load<f32>(aPtr + 4 * i) + load<f32>(bPtr + 4 * i);
    store<f32>(outPtr + 4 * i, Mathf.min(Mathf.max(s, actMin), actMax));
  }
}

export function add_f32_ref(aPtr: usize, bPtr: usize, outPtr: usize, n: i32, actMin: f32, actMax: f32): void {
  for (let i = 0; i < n; i++) {
    const s = load<f32>(aPtr + 4 * i) + load<f32>(bPtr + 4 * i);
    store<f32>(outPtr + 4 * i, Mathf.min(Mathf.max(s, actMin), actMax));
  }
}

// ---- ADD through a 64 KB result table (large same-shape adds) ----
// out = tbl[(u8(a) << 8) | u8(b)]; add_i8_lut_build fills tbl with add_i8 itself (the exact kernel,
// so the table holds exactly the reference results for all 65536 input pairs).
const lutRows: usize = memory.data(8192, 16);

export function add_i8_lut_build(tblPtr: usize,
  aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  // 16 table rows (a values) per add_i8 call: rowsA = each a repeated 256 times, rowsB = 0..255 repeated
  const rowsB = lutRows + 4096;
  for (let i = 0; i < 4096; i++) store<u8>(rowsB + i, <u8>i);
  for (let a0 = 0; a0 < 256; a0 += 16) {
    for (let k = 0; k < 16; k++) memory.fill(lutRows + (<usize>k << 8), <u8>(a0 + k), 256);
    add_i8(lutRows, rowsB, tblPtr + (<usize>a0 << 8), 4096, aOffset, aMult, aShift, bOffset, bMult, bShift,
      leftShift, outMult, outShift, outOffset, actMin, actMax);
  }
}

const lutIdx: usize = memory.data(32, 16);

export function add_i8_lut(aPtr: usize, bPtr: usize, outPtr: usize, n: i32, tblPtr: usize): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    // table indexes (u8(a) << 8) | u8(b) as little-endian u16: interleave the bytes of b and a
    const va = v128.load(aPtr + i), vb = v128.load(bPtr + i);
    v128.store(lutIdx, i8x16.shuffle(vb, va, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
    v128.store(lutIdx, i8x16.shuffle(vb, va, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), 16);
    const o = outPtr + i;
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx)));
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 2)), 1);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 4)), 2);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 6)), 3);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 8)), 4);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 10)), 5);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 12)), 6);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 14)), 7);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 16)), 8);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 18)), 9);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 20)), 10);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 22)), 11);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 24)), 12);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 26)), 13);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 28)), 14);
    store<u8>(o, load<u8>(tblPtr + <usize>load<u16>(lutIdx, 30)), 15);
  }
  for (; i < n; i++) {
    store<u8>(outPtr + i, load<u8>(tblPtr + ((<usize>load<u8>(aPtr + i) << 8) | <usize>load<u8>(bPtr + i))));
  }
}
