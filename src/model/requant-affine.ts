/**
 * FAST2R's affine shortcut (assembly/simd_requant.ts, "affine halves"). For a channel whose results <= 0
 * all clamp alike (outZp <= actMin), find f32 (alpha, beta) with
 *   g(A) = rne(fl(fl(A * alpha) + beta)) == RDBP(SRDHM(A / 2, M), R)
 * at every output level 1..T that matters, for every doubled accumulator A = 2 * acc the layer can
 * reach (|acc| <= accMax). Both sides are monotone non-decreasing in A (fl, rne and a positive alpha
 * keep order), so they agree on every reachable A when, for every level k, g reaches k at the same
 * even A as the exact result: g(A_k) >= k and g(A_k - 2) <= k - 1, with A_k = 2 * (the least acc whose
 * result is >= k). Levels above T (= actMax - outZp) clamp alike; where the reachable accumulators stop
 * below level T, g must stay below the next level at the largest reachable A. The search is exact (f32
 * arithmetic emulated with Math.fround) and may fail: near-ties between a level's threshold and an even
 * A need more precision than f32 has; the caller then keeps FAST2R's exact arithmetic.
 */
import { mbqmExact, f32Key, f32FromKey, leastF32 } from './quant.ts';
const fr = Math.fround;
const K23 = 1.5 * 2 ** 23;
const rne = (w: number) => fr(w + K23) - K23;

/**
 * Least acc whose result is >= k (k >= 1, M in [2^30, 2^31), R >= 1): for acc >= 0 the result,
 * y = floor((acc * M + 2^30) / 2^31) rounded half up by 2^R, is floor((acc * M + 2^30 + 2^(R+30)) /
 * 2^(R+31)), so the threshold is ceil(2^30 * ((2k - 1) * 2^R - 1) / M).
 */
export function levelThreshold(k: number, M: number, R: number): number {
  const num = (BigInt(2 * k - 1) * (1n << BigInt(R)) - 1n) << 30n;
  const m = BigInt(M);
  const q = num / m;
  return Number(q * m === num ? q : q + 1n);
}

/**
 * (alpha, beta) for one channel, or null. M, R: the channel's multiplier (0 or in [2^30, 2^31)) and right
 * shift (1..21); accMax: its reachable |acc| bound (<= 1.5 * 2^20); T: actMax - outZp.
 */
export function solveAffine(M: number, R: number, accMax: number, T: number, span = 16): [number, number] | null {
  const top = Math.min(T, M === 0 ? 0 : mbqmExact(Math.floor(accMax), M, -R));
  if (top <= 0) return [0, 0]; // no reachable result above 0: g = 0 clamps alike
  const A = new Float64Array(top);
  for (let k = 1; k <= top; k++) A[k - 1] = 2 * levelThreshold(k, M, R);
  const Amax = 2 * Math.floor(accMax);
  const v = new Float64Array(top), v2 = new Float64Array(top);
  const a0 = fr(M / 2 ** (R + 32));
  for (let j = 0; j <= span; j++) {
    for (const sgn of j === 0 ? [0] : [1, -1]) {
      const al = f32FromKey(f32Key(a0) + sgn * j);
      if (!(al > 0)) continue;
      for (let k = 0; k < top; k++) { v[k] = fr(A[k]! * al); v2[k] = fr((A[k]! - 2) * al); }
      const lowerOk = (be: number) => { for (let k = 0; k < top; k++) if (rne(fr(v[k]! + be)) < k + 1) return false; return true; };
      const be = leastF32(-4, 4, lowerOk);
      if (be === null) continue;
      let ok = true;
      for (let k = 0; k < top && ok; k++) if (rne(fr(v2[k]! + be)) > k) ok = false;
      if (ok && top < T && rne(fr(fr(Amax * al) + be)) > top) ok = false;
      if (ok) return [al, be];
    }
  }
  return null;
}
