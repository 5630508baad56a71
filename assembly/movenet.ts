// Kernels for the ops MoveNet's pre/post-processing needs: broadcasting
// ADD/SUB/MUL (int8, int32, float32), DIV, FLOOR_DIV, CAST, SQRT, LOGISTIC,
// RESIZE_BILINEAR, ARG_MAX, GATHER_ND and a strided row copy (PACK, UNPACK,
// CONCATENATION). Each follows the arithmetic of TFLite Micro's reference
// kernels (double-rounding build); see the comments for the exact source.
//
// All of them run on small tensors (MoveNet's head: at most 192x192x3 at the
// input, 48x48x34 after that), so they are scalar. Two have a fast variant:
// LOGISTIC and the int8 binary ops with a constant operand evaluate the scalar
// spec once per possible int8 input into a lookup table and then only index it.
//
// Memory safety: the engine validates every size against the tensors before a
// kernel runs (src/model/ops.ts); kernels never divide by a runtime value
// without guarding against the two wasm traps (x / 0 and INT_MIN / -1).

import { rdbp, mbqm, clampi, expOnNegativeValues, oneOverOnePlusX } from './requant';
import { vmbqmRight } from './simd_requant';

// ---------------------------------------------------------------------------
// Broadcasting: shapes are 4-D (padded with leading 1s); each input dimension
// is 1 (broadcast) or equal to the output dimension. Element order is the
// output's row-major order, as in TFLite's BroadcastXxxSlow loops.
// ---------------------------------------------------------------------------

// @ts-ignore: decorator
@inline
function bstride(d: i32, inner: i32): i32 {
  return d == 1 ? 0 : inner;
}

// int8 ADD / SUB element (reference_integer_ops::AddElementwise, reference_ops::SubElementwise)
// @ts-ignore: decorator
@inline
function addsubElem(x: i32, y: i32, sub: i32,
  aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): i32 {
  const sa = mbqm((x + aOffset) * (1 << leftShift), aMult, aShift);
  const sb = mbqm((y + bOffset) * (1 << leftShift), bMult, bShift);
  const raw = mbqm(sub ? sa - sb : sa + sb, outMult, outShift) + outOffset;
  return clampi(raw, actMin, actMax);
}

// int8 MUL element (reference_integer_ops::MulElementwise)
// @ts-ignore: decorator
@inline
function mulElem(x: i32, y: i32, aOffset: i32, bOffset: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): i32 {
  return clampi(mbqm((x + aOffset) * (y + bOffset), outMult, outShift) + outOffset, actMin, actMax);
}

