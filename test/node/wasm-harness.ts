// Test harness: instantiate the engine's wasm in Node and hand out scratch memory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Wasm {
  exports: Record<string, any>;
  memory: WebAssembly.Memory;
  /** bump allocation, 16-byte aligned, with 64 bytes of slack after every block */
  alloc(bytes: number): number;
  /** copy a typed array into fresh memory; returns its pointer */
  put(data: ArrayBufferView): number;
  u8(ptr: number, n: number): Uint8Array;
  i8(ptr: number, n: number): Int8Array;
  i32(ptr: number, n: number): Int32Array;
  f32(ptr: number, n: number): Float32Array;
  reset(): void;
}

const root = join(import.meta.dirname, '..', '..');

export async function loadWasm(): Promise<Wasm> {
  const bytes = readFileSync(join(root, 'build', 'edgelens.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { abort: (_m: number, _f: number, line: number, col: number) => { throw new Error(`wasm abort at ${line}:${col}`); } },
  });
  const ex = instance.exports as Record<string, any>;
  const memory = ex.memory as WebAssembly.Memory;
  const base = Number(ex.heapBase());
  let top = base;
  const w: Wasm = {
    exports: ex,
    memory,
    alloc(n: number) {
      const p = (top + 15) & ~15;
      top = p + n + 64;
      const need = top - memory.buffer.byteLength;
      if (need > 0) memory.grow(Math.ceil(need / 65536));
      new Uint8Array(memory.buffer, p, n + 64).fill(0);
      return p;
    },
    put(data: ArrayBufferView) {
      const p = w.alloc(data.byteLength);
      new Uint8Array(memory.buffer, p, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return p;
    },
    u8: (p, n) => new Uint8Array(memory.buffer, p, n).slice(),
    i8: (p, n) => new Int8Array(memory.buffer, p, n).slice(),
    i32: (p, n) => new Int32Array(memory.buffer.slice(p, p + 4 * n)),
    f32: (p, n) => new Float32Array(memory.buffer.slice(p, p + 4 * n)),
    reset() { top = base; },
  };
  return w;
}

/** Deterministic PRNG (mulberry32) for reproducible random test vectors. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}
