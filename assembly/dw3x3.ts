// DEPTHWISE_CONV_2D 3x3, stride 1, dilation 1, depth multiplier 1, FAST2R requant (ReLU / ReLU6
// layers): MobileNet's stride-1 depthwise layers. dw_i8 (depthwise.ts) calls it when a packed input row
// fits the static row buffers (outW <= DW3_MAX_ENTRIES - 2); same bytes as dw_ref_i8.
//
// Per block of 8 channels, each input row is packed once into "pair entries": entry e holds, per
// channel, the int16 pair (X[x], X[x+1]) with x = e - padLeft and X = input - inZp (0 outside the
// input): 32 bytes, the layout i32x4.dot_i16x8_s multiplies against a pair of taps. Output pixel ox
// then reads entry ox for taps (ky,0)+(ky,1) and entry ox+2 for tap (ky,2) (paired with a zero weight):
// 6 pair loads per pixel and block at constant offsets from the rows' pointers, with no widening,
// shuffling or tap tables in the inner loop (the tap-table kernel widens and interleaves every tap of
// every pixel). A ring of 3 packed rows follows the output rows (one new input row per output row);
// rows outside the input read a zero row. Channel blocks go in chunks whose 3 packed rows stay in L1;
// within a chunk the kernel goes output row by output row, block by block, so the input and output
// rows stay cached too (block after block over whole layers was 2x slower on wide layers). The input zero point is applied while packing, so the bias
// needs no zero-point fold. Stride 2 keeps the tap-table kernel: its rows are used by fewer outputs
// and packing them cost more than it saved (measured).
// Weights: the block's tap pairs (0,1)(2,3)(4,5)(6,7)(8,-) from packDepthwiseWeights (2*(w - wZp)) are
// re-laid into (ky,0)(ky,1) and (ky,2)(-) pairs with a few shuffles once per block.
import { requantStore4x8, RQ_HEADER, RQ_BLOCK, RQ_B2 } from './simd_requant';

// Static buffers: a ring of 3 slots, each one packed input row for a chunk of channel blocks (block b's
// entries at + b * E * 32), a zero row as long as a slot (never written), the chunk's re-laid weights,
// and the pointer table of the current output row.
const SLOT: i32 = 520 * 32; // one block's row of up to 520 entries (outW <= 518), or a chunk's rows
const MAX_CHUNK: i32 = 48; // blocks per chunk (weight buffer): >= CHUNK_BYTES / the shortest row (6 entries)
const CHUNK_BYTES: i32 = 8192; // a chunk's packed row: 3 of them stay in L1 with the rows they come from
/** Entries per packed row the buffers hold: one block's row must fit a slot (wider rows take dw_i8's tap-table path). */
export const DW3_MAX_ENTRIES: i32 = SLOT / 32;
const ENTRY: usize = 32;
const ringBuf: usize = memory.data(3 * SLOT, 16);
const zeroRow: usize = memory.data(SLOT, 16);
const wBuf: usize = memory.data(MAX_CHUNK * 6 * 32, 16);
const slotRow: usize = memory.data(16, 16); // input row held by ring slot 0..2
const rowTbl: usize = memory.data(32, 16); // the current output row's packed rows: (ky,0)(ky,1) pairs, then (ky,2)

/** Pair entries per packed row: output tiles read entries ox .. ox+3 and the tap-2 entries 2 past them. */
// @ts-ignore: decorator
@inline
export function dw3Entries(outW: i32): i32 {
  return max(outW, 4) + 2;
}

// @ts-ignore: decorator
@inline
function xv(row: usize, x: i32, inW: i32, C: i32, zpv: v128): v128 {
  return x >= 0 && x < inW ? i16x8.sub(v128.load8x8_s(row + <usize>(x * C)), zpv) : i32x4.splat(0);
}

