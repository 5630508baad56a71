// The JS side of the WebAssembly engine: one wasm instance, many models.
//
// Memory layout inside the instance (all managed here, above heapBase):
//   - each loaded model's weights blob (copied once at load, 16-byte aligned)
//   - one shared activation arena + scratch, sized for the largest loaded model;
//     inference is synchronous, so models never use it at the same time.
//
// Instantiated from a WebAssembly.Module (Workers forbid compiling wasm from
// bytes at run time); the same code runs in Node and workerd.

import { ArtifactError, type ArtifactManifest, type ParsedArtifact } from '../model/artifact.ts';
import { validateOps, type MOp, type WeightSlot } from '../model/ops.ts';
import { expandWeights } from '../model/wbits.ts';
import { bitsF32 } from '../model/quant.ts';
import { bindInt16Op, INT16_KINDS } from './bind-int16.ts';
import type { Output } from './types.ts';

export class EngineError extends Error {
  override name = 'EngineError';
}

type Kernel = (...args: number[]) => void;
type Call = (A: number, S: number) => void;

interface Block { off: number; size: number }

const PAGE = 65536;
const SLACK = 64;

/** First-fit allocator over the instance's linear memory. */
class Heap {
  private free: Block[] = [];
  private top: number;
  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.top = base;
  }
  alloc(size: number): number {
    size = ((size + SLACK + 15) & ~15);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= size) {
        const off = b.off;
        if (b.size === size) this.free.splice(i, 1);
        else { b.off += size; b.size -= size; }
        this.sizes.set(off, size);
        return off;
      }
    }
    const off = this.top;
    const end = off + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        throw new EngineError(`out of memory: cannot grow the engine's memory by ${pages * 64} KiB`);
      }
    }
    this.top = end;
    this.sizes.set(off, size);
    return off;
  }
  private sizes = new Map<number, number>();
  release(off: number): void {
    const size = this.sizes.get(off);
    if (size === undefined) return;
    this.sizes.delete(off);
    this.free.push({ off, size });
    this.free.sort((a, b) => a.off - b.off);
    // coalesce neighbours
    const merged: Block[] = [];
    for (const b of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.off + last.size === b.off) last.size += b.size;
      else merged.push({ ...b });
    }
    // give the tail back to the bump pointer
    const tail = merged[merged.length - 1];
    if (tail && tail.off + tail.size === this.top) { this.top = tail.off; merged.pop(); }
    this.free = merged;
  }
  get used(): number { return this.top; }
}

export interface LoadedModel {
  readonly manifest: ArtifactManifest;
  /** bytes of wasm memory this model holds (its weights) */
  readonly bytes: number;
  /** run one inference; the input is the model's input tensor (NHWC bytes of its dtype) */
  run(input: Uint8Array | Int8Array | Float32Array): Output[];
  /** like run, but also returns milliseconds per op */
  profile(input: Uint8Array | Int8Array | Float32Array): { outputs: Output[]; ops: { kind: string; src?: string; ms: number }[] };
}

export class Engine {
  private readonly k: Record<string, Kernel>;
  private readonly memory: WebAssembly.Memory;
  private readonly heap: Heap;
  private arenaOff = 0;
  private arenaSize = 0;
  private readonly models = new Set<Model>();

  private constructor(instance: WebAssembly.Instance) {
    this.k = instance.exports as unknown as Record<string, Kernel>;
    this.memory = instance.exports.memory as WebAssembly.Memory;
    const base = Number((instance.exports.heapBase as () => number)());
    this.heap = new Heap(this.memory, base);
  }

  static async create(module: WebAssembly.Module): Promise<Engine> {
    const instance = await WebAssembly.instantiate(module, {
      env: {
        abort: (_msg: number, _file: number, line: number, col: number) => {
          throw new EngineError(`engine abort at ${line}:${col}`);
        },
      },
    });
    return new Engine(instance);
  }

  /** bytes of linear memory in use (weights of all models + arena) */
  get memoryBytes(): number { return this.memory.buffer.byteLength; }
  get loadedModels(): number { return this.models.size; }

