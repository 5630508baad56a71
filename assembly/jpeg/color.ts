// Chroma upsampling and colour conversion of the JPEG decoder, with libjpeg-turbo's
// arithmetic (jdsample.c fancy upsampling, jdcolor.c ycc_rgb_convert):
//
// - h2v1 fancy: out[2i] = (3*in[i] + in[i-1] + 1) >> 2, out[2i+1] = (3*in[i] + in[i+1] + 2) >> 2,
//   first/last columns special-cased exactly as jdsample.c.
// - h1v2 / h2v2 fancy: vertical "column sums" 3*nearer + further row, then (h2v2) the
//   horizontal triangle on the sums with biases 8 / 7 and >> 4.
// - YCbCr -> RGB: the jdcolor.c tables (16-bit fixed point, ONE_HALF rounding),
//   computed arithmetically with i32x4 lanes (bit-identical to the tables):
//     R = Y + ((FIX(1.40200) * (Cr-128) + ONE_HALF) >> 16)
//     G = Y + ((-FIX(0.34414) * (Cb-128) - FIX(0.71414) * (Cr-128) + ONE_HALF) >> 16)
//     B = Y + ((FIX(1.77200) * (Cb-128) + ONE_HALF) >> 16)
//   clamped to 0..255.

const FIX_1_40200: i32 = 91881;
const FIX_1_77200: i32 = 116130;
const FIX_0_71414: i32 = 46802;
const FIX_0_34414: i32 = 22554;
const ONE_HALF: i32 = 1 << 15;

/** jdsample.c h2v1_fancy_upsample for one row of n >= 3 samples -> 2n outputs. */
export function h2v1Fancy(inp: usize, n: i32, out: usize): void {
  let v = <i32>load<u8>(inp);
  store<u8>(out, <u8>v);
  store<u8>(out, <u8>((v * 3 + <i32>load<u8>(inp, 1) + 2) >> 2), 1);
  let o = out + 2;
  const e = inp + <usize>(n - 1);
  for (let i = inp + 1; i < e; i++) {
    v = <i32>load<u8>(i) * 3;
    store<u8>(o, <u8>((v + <i32>load<u8>(i - 1) + 1) >> 2));
    store<u8>(o, <u8>((v + <i32>load<u8>(i + 1) + 2) >> 2), 1);
    o += 2;
  }
  v = <i32>load<u8>(e);
  store<u8>(o, <u8>((v * 3 + <i32>load<u8>(e - 1) + 1) >> 2));
  store<u8>(o, <u8>v, 1);
}

/** jdsample.c h1v2_fancy_upsample for one output row: near = nearer input row, far = the other. */
export function h1v2Fancy(near: usize, far: usize, n: i32, bias: i32, out: usize): void {
  for (let i = 0; i < n; i++) {
    const s = <i32>load<u8>(near + <usize>i) * 3 + <i32>load<u8>(far + <usize>i);
    store<u8>(out + <usize>i, <u8>((s + bias) >> 2));
  }
}

/** jdsample.c h2v2_fancy_upsample for one output row (n >= 3 input columns -> 2n outputs). */
export function h2v2Fancy(near: usize, far: usize, n: i32, out: usize): void {
  let thiscol = <i32>load<u8>(near) * 3 + <i32>load<u8>(far);
  let nextcol = <i32>load<u8>(near, 1) * 3 + <i32>load<u8>(far, 1);
  store<u8>(out, <u8>((thiscol * 4 + 8) >> 4));
  store<u8>(out, <u8>((thiscol * 3 + nextcol + 7) >> 4), 1);
  let lastcol = thiscol;
  thiscol = nextcol;
  let o = out + 2;
  for (let i = 2; i < n; i++) {
    nextcol = <i32>load<u8>(near + <usize>i) * 3 + <i32>load<u8>(far + <usize>i);
    store<u8>(o, <u8>((thiscol * 3 + lastcol + 8) >> 4));
    store<u8>(o, <u8>((thiscol * 3 + nextcol + 7) >> 4), 1);
    lastcol = thiscol;
    thiscol = nextcol;
    o += 2;
  }
  store<u8>(o, <u8>((thiscol * 3 + lastcol + 8) >> 4));
  store<u8>(o, <u8>((thiscol * 4 + 7) >> 4), 1);
}