// Scalar specs: every output element evaluated as TFLite does (`--reference`).
export function bc_addsub_i8_ref(aPtr: usize, bPtr: usize, outPtr: usize,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, o0: i32, o1: i32, o2: i32, o3: i32,
  sub: i32, aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  const as3 = bstride(a3, 1), as2 = bstride(a2, a3), as1 = bstride(a1, a2 * a3), as0 = bstride(a0, a1 * a2 * a3);
  const bs3 = bstride(b3, 1), bs2 = bstride(b2, b3), bs1 = bstride(b1, b2 * b3), bs0 = bstride(b0, b1 * b2 * b3);
  let o: usize = outPtr;
  for (let i0 = 0; i0 < o0; i0++) {
    for (let i1 = 0; i1 < o1; i1++) {
      for (let i2 = 0; i2 < o2; i2++) {
        let ai = i0 * as0 + i1 * as1 + i2 * as2, bi = i0 * bs0 + i1 * bs1 + i2 * bs2;
        for (let i3 = 0; i3 < o3; i3++) {
          const v = addsubElem(<i32>load<i8>(aPtr + ai), <i32>load<i8>(bPtr + bi), sub,
            aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
          store<i8>(o, <i8>v);
          o++; ai += as3; bi += bs3;
        }
      }
    }
  }
}

export function bc_mul_i8_ref(aPtr: usize, bPtr: usize, outPtr: usize,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, o0: i32, o1: i32, o2: i32, o3: i32,
  aOffset: i32, bOffset: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  const as3 = bstride(a3, 1), as2 = bstride(a2, a3), as1 = bstride(a1, a2 * a3), as0 = bstride(a0, a1 * a2 * a3);
  const bs3 = bstride(b3, 1), bs2 = bstride(b2, b3), bs1 = bstride(b1, b2 * b3), bs0 = bstride(b0, b1 * b2 * b3);
  let o: usize = outPtr;
  for (let i0 = 0; i0 < o0; i0++) {
    for (let i1 = 0; i1 < o1; i1++) {
      for (let i2 = 0; i2 < o2; i2++) {
        let ai = i0 * as0 + i1 * as1 + i2 * as2, bi = i0 * bs0 + i1 * bs1 + i2 * bs2;
        for (let i3 = 0; i3 < o3; i3++) {
          const v = mulElem(<i32>load<i8>(aPtr + ai), <i32>load<i8>(bPtr + bi), aOffset, bOffset, outMult, outShift, outOffset, actMin, actMax);
          store<i8>(o, <i8>v);
          o++; ai += as3; bi += bs3;
        }
      }
    }
  }
}

// ---- fast int8 binary kernels ----
// lut = 1 (2): operand b (a) has few elements: one 256-entry result table per
// element of it, built with the scalar spec, then one lookup per output
// (scratch: 256 bytes per element). lut = 0: SIMD rows along the innermost
// dimension, where each operand has stride 0 or 1.

// Result tables indexed [small operand element][other operand value + 128].
function lutBinaryI8(aPtr: usize, bPtr: usize, outPtr: usize,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, o0: i32, o1: i32, o2: i32, o3: i32,
  tableOnA: bool, scratch: usize): void {
  const xp = tableOnA ? bPtr : aPtr;
  const x0 = tableOnA ? b0 : a0, x1 = tableOnA ? b1 : a1, x2 = tableOnA ? b2 : a2, x3 = tableOnA ? b3 : a3;
  const c0 = tableOnA ? a0 : b0, c1 = tableOnA ? a1 : b1, c2 = tableOnA ? a2 : b2, c3 = tableOnA ? a3 : b3;
  const xs3 = bstride(x3, 1), xs2 = bstride(x2, x3), xs1 = bstride(x1, x2 * x3), xs0 = bstride(x0, x1 * x2 * x3);
  const cs3 = bstride(c3, 256), cs2 = bstride(c2, c3 * 256), cs1 = bstride(c1, c2 * c3 * 256), cs0 = bstride(c0, c1 * c2 * c3 * 256);
  let o: usize = outPtr;
  for (let i0 = 0; i0 < o0; i0++) {
    for (let i1 = 0; i1 < o1; i1++) {
      for (let i2 = 0; i2 < o2; i2++) {
        let xi = i0 * xs0 + i1 * xs1 + i2 * xs2;
        let t = scratch + <usize>(i0 * cs0 + i1 * cs1 + i2 * cs2) + 128;
        if (cs3 == 0 && xs3 == 1) {
          const src = xp + xi;
          for (let i3 = 0; i3 < o3; i3++) store<i8>(o + i3, load<i8>(t + <usize><i32>load<i8>(src + i3)));
          o += o3;
          continue;
        }
        for (let i3 = 0; i3 < o3; i3++) {
          store<i8>(o, load<i8>(t + <usize><i32>load<i8>(xp + xi)));
          o++; xi += xs3; t += cs3;
        }
      }
    }
  }
}

// int8 lanes 0..7 of one operand row, as i16 (value + offset); stride 0 = broadcast value
// @ts-ignore: decorator
@inline
function row16(p: usize, stride: i32, i: i32, off: v128, bcast: v128): v128 {
  return stride ? i16x8.add(v128.load8x8_s(p + <usize>i), off) : bcast;
}

// @ts-ignore: decorator
@inline
function narrowClamp(lo: v128, hi: v128, vmin: v128, vmax: v128): v128 {
  const o16 = i16x8.narrow_i32x4_s(lo, hi);
  return i8x16.min_s(i8x16.max_s(i8x16.narrow_i16x8_s(o16, o16), vmin), vmax);
}

// one row of n outputs; as/bs are the operands' strides (0 or 1)
function addsubRow(aP: usize, as: i32, bP: usize, bs: i32, oP: usize, n: i32, sub: i32,
  aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  const ea = -aShift, eb = -bShift, eo = -outShift;
  const va = i32x4.splat(aMult), vb = i32x4.splat(bMult), vo = i32x4.splat(outMult);
  const ha = i32x4.splat(ea > 0 ? 1 << (ea - 1) : 0), hb = i32x4.splat(eb > 0 ? 1 << (eb - 1) : 0), ho = i32x4.splat(eo > 0 ? 1 << (eo - 1) : 0);
  const offA = i16x8.splat(<i16>aOffset), offB = i16x8.splat(<i16>bOffset);
  // a broadcast operand's scaled value is the same for the whole row
  const sa0 = i32x4.splat(mbqm((<i32>load<i8>(aP) + aOffset) * (1 << leftShift), aMult, aShift));
  const sb0 = i32x4.splat(mbqm((<i32>load<i8>(bP) + bOffset) * (1 << leftShift), bMult, bShift));
  const zero = i16x8.splat(0);
  const vOut = i32x4.splat(outOffset);
  const vmin = i8x16.splat(<i8>actMin), vmax = i8x16.splat(<i8>actMax);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    let saLo = sa0, saHi = sa0, sbLo = sb0, sbHi = sb0;
    if (as) {
      const a16 = row16(aP, as, i, offA, zero);
      saLo = vmbqmRight(i32x4.shl(i32x4.extend_low_i16x8_s(a16), leftShift), va, ea, ha);
      saHi = vmbqmRight(i32x4.shl(i32x4.extend_high_i16x8_s(a16), leftShift), va, ea, ha);
    }
    if (bs) {
      const b16 = row16(bP, bs, i, offB, zero);
      sbLo = vmbqmRight(i32x4.shl(i32x4.extend_low_i16x8_s(b16), leftShift), vb, eb, hb);
      sbHi = vmbqmRight(i32x4.shl(i32x4.extend_high_i16x8_s(b16), leftShift), vb, eb, hb);
    }
    const sLo = sub ? i32x4.sub(saLo, sbLo) : i32x4.add(saLo, sbLo);
    const sHi = sub ? i32x4.sub(saHi, sbHi) : i32x4.add(saHi, sbHi);
    const oLo = i32x4.add(vmbqmRight(sLo, vo, eo, ho), vOut);
    const oHi = i32x4.add(vmbqmRight(sHi, vo, eo, ho), vOut);
    v128.store64_lane(oP + <usize>i, narrowClamp(oLo, oHi, vmin, vmax), 0);
  }
  for (; i < n; i++) {
    const v = addsubElem(<i32>load<i8>(aP + <usize>(i * as)), <i32>load<i8>(bP + <usize>(i * bs)), sub,
      aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
    store<i8>(oP + <usize>i, <i8>v);
  }
}

function mulRow(aP: usize, as: i32, bP: usize, bs: i32, oP: usize, n: i32,
  aOffset: i32, bOffset: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32): void {
  const left = outShift > 0 ? outShift : 0, e = outShift > 0 ? 0 : -outShift;
  const vm = i32x4.splat(outMult), half = i32x4.splat(e > 0 ? 1 << (e - 1) : 0);
  const offA = i16x8.splat(<i16>aOffset), offB = i16x8.splat(<i16>bOffset);
  const a0 = i16x8.splat(<i16>(<i32>load<i8>(aP) + aOffset)), b0 = i16x8.splat(<i16>(<i32>load<i8>(bP) + bOffset));
  const vOut = i32x4.splat(outOffset);
  const vmin = i8x16.splat(<i8>actMin), vmax = i8x16.splat(<i8>actMax);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a16 = row16(aP, as, i, offA, a0), b16 = row16(bP, bs, i, offB, b0);
    // |product| <= 255 * 255: exact in i32; x * 2^left wraps like the C++ int32 product
    const pLo = i32x4.shl(i32x4.extmul_low_i16x8_s(a16, b16), left);
    const pHi = i32x4.shl(i32x4.extmul_high_i16x8_s(a16, b16), left);
    const oLo = i32x4.add(vmbqmRight(pLo, vm, e, half), vOut);
    const oHi = i32x4.add(vmbqmRight(pHi, vm, e, half), vOut);
    v128.store64_lane(oP + <usize>i, narrowClamp(oLo, oHi, vmin, vmax), 0);
  }
  for (; i < n; i++) {
    const v = mulElem(<i32>load<i8>(aP + <usize>(i * as)), <i32>load<i8>(bP + <usize>(i * bs)), aOffset, bOffset, outMult, outShift, outOffset, actMin, actMax);
    store<i8>(oP + <usize>i, <i8>v);
  }
}