  load(a: ParsedArtifact): LoadedModel {
    // 4-bit / compact weight slots (compiler/bits.ts) are packed into the kernels' layouts here
    let x: { manifest: ArtifactManifest; weights: Uint8Array };
    try {
      x = expandWeights(a.manifest, a.weights);
    } catch (e) {
      throw new ArtifactError(`expanding encoded weights: ${(e as Error).message}`);
    }
    // the weights (some conv weights widened to int16), then the load-time tables, in one block
    let lay: ReturnType<typeof widenLayout>;
    try {
      lay = widenLayout(x.manifest, x.weights.length);
    } catch (e) {
      throw new ArtifactError(`laying out widened weights: ${(e as Error).message}`);
    }
    const m = lay.manifest;
    const wLen = (lay.size + 15) & ~15;
    const extra = addTableBytes(m);
    const wOff = this.heap.alloc(wLen + extra);
    const mem = new Uint8Array(this.memory.buffer);
    const widen = this.kernel('widen_i8_i16');
    for (const [src, len, dst, wide] of lay.copies) {
      // a widened slot: the int8 bytes go to its upper half, then widen in place (front to back)
      mem.set(x.weights.subarray(src, src + len), wOff + dst + (wide ? len : 0));
      if (wide) widen(wOff + dst + len, wOff + dst, len);
    }
    try {
      const model = new Model(this, m, wOff, wLen + extra, wOff + wLen);
      // arena first: if it cannot grow, the model must not stay registered (a ghost whose
      // arena size every later unload would try to re-allocate)
      this.ensureArena(m.arenaBytes + m.scratchBytes);
      this.models.add(model);
      return model;
    } catch (e) {
      this.heap.release(wOff);
      throw e;
    }
  }

  unload(model: LoadedModel): void {
    const mm = model as Model;
    if (!this.models.has(mm)) return;
    this.models.delete(mm);
    this.heap.release(mm.weightsOff);
    mm.unloaded = true;
    // shrink the arena if the largest model went away
    const need = Math.max(0, ...[...this.models].map((x) => x.manifest.arenaBytes + x.manifest.scratchBytes));
    if (need < this.arenaSize) {
      this.heap.release(this.arenaOff);
      this.arenaSize = 0;
      this.arenaOff = 0;
      if (need > 0) this.ensureArena(need);
    }
  }

  /** @internal */
  ensureArena(bytes: number): void {
    if (bytes <= this.arenaSize) return;
    if (this.arenaSize) this.heap.release(this.arenaOff);
    this.arenaSize = 0;
    this.arenaOff = this.heap.alloc(bytes);
    this.arenaSize = bytes;
  }
  /** @internal */
  arena(): number { return this.arenaOff; }
  /** @internal */
  kernel(name: string): Kernel {
    const f = this.k[name];
    if (typeof f !== 'function') throw new EngineError(`engine has no kernel ${name}`);
    return f;
  }
  /** @internal */
  mem(): ArrayBuffer { return this.memory.buffer; }
}

class Model implements LoadedModel {
  unloaded = false;
  private readonly calls: Call[];
  private readonly flip: Kernel;
  constructor(private readonly engine: Engine, readonly manifest: ArtifactManifest, readonly weightsOff: number, readonly bytes: number, tablesOff: number) {
    this.flip = engine.kernel('flip_sign');
    let nextTable = tablesOff;
    const table = (bytes: number) => { const off = nextTable; nextTable += bytes; return off; };
    this.calls = manifest.ops.map((op, i) => {
      try {
        return bind(engine, op, manifest, weightsOff, table);
      } catch (e) {
        throw new ArtifactError(`op ${i} (${op.kind}): ${(e as Error).message}`);
      }
    });
  }

