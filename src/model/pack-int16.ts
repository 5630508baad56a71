// Compile-time packing for the 16x8 kernels (assembly/int16.ts). No Node APIs.
// The layouts must match the kernels exactly; see the comments there.

import { roundHalfAway } from './quant.ts';

export const Q16_BLOCK_BYTES = 288;

/** TFLite's reduced multiplier of MultiplyByQuantizedMultiplier(int64 x, ...). */
export function reducedMultiplier(m: number): number {
  return m < 0x7fff0000 ? (m + (1 << 15)) >> 16 : 0x7fff;
}

/**
 * Requant block of conv_i16 / dw_i16: per block of 8 channels (288 bytes)
 *   i64[8] bias | i64[8] reduced multiplier | i64[8] 1 << (totalShift - 1) | i32[8] totalShift (15 - shift)
 *   | i32[8] multiplier | i32[8] shift
 * The reference kernels read bias, multiplier and shift; the fast ones bias, reduced multiplier,
 * rounding and total shift. Padded channels: zeros, totalShift 15.
 */
export function packQ16(bias: BigInt64Array, mult: Int32Array, shift: Int32Array): Uint8Array {
  const n = mult.length;
  const nb = Math.ceil(n / 8);
  const buf = new ArrayBuffer(nb * Q16_BLOCK_BYTES);
  const dv = new DataView(buf);
  for (let c = 0; c < nb * 8; c++) {
    const o = (c >> 3) * Q16_BLOCK_BYTES, l = c & 7;
    const real = c < n;
    const m = real ? mult[c]! : 0, s = real ? shift[c]! : 0;
    if (real && !(s >= -31 && s <= 7)) throw new Error(`packQ16: shift ${s} outside TFLite's [-31, 7]`);
    const ts = 15 - s;
    dv.setBigInt64(o + 8 * l, real ? bias[c]! : 0n, true);
    dv.setBigInt64(o + 64 + 8 * l, BigInt(reducedMultiplier(m)), true);
    dv.setBigInt64(o + 128 + 8 * l, 1n << BigInt(ts - 1), true);
    dv.setInt32(o + 192 + 4 * l, ts, true);
    dv.setInt32(o + 224 + 4 * l, m, true);
    dv.setInt32(o + 256 + 4 * l, s, true);
  }
  return new Uint8Array(buf);
}

/** Depthwise weights for dw_i16: [taps][C] int8 -> [taps][C padded to 8] int8. */
export function packDw16Weights(w: Int8Array, taps: number, c: number): Uint8Array {
  const cp = (c + 7) & ~7;
  const out = new Int8Array(taps * cp);
  for (let t = 0; t < taps; t++) for (let ch = 0; ch < c; ch++) out[t * cp + ch] = w[t * c + ch]!;
  return new Uint8Array(out.buffer);
}

/**
 * tflite::gen_lut<float, int16_t, int16_t> (kernels/internal/common.h) in float32 arithmetic:
 * 512 interpolation segments over [inMin, inMax] plus the end value, output scaled to int16.
 */
export function genLutInt16(func: (x: number) => number, inMin: number, inMax: number, outMin: number, outMax: number): Int16Array {
  const F = Math.fround;
  const steps = 512;
  const step = F(F(inMax - inMin) / steps);
  const half = F(step / 2);
  const scaleInv = F(65536 / F(outMax - outMin));
  const clamp = (v: number) => Math.min(Math.max(v, -32768), 32767);
  const lut = new Int16Array(steps + 1);
  for (let i = 0; i < steps; i++) {
    const x = F(inMin + F(i * step));
    const val = F(func(x));
    const valMid = F(func(F(x + half)));
    const valNext = F(func(F(inMin + F((i + 1) * step))));
    const sample = F(roundHalfAway(F(val * scaleInv)));
    const midInterp = F(roundHalfAway(F(F(F(valNext * scaleInv) + F(roundHalfAway(F(val * scaleInv)))) / 2)));
    const midVal = F(roundHalfAway(F(valMid * scaleInv)));
    const bias = F(roundHalfAway(F(F(midInterp - midVal) / 2)));
    lut[i] = clamp(F(sample - bias));
  }
  lut[steps] = clamp(F(roundHalfAway(F(F(func(F(inMax))) * scaleInv))));
  return lut;
}

/** The two LUTs of TFLite's int16 softmax, back to back (exp on [-10, 0], 1/(1+x) on [0, 1]). */
export function softmaxInt16Luts(): Uint8Array {
  const F = Math.fround;
  const exp = genLutInt16((v) => F(Math.exp(v)), -10, 0, -1, 1);
  const recip = genLutInt16((v) => F(1 / F(1 + v)), 0, 1, -1, 1);
  const out = new Int16Array(1026);
  out.set(exp, 0);
  out.set(recip, 513);
  return new Uint8Array(out.buffer);
}
