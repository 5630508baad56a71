// Compile-time packing of conv / depthwise weights and requant parameters for the fast
// WebAssembly kernels (assembly/conv.ts conv_i8, assembly/depthwise.ts dw_i8). No Node APIs.
// The layouts here must match the kernels exactly; see the comments there.
import { mbqmExact, f32Bits } from './quant.ts';
import { solveAffine } from './requant-affine.ts';

const INT32_MIN = -2147483648;

/** Bytes of one requant block (8 channels) and of the block header (assembly/simd_requant.ts). */
export const RQ_HEADER_BYTES = 16;
export const RQ_BLOCK_BYTES = 384;
/** Requant modes of the fast kernels. */
export const RQ_MODE_GENERAL = 0;
export const RQ_MODE_LEFT = 1;
export const RQ_MODE_FAST = 2;
/** Largest KH*KW the fast depthwise kernel accepts (static tap tables). */
export const DW_MAX_TAPS = 1024;

const evenUp = (n: number) => (n + 1) & ~1;

/**
 * Conv / fully-connected weights from OHWI [cout][kh][kw][cin] (Int8Array, or Int16Array holding w - wZp
 * in [-255, 255] for the wIs16 kernels: the kernel's accumulator bounds assume that range). K = kh*kw*cin, Kp = K rounded up to even, cout padded to a multiple of 8.
 * Per block of 8 output channels, per k-pair kp: [w(c0,2kp) w(c0,2kp+1) w(c1,2kp) w(c1,2kp+1) ... w(c7,2kp+1)]
 * (16 int8 or 16 int16 little-endian); zero for padded k and padded channels.
 */