  private prepare(input: Uint8Array | Int8Array | Float32Array): number {
    if (this.unloaded) throw new EngineError('model was unloaded');
    const spec = this.manifest.input;
    const t = this.manifest.tensors[this.manifest.inputTensor]!;
    if (!ArrayBuffer.isView(input) || input.byteLength !== t.bytes) {
      throw new EngineError(`input must be ${t.bytes} bytes of ${spec.dtype} [${spec.shape}], got ${input?.byteLength ?? typeof input}`);
    }
    if (spec.dtype === 'float32' && !(input instanceof Float32Array)) throw new EngineError('input must be a Float32Array');
    this.engine.ensureArena(this.manifest.arenaBytes + this.manifest.scratchBytes);
    const A = this.engine.arena();
    new Uint8Array(this.engine.mem(), A + t.offset, t.bytes).set(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    if (spec.dtype === 'uint8') this.flip(A + t.offset, t.bytes);
    return A;
  }

  private read(A: number): Output[] {
    const mem = this.engine.mem();
    return this.manifest.outputTensors.map((ti, k) => {
      const t = this.manifest.tensors[ti]!;
      const spec = this.manifest.outputs[k]!;
      const bytes = new Uint8Array(mem, A + t.offset, t.bytes).slice();
      if (spec.dtype === 'float32') return new Float32Array(bytes.buffer);
      if (spec.dtype === 'uint8') {
        for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0x80;
        return bytes;
      }
      return new Int8Array(bytes.buffer);
    });
  }

  run(input: Uint8Array | Int8Array | Float32Array): Output[] {
    const A = this.prepare(input);
    const S = A + this.manifest.arenaBytes;
    try {
      for (const call of this.calls) call(A, S);
    } catch (e) {
      throw new EngineError(`inference failed: ${(e as Error).message}`);
    }
    return this.read(A);
  }

  profile(input: Uint8Array | Int8Array | Float32Array) {
    const A = this.prepare(input);
    const S = A + this.manifest.arenaBytes;
    const ops = this.calls.map((call, i) => {
      const t0 = performance.now();
      call(A, S);
      const op = this.manifest.ops[i]!;
      return { kind: op.kind, src: op.src, ms: performance.now() - t0 };
    });
    return { outputs: this.read(A), ops };
  }
}

/** int8 ADDs the compiler gave an exact f32 form (fA/fB/fC) run add_i8_f. Without one, those of at least
 *  this many elements run through a 64 KB result table built at load (add_i8_lut_build: 65536 evaluations
 *  of the exact add_i8 kernel, ~0.1 ms); smaller ones keep add_i8. */
const ADD_LUT_MIN_ELEMENTS = 16384;
const ADD_LUT_BYTES = 65536;
const usesAddLut = (op: MOp) => op.kind === 'add_i8' && op.p.fA === undefined && (op.p.n as number) >= ADD_LUT_MIN_ELEMENTS;

/** Fast int8 convs (not the rows variant) with at least 4 output pixels get their packed int8 weights
 *  widened to int16 at load (the kernels' wIs16 path: plain vector loads instead of sign-extending ones,
 *  3-7% faster on the GEMM-bound layers and ~1% on wv_quality_mobilenetv2's small ones, for one more
 *  byte per weight of engine memory). The artifact keeps int8 weights. */
const widens = (op: MOp) => {
  const p = op.p as Record<string, number>;
  return op.kind === 'conv_i8' && p.fast === 1 && !p.rows && !p.wIs16 && p.outH! * p.outW! >= 4;
};
const align16 = (n: number) => (n + 15) & ~15;

/**
 * The engine's weight layout: every op's slots in order, 16-byte aligned, widened conv weights twice as
 * long (and marked wIs16); copies = [source offset, length, destination offset, widen]. The new
 * manifest's footprints are validated again.
 */
function widenLayout(m: ArtifactManifest, blobLen: number): { manifest: ArtifactManifest; size: number; copies: [number, number, number, boolean][] } {
  if (!m.ops.some(widens)) return { manifest: m, size: blobLen, copies: [[0, blobLen, 0, false]] };
  let size = 0;
  const copies: [number, number, number, boolean][] = [];
  const ops: MOp[] = m.ops.map((op) => {
    const wide = widens(op);
    const w: Record<string, WeightSlot> = {};
    for (const [name, [off, len]] of Object.entries(op.w)) {
      const grow = wide && name === 'w';
      const dst = size;
      copies.push([off, len, dst, grow]);
      const out = grow ? 2 * len : len;
      w[name] = [dst, out];
      size += align16(out);
    }
    return wide ? { ...op, w, p: { ...op.p, wIs16: 1 } } : { ...op, w };
  });
  validateOps(ops, m.tensors, size, m.scratchBytes);
  return { manifest: { ...m, ops, weightsBytes: size }, size, copies };
}

/** Engine memory a model holds beyond its artifact's weights: load-time tables and widened weights. */
export function tableBytes(m: ArtifactManifest): number {
  return m.ops.reduce((s, op) => s + (usesAddLut(op) ? ADD_LUT_BYTES : 0) + (widens(op) ? align16(op.w.w![1]) + 16 : 0), 0);
}
const addTableBytes = (m: ArtifactManifest) => m.ops.reduce((s, op) => s + (usesAddLut(op) ? ADD_LUT_BYTES : 0), 0);

/** Turn one manifest op into a kernel call with resolved pointers (building its load-time tables, if any). */
function bind(engine: Engine, op: MOp, m: ArtifactManifest, W: number, table: (bytes: number) => number): Call {
  const p = op.p as Record<string, number>;
  const t = (i: number) => m.tensors[i]!.offset;
  const w = (name: string) => W + op.w[name]![0];
  const i0 = t(op.in[0]!), o0 = t(op.out[0]!);
  const geo = (x: Record<string, number>) => [x.kH!, x.kW!, x.sH!, x.sW!, x.dH!, x.dW!, x.padT!, x.padL!];
  const K = (name: string) => engine.kernel(name);
  switch (op.kind) {
    case 'conv_i8': {
      const g = geo(p);
      if (p.fast && p.rows) {
        const f = K('conv_rows_i8'), pw = w('w'), q = w('q');
        return (A, S) => f(A + i0, p.inH!, p.inW!, p.inC!, p.inZp!, pw, q, A + o0, p.outH!, p.outW!, p.outC!, p.outZp!, p.actMin!, p.actMax!,
          p.kH!, p.kW!, p.sH!, p.sW!, p.dH!, p.padT!, p.padL!, S);
      }
      if (p.fast) {
        const f = K('conv_i8'), pw = w('w'), q = w('q');
        return (A, S) => f(A + i0, p.inH!, p.inW!, p.inC!, p.inZp!, pw, p.wIs16!, q, A + o0, p.outH!, p.outW!, p.outC!, p.outZp!, p.actMin!, p.actMax!, ...g, S);
      }
      const f = K('conv_ref_i8'), ww = w('w'), q = w('q'), C = p.outC!;
      return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, p.inZp!, ww, p.wIs16!, q, q + 4 * C, q + 8 * C, A + o0, p.outH!, p.outW!, p.outC!, p.outZp!, p.actMin!, p.actMax!, ...g);
    }
    case 'dw_i8': {
      const g = geo(p);
      if (p.fast) {
        const f = K('dw_i8'), pw = w('w'), q = w('q');
        return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, p.inZp!, pw, q, A + o0, p.outH!, p.outW!, p.outC!, p.outZp!, p.actMin!, p.actMax!, ...g);
      }
      const f = K('dw_ref_i8'), ww = w('w'), q = w('q'), C = p.outC!;
      return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, p.inZp!, ww, p.wIs16!, p.depthMult!, q, q + 4 * C, q + 8 * C, A + o0, p.outH!, p.outW!, p.outC!, p.outZp!, p.actMin!, p.actMax!, ...g);
    }
    case 'add_i8': {
      const i1 = t(op.in[1]!);
      if (p.fA !== undefined) {
        // the compiler proved this f32 form equal to the exact arithmetic on every input pair (src/model/add-affine.ts)
        const f = K('add_i8_f'), n = p.n!, al = bitsF32(p.fA), be = bitsF32(p.fB!), ga = bitsF32(p.fC!);
        return (A) => f(A + i0, A + i1, A + o0, n, al, be, ga, p.actMin!, p.actMax!);
      }
      if (usesAddLut(op)) {
        const tbl = table(ADD_LUT_BYTES);
        K('add_i8_lut_build')(tbl, p.aOffset!, p.aMult!, p.aShift!, p.bOffset!, p.bMult!, p.bShift!, p.leftShift!, p.outMult!, p.outShift!, p.outOffset!, p.actMin!, p.actMax!);
        const f = K('add_i8_lut'), n = p.n!;
        return (A) => f(A + i0, A + i1, A + o0, n, tbl);
      }
      const f = K('add_i8');
      return (A) => f(A + i0, A + i1, A + o0, p.n!, p.aOffset!, p.aMult!, p.aShift!, p.bOffset!, p.bMult!, p.bShift!, p.leftShift!, p.outMult!, p.outShift!, p.outOffset!, p.actMin!, p.actMax!);
    }
    case 'maxpool_i8':
    case 'maxpool_f32':
    case 'avgpool_f32': {
      const f = K(op.kind);
      return (A) => f(A + i0, p.inH!, p.inW!, p.c!, A + o0, p.outH!, p.outW!, p.fH!, p.fW!, p.sH!, p.sW!, p.padT!, p.padL!, p.actMin!, p.actMax!);
    }
    case 'avgpool_i8': {
      const f = K('avgpool_i8');
      return (A, S) => f(A + i0, p.inH!, p.inW!, p.c!, A + o0, p.outH!, p.outW!, p.fH!, p.fW!, p.sH!, p.sW!, p.padT!, p.padL!, p.actMin!, p.actMax!, p.offset!, S);
    }
    case 'mean_i8': {
      const f = K('mean_hw_i8');
      return (A, S) => f(A + i0, p.h!, p.w!, p.c!, A + o0, p.inZp!, p.mult!, p.shift!, p.outZp!, S);
    }
    case 'softmax_i8': {
      const f = K('softmax_i8');
      return (A, S) => f(A + i0, A + o0, p.outer!, p.depth!, p.mult!, p.leftShift!, p.diffMin!, S);
    }
    case 'requantize_i8': {
      const f = K('requantize_i8');
      return (A) => f(A + i0, A + o0, p.n!, p.inZp!, p.mult!, p.shift!, p.outZp!);
    }
    case 'quantize_f32_i8': {
      const f = K('quantize_f32_i8');
      return (A) => f(A + i0, A + o0, p.n!, p.scale!, p.zp!, p.qmin!, p.qmax!);
    }
    case 'dequantize_i8_f32': {
      const f = K('dequantize_i8_f32');
      return (A) => f(A + i0, A + o0, p.n!, p.scale!, p.zp!);
    }
    case 'copy': {
      const f = K('copy_bytes');
      return (A) => f(A + o0, A + i0, p.bytes!);
    }
    case 'pad': {
      const f = K('pad_nhwc');
      return (A) => f(A + i0, A + o0, p.es!, p.b!, p.h!, p.w!, p.c!, p.pb0!, p.pb1!, p.ph0!, p.ph1!, p.pw0!, p.pw1!, p.pc0!, p.pc1!, p.value!);
    }
    case 'conv_f32': {
      const g = geo(p), ww = w('w'), b = w('b');
      if (p.fast) {
        const f = K('conv_f32');
        return (A, S) => f(A + i0, p.inH!, p.inW!, p.inC!, ww, b, A + o0, p.outH!, p.outW!, p.outC!, p.actMin!, p.actMax!, ...g, S);
      }
      const f = K('conv_f32_ref');
      return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, ww, b, A + o0, p.outH!, p.outW!, p.outC!, p.actMin!, p.actMax!, ...g);
    }
    case 'dw_f32': {
      const g = geo(p), ww = w('w'), b = w('b');
      if (p.fast) {
        const f = K('dw_f32');
        return (A, S) => f(A + i0, p.inH!, p.inW!, p.inC!, ww, b, A + o0, p.outH!, p.outW!, p.actMin!, p.actMax!, ...g, S);
      }
      const f = K('dw_f32_ref');
      return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, ww, p.depthMult!, b, A + o0, p.outH!, p.outW!, p.outC!, p.actMin!, p.actMax!, ...g);
    }
    case 'mean_f32': {
      const f = K('mean_hw_f32');
      return (A) => f(A + i0, p.h!, p.w!, p.c!, A + o0);
    }
    case 'softmax_f32': {
      const f = K('softmax_f32');
      return (A) => f(A + i0, A + o0, p.outer!, p.depth!, p.beta!);
    }
    case 'add_f32': {
      const f = K('add_f32'), i1 = t(op.in[1]!);
      return (A) => f(A + i0, A + i1, A + o0, p.n!, p.actMin!, p.actMax!);
    }
    case 'bc_addsub_i8': case 'bc_addsub_c_i8': case 'bc_mul_i8': case 'bc_mul_c_i8':
    case 'bc_arith_i32': case 'bc_arith_c_i32': case 'bc_arith_f32': case 'bc_arith_c_f32':
    case 'cast_i8_f32': case 'cast_i32_f32': case 'sqrt_f32': case 'logistic_i8': case 'resize_bilinear_i8':
    case 'argmax_i8': case 'gather_nd_i8': case 'gather_nd_c_i8':
    case 'rowcopy_i8': case 'rowcopy_i32': case 'rowcopy_f32': case 'rowfill_i8': case 'rowfill_i32': case 'rowfill_f32':
      return bindMovenetOp(K, op, p, t, w, i0, o0);
    default:
      if (INT16_KINDS.has(op.kind)) return bindInt16Op(K, op, p, t, w, i0, o0);
      throw new Error(`unknown op kind ${String((op as MOp).kind)}`);
  }
}

