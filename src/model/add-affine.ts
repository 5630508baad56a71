/**
 * ADD's float shortcut (assembly/elementwise.ts add_i8_f). TFLite's int8 ADD rescales both inputs,
 * sums them and rescales the sum, rounding at each step: out = F(a, b) for a, b in [-128, 127]. The
 * compiler looks for f32 (alpha, beta, gamma) with
 *   G(a, b) = clamp(rne(fl(fl(fl(a * alpha) + fl(b * beta)) + gamma)), actMin, actMax) == F(a, b)
 * for all 65536 input pairs (gamma carries both zero points and the output zero point), checked
 * exhaustively with f32 arithmetic emulated by Math.fround. The kernel then needs 8 vector operations
 * per 4 outputs instead of the exact kernel's two 64-bit rescales. G is monotone in gamma for every
 * pair, so the least gamma with G >= F everywhere is found by bisection over the f32 values and then
 * checked for equality; alpha and beta start at the f32 nearest the real scale ratios and may move
 * by one ulp. The search fails when some input pair's exact sum lies too close to a rounding boundary
 * for f32 (the compiler then keeps the exact kernels).
 */
import { mbqmExact, f32Key, f32FromKey, f32Bits, leastF32 } from './quant.ts';

export interface AddParams {
  aOffset: number; aMult: number; aShift: number; bOffset: number; bMult: number; bShift: number;
  leftShift: number; outMult: number; outShift: number; outOffset: number; actMin: number; actMax: number;
}

const fr = Math.fround;
const K23 = 1.5 * 2 ** 23;

/**
 * mbqmExact(x, m, shift) for 0 <= m < 2^31 and shift <= 0 without BigInt (the 65536 output rescales of
 * addTable): x*m is split as (xh*m)*2^16 + xl*m so every partial stays exact in a double.
 */
function mbqmRight(x: number, m: number, shift: number): number {
  const xh = x >> 16, xl = x & 0xffff;
  const u = xh * m; // |u| < 2^46
  const neg = x < 0 && m > 0;
  const v = xl * m + (neg ? 1 - 2 ** 30 : 2 ** 30); // the nudge of SaturatingRoundingDoublingHighMul
  const uq = Math.floor(u / 2 ** 15);
  const w = (u - uq * 2 ** 15) * 2 ** 16 + v; // D = uq * 2^31 + w, |w| < 2^49
  const wq = Math.floor(w / 2 ** 31);
  // C++ division truncates toward zero: a negative D with a remainder rounds up
  const y = uq + wq + (neg && w - wq * 2 ** 31 !== 0 ? 1 : 0);
  const right = -shift & 31;
  if (right === 0) return y;
  const mask = 2 ** right - 1;
  const rem = y - Math.floor(y / 2 ** right) * 2 ** right;
  return Math.floor(y / 2 ** right) + (rem > Math.floor(mask / 2) + (y < 0 ? 1 : 0) ? 1 : 0);
}

/** F(a, b) for all 65536 pairs, index (a + 128) * 256 + (b + 128): add_i8_ref's arithmetic (i32 wrap included). */
export function addTable(p: AddParams): Int32Array {
  const A = new Int32Array(256), B = new Int32Array(256);
  for (let v = -128; v < 128; v++) {
    A[v + 128] = mbqmExact(Math.imul(v + p.aOffset, 2 ** p.leftShift | 0), p.aMult, p.aShift);
    B[v + 128] = mbqmExact(Math.imul(v + p.bOffset, 2 ** p.leftShift | 0), p.bMult, p.bShift);
  }
  const F = new Int32Array(65536);
  const fastOut = p.outMult >= 0 && p.outMult < 2 ** 31 && p.outShift <= 0;
  for (let x = 0; x < 256; x++) {
    for (let y = 0; y < 256; y++) {
      const sum = (A[x]! + B[y]!) | 0;
      const raw = (fastOut ? mbqmRight(sum, p.outMult, p.outShift) : mbqmExact(sum, p.outMult, p.outShift)) + p.outOffset;
      F[x * 256 + y] = Math.max(p.actMin, Math.min(p.actMax, raw | 0));
    }
  }
  return F;
}

/** [alpha, beta, gamma] as f32 bit patterns, or null. */
export function solveAddAffine(p: AddParams): [number, number, number] | null {
  if (!(p.leftShift >= 0 && p.leftShift <= 24)) return null;
  const scale = (m: number, s: number) => 2 ** p.leftShift * (m / 2 ** 31) * 2 ** s * (p.outMult / 2 ** 31) * 2 ** p.outShift;
  const r1 = scale(p.aMult, p.aShift), r2 = scale(p.bMult, p.bShift);
  const g0 = p.aOffset * r1 + p.bOffset * r2 + p.outOffset;
  // every |G| before rounding stays far inside the magic constant's exact range (2^22)
  if (!(r1 >= 0 && r2 >= 0 && 128 * (r1 + r2) + Math.abs(g0) < 2 ** 20)) return null;
  const F = addTable(p);
  const P = new Float64Array(256), Q = new Float64Array(256);
  for (const d1 of [0, 1, -1]) {
    for (const d2 of [0, 1, -1]) {
      const al = f32FromKey(f32Key(fr(r1)) + d1), be = f32FromKey(f32Key(fr(r2)) + d2);
      if (!(al >= 0 && be >= 0)) continue;
      for (let v = 0; v < 256; v++) { P[v] = fr((v - 128) * al); Q[v] = fr((v - 128) * be); }
      const G = (x: number, y: number, ga: number) => Math.max(p.actMin, Math.min(p.actMax, fr(fr(fr(P[x]! + Q[y]!) + ga) + K23) - K23));
      const lowerOk = (ga: number) => {
        for (let x = 0; x < 256; x++) for (let y = 0; y < 256; y++) if (G(x, y, ga) < F[x * 256 + y]!) return false;
        return true;
      };
      const ga = leastF32(fr(g0 - 2), fr(g0 + 2), lowerOk);
      if (ga === null) continue;
      let ok = true;
      for (let x = 0; x < 256 && ok; x++) for (let y = 0; y < 256; y++) if (G(x, y, ga) !== F[x * 256 + y]) { ok = false; break; }
      if (ok) return [f32Bits(al), f32Bits(be), f32Bits(ga)];
    }
  }
  return null;
}