export function bc_addsub_i8(aPtr: usize, bPtr: usize, outPtr: usize,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, o0: i32, o1: i32, o2: i32, o3: i32,
  sub: i32, aOffset: i32, aMult: i32, aShift: i32, bOffset: i32, bMult: i32, bShift: i32,
  leftShift: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32,
  lut: i32, scratch: usize): void {
  if (lut == 1 || lut == 2) {
    const onA = lut == 2;
    const cp = onA ? aPtr : bPtr;
    const cN = onA ? a0 * a1 * a2 * a3 : b0 * b1 * b2 * b3;
    for (let k = 0; k < cN; k++) {
      const c = <i32>load<i8>(cp + <usize>k);
      const t = scratch + <usize>(k * 256) + 128;
      for (let x = -128; x < 128; x++) {
        const v = onA
          ? addsubElem(c, x, sub, aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax)
          : addsubElem(x, c, sub, aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
        store<i8>(t + <usize>x, <i8>v);
      }
    }
    lutBinaryI8(aPtr, bPtr, outPtr, a0, a1, a2, a3, b0, b1, b2, b3, o0, o1, o2, o3, onA, scratch);
    return;
  }
  // the vector form needs right shifts, non-negative multipliers and |(x + offset) << leftShift| < 2^30
  if (aShift > 0 || bShift > 0 || outShift > 0 || leftShift > 21 || aMult < 0 || bMult < 0 || outMult < 0) {
    bc_addsub_i8_ref(aPtr, bPtr, outPtr, a0, a1, a2, a3, b0, b1, b2, b3, o0, o1, o2, o3,
      sub, aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
    return;
  }
  const as3 = bstride(a3, 1), as2 = bstride(a2, a3), as1 = bstride(a1, a2 * a3), as0 = bstride(a0, a1 * a2 * a3);
  const bs3 = bstride(b3, 1), bs2 = bstride(b2, b3), bs1 = bstride(b1, b2 * b3), bs0 = bstride(b0, b1 * b2 * b3);
  let o: usize = outPtr;
  for (let i0 = 0; i0 < o0; i0++) {
    for (let i1 = 0; i1 < o1; i1++) {
      for (let i2 = 0; i2 < o2; i2++) {
        const ai = i0 * as0 + i1 * as1 + i2 * as2, bi = i0 * bs0 + i1 * bs1 + i2 * bs2;
        addsubRow(aPtr + <usize>ai, as3, bPtr + <usize>bi, bs3, o, o3, sub,
          aOffset, aMult, aShift, bOffset, bMult, bShift, leftShift, outMult, outShift, outOffset, actMin, actMax);
        o += o3;
      }
    }
  }
}

export function bc_mul_i8(aPtr: usize, bPtr: usize, outPtr: usize,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, o0: i32, o1: i32, o2: i32, o3: i32,
  aOffset: i32, bOffset: i32, outMult: i32, outShift: i32, outOffset: i32, actMin: i32, actMax: i32,
  lut: i32, scratch: usize): void {
  if (lut == 1 || lut == 2) {
    const onA = lut == 2;
    const cp = onA ? aPtr : bPtr;
    const cN = onA ? a0 * a1 * a2 * a3 : b0 * b1 * b2 * b3;
    for (let k = 0; k < cN; k++) {
      const c = <i32>load<i8>(cp + <usize>k);
      const t = scratch + <usize>(k * 256) + 128;
      for (let x = -128; x < 128; x++) {
        const v = onA
          ? mulElem(c, x, aOffset, bOffset, outMult, outShift, outOffset, actMin, actMax)
          : mulElem(x, c, aOffset, bOffset, outMult, outShift, outOffset, actMin, actMax);
        store<i8>(t + <usize>x, <i8>v);
      }
    }
    lutBinaryI8(aPtr, bPtr, outPtr, a0, a1, a2, a3, b0, b1, b2, b3, o0, o1, o2, o3, onA, scratch);
    return;
  }
  if (outMult < 0 || outShift > 15) {
    bc_mul_i8_ref(aPtr, bPtr, outPtr, a0, a1, a2, a3, b0, b1, b2, b3, o0, o1, o2, o3, aOffset, bOffset, outMult, outShift, outOffset, actMin, actMax);
    return;
  }
  const as3 = bstride(a3, 1), as2 = bstride(a2, a3), as1 = bstride(a1, a2 * a3), as0 = bstride(a0, a1 * a2 * a3);
  const bs3 = bstride(b3, 1), bs2 = bstride(b2, b3), bs1 = bstride(b1, b2 * b3), bs0 = bstride(b0, b1 * b2 * b3);
  let o: usize = outPtr;
  for (let i0 = 0; i0 < o0; i0++) {
    for (let i1 = 0; i1 < o1; i1++) {
      for (let i2 = 0; i2 < o2; i2++) {
        const ai = i0 * as0 + i1 * as1 + i2 * as2, bi = i0 * bs0 + i1 * bs1 + i2 * bs2;
        mulRow(aPtr + <usize>ai, as3, bPtr + <usize>bi, bs3, o, o3, aOffset, bOffset, outMult, outShift, outOffset, actMin, actMax);
        o += o3;
      }
    }
  }
}

// ---- int32: 0 ADD, 1 SUB, 2 MUL, 3 FLOOR_DIV (reference_ops::FloorDiv<int32_t>) ----
// FloorDiv computes floor(double(a) / double(b)); for int32 operands that equals the
// exact floor of the quotient. b == 0 is an error in TFLite (checked before Eval);
// here it yields 0. INT_MIN / -1 gives INT_MIN, as the x86 conversion does.
// @ts-ignore: decorator
@inline
function floorDivI32(a: i32, b: i32): i32 {
  if (b == 0) return 0;
  if (b == -1) return a == i32.MIN_VALUE ? i32.MIN_VALUE : -a;
  const q = a / b;
  return (a % b != 0 && ((a ^ b) < 0)) ? q - 1 : q;
}

export function bc_arith_i32(aPtr: usize, bPtr: usize, outPtr: usize,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, o0: i32, o1: i32, o2: i32, o3: i32,
  op: i32, actMin: i32, actMax: i32): void {
  const as3 = bstride(a3, 1), as2 = bstride(a2, a3), as1 = bstride(a1, a2 * a3), as0 = bstride(a0, a1 * a2 * a3);
  const bs3 = bstride(b3, 1), bs2 = bstride(b2, b3), bs1 = bstride(b1, b2 * b3), bs0 = bstride(b0, b1 * b2 * b3);
  let o: usize = outPtr;
  for (let i0 = 0; i0 < o0; i0++) {
    for (let i1 = 0; i1 < o1; i1++) {
      for (let i2 = 0; i2 < o2; i2++) {
        let ai = i0 * as0 + i1 * as1 + i2 * as2, bi = i0 * bs0 + i1 * bs1 + i2 * bs2;
        for (let i3 = 0; i3 < o3; i3++) {
          const x = load<i32>(aPtr + (<usize>ai << 2)), y = load<i32>(bPtr + (<usize>bi << 2));
          let v: i32;
          if (op == 0) v = x + y;
          else if (op == 1) v = x - y;
          else if (op == 2) v = x * y;
          else v = floorDivI32(x, y);
          store<i32>(o, clampi(v, actMin, actMax));
          o += 4; ai += as3; bi += bs3;
        }
      }
    }
  }
}

// ---- float32: 0 ADD, 1 SUB, 2 MUL, 3 DIV, then ActivationFunctionWithMinMax ----
// The clamp is spelled as std::min(std::max(x, lo), hi) so NaN and -0 behave alike.
// @ts-ignore: decorator
@inline
function clampStd(x: f32, lo: f32, hi: f32): f32 {
  const v = x < lo ? lo : x;
  return hi < v ? hi : v;
}

export function bc_arith_f32(aPtr: usize, bPtr: usize, outPtr: usize,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, o0: i32, o1: i32, o2: i32, o3: i32,
  op: i32, actMin: f32, actMax: f32): void {
  const as3 = bstride(a3, 1), as2 = bstride(a2, a3), as1 = bstride(a1, a2 * a3), as0 = bstride(a0, a1 * a2 * a3);
  const bs3 = bstride(b3, 1), bs2 = bstride(b2, b3), bs1 = bstride(b1, b2 * b3), bs0 = bstride(b0, b1 * b2 * b3);
  let o: usize = outPtr;
  for (let i0 = 0; i0 < o0; i0++) {
    for (let i1 = 0; i1 < o1; i1++) {
      for (let i2 = 0; i2 < o2; i2++) {
        let ai = i0 * as0 + i1 * as1 + i2 * as2, bi = i0 * bs0 + i1 * bs1 + i2 * bs2;
        for (let i3 = 0; i3 < o3; i3++) {
          const x = load<f32>(aPtr + (<usize>ai << 2)), y = load<f32>(bPtr + (<usize>bi << 2));
          let v: f32;
          if (op == 0) v = x + y;
          else if (op == 1) v = x - y;
          else if (op == 2) v = x * y;
          else v = x / y;
          store<f32>(o, clampStd(v, actMin, actMax));
          o += 4; ai += as3; bi += bs3;
        }
      }
    }
  }
}

// ---- CAST ----
// int8-domain tensor -> float32: static_cast of the original value. A uint8
// tensor arrives here shifted by -128 (the engine's int8 domain), so offset=128.
export function cast_i8_f32(inPtr: usize, outPtr: usize, n: i32, offset: i32): void {
  for (let i = 0; i < n; i++) store<f32>(outPtr + (<usize>i << 2), <f32>(<i32>load<i8>(inPtr + i) + offset));
}

export function cast_i32_f32(inPtr: usize, outPtr: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(outPtr + (<usize>i << 2), <f32>load<i32>(inPtr + (<usize>i << 2)));
}

// ---- SQRT float32 (std::sqrt, correctly rounded in both) ----
export function sqrt_f32(inPtr: usize, outPtr: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(outPtr + (<usize>i << 2), Mathf.sqrt(load<f32>(inPtr + (<usize>i << 2))));
}

// ---- LOGISTIC int8 (reference_integer_ops::Logistic, TFLM's int8 path) ----
// input in Q4.27 via MultiplyByQuantizedMultiplier, gemmlowp::logistic, then
// RoundingDivideByPOT(., 23) - 128. Output zero point is -128 by construction.
// @ts-ignore: decorator
@inline
function logisticElem(v: i32, inZp: i32, radius: i32, mult: i32, leftShift: i32): i32 {
  const input = v - inZp;
  if (input <= -radius) return -128;
  if (input >= radius) return 127;
  const q4 = mbqm(input, mult, leftShift);
  let r: i32;
  if (q4 == 0) {
    r = 1 << 30; // one half
  } else {
    const absIn = q4 > 0 ? q4 : -q4;
    const pos = oneOverOnePlusX(expOnNegativeValues(-absIn, 4));
    r = q4 > 0 ? pos : i32.MAX_VALUE - pos;
  }
  return clampi(rdbp(r, 23) - 128, -128, 127);
}

export function logistic_i8_ref(inPtr: usize, outPtr: usize, n: i32, inZp: i32, radius: i32, mult: i32, leftShift: i32): void {
  for (let i = 0; i < n; i++) store<i8>(outPtr + i, <i8>logisticElem(<i32>load<i8>(inPtr + i), inZp, radius, mult, leftShift));
}

// the same through a 256-entry table in scratch
export function logistic_i8(inPtr: usize, outPtr: usize, n: i32, inZp: i32, radius: i32, mult: i32, leftShift: i32, scratch: usize): void {
  for (let v = -128; v < 128; v++) store<i8>(scratch + <usize>(v + 128), <i8>logisticElem(v, inZp, radius, mult, leftShift));
  const t = scratch + 128;
  for (let i = 0; i < n; i++) store<i8>(outPtr + i, load<i8>(t + <usize><i32>load<i8>(inPtr + i)));
}

// ---- RESIZE_BILINEAR int8 (reference_ops::ResizeBilinearInteger, batch 1) ----
// 10-bit fixed-point source coordinates, 20-bit products, rounding half away
// from zero (the non-TFLITE_SINGLE_ROUNDING branch). The lower source index is
// also clamped to the input (TFLite would read past it for extreme upscaling);
// that changes nothing where TFLite stays in bounds.
// @ts-ignore: decorator
@inline
function interpScaled(value: i32, scale10: i32, halfPixel: i32): i32 {
  return halfPixel ? value * scale10 + scale10 / 2 - (1 << 9) : value * scale10;
}

// @ts-ignore: decorator
@inline
function resizeScale(inS: i32, outS: i32, alignCorners: i32): i32 {
  return alignCorners && outS > 1 ? ((1 << 10) * (inS - 1) + (outS - 1) / 2) / (outS - 1) : ((1 << 10) * inS + outS / 2) / outS;
}

// @ts-ignore: decorator
@inline
function lowerIdx(scaled: i32, size: i32): i32 {
  return min(max(scaled / (1 << 10), 0), size - 1);
}

// @ts-ignore: decorator
@inline
function upperIdx(scaled: i32, size: i32): i32 {
  return max(min((scaled + (1 << 10) - 1) / (1 << 10), size - 1), 0);
}

export function resize_bilinear_i8_ref(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  alignCorners: i32, halfPixel: i32): void {
  const hScale = resizeScale(inH, outH, alignCorners), wScale = resizeScale(inW, outW, alignCorners);
  let o: usize = outPtr;
  for (let y = 0; y < outH; y++) {
    const iy = interpScaled(y, hScale, halfPixel);
    const y0 = lowerIdx(iy, inH), y1 = upperIdx(iy, inH);
    const fy: i32 = iy - (1 << 10) * y0;
    for (let x = 0; x < outW; x++) {
      const ix = interpScaled(x, wScale, halfPixel);
      const x0 = lowerIdx(ix, inW), x1 = upperIdx(ix, inW);
      const fx: i32 = ix - (1 << 10) * x0;
      // the reference multiplies value * wy * wx in int64, left to right
      const wy0: i64 = <i64>((1 << 10) - fy), wy1: i64 = <i64>fy;
      const wx0: i64 = <i64>((1 << 10) - fx), wx1: i64 = <i64>fx;
      const p00 = inPtr + <usize>((y0 * inW + x0) * c);
      const p10 = inPtr + <usize>((y1 * inW + x0) * c);
      const p01 = inPtr + <usize>((y0 * inW + x1) * c);
      const p11 = inPtr + <usize>((y1 * inW + x1) * c);
      for (let ch = 0; ch < c; ch++) {
        const s: i64 = <i64>load<i8>(p00 + ch) * wy0 * wx0 + <i64>load<i8>(p10 + ch) * wy1 * wx0 +
          <i64>load<i8>(p01 + ch) * wy0 * wx1 + <i64>load<i8>(p11 + ch) * wy1 * wx1;
        const round: i64 = s > 0 ? <i64>524288 : <i64>-524288;
        store<i8>(o, <i8>((s + round) / <i64>1048576));
        o++;
      }
    }
  }
}

// (s + (s > 0 ? 2^19 : -2^19)) / 2^20 with C++ truncation, for |s| < 2^30
// @ts-ignore: decorator
@inline
function vround20(s: v128): v128 {
  const t = i32x4.add(s, v128.bitselect(i32x4.splat(1 << 19), i32x4.splat(-(1 << 19)), i32x4.gt_s(s, i32x4.splat(0))));
  return i32x4.shr_s(i32x4.add(t, v128.and(i32x4.shr_s(t, 31), i32x4.splat((1 << 20) - 1))), 20);
}

// Fast version: when both fractions are in [-512, 1024] (always, unless the lower
// index was clamped), |wy0| + |wy1| <= 2048 and likewise for x, so the sum of the
// four products stays below 128 * 2^22 = 2^29 and int32 is exact. Channels go 8
// at a time; other pixels use the int64 form above.
export function resize_bilinear_i8(inPtr: usize, inH: i32, inW: i32, c: i32, outPtr: usize, outH: i32, outW: i32,
  alignCorners: i32, halfPixel: i32): void {
  const hScale = resizeScale(inH, outH, alignCorners), wScale = resizeScale(inW, outW, alignCorners);
  let o: usize = outPtr;
  for (let y = 0; y < outH; y++) {
    const iy = interpScaled(y, hScale, halfPixel);
    const y0 = lowerIdx(iy, inH), y1 = upperIdx(iy, inH);
    const fy: i32 = iy - (1 << 10) * y0;
    for (let x = 0; x < outW; x++) {
      const ix = interpScaled(x, wScale, halfPixel);
      const x0 = lowerIdx(ix, inW), x1 = upperIdx(ix, inW);
      const fx: i32 = ix - (1 << 10) * x0;
      const p00 = inPtr + <usize>((y0 * inW + x0) * c);
      const p10 = inPtr + <usize>((y1 * inW + x0) * c);
      const p01 = inPtr + <usize>((y0 * inW + x1) * c);
      const p11 = inPtr + <usize>((y1 * inW + x1) * c);
      if (fy < -512 || fy > 1024 || fx < -512 || fx > 1024) {
        const wy0: i64 = <i64>((1 << 10) - fy), wy1: i64 = <i64>fy, wx0: i64 = <i64>((1 << 10) - fx), wx1: i64 = <i64>fx;
        for (let ch = 0; ch < c; ch++) {
          const s: i64 = <i64>load<i8>(p00 + ch) * wy0 * wx0 + <i64>load<i8>(p10 + ch) * wy1 * wx0 +
            <i64>load<i8>(p01 + ch) * wy0 * wx1 + <i64>load<i8>(p11 + ch) * wy1 * wx1;
          const round: i64 = s > 0 ? <i64>524288 : <i64>-524288;
          store<i8>(o + ch, <i8>((s + round) / <i64>1048576));
        }
        o += c;
        continue;
      }
      const w00 = ((1 << 10) - fy) * ((1 << 10) - fx), w10 = fy * ((1 << 10) - fx);
      const w01 = ((1 << 10) - fy) * fx, w11 = fy * fx;
      const v00 = i32x4.splat(w00), v10 = i32x4.splat(w10), v01 = i32x4.splat(w01), v11 = i32x4.splat(w11);
      let ch = 0;
      for (; ch + 8 <= c; ch += 8) {
        const a = v128.load8x8_s(p00 + ch), b = v128.load8x8_s(p10 + ch), d = v128.load8x8_s(p01 + ch), e = v128.load8x8_s(p11 + ch);
        const lo = i32x4.add(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_s(a), v00), i32x4.mul(i32x4.extend_low_i16x8_s(b), v10)),
          i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_s(d), v01), i32x4.mul(i32x4.extend_low_i16x8_s(e), v11)));
        const hi = i32x4.add(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_s(a), v00), i32x4.mul(i32x4.extend_high_i16x8_s(b), v10)),
          i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_s(d), v01), i32x4.mul(i32x4.extend_high_i16x8_s(e), v11)));
        const o16 = i16x8.narrow_i32x4_s(vround20(lo), vround20(hi));
        v128.store64_lane(o + ch, i8x16.narrow_i16x8_s(o16, o16), 0);
      }
      for (; ch < c; ch++) {
        const s = <i32>load<i8>(p00 + ch) * w00 + <i32>load<i8>(p10 + ch) * w10 + <i32>load<i8>(p01 + ch) * w01 + <i32>load<i8>(p11 + ch) * w11;
        const t = s + (s > 0 ? 1 << 19 : -(1 << 19));
        store<i8>(o + ch, <i8>(t / (1 << 20)));
      }
      o += c;
    }
  }
}