/** Kernel calls for MoveNet's pre/post-processing ops (assembly/movenet.ts). */
function bindMovenetOp(K: (name: string) => Kernel, op: MOp, p: Record<string, number>,
  t: (i: number) => number, w: (name: string) => number, i0: number, o0: number): Call {
  const bc = ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3', 'o0', 'o1', 'o2', 'o3'].map((k) => p[k]!);
  // binary ops: operand pointers (one of them may be a constant weight block)
  const operands = (): ((A: number) => [number, number]) => {
    if (op.w.c === undefined) {
      const i1 = t(op.in[1]!);
      return (A) => [A + i0, A + i1];
    }
    const c = w('c');
    return p.constFirst ? (A) => [c, A + i0] : (A) => [A + i0, c];
  };
  switch (op.kind) {
    case 'bc_addsub_i8':
    case 'bc_addsub_c_i8': {
      const ab = operands();
      const q = [p.sub!, p.aOffset!, p.aMult!, p.aShift!, p.bOffset!, p.bMult!, p.bShift!, p.leftShift!, p.outMult!, p.outShift!, p.outOffset!, p.actMin!, p.actMax!];
      if (!p.fast) { const f = K('bc_addsub_i8_ref'); return (A) => { const [a, b] = ab(A); f(a, b, A + o0, ...bc, ...q); }; }
      const f = K('bc_addsub_i8');
      return (A, S) => { const [a, b] = ab(A); f(a, b, A + o0, ...bc, ...q, p.lut!, S); };
    }
    case 'bc_mul_i8':
    case 'bc_mul_c_i8': {
      const ab = operands();
      const q = [p.aOffset!, p.bOffset!, p.outMult!, p.outShift!, p.outOffset!, p.actMin!, p.actMax!];
      if (!p.fast) { const f = K('bc_mul_i8_ref'); return (A) => { const [a, b] = ab(A); f(a, b, A + o0, ...bc, ...q); }; }
      const f = K('bc_mul_i8');
      return (A, S) => { const [a, b] = ab(A); f(a, b, A + o0, ...bc, ...q, p.lut!, S); };
    }
    case 'bc_arith_i32':
    case 'bc_arith_c_i32':
    case 'bc_arith_f32':
    case 'bc_arith_c_f32': {
      const ab = operands(), f = K(op.kind.endsWith('i32') ? 'bc_arith_i32' : 'bc_arith_f32');
      return (A) => { const [a, b] = ab(A); f(a, b, A + o0, ...bc, p.op!, p.actMin!, p.actMax!); };
    }
    case 'cast_i8_f32': {
      const f = K('cast_i8_f32');
      return (A) => f(A + i0, A + o0, p.n!, p.offset!);
    }
    case 'cast_i32_f32':
    case 'sqrt_f32': {
      const f = K(op.kind);
      return (A) => f(A + i0, A + o0, p.n!);
    }
    case 'logistic_i8': {
      if (p.fast) {
        const f = K('logistic_i8');
        return (A, S) => f(A + i0, A + o0, p.n!, p.inZp!, p.radius!, p.mult!, p.leftShift!, S);
      }
      const f = K('logistic_i8_ref');
      return (A) => f(A + i0, A + o0, p.n!, p.inZp!, p.radius!, p.mult!, p.leftShift!);
    }
    case 'resize_bilinear_i8': {
      const f = K(p.fast ? 'resize_bilinear_i8' : 'resize_bilinear_i8_ref');
      return (A) => f(A + i0, p.inH!, p.inW!, p.c!, A + o0, p.outH!, p.outW!, p.alignCorners!, p.halfPixel!);
    }
    case 'argmax_i8': {
      const f = K('argmax_i8');
      return (A) => f(A + i0, A + o0, p.outer!, p.axisLen!, p.inner!);
    }
    case 'gather_nd_i8':
    case 'gather_nd_c_i8': {
      const f = K('gather_nd_i8');
      const g = [p.nSlices!, p.depth!, p.sliceSize!, p.d0!, p.d1!, p.d2!, p.d3!];
      if (op.kind === 'gather_nd_c_i8') {
        const idx = w('idx');
        return (A) => f(A + i0, idx, A + o0, ...g);
      }
      const i1 = t(op.in[1]!);
      return (A) => f(A + i0, A + i1, A + o0, ...g);
    }
    default: {
      // rowcopy_* (tensor -> tensor) and rowfill_* (weight block -> tensor, in place)
      const f = K('rowcopy');
      const es = op.kind.endsWith('i8') ? 1 : 4;
      const r = [es, p.outer!, p.len!, p.inStride!, p.inOff!, p.outStride!, p.outOff!];
      if (op.kind.startsWith('rowfill')) {
        const d = w('d');
        return (A) => f(d, A + o0, ...r);
      }
      return (A) => f(A + i0, A + o0, ...r);
    }
  }
}
