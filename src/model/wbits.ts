// Load-time expansion of the compact weight encodings of conv_i8 / dw_i8 (compiler/bits.ts writes
// them): `wEnc: 4` = logical weights (OHWI for conv, [1,KH,KW,C] for depthwise) as two's-complement
// nibbles, two per byte (low nibble first); `wEnc: 8` = the same as int8; `qEnc: 1` = the requant
// parameters as raw i32 [bias | multiplier | shift] (the reference kernels' layout). The engine packs
// them into the exact layouts the int8 kernels read (pack.ts), so a 4-bit layer runs on the int8
// kernels and an all-8-bit model behaves byte for byte like its plain int8 artifact.
// Web APIs only (runs in workerd).

import type { ArtifactManifest } from './artifact.ts';
import { validateOps, type MOp, type WeightSlot } from './ops.ts';
import { packConvFast, packDepthwiseWeights, packRequant, weightAbsSums } from './pack.ts';

export function hasEncodedWeights(m: Pick<ArtifactManifest, 'ops'>): boolean {
  return m.ops.some((op) => (op.kind === 'conv_i8' || op.kind === 'dw_i8') && (op.p.wEnc || op.p.qEnc));
}

/** Logical int8 weights from a 4-bit (nibble) or 8-bit encoded slot. */
export function decodeWeights(bytes: Uint8Array, wEnc: number, count: number): Int8Array {
  if (wEnc === 8) return new Int8Array(bytes.buffer, bytes.byteOffset, count).slice();
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const b = bytes[i >> 1]!;
    const v = i & 1 ? b >> 4 : b & 15;
    out[i] = (v ^ 8) - 8;
  }
  return out;
}

/** Nibble-pack int8 values in [-8, 7] (the inverse of decodeWeights(…, 4, …)). */
export function encodeNibbles(w: Int8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(w.length / 2));
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    if (v < -8 || v > 7) throw new RangeError(`encodeNibbles: ${v} does not fit in 4 bits`);
    out[i >> 1] = out[i >> 1]! | ((v & 15) << (i & 1 ? 4 : 0));
  }
  return out;
}

/**
 * The weights blob and ops the kernels run: encoded slots expanded, every slot re-laid out in op
 * order (16-byte aligned), footprints validated again. Returns the inputs unchanged when nothing is
 * encoded.
 */
export function expandWeights(m: ArtifactManifest, weights: Uint8Array): { manifest: ArtifactManifest; weights: Uint8Array } {
  if (!hasEncodedWeights(m)) return { manifest: m, weights };
  const chunks: { off: number; bytes: Uint8Array }[] = [];
  let size = 0;
  const add = (bytes: Uint8Array): WeightSlot => {
    const off = size;
    chunks.push({ off, bytes });
    size += (bytes.length + 15) & ~15;
    return [off, bytes.length];
  };
  const ops: MOp[] = m.ops.map((op) => {
    const p = op.p;
    const enc = (op.kind === 'conv_i8' || op.kind === 'dw_i8') && (p.wEnc || p.qEnc);
    const w: Record<string, WeightSlot> = {};
    const count = op.kind === 'conv_i8' ? p.outC! * p.kH! * p.kW! * p.inC! : p.outC! * p.kH! * p.kW!;
    const logical = enc && p.wEnc && op.w.w ? decodeWeights(weights.subarray(op.w.w[0], op.w.w[0] + op.w.w[1]), p.wEnc, count) : undefined;
    for (const [name, [off, len]] of Object.entries(op.w)) {
      const raw = weights.subarray(off, off + len);
      if (enc && name === 'w' && logical) {
        const bytes = !p.fast ? new Uint8Array(logical.buffer)
          : op.kind === 'conv_i8' ? packConvFast(logical, p)
            : packDepthwiseWeights(logical, p.kH!, p.kW!, p.outC!);
        w[name] = add(bytes);
      } else if (enc && name === 'q' && p.qEnc && p.fast) {
        const C = p.outC!;
        const q = new Int32Array(raw.slice(0, 12 * C).buffer);
        w[name] = add(packRequant(q.subarray(0, C), q.subarray(C, 2 * C), q.subarray(2 * C, 3 * C), logical && weightAbsSums(logical, C, op.kind === 'dw_i8'), { zp: p.outZp!, actMin: p.actMin! }));
      } else {
        w[name] = add(raw);
      }
    }
    if (!enc) return { ...op, w };
    const { wEnc: _w, qEnc: _q, ...rest } = p;
    return { ...op, w, p: rest };
  });
  const blob = new Uint8Array(size + 64);
  for (const c of chunks) blob.set(c.bytes, c.off);
  validateOps(ops, m.tensors, blob.length, m.scratchBytes);
  return { manifest: { ...m, ops, weightsBytes: blob.length }, weights: blob };
}
