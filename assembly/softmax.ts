// SOFTMAX. The int8 kernel is TFLite's fixed-point reference (gemmlowp exp,
// kScaledDiffIntegerBits = 5, kAccumulationIntegerBits = 12). Every per-element
// quantity is a function of diff = x - max in [-255, 0] only, so long rows first
// tabulate exp(diff) once per distinct diff (softmax_i8); softmax_i8_ref is the
// plain per-element statement, both tested on the same vectors.

import { srdhm, rdbp, clampi, expOnNegativeValues, getReciprocal } from './requant';

export function softmax_i8_ref(inPtr: usize, outPtr: usize, outer: i32, depth: i32,
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

// exp table of one row: expTbl[-diff] = exp of the rescaled diff (Q0.31), or -1 below diffMin
const expTbl: usize = memory.data(256 * 4, 16);

export function softmax_i8(inPtr: usize, outPtr: usize, outer: i32, depth: i32,
  inputMult: i32, inputLeftShift: i32, diffMin: i32, scratchPtr: usize): void {
  for (let r = 0; r < outer; r++) {
    const row = inPtr + r * depth;
    const orow = outPtr + r * depth;
    let maxv: i32 = -128, minv: i32 = 127;
    for (let c = 0; c < depth; c++) {
      const x = <i32>load<i8>(row + c);
      maxv = max(maxv, x);
      minv = min(minv, x);
    }
    const span = maxv - minv + 1; // distinct diffs 0 .. -(span - 1)
    if (span > 2 * depth) {
      softmax_i8_ref(row, orow, 1, depth, inputMult, inputLeftShift, diffMin, scratchPtr);
      continue;
    }
    for (let k = 0; k < span; k++) {
      const diff = -k;
      store<i32>(expTbl + (<usize>k << 2), diff >= diffMin ? expOnNegativeValues(srdhm(diff * (1 << inputLeftShift), inputMult), 5) : -1);
    }
    let sumOfExps: i32 = 0;
    for (let c = 0; c < depth; c++) {
      const e = load<i32>(expTbl + (<usize>(maxv - <i32>load<i8>(row + c)) << 2));
      if (e >= 0) sumOfExps += rdbp(e, 12);
    }
    const shiftedScale = getReciprocal(sumOfExps, 12, scratchPtr);
    const numBitsOverUnit = load<i32>(scratchPtr);
    // second table: the output of each diff
    for (let k = 0; k < span; k++) {
      const p = expTbl + (<usize>k << 2);
      const e = load<i32>(p);
      store<i32>(p, e >= 0 ? clampi(rdbp(srdhm(shiftedScale, e), numBitsOverUnit + 31 - 8) - 128, -128, 127) : -128);
    }
    for (let c = 0; c < depth; c++) {
      store<i8>(orow + c, <i8>load<i32>(expTbl + (<usize>(maxv - <i32>load<i8>(row + c)) << 2)));
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