// SIMD versions. With the row's edge samples replicated one to the left and right (in an
// i16 scratch row), jdsample.c's special first/last columns are the generic formula:
//   h2v1: out[0] = (4v + 1) >> 2 = v,  out[2n-1] = (4v + 2) >> 2 = v
//   h2v2: out[0] = (4c + 8) >> 4,      out[2n-1] = (4c + 7) >> 4
// so every output pair is even = (3*this + last + b0) >> sh, odd = (3*this + next + b1) >> sh.
// tmp: i16 scratch of >= n + 18 entries; out gets up to 15 bytes of garbage past 2n.

@inline function fancyPairs(tmp: usize, n: i32, out: usize, b0: i32, b1: i32, sh: i32): void {
  const vb0 = i16x8.splat(<i16>b0);
  const vb1 = i16x8.splat(<i16>b1);
  for (let i = 0; i < n; i += 8) {
    const p = tmp + (<usize>(i + 1) << 1); // tmp[i + 1] = sample i
    const cur = v128.load(p);
    const t3 = i16x8.add(i16x8.shl(cur, 1), cur);
    const even = i16x8.shr_u(i16x8.add(i16x8.add(t3, v128.load(p - 2)), vb0), sh);
    const odd = i16x8.shr_u(i16x8.add(i16x8.add(t3, v128.load(p + 2)), vb1), sh);
    const lo = i16x8.shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
    const hi = i16x8.shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
    v128.store(out + (<usize>i << 1), i8x16.narrow_i16x8_u(lo, hi));
  }
}

/** h2v1 fancy upsampling (n >= 3 samples -> 2n outputs), SIMD. */
export function h2v1FancySimd(inp: usize, n: i32, out: usize, tmp: usize): void {
  for (let i = 0; i < n; i += 8) v128.store(tmp + (<usize>(i + 1) << 1), v128.load8x8_u(inp + <usize>i));
  store<i16>(tmp, <i16>load<u8>(inp));
  store<i16>(tmp + (<usize>(n + 1) << 1), <i16>load<u8>(inp + <usize>(n - 1)));
  fancyPairs(tmp, n, out, 1, 2, 2);
}

/** h2v2 fancy upsampling for one output row (n >= 3 columns -> 2n outputs), SIMD. */
export function h2v2FancySimd(near: usize, far: usize, n: i32, out: usize, tmp: usize): void {
  for (let i = 0; i < n; i += 8) {
    const a = v128.load8x8_u(near + <usize>i);
    const cs = i16x8.add(i16x8.add(i16x8.shl(a, 1), a), v128.load8x8_u(far + <usize>i));
    v128.store(tmp + (<usize>(i + 1) << 1), cs);
  }
  store<i16>(tmp, load<i16>(tmp, 2));
  store<i16>(tmp + (<usize>(n + 1) << 1), load<i16>(tmp + (<usize>n << 1)));
  fancyPairs(tmp, n, out, 8, 7, 4);
}

/** h1v2 fancy upsampling for one output row, SIMD (writes up to 15 bytes past n). */
export function h1v2FancySimd(near: usize, far: usize, n: i32, bias: i32, out: usize): void {
  const vb = i16x8.splat(<i16>bias);
  for (let i = 0; i < n; i += 16) {
    const a = v128.load(near + <usize>i);
    const b = v128.load(far + <usize>i);
    const al = i16x8.extend_low_i8x16_u(a);
    const ah = i16x8.extend_high_i8x16_u(a);
    const lo = i16x8.shr_u(i16x8.add(i16x8.add(i16x8.add(i16x8.shl(al, 1), al), i16x8.extend_low_i8x16_u(b)), vb), 2);
    const hi = i16x8.shr_u(i16x8.add(i16x8.add(i16x8.add(i16x8.shl(ah, 1), ah), i16x8.extend_high_i8x16_u(b)), vb), 2);
    v128.store(out + <usize>i, i8x16.narrow_i16x8_u(lo, hi));
  }
}