// ---- ARG_MAX over one axis, int8 input, int32 output (reference_ops::ArgMinMax, std::greater) ----
// input viewed as [outer, axisLen, inner]; the first maximum wins.
export function argmax_i8(inPtr: usize, outPtr: usize, outer: i32, axisLen: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = inPtr + <usize>(o * axisLen * inner + k);
      let best = <i32>load<i8>(base);
      let idx = 0;
      for (let i = 1; i < axisLen; i++) {
        const v = <i32>load<i8>(base + <usize>(i * inner));
        if (v > best) { best = v; idx = i; }
      }
      store<i32>(outPtr + (<usize>(o * inner + k) << 2), idx);
    }
  }
}

// ---- GATHER_ND, int8 params, int32 indices of depth <= 4 ----
// params viewed as [d0..d(depth-1), sliceSize]; an index out of range (an error in
// TFLite) produces a zero slice instead of reading outside the tensor.
export function gather_nd_i8(pPtr: usize, iPtr: usize, outPtr: usize, nSlices: i32, depth: i32, sliceSize: i32,
  d0: i32, d1: i32, d2: i32, d3: i32): void {
  const s3 = sliceSize, s2 = s3 * (depth > 3 ? d3 : 1), s1 = s2 * (depth > 2 ? d2 : 1), s0 = s1 * (depth > 1 ? d1 : 1);
  // stride of index component j: product of the later indexed dims times the slice
  for (let s = 0; s < nSlices; s++) {
    let pos: i32 = 0;
    let ok = true;
    for (let j = 0; j < depth; j++) {
      const idx = load<i32>(iPtr + (<usize>(s * depth + j) << 2));
      const dj = j == 0 ? d0 : j == 1 ? d1 : j == 2 ? d2 : d3;
      const sj = j == 0 ? s0 : j == 1 ? s1 : j == 2 ? s2 : s3;
      if (idx < 0 || idx >= dj) ok = false;
      else pos += idx * sj;
    }
    const dst = outPtr + <usize>(s * sliceSize);
    if (ok) memory.copy(dst, pPtr + <usize>pos, <usize>sliceSize);
    else memory.fill(dst, 0, <usize>sliceSize);
  }
}

// ---- strided row copy: PACK, UNPACK, CONCATENATION pieces ----
// out[r*outStride + outOff + i] = in[r*inStride + inOff + i], i < len, r < outer; es bytes per element
export function rowcopy(inPtr: usize, outPtr: usize, es: i32, outer: i32, len: i32,
  inStride: i32, inOff: i32, outStride: i32, outOff: i32): void {
  const bytes = <usize>(len * es);
  for (let r = 0; r < outer; r++) {
    memory.copy(outPtr + <usize>((r * outStride + outOff) * es), inPtr + <usize>((r * inStride + inOff) * es), bytes);
  }
}