export function packConvWeights(w: Int8Array | Int16Array, cout: number, kh: number, kw: number, cin: number): Uint8Array {
  const K = kh * kw * cin;
  const Kp = evenUp(K);
  const nb = Math.ceil(cout / 8);
  if (w.length < cout * K) throw new Error(`packConvWeights: ${w.length} weights < ${cout}*${K}`);
  const is16 = w instanceof Int16Array;
  const out = is16 ? new Int16Array(nb * Kp * 8) : new Int8Array(nb * Kp * 8);
  let i = 0;
  for (let b = 0; b < nb; b++) {
    for (let kp = 0; kp < Kp; kp += 2) {
      for (let c = 0; c < 8; c++) {
        const co = b * 8 + c;
        for (let j = 0; j < 2; j++) {
          const k = kp + j;
          out[i++] = co < cout && k < K ? w[co * K + k] : 0;
        }
      }
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Depthwise weights (depth multiplier 1) from [1][kh][kw][c] (Int8Array with zero point wZp, or Int16Array
 * already holding w - wZp). T = kh*kw, Tp = T rounded up to even (phantom tap weight 0), c padded to 8.
 * Per block of 8 channels, per tap pair (t0, t1): 16 int16
 *   [w(t0,c0) w(t1,c0) w(t0,c1) w(t1,c1) w(t0,c2) w(t1,c2) w(t0,c3) w(t1,c3) | same for c4..c7]
 * then i32 sumW[cPad8] = sum over taps of the weights. Every weight and sum is stored DOUBLED,
 * 2*(w - wZp) in [-510, 510] (the kernel's FAST2 requant mode accumulates 2*acc; the other modes halve
 * on load). Total nb*(Tp/2)*32 + nb*32 bytes.
 */
export function packDepthwiseWeights(w: Int8Array | Int16Array, kh: number, kw: number, c: number, wZp = 0): Uint8Array {
  const T = kh * kw;
  const Tp = evenUp(T);
  const nb = Math.ceil(c / 8);
  if (w.length < T * c) throw new Error(`packDepthwiseWeights: ${w.length} weights < ${T}*${c}`);
  if (T > DW_MAX_TAPS) throw new Error(`packDepthwiseWeights: ${T} taps > ${DW_MAX_TAPS}`);
  const wBytes = nb * (Tp / 2) * 32;
  const buf = new ArrayBuffer(wBytes + nb * 8 * 4);
  const ws = new Int16Array(buf, 0, wBytes / 2);
  const sums = new Int32Array(buf, wBytes, nb * 8);
  const val = (t: number, ch: number) => (t < T && ch < c ? 2 * (w[t * c + ch] - wZp) : 0);
  let i = 0;
  for (let b = 0; b < nb; b++) {
    for (let j = 0; j < Tp / 2; j++) {
      for (let cc = 0; cc < 8; cc++) {
        const ch = b * 8 + cc;
        ws[i++] = val(2 * j, ch);
        ws[i++] = val(2 * j + 1, ch);
      }
    }
  }
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += val(t, ch);
    sums[ch] = s | 0;
  }
  return new Uint8Array(buf);
}

/**
 * Requant block for the fast kernels (layout documented in assembly/simd_requant.ts): 16-byte header
 * [i32 mode, i32 nBlocks, i32 biasSmall (FAST2 allowed), i32 floatExact (FAST2F allowed)], then per
 * block of 8 output channels 384 bytes:
 *   +0 i32[8] bias | +32 i32[16] M pairs [M0 M0 M1 M1 ...] | +96 i32[16] 2^L pairs | +160 i32[8] R |
 *   +192 i32[8] c = 2^(R-1) (0 if R = 0) | +224 i32[8] (1<<R)-1 | +256 i32[8] ((1<<R)-1)>>1 |
 *   +288 i64[8] 2^31 + c * 2^32 | +352 i32[8] 2 * bias (used when biasSmall)
 * with L = max(shift, 0), R = max(-shift, 0) mod 32 (wasm / JS shift semantics, exactly like the scalar
 * spec). mode: LEFT if any shift > 0; else FAST if every channel has M = 0, or M >= 2^30 (always true
 * for TFLite's QuantizeMultiplier) and 1 <= R <= 21 (or R <= 31 where no reachable accumulator exceeds
 * 2^30); else GENERAL. biasSmall: every reachable |acc| < 2^30. floatExact 1 (FAST2F): FAST mode and
 * every reachable |acc| <= 2^22 - 2; its fields (i32 M at +96, f32 fl(M) at +128, f32 2^-(32+R) at +224)
 * replace the LEFT / GENERAL-only ones. floatExact 2 (FAST2R): also every reachable |acc| <= 1.5*2^20,
 * R <= 21 and out given with out.zp <= out.actMin (results <= 0 all clamp to actMin); it puts
 * f32 1.5*2^(55+R) - 1.5*2^54 at +224 and i32 bits(1.5*2^(55+R)) - out.zp at +256 instead (the block
 * then depends on the output zero point). With out.affine and out.actMax, each half-block (4 channels)
 * whose channels all have an exact affine form (solveAffine, src/model/requant-affine.ts) holds
 * f32 alpha at +96, f32 beta at +128, i32 0 (the marker) at +224 and i32 bits(1.5*2^23) - out.zp at +256
 * instead: 5 operations per 4 outputs. Reachable bounds come from wAbs (weightAbsSums) when given;
 * without it, biasSmall means |bias| < 2^29 (the kernels add taps * 255 * 255 < 2^29) and floatExact
 * is 0. With wAbs, all-zero-weight channels are first rewritten to an equivalent small triple (below).
 * Padded channels are zero except 2^L = 1.
 */
export function packRequant(bias0: Int32Array, mult0: Int32Array, shift0: Int32Array, wAbs?: Float64Array,
  out?: { zp: number; actMin: number; actMax?: number; affine?: boolean }): Uint8Array {
  const n = mult0.length;
  const nb = Math.ceil(n / 8);
  const q = new Int32Array((RQ_HEADER_BYTES + nb * RQ_BLOCK_BYTES) / 4);
  let bias = bias0, mult = mult0, shift = shift0;
  let accMax: Float64Array | undefined;
  if (wAbs) {
    // Channels whose weights are all zero output one constant, r0 = MultiplyByQuantizedMultiplier(bias):
    // requantize them as (4 * r0, 2^30, -1) instead, which gives r0 exactly in every mode (SRDHM -> 2 * r0,
    // RDBP by 1 -> r0) with small accumulators. r0 is clamped to +-1024: outZp + r0 saturates int8 alike.
    bias = bias0.slice(); mult = mult0.slice(); shift = shift0.slice();
    accMax = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      if (wAbs[c] === 0) {
        const r0 = Math.max(-1024, Math.min(1024, mbqmExact(bias0[c]!, mult0[c]!, shift0[c]!)));
        bias[c] = 4 * r0; mult[c] = 1 << 30; shift[c] = -1;
      }
      accMax[c] = Math.abs(bias[c]!) + 255 * wAbs[c]!;
    }
  }
  let hasLeft = false, allFast = true;
  for (let c = 0; c < n; c++) {
    const s = shift[c] | 0;
    if (s > 0) hasLeft = true;
    const R = (s > 0 ? 0 : -s) & 31;
    const M = mult[c] | 0;
    // R > 21: FAST's clamp of the accumulators to <= 2^30 could change a result that does not saturate,
    // unless no reachable accumulator exceeds 2^30. M = 0 gives 0 for any R.
    const fastR = M === 0 || (R >= 1 && (R <= 21 || (accMax !== undefined && accMax[c]! <= 2 ** 30)));
    if (!fastR || (M !== 0 && M < 1 << 30)) allFast = false;
  }
  q[0] = hasLeft ? RQ_MODE_LEFT : allFast ? RQ_MODE_FAST : RQ_MODE_GENERAL;
  q[1] = nb;
  // FAST2 (doubled accumulators) needs every |acc| < 2^30: from the reachable bound when known, else
  // from |bias| < 2^29 with the kernels' own check taps * 255 * 255 < 2^29
  let small = 1;
  for (let c = 0; c < n; c++) if (accMax !== undefined ? !(accMax[c]! < 2 ** 30) : Math.abs(bias[c] | 0) >= 1 << 29) small = 0;
  q[2] = small;
  // FAST2F (float-exact FAST2, assembly/simd_requant.ts) needs every reachable |acc| <= 2^22 - 2
  let floatExact = q[0] === RQ_MODE_FAST && accMax !== undefined ? 1 : 0;
  if (accMax !== undefined) for (let c = 0; c < n; c++) if (!(accMax[c]! <= 2 ** 22 - 2)) floatExact = 0;
  // FAST2R (floatExact 2) drops the sign term of the rounding: only where every result <= 0 clamps alike
  if (floatExact && out !== undefined && out.zp <= out.actMin) {
    floatExact = 2;
    for (let c = 0; c < n; c++) if (!(accMax![c]! <= 1.5 * 2 ** 20) || fast2rShift(mult[c]! | 0, shift[c]! | 0) > 21) floatExact = 1;
  }
  q[3] = floatExact;
  const qf = new Float32Array(q.buffer);
  for (let b = 0; b < nb; b++) {
    const o = (RQ_HEADER_BYTES + b * RQ_BLOCK_BYTES) / 4;
    for (let cc = 0; cc < 8; cc++) {
      const c = b * 8 + cc;
      const pair = (cc >> 1) * 4 + (cc & 1) * 2; // index of the first of the two copies
      if (c >= n) { q[o + 24 + pair] = 1; q[o + 24 + pair + 1] = 1; continue; }
      const s = shift[c] | 0;
      const L = s > 0 ? s : 0;
      const R = (s > 0 ? 0 : -s) & 31;
      const mask = ((1 << R) - 1) | 0;
      q[o + cc] = bias[c] | 0;
      q[o + 88 + cc] = (2 * bias[c]) | 0;
      q[o + 8 + pair] = q[o + 8 + pair + 1] = mult[c] | 0;
      q[o + 24 + pair] = q[o + 24 + pair + 1] = (1 << L) | 0;
      q[o + 40 + cc] = R;
      q[o + 48 + cc] = R > 0 ? 1 << (R - 1) : 0;
      q[o + 56 + cc] = mask;
      q[o + 64 + cc] = mask >> 1;
      // i64 2^31 + c * 2^32: low word 2^31, high word c
      q[o + 72 + 2 * cc] = -2147483648;
      q[o + 72 + 2 * cc + 1] = R > 0 ? 1 << (R - 1) : 0;
    }
    if (floatExact) {
      // FAST2F fields over the LEFT / GENERAL-only ones: i32 M at +96, f32 fl(M) at +128, f32 2^-(32+R) at +224
      for (let cc = 0; cc < 8; cc++) {
        const c = b * 8 + cc;
        const M = c < n ? mult[c]! | 0 : 0;
        const R = c < n ? (-(shift[c]! | 0)) & 31 : 1;
        q[o + 24 + cc] = M;
        qf[o + 32 + cc] = M;
        if (floatExact === 2) {
          const Rr = c < n ? fast2rShift(M, shift[c]! | 0) : 1;
          qf[o + 56 + cc] = 1.5 * 2 ** (55 + Rr) - 1.5 * 2 ** 54;
          q[o + 64 + cc] = (f32Bits(1.5 * 2 ** (55 + Rr)) - out!.zp) | 0;
        } else {
          qf[o + 56 + cc] = 2 ** -(32 + Math.max(R, 1));
        }
      }
      if (floatExact === 2 && out!.affine && out!.actMax !== undefined) {
        for (let h = 0; h < 2; h++) {
          const ab: [number, number][] = [];
          for (let cc = 4 * h; cc < 4 * h + 4; cc++) {
            const c = b * 8 + cc;
            const s = c < n ? solveAffine(mult[c]! | 0, fast2rShift(mult[c]! | 0, shift[c]! | 0), accMax![c]!, out!.actMax - out!.zp) : [0, 0] as [number, number];
            if (!s) break;
            ab.push(s);
          }
          if (ab.length < 4) continue;
          ab.forEach(([al, be], i) => {
            const cc = 4 * h + i;
            qf[o + 24 + cc] = al;
            qf[o + 32 + cc] = be;
            q[o + 56 + cc] = 0;
            q[o + 64 + cc] = (f32Bits(1.5 * 2 ** 23) - out!.zp) | 0;
          });
        }
      }
    }
  }
  return new Uint8Array(q.buffer);
}

/** FAST2R's right shift of a channel: R, or 1 for M = 0 (any shift gives 0 then) */
function fast2rShift(M: number, shift: number): number {
  return M === 0 ? 1 : (-shift) & 31;
}


/**
 * sum |w - wZp| per output channel of a conv / depthwise layer, for packRequant: the accumulators of
 * channel c stay within |bias| + 255 * sum (inputs minus their zero point lie in [-255, 255]), partial
 * sums included. w holds int8 weights with zero point 0 or int16 values w - wZp; channels are the outer
 * dimension (conv OHWI, channelMinor false) or the innermost one (depthwise [1][kh][kw][c], true).
 */
export function weightAbsSums(w: Int8Array | Int16Array, channels: number, channelMinor: boolean): Float64Array {
  const out = new Float64Array(channels);
  const per = Math.floor(w.length / channels);
  for (let i = 0; i < per * channels; i++) {
    const c = channelMinor ? i % channels : Math.floor(i / per);
    out[c] += Math.abs(w[i]!);
  }
  return out;
}


/**
 * Whether the fast kernels reproduce MultiplyByQuantizedMultiplier bit-exactly for these parameters.
 * The vector requant is exact for every (x, M, shift) except M = INT32_MIN (SRDHM's saturation case,
 * which TFLite never produces: its multipliers are 0 or in [2^30, 2^31)).
 */
export function fastRequantSupported(mult: Int32Array, shift: Int32Array): boolean {
  void shift;
  for (let c = 0; c < mult.length; c++) if ((mult[c] | 0) === INT32_MIN) return false;
  return true;
}

/** Whether dw_i8 handles this depthwise layer (otherwise use dw_ref_i8). */
export function fastDepthwiseSupported(kh: number, kw: number, depthMult: number, mult: Int32Array, shift: Int32Array): boolean {
  return depthMult === 1 && kh * kw <= DW_MAX_TAPS && fastRequantSupported(mult, shift);
}

/** Pixels per im2col chunk of conv_i8 (mirrors convChunkPixels in assembly/conv.ts). */
export function convChunkPixels(kh: number, kw: number, cin: number): number {
  const Kp = evenUp(kh * kw * cin);
  let ch = Math.floor(32768 / (Kp * 2)) & ~3;
  if (ch < 4) ch = 4;
  if (ch > 256) ch = 256;
  return ch;
}

/**
 * Scratch bytes conv_i8 needs (mirrors conv_scratch_bytes in assembly/conv.ts): one im2col chunk of
 * CH = convChunkPixels pixels (CH*Kp*2 bytes, interleaved by groups of 4 pixels) plus CH staging rows of
 * ((K+7)&~7)+8 int16, and 192 bytes of slack: CH*(Kp*2 + RS) + 192. About 64-72 KB for K <= 4096 (CH is
 * 4..256 pixels), about 16*K bytes above that (CH = 4). Independent of outW.
 */
export function convScratchBytes(kh: number, kw: number, cin: number, outW: number): number {
  void outW;
  const K = kh * kw * cin;
  const Kp = evenUp(K);
  const rowStride = (((K + 7) & ~7) + 8) * 2;
  return convChunkPixels(kh, kw, cin) * (Kp * 2 + rowStride) + 192;
}

/** Largest scratch the rows conv variant may use; wider layers keep the im2col kernel. */
export const CONV_ROWS_MAX_SCRATCH = 256 * 1024;

/**
 * Scratch bytes of the rows conv variant (mirrors conv_rows_scratch_bytes in assembly/conv_rows.ts):
 * kH widened int16 rows over the columns a 4-pixel group can read, + 1 value, rounded up to 8, + 8.
 */
export function convRowsScratchBytes(kh: number, kw: number, cin: number, outW: number, strideW: number): number {
  // plain arithmetic (no 32-bit bitwise ops): validation calls this on untrusted params
  const cols = (Math.max(outW, 4) - 1) * strideW + kw;
  return kh * ((Math.floor((cols * cin + 8) / 8) * 8 + 8) * 2);
}

/** Packed bytes of the rows variant's weights: blocks of 8 channels x kH x ceil(kW*cin/2) pairs x 16. */
export const convRowsPackedBytes = (cout: number, kh: number, kw: number, cin: number) =>
  Math.ceil(cout / 8) * kh * Math.ceil((kw * cin) / 2) * 16;

/**
 * Conv weights (OHWI int8) for the rows variant (assembly/conv_rows.ts): each kernel row's S = kW*cin
 * values padded to even, then packed like packConvWeights (per block of 8 channels, per pair, the
 * 8 channels' (k0, k1) weights).
 */
export function packConvRowsWeights(w: Int8Array, cout: number, kh: number, kw: number, cin: number): Uint8Array {
  const S = kw * cin;
  const S2 = (S + 1) & ~1;
  if (w.length < cout * kh * S) throw new Error(`packConvRowsWeights: ${w.length} weights < ${cout}*${kh * S}`);
  const wr = new Int8Array(cout * kh * S2);
  for (let co = 0; co < cout; co++) {
    for (let ky = 0; ky < kh; ky++) wr.set(w.subarray((co * kh + ky) * S, (co * kh + ky + 1) * S), (co * kh + ky) * S2);
  }
  return packConvWeights(wr, cout, 1, 1, kh * S2);
}

/**
 * Whether a fast int8 conv runs as the rows variant: a spatial kernel with dilationW 1 and int8 weights,
 * whose widened rows fit CONV_ROWS_MAX_SCRATCH.
 */
export function convRowsEligible(p: { kH: number; kW: number; inC: number; outW: number; sW: number; dW: number; wIs16: number }): boolean {
  return p.kH * p.kW > 1 && p.dW === 1 && !p.wIs16 && convRowsScratchBytes(p.kH, p.kW, p.inC, p.outW, p.sW) <= CONV_ROWS_MAX_SCRATCH;
}

/** The fast conv kernels' packed weights for a conv_i8 op's params (rows variant when p.rows). */
export function packConvFast(w: Int8Array | Int16Array, p: Record<string, number>): Uint8Array {
  if (p.rows) {
    if (!(w instanceof Int8Array)) throw new Error('packConvFast: the rows variant takes int8 weights');
    return packConvRowsWeights(w, p.outC!, p.kH!, p.kW!, p.inC!);
  }
  return packConvWeights(w, p.outC!, p.kH!, p.kW!, p.inC!);
}