/** Generic replication: out[x] = inp[map[x]] (map: i32 per output column). */
export function mapRow(inp: usize, map: usize, n: i32, out: usize): void {
  for (let x = 0; x < n; x++) {
    store<u8>(out + <usize>x, load<u8>(inp + <usize>load<i32>(map + (<usize>x << 2))));
  }
}

@inline function clamp8(v: i32): u8 {
  return <u8>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// 8 pixels at a time in i16 lanes. The 16.16 constants are split so that every product
// fits a 16 x 16 -> 32-bit multiply, exactly (>> is an arithmetic floor, so whole
// multiples of 2^16 move out of the shift):
//   R: 91881 = 65536 + 26345          -> R = Y + cr + ((26345 cr + 32768) >> 16)
//   G: -46802 = -65536 + 18734         -> G = Y - cr + ((-22554 cb + 18734 cr + 32768) >> 16)
//   B: 116130 = 131072 - 14942         -> B = Y + 2 cb + ((-14942 cb + 32768) >> 16)
// (cb, cr = Cb - 128, Cr - 128.)

@inline function hi16(lo: v128, hi: v128): v128 {
  // (x + 32768) >> 16 on two i32x4 halves, narrowed back to i16x8 (|result| < 2^15)
  const h = i32x4.splat(ONE_HALF);
  return i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(lo, h), 16), i32x4.shr_s(i32x4.add(hi, h), 16));
}

let vr: v128 = i32x4.splat(0);
let vg: v128 = i32x4.splat(0);
let vb: v128 = i32x4.splat(0);

/** R, G, B (i16x8, not clamped) of 8 pixels from i16x8 Y, cb, cr. */
let r8: v128 = i32x4.splat(0);
let g8: v128 = i32x4.splat(0);
let b8: v128 = i32x4.splat(0);
@inline function ycc8(y: v128, cb: v128, cr: v128): void {
  const kr = i16x8.splat(26345);
  const kb = i16x8.splat(-14942);
  const kg = i32x4.splat((18734 << 16) | (-22554 & 0xffff)); // (cb, cr) pairs: -22554, 18734
  const tr = hi16(i32x4.extmul_low_i16x8_s(cr, kr), i32x4.extmul_high_i16x8_s(cr, kr));
  const tb = hi16(i32x4.extmul_low_i16x8_s(cb, kb), i32x4.extmul_high_i16x8_s(cb, kb));
  const plo = i16x8.shuffle(cb, cr, 0, 8, 1, 9, 2, 10, 3, 11);
  const phi = i16x8.shuffle(cb, cr, 4, 12, 5, 13, 6, 14, 7, 15);
  const tg = hi16(i32x4.dot_i16x8_s(plo, kg), i32x4.dot_i16x8_s(phi, kg));
  r8 = i16x8.add(i16x8.add(y, cr), tr);
  g8 = i16x8.add(i16x8.sub(y, cr), tg);
  b8 = i16x8.add(i16x8.add(y, i16x8.shl(cb, 1)), tb);
}

@inline function ycc16(y: v128, cb: v128, cr: v128): void {
  const c128 = i16x8.splat(128);
  ycc8(i16x8.extend_low_i8x16_u(y), i16x8.sub(i16x8.extend_low_i8x16_u(cb), c128), i16x8.sub(i16x8.extend_low_i8x16_u(cr), c128));
  const rl = r8, gl = g8, bl = b8;
  ycc8(i16x8.extend_high_i8x16_u(y), i16x8.sub(i16x8.extend_high_i8x16_u(cb), c128), i16x8.sub(i16x8.extend_high_i8x16_u(cr), c128));
  vr = i8x16.narrow_i16x8_u(rl, r8);
  vg = i8x16.narrow_i16x8_u(gl, g8);
  vb = i8x16.narrow_i16x8_u(bl, b8);
}

