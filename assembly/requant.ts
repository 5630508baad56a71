// Scalar fixed-point arithmetic of TFLite's reference kernels (gemmlowp-style,
// double rounding, as TFLM builds it without TFLITE_SINGLE_ROUNDING).
// This file is the spec every fast kernel is tested against.

// gemmlowp::SaturatingRoundingDoublingHighMul
// @ts-ignore: decorator
@inline
export function srdhm(a: i32, b: i32): i32 {
  if (a == b && a == i32.MIN_VALUE) return i32.MAX_VALUE;
  const ab: i64 = <i64>a * <i64>b;
  const nudge: i64 = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  // C++ integer division truncates toward zero.
  return <i32>((ab + nudge) / (<i64>1 << 31));
}

// gemmlowp::RoundingDivideByPOT (round half away from zero)
// @ts-ignore: decorator
@inline
export function rdbp(x: i32, exponent: i32): i32 {
  const mask: i32 = (1 << exponent) - 1;
  const remainder: i32 = x & mask;
  const threshold: i32 = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// tflite::MultiplyByQuantizedMultiplier (shift > 0 is a left shift)
// @ts-ignore: decorator
@inline
export function mbqm(x: i32, multiplier: i32, shift: i32): i32 {
  const left: i32 = shift > 0 ? shift : 0;
  const right: i32 = shift > 0 ? 0 : -shift;
  return rdbp(srdhm(x * (1 << left), multiplier), right);
}

// gemmlowp::SaturatingRoundingMultiplyByPOT<exponent>
// @ts-ignore: decorator
@inline
export function srmbpot(x: i32, exponent: i32): i32 {
  if (exponent == 0) return x;
  if (exponent < 0) return rdbp(x, -exponent);
  const threshold: i32 = (1 << (31 - exponent)) - 1;
  if (x > threshold) return i32.MAX_VALUE;
  if (x < -threshold) return i32.MIN_VALUE;
  return x << exponent;
}

// @ts-ignore: decorator
@inline
export function clampi(x: i32, lo: i32, hi: i32): i32 {
  return x < lo ? lo : (x > hi ? hi : x);
}

// ---- gemmlowp fixed-point exp / reciprocal, as used by the int8 softmax ----

// exp on [-1/4, 0) for a Q0.31 argument; result Q0.31
export function expOnIntervalQ0(a: i32): i32 {
  const constantTerm: i32 = 1895147668;
  const constant1Over3: i32 = 715827883;
  const x: i32 = a + (1 << 28);
  const x2: i32 = srdhm(x, x);
  const x3: i32 = srdhm(x2, x);
  const x4: i32 = srdhm(x2, x2);
  const x4Over4: i32 = rdbp(x4, 2);
  const poly: i32 = rdbp(srdhm(x4Over4 + x3, constant1Over3) + x2, 1);
  return constantTerm + srdhm(constantTerm, x + poly);
}

// gemmlowp::exp_on_negative_values for FixedPoint<int32, integerBits>; result Q0.31
export function expOnNegativeValues(a: i32, integerBits: i32): i32 {
  const fractionalBits: i32 = 31 - integerBits;
  const oneQuarter: i32 = 1 << (fractionalBits - 2);
  const mask: i32 = oneQuarter - 1;
  const aModQuarterMinusOneQuarter: i32 = (a & mask) - oneQuarter;
  let result: i32 = expOnIntervalQ0(srmbpot(aModQuarterMinusOneQuarter, integerBits));
  const remainder: i32 = aModQuarterMinusOneQuarter - a;
  if (integerBits > -2 && (remainder & (1 << (fractionalBits - 2))) != 0) result = srdhm(result, 1672461947);
  if (integerBits > -1 && (remainder & (1 << (fractionalBits - 1))) != 0) result = srdhm(result, 1302514674);
  if (integerBits > 0 && (remainder & (1 << (fractionalBits + 0))) != 0) result = srdhm(result, 790015084);
  if (integerBits > 1 && (remainder & (1 << (fractionalBits + 1))) != 0) result = srdhm(result, 290630308);
  if (integerBits > 2 && (remainder & (1 << (fractionalBits + 2))) != 0) result = srdhm(result, 39332535);
  if (integerBits > 3 && (remainder & (1 << (fractionalBits + 3))) != 0) result = srdhm(result, 720401);
  if (integerBits > 4 && (remainder & (1 << (fractionalBits + 4))) != 0) result = srdhm(result, 242);
  if (integerBits > 5) {
    const b: i32 = 36 - integerBits;
    const clamp: i32 = -(1 << b);
    if (a < clamp) result = 0;
  }
  if (a == 0) result = i32.MAX_VALUE;
  return result;
}

// gemmlowp::one_over_one_plus_x_for_x_in_0_1 (Q0.31 in and out)
export function oneOverOnePlusX(a: i32): i32 {
  // RoundingHalfSum(a, One) with One = INT32_MAX
  const sum: i64 = <i64>a + <i64>i32.MAX_VALUE;
  const sign: i64 = sum >= 0 ? 1 : -1;
  const halfDenominator: i32 = <i32>((sum + sign) / 2);
  const c48over17: i32 = 1515870810;
  const cNeg32over17: i32 = -1010580540;
  let x: i32 = c48over17 + srdhm(halfDenominator, cNeg32over17);
  const oneQ2: i32 = 1 << 29;
  for (let i = 0; i < 3; i++) {
    const hdx: i32 = srdhm(halfDenominator, x);
    const oneMinus: i32 = oneQ2 - hdx;
    x = x + srmbpot(srdhm(x, oneMinus), 2);
  }
  return srmbpot(x, 1);
}

// tflite::GetReciprocal; returns the Q0.31 reciprocal and writes numBitsOverUnit to out
export function getReciprocal(x: i32, xIntegerDigits: i32, out: usize): i32 {
  const headroomPlusOne: i32 = <i32>clz<u32>(<u32>x);
  store<i32>(out, xIntegerDigits - headroomPlusOne);
  const shiftedSumMinusOne: i32 = <i32>((<u32>x << <u32>headroomPlusOne) - (<u32>1 << 31));
  return oneOverOnePlusX(shiftedSumMinusOne);
}

// Exported for unit tests of the arithmetic itself.
export function test_mbqm(x: i32, multiplier: i32, shift: i32): i32 {
  return mbqm(x, multiplier, shift);
}
export function test_exp(a: i32, integerBits: i32): i32 {
  return expOnNegativeValues(a, integerBits);
}
