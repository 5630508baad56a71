// SOFTMAX. The int8 kernel is TFLite's fixed-point reference (gemmlowp exp,
// kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12). It runs on a
// few thousand elements at most per inference, so the scalar spec is also the
// kernel the engine uses.

import { srdhm, rdbp, clampi, expOnNegativeValues, getReciprocal } from './requant';

export function softmax_i8(inPtr: usize, outPtr: usize, outer: i32, depth: i32,
  inputMult: i32, inputLeftShift: i32, diffMin: i32, scratchPtr: usize): void {
  for (let r = 0; r < outer; r++) {
    const row = inPtr + r * depth;
    const orow = outPtr + r * depth;
    let maxv: i32 = -128;
    for (let c = 0; c < depth; c++) maxv = max(maxv, <i32>load<i8>(row + c));
    let sumOfExps: i32 = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + c) - maxv;
      if (diff >= diffMin) {
        const rescaled = srdhm(diff * (1 << inputLeftShift), inputMult);
        sumOfExps += rdbp(expOnNegativeValues(rescaled, 5), 12);
      }
    }
    const shiftedScale = getReciprocal(sumOfExps, 12, scratchPtr);
    const numBitsOverUnit = load<i32>(scratchPtr);
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(row + c) - maxv;
      let out: i32 = -128;
      if (diff >= diffMin) {
        const rescaled = srdhm(diff * (1 << inputLeftShift), inputMult);
        const e = expOnNegativeValues(rescaled, 5);
        const unsat = rdbp(srdhm(shiftedScale, e), numBitsOverUnit + 31 - 8);
        out = clampi(unsat - 128, -128, 127);
      }
      store<i8>(orow + c, <i8>out);
    }
  }
}

export function softmax_f32(inPtr: usize, outPtr: usize, outer: i32, depth: i32, beta: f32): void {
  for (let r = 0; r < outer; r++) {
    const row = inPtr + 4 * r * depth;
    const orow = outPtr + 4 * r * depth;
    let maxv: f32 = -f32.MAX_VALUE;
    for (let c = 0; c < depth; c++) maxv = Mathf.max(maxv, load<f32>(row + 4 * c));
    let sum: f32 = 0;
    for (let c = 0; c < depth; c++) {
      const e = Mathf.exp((load<f32>(row + 4 * c) - maxv) * beta);
      store<f32>(orow + 4 * c, e);
      sum += e;
    }
    for (let c = 0; c < depth; c++) store<f32>(orow + 4 * c, load<f32>(orow + 4 * c) / sum);
  }
}