/** Interleave 16 R, G, B bytes into 48 bytes at out. */
@inline function storeRGB(out: usize, r: v128, g: v128, b: v128): void {
  // out0 = r0 g0 b0 r1 g1 b1 r2 g2 b2 r3 g3 b3 r4 g4 b4 r5
  const rg0 = i8x16.shuffle(r, g, 0, 16, 0, 1, 17, 1, 2, 18, 2, 3, 19, 3, 4, 20, 4, 5);
  const o0 = i8x16.shuffle(rg0, b, 0, 1, 16, 3, 4, 17, 6, 7, 18, 9, 10, 19, 12, 13, 20, 15);
  // out1 = g5 b5 r6 g6 b6 r7 g7 b7 r8 g8 b8 r9 g9 b9 r10 g10
  const rg1 = i8x16.shuffle(r, g, 21, 5, 6, 22, 6, 7, 23, 7, 8, 24, 8, 9, 25, 9, 10, 26);
  const o1 = i8x16.shuffle(rg1, b, 0, 21, 2, 3, 22, 5, 6, 23, 8, 9, 24, 11, 12, 25, 14, 15);
  // out2 = b10 r11 g11 b11 r12 g12 b12 r13 g13 b13 r14 g14 b14 r15 g15 b15
  const rg2 = i8x16.shuffle(r, g, 10, 11, 27, 11, 12, 28, 12, 13, 29, 13, 14, 30, 14, 15, 31, 15);
  const o2 = i8x16.shuffle(rg2, b, 26, 1, 2, 27, 4, 5, 28, 7, 8, 29, 10, 11, 30, 13, 14, 31);
  v128.store(out, o0, 0);
  v128.store(out, o1, 16);
  v128.store(out, o2, 32);
}

/** YCbCr rows -> packed RGB (n pixels). Reads up to 15 bytes past n in the inputs. */
export function yccRow(yp: usize, cbp: usize, crp: usize, out: usize, n: i32): void {
  let x = 0;
  for (; x + 16 <= n; x += 16) {
    ycc16(v128.load(yp + <usize>x), v128.load(cbp + <usize>x), v128.load(crp + <usize>x));
    storeRGB(out + <usize>(x * 3), vr, vg, vb);
  }
  for (; x < n; x++) {
    const Y = <i32>load<u8>(yp + <usize>x);
    const cb = <i32>load<u8>(cbp + <usize>x) - 128;
    const cr = <i32>load<u8>(crp + <usize>x) - 128;
    const o = out + <usize>(x * 3);
    store<u8>(o, clamp8(Y + ((FIX_1_40200 * cr + ONE_HALF) >> 16)), 0);
    store<u8>(o, clamp8(Y + ((-FIX_0_34414 * cb - FIX_0_71414 * cr + ONE_HALF) >> 16)), 1);
    store<u8>(o, clamp8(Y + ((FIX_1_77200 * cb + ONE_HALF) >> 16)), 2);
  }
}

/** Three planes (already RGB) -> packed RGB. */
export function rgbRow(rp: usize, gp: usize, bp: usize, out: usize, n: i32): void {
  let x = 0;
  for (; x + 16 <= n; x += 16) {
    storeRGB(out + <usize>(x * 3), v128.load(rp + <usize>x), v128.load(gp + <usize>x), v128.load(bp + <usize>x));
  }
  for (; x < n; x++) {
    const o = out + <usize>(x * 3);
    store<u8>(o, load<u8>(rp + <usize>x), 0);
    store<u8>(o, load<u8>(gp + <usize>x), 1);
    store<u8>(o, load<u8>(bp + <usize>x), 2);
  }
}

/** Gray -> packed RGB (R = G = B = Y). */
export function grayRow(yp: usize, out: usize, n: i32): void {
  let x = 0;
  for (; x + 16 <= n; x += 16) {
    const y = v128.load(yp + <usize>x);
    storeRGB(out + <usize>(x * 3), y, y, y);
  }
  for (; x < n; x++) {
    const v = load<u8>(yp + <usize>x);
    const o = out + <usize>(x * 3);
    store<u8>(o, v, 0);
    store<u8>(o, v, 1);
    store<u8>(o, v, 2);
  }
}
