// Helpers shared by the conv kernels (conv.ts, conv_rows.ts): input widening and bias offsets.
// Not re-exported by index.ts (these are inline helpers, not kernels).
import { RQ_B2 } from './simd_requant';

// offset of the bias field the accumulators start from: 2*bias in FAST2 mode (L = i8)
// @ts-ignore: decorator
@inline
export function biasOff<L>(): usize {
  return sizeof<L>() == 1 ? RQ_B2 : 0;
}

// x - zp as int16 (L = i8, FAST2: 2*(x - zp), zpv then holds 2*zp)
// @ts-ignore: decorator
@inline
export function xw<L>(p: usize, zpv: v128): v128 {
  let x = v128.load8x8_s(p);
  if (sizeof<L>() == 1) x = i16x8.add(x, x);
  return i16x8.sub(x, zpv);
}

// widen n int8 values to int16 (x - zp); may write up to 14 bytes past dst + 2n and read 7 past src + n
// @ts-ignore: decorator
@inline
export function widen<L>(src: usize, dst: usize, n: i32, zpv: v128): void {
  for (let i = 0; i < n; i += 8) {
    v128.store(dst + (<usize>i << 1), xw<L>(src + <usize>i, zpv));
  }
}

// @ts-ignore: decorator
@inline
export function zeroFill(dst: usize, n: i32): void {
  const z = i32x4.splat(0);
  for (let i = 0; i < n; i += 8) v128.store(dst + (<usize>i << 1), z);
}


// 4x4 transpose of i32 pairs, stored as 64 bytes: per k-pair j (0..3) the j-th i32 of v0..v3
// (the interleaved im2col group layout of the conv kernels)
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
