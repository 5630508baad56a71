// TFLite's quantization parameter preparation (quantization_util.cc), in JS
// doubles, so the compiler derives exactly the multipliers TFLite derives.

/** std::frexp: x = m * 2^e with 0.5 <= |m| < 1 */
export function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  const abs = Math.abs(x);
  let e = Math.max(-1073, Math.floor(Math.log2(abs)) + 1);
  let m = abs * Math.pow(2, -e);
  // log2 can be off by one near powers of two; fix up exactly
  while (m < 0.5) { m *= 2; e -= 1; }
  while (m >= 1) { m /= 2; e += 1; }
  return [x < 0 ? -m : m, e];
}

/** TfLiteRound / std::round: half away from zero */
export function roundHalfAway(x: number): number {
  const a = Math.abs(x);
  let r = Math.floor(a);
  if (a - r >= 0.5) r += 1;
  return x < 0 ? -r : r;
}

/** tflite::QuantizeMultiplier (double-rounding build): [multiplier, shift], shift > 0 = left */
export function quantizeMultiplier(m: number): [number, number] {
  if (m === 0) return [0, 0];
  let [q, shift] = frexp(m);
  let qf = roundHalfAway(q * 2147483648);
  if (qf > 2147483648) throw new Error(`quantizeMultiplier: bad multiplier ${m}`);
  if (qf === 2147483648) { qf /= 2; shift += 1; }
  if (shift < -31) { shift = 0; qf = 0; }
  return [qf, shift];
}

/** tflite::PreprocessSoftmaxScaling: [multiplier, left shift] */
export function preprocessSoftmaxScaling(beta: number, inputScale: number, inputIntegerBits: number): [number, number] {
  const maxReal = 2147483647; // (1LL << 31) - 1.0
  const real = Math.min(beta * inputScale * (1 << (31 - inputIntegerBits)), maxReal);
  return quantizeMultiplier(real);
}

/** tflite::CalculateInputRadius */
export function calculateInputRadius(inputIntegerBits: number, inputLeftShift: number, totalSignedBits = 31): number {
  const maxInputRescaled = (1.0 * ((1 << inputIntegerBits) - 1) * Math.pow(2, totalSignedBits - inputIntegerBits)) / Math.pow(2, inputLeftShift);
  return Math.floor(maxInputRescaled);
}

/** float32 rounding of a double (C++ float arithmetic) */
export const f32 = Math.fround;

/** Activation clamp range in the quantized domain (CalculateActivationRangeQuantized). */
export function activationRange(act: number, scale: number, zp: number, qmin: number, qmax: number): [number, number] {
  const quantize = (v: number) => zp + roundHalfAway(f32(v / scale));
  switch (act) {
    case 0: return [qmin, qmax];
    case 1: return [Math.max(qmin, quantize(0)), qmax];
    case 2: return [Math.max(qmin, quantize(-1)), Math.min(qmax, quantize(1))];
    case 3: return [Math.max(qmin, quantize(0)), Math.min(qmax, quantize(6))];
    default: throw new Error(`unsupported fused activation ${act}`);
  }
}

/** Largest float32; used instead of Infinity so clamps survive JSON. */
export const F32_MAX = 3.4028234663852886e38;

/** Float activation clamp range. */
export function activationRangeFloat(act: number): [number, number] {
  switch (act) {
    case 0: return [-F32_MAX, F32_MAX];
    case 1: return [0, F32_MAX];
    case 2: return [-1, 1];
    case 3: return [0, 6];
    default: throw new Error(`unsupported fused activation ${act}`);
  }
}

/** tflite::MultiplyByQuantizedMultiplier (double rounding, shifts mod 32 like the kernels), exactly. */
export function mbqmExact(x: number, m: number, shift: number): number {
  const left = shift > 0 ? shift & 31 : 0;
  const right = shift > 0 ? 0 : -shift & 31;
  const a = Math.imul(x, (1 << left) | 0);
  let y: number;
  if (a === -2147483648 && (m | 0) === -2147483648) y = 2147483647;
  else {
    const ab = BigInt(a) * BigInt(m | 0);
    const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
    y = Number((ab + nudge) / (1n << 31n)); // truncating division, like C++
  }
  const mask = right === 0 ? 0 : 2 ** right - 1;
  const rem = right === 0 ? 0 : Number(BigInt.asUintN(32, BigInt(y)) & BigInt(mask));
  const thr = Math.floor(mask / 2) + (y < 0 ? 1 : 0);
  return (y >> right) + (rem > thr ? 1 : 0);
}

// ---- f32 bit patterns, shared by the requant packing and the compile-time f32 searches ----
const f32Buf = new Float32Array(1);
const f32BufBits = new Int32Array(f32Buf.buffer);
/** the bits of an f32 value as an i32 (op params and requant blocks store f32 constants this way) */
export function f32Bits(x: number): number {
  f32Buf[0] = x;
  return f32BufBits[0]!;
}
export function bitsF32(b: number): number {
  f32BufBits[0] = b;
  return f32Buf[0]!;
}
/** f32 -> an integer key in the same order (adjacent keys are adjacent f32 values), and back */
export function f32Key(x: number): number {
  const b = f32Bits(x);
  return b >= 0 ? b : -(b & 0x7fffffff);
}
export function f32FromKey(k: number): number {
  return bitsF32(k >= 0 ? k : (-k | 0x80000000) | 0);
}
/**
 * The least f32 x in (lo, hi] with ok(x), for a predicate that is monotone (false below some value, true
 * from it on) over the f32 values; null when ok(hi) is false or ok(lo) already true. Bisects the keys.
 */
export function leastF32(lo: number, hi: number, ok: (x: number) => boolean): number | null {
  let a = f32Key(lo), b = f32Key(hi);
  if (!ok(f32FromKey(b)) || ok(f32FromKey(a))) return null;
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (ok(f32FromKey(mid))) b = mid; else a = mid;
  }
  return f32FromKey(b);
}
