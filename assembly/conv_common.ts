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