// input row (channels cOff.. at row) -> E pair entries at dst
// @ts-ignore: decorator
@inline
function packRow(dst: usize, row: usize, inW: i32, C: i32, padLeft: i32, E: i32, zpv: v128): void {
  let x = -padLeft;
  // entry e pairs columns x = e - padLeft and x + 1: zero columns left of the input, the input's
  // columns, zero columns right of it (three loops, no per-entry bounds test)
  let a = xv(row, x, inW, C, zpv);
  const z = i32x4.splat(0);
  const end = dst + (<usize>E << 5);
  const nLead = min(max(-1 - x, 0), E);
  const lead = dst + (<usize>nLead << 5);
  while (dst < lead) {
    v128.store(dst, i16x8.shuffle(a, z, 0, 8, 1, 9, 2, 10, 3, 11));
    v128.store(dst, i16x8.shuffle(a, z, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    a = z;
    dst += ENTRY;
  }
  x += nLead + 1; // the column the next entry's second half reads
  const nMid = min(max(inW - max(x, 0), 0), <i32>((end - dst) >> 5));
  const mid = dst + (<usize>nMid << 5);
  let src = row + <usize>(x * C);
  const step = <usize>C;
  while (dst < mid) {
    const b = i16x8.sub(v128.load8x8_s(src), zpv);
    v128.store(dst, i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
    v128.store(dst, i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    a = b;
    src += step;
    dst += ENTRY;
  }
  while (dst < end) {
    v128.store(dst, i16x8.shuffle(a, z, 0, 8, 1, 9, 2, 10, 3, 11));
    v128.store(dst, i16x8.shuffle(a, z, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    a = z;
    dst += ENTRY;
  }
}

// the packed rows (all nbc blocks of the chunk at cOff) of input row iy, packing them into its ring slot
// unless already there, or the zero row
// @ts-ignore: decorator
@inline
function rowFor(iy: i32, inPtr: usize, inH: i32, inW: i32, C: i32, cOff: usize, nbc: i32, padLeft: i32, E: i32,
  zpv: v128, rowBytes: usize): usize {
  if (iy < 0 || iy >= inH) return zeroRow;
  const slot = <usize>(iy % 3);
  const p = ringBuf + slot * <usize>SLOT;
  if (load<i32>(slotRow + (slot << 2)) != iy) {
    const src = inPtr + <usize>(iy * inW * C) + cOff;
    for (let b = 0; b < nbc; b++) packRow(p + <usize>b * rowBytes, src + (<usize>b << 3), inW, C, padLeft, E, zpv);
    store<i32>(slotRow + (slot << 2), iy);
  }
  return p;
}

// 4 output pixels (entries ox..ox+3 at byte offset e) x 8 channels, all 9 taps: a loop over the 6 tap
// pairs, whose row pointers rowTbl holds ((ky,0)(ky,1) rows, then the (ky,2) rows 2 entries on). As a
// loop (not straight-line code) V8 keeps most of the 8 accumulators in registers; unrolled, it hoists
// every load to the top and spills them (measured slower).
// @ts-ignore: decorator
@inline
function dw3Tile(e: usize, wb: usize, bl: v128, bh: v128, qb: usize,
  out: usize, pixStride: usize, np: i32, nc: i32, zp16: v128, lo8: v128, hi8: v128): void {
  let a0l = bl, a0h = bh, a1l = bl, a1h = bh, a2l = bl, a2h = bh, a3l = bl, a3h = bh;
  for (let k: usize = 0; k < 24; k += 4) {
    const r = <usize>load<u32>(rowTbl + k) + e;
    const wp = wb + (k << 3);
    const w0 = v128.load(wp), w1 = v128.load(wp, 16);
    a0l = i32x4.add(a0l, i32x4.dot_i16x8_s(v128.load(r, 0), w0));
    a0h = i32x4.add(a0h, i32x4.dot_i16x8_s(v128.load(r, 16), w1));
    a1l = i32x4.add(a1l, i32x4.dot_i16x8_s(v128.load(r, 32), w0));
    a1h = i32x4.add(a1h, i32x4.dot_i16x8_s(v128.load(r, 48), w1));
    a2l = i32x4.add(a2l, i32x4.dot_i16x8_s(v128.load(r, 64), w0));
    a2h = i32x4.add(a2h, i32x4.dot_i16x8_s(v128.load(r, 80), w1));
    a3l = i32x4.add(a3l, i32x4.dot_i16x8_s(v128.load(r, 96), w0));
    a3h = i32x4.add(a3h, i32x4.dot_i16x8_s(v128.load(r, 112), w1));
  }
  requantStore4x8<bool>(a0l, a0h, a1l, a1h, a2l, a2h, a3l, a3h, qb, out, pixStride, np, nc, zp16, lo8, hi8);
}

// packDepthwiseWeights' block (tap pairs (0,1)(2,3)(4,5)(6,7)(8,-), each as two halves of 4 channels) ->
// dst (192 bytes: pairs (0,1)(3,4)(6,7) = (ky,0)(ky,1), then (2,-)(5,-)(8,-) = (ky,2)(-)); values as packed.
// @ts-ignore: decorator
@inline
function relayWeights(wp: usize, dst: usize): void {
  const z = i32x4.splat(0);
  for (let h: usize = 0; h < 32; h += 16) {
    const p0 = v128.load(wp + h), p1 = v128.load(wp + h, 32), p2 = v128.load(wp + h, 64);
    const p3 = v128.load(wp + h, 96), p4 = v128.load(wp + h, 128);
    v128.store(dst + h, p0);
    v128.store(dst + h, i16x8.shuffle(p1, p2, 1, 8, 3, 10, 5, 12, 7, 14), 32);
    v128.store(dst + h, p3, 64);
    v128.store(dst + h, i16x8.shuffle(p1, z, 0, 8, 2, 8, 4, 8, 6, 8), 96);
    v128.store(dst + h, i16x8.shuffle(p2, z, 1, 8, 3, 8, 5, 8, 7, 8), 128);
    v128.store(dst + h, p4, 160);
  }
}

export function dw3_fast2r(inPtr: usize, inH: i32, inW: i32, C: i32, inZp: i32, pwPtr: usize, qPtr: usize,
  outPtr: usize, outH: i32, outW: i32, outZp: i32, actMin: i32, actMax: i32, padTop: i32, padLeft: i32): void {
  const E = dw3Entries(outW);
  const rowBytes = <usize>E * ENTRY;
  const nb = (C + 7) >> 3;
  const wBlock: usize = 5 * 32; // packDepthwiseWeights: 5 tap pairs of 32 bytes per block of 8 channels
  const zpv = i16x8.splat(<i16>inZp);
  const zp16 = i16x8.splat(<i16>outZp);
  const lo8 = i8x16.splat(<i8>actMin);
  const hi8 = i8x16.splat(<i8>actMax);
  const pixStride = <usize>C;
  const np = min(4, outW);
  // channel blocks in chunks whose packed rows fit a slot; within a chunk, output row by output row and
  // block by block (the input and output rows stay in L1 while the blocks go by)
  const chunk = max(1, min(MAX_CHUNK, CHUNK_BYTES / <i32>rowBytes));
  for (let b0 = 0; b0 < nb; b0 += chunk) {
    const nbc = min(chunk, nb - b0);
    const cOff0 = <usize>b0 << 3;
    for (let b = 0; b < nbc; b++) relayWeights(pwPtr + <usize>(b0 + b) * wBlock, wBuf + <usize>b * 192);
    store<i32>(slotRow, -1); store<i32>(slotRow, -1, 4); store<i32>(slotRow, -1, 8);
    for (let oy = 0; oy < outH; oy++) {
      const iy = oy - padTop;
      const r0 = <u32>rowFor(iy, inPtr, inH, inW, C, cOff0, nbc, padLeft, E, zpv, rowBytes);
      const r1 = <u32>rowFor(iy + 1, inPtr, inH, inW, C, cOff0, nbc, padLeft, E, zpv, rowBytes);
      const r2 = <u32>rowFor(iy + 2, inPtr, inH, inW, C, cOff0, nbc, padLeft, E, zpv, rowBytes);
      store<u32>(rowTbl, r0); store<u32>(rowTbl, r1, 4); store<u32>(rowTbl, r2, 8);
      store<u32>(rowTbl, r0 + 64, 12); store<u32>(rowTbl, r1 + 64, 16); store<u32>(rowTbl, r2 + 64, 20); // + 2 entries: tap (ky,2)
      const outRow = outPtr + <usize>(oy * outW) * pixStride + cOff0;
      for (let b = 0; b < nbc; b++) {
        const nc = min(8, C - ((b0 + b) << 3));
        const qb = qPtr + RQ_HEADER + <usize>(b0 + b) * RQ_BLOCK;
        const bl = v128.load(qb + RQ_B2), bh = v128.load(qb + RQ_B2, 16); // 2 * bias (doubled weights)
        const eb = <usize>b * rowBytes, wb = wBuf + <usize>b * 192, ob = outRow + (<usize>b << 3);
        for (let t = 0; t < outW; t += 4) {
          const ox = t + 4 <= outW ? t : max(0, outW - 4); // the last tile overlaps the previous one
          dw3Tile(eb + <usize>ox * ENTRY, wb, bl, bh, qb, ob + <usize>ox * pixStride, pixStride, np, nc, zp16, lo8, hi8);
        }
      }
    }
  }
}
