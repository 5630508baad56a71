// Malformed models: every bad file gets a clear CompileError, never a crash, a
// hang or an unbounded allocation. Targeted corruptions plus a seeded,
// bounded mutation fuzz over the real models.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileTflite, CompileError } from '../../compiler/compile.ts';
import { FlatReader, type Table } from '../../compiler/flatbuffer.ts';
import { createNodeEngine } from '../../compiler/node-engine.ts';
import { parseArtifact } from '../../src/model/artifact.ts';
import { EngineError, type Engine } from '../../src/engine/engine.ts';
import { rng } from './wasm-harness.ts';

const MODELS = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'models');
const load = (f: string) => new Uint8Array(readFileSync(resolve(MODELS, f)));
const small = load('vww_96_int8.tflite');

async function expectCompileError(bytes: Uint8Array, pattern?: RegExp) {
  let err: unknown = null;
  try {
    await compileTflite(bytes);
  } catch (e) {
    err = e;
  }
  expect(err, 'should have been rejected').toBeInstanceOf(CompileError);
  if (pattern) expect((err as Error).message).toMatch(pattern);
}

/** Navigate the real model's flatbuffer to patch fields in place. */
function locate(bytes: Uint8Array) {
  const r = new FlatReader(bytes);
  const root = r.root();
  const vec = (t: Table, id: number) => {
    const p = t.field(id, 4);
    return p + r.u32(p); // position of the vector's length; elements follow
  };
  const sg = root.tables(2, 'subgraphs')![0]!;
  const tensors = sg.tables(0, 'tensors')!;
  const ops = sg.tables(3, 'operators')!;
  return { r, root, sg, tensors, ops, vec };
}
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe('malformed TFLite files', () => {
  it('rejects empty, tiny, garbage and wrong-identifier files', async () => {
    await expectCompileError(new Uint8Array(0), /too small|not a TFLite/);
    await expectCompileError(new Uint8Array(3), /not a TFLite/);
    const r = rng(1);
    await expectCompileError(Uint8Array.from({ length: 4096 }, () => r.int(0, 255)), /not a TFLite|identifier/);
    const wrong = small.slice();
    wrong.set([0x58, 0x58, 0x58, 0x58], 4);
    await expectCompileError(wrong, /identifier/);
    await expectCompileError(new TextEncoder().encode('hello world, this is not a model at all'));
  });

  it('rejects truncated files', async () => {
    for (const frac of [0.01, 0.1, 0.5, 0.9, 0.999]) {
      await expectCompileError(small.slice(0, Math.floor(small.length * frac)));
    }
  });

  it('rejects out-of-range tensor indices and -1 where an input is required', async () => {
    const b = small.slice();
    const { ops, vec } = locate(b);
    const ins = vec(ops[0]!, 1);
    dv(b).setInt32(ins + 4, 9999, true);
    await expectCompileError(b, /tensor index 9999 out of range/);
    const c = small.slice();
    const l = locate(c);
    dv(c).setInt32(l.vec(l.ops[0]!, 1) + 4, -1, true);
    await expectCompileError(c, /missing input 0/);
    const d = small.slice();
    const l2 = locate(d);
    dv(d).setInt32(l2.vec(l2.sg, 1) + 4, -7, true); // subgraph input
    await expectCompileError(d, /out of range/);
  });

  it('rejects zero, negative and overflowing dimensions', async () => {
    for (const v of [0, -5, 1 << 30]) {
      const b = small.slice();
      const { tensors, vec } = locate(b);
      // the first operator's input activation
      const shape = vec(tensors[0]!, 0);
      dv(b).setInt32(shape + 8, v, true);
      await expectCompileError(b);
    }
  });

  it('rejects buffers and vectors that run past the end of the file', async () => {
    const b = small.slice();
    const { root, vec, r } = locate(b);
    const buffers = root.tables(4, 'buffers')!;
    const withData = buffers.find((t) => t.field(0, 4) !== 0)!;
    const data = vec(withData, 0);
    dv(b).setUint32(data, 0x7fffffff, true);
    void r;
    await expectCompileError(b, /past the end/);
  });

  it('rejects zero, non-finite and mismatched quantization parameters', async () => {
    for (const v of [0, NaN, Infinity, -1]) {
      const b = small.slice();
      const { tensors, r } = locate(b);
      const q = tensors[0]!.table(4, 'q')!;
      const p = q.field(2, 4);
      const scales = p + r.u32(p);
      dv(b).setFloat32(scales + 4, v, true);
      await expectCompileError(b, /scale/);
    }
    // a per-channel filter whose scale count does not match its zero points
    const b = small.slice();
    const { tensors, r } = locate(b);
    const perChannel = tensors.find((t) => {
      const q = t.table(4, 'q');
      if (!q) return false;
      const p = q.field(2, 4);
      return p !== 0 && r.u32(p + r.u32(p)) > 1;
    })!;
    const q = perChannel.table(4, 'q')!;
    const p = q.field(2, 4);
    const scales = p + r.u32(p);
    dv(b).setUint32(scales, r.u32(scales) - 1, true);
    await expectCompileError(b, /scales|zero points/);
  });

  it('names unsupported operators', async () => {
    // the first operator's opcode becomes TANH (28), which the compiler does not lower
    const b = small.slice();
    const { root, ops } = locate(b);
    const oc = root.tables(1, 'operator_codes')![ops[0]!.u32(0, 0)]!;
    const dep = oc.field(0, 1), code = oc.field(3, 4);
    if (dep) b[dep] = 28;
    if (code) dv(b).setInt32(code, 28, true);
    await expectCompileError(b, /unsupported operator TANH/);
  });
});

describe('seeded model fuzz', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createNodeEngine();
  });
  const targets = ['vww_96_int8.tflite', 'wv_quality_cezar.tflite', 'wv_quality_k_8_c_5.tflite', 'wv_quality_mohammad_hallaq.tflite'];
  const N = Number(process.env.EDGELENS_FUZZ_MODELS ?? 60);
  const interesting = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 255, 65536, 1 << 24];

  for (const file of targets) {
    it(`${file}: ${N} mutations give clean compiles or clean errors`, async () => {
      const base = load(file);
      const r = rng(0xed6e + file.length);
      let compiled = 0, rejected = 0;
      for (let i = 0; i < N; i++) {
        const b = base.slice();
        const kind = i % 4;
        let bytes = b;
        if (kind === 0) {
          // flip bits in the flatbuffer's table area (the first 2 KB and the last 16 KB hold vtables and offsets)
          for (let k = 0; k < r.int(1, 8); k++) {
            const pos = r.next() < 0.5 ? r.int(0, Math.min(2047, b.length - 1)) : r.int(Math.max(0, b.length - 16384), b.length - 1);
            b[pos] = b[pos]! ^ (1 << r.int(0, 7));
          }
        } else if (kind === 1) {
          bytes = b.slice(0, r.int(0, b.length - 1));
        } else if (kind === 2) {
          const pos = r.int(0, b.length - 4) & ~3;
          dv(b).setInt32(pos, interesting[r.int(0, interesting.length - 1)]!, true);
        } else {
          for (let k = 0; k < 16; k++) b[r.int(0, b.length - 1)] = r.int(0, 255);
        }
        let artifact: Uint8Array | null = null;
        try {
          artifact = (await compileTflite(bytes)).artifact;
        } catch (e) {
          if (!(e instanceof CompileError)) throw new Error(`mutation ${i} (${kind}) threw ${(e as Error).name}: ${(e as Error).message}`);
          rejected++;
          continue;
        }
        compiled++;
        // a model that compiles must load and run without crashing
        const model = engine.load(await parseArtifact(artifact));
        try {
          const m = model.manifest;
          const n = m.tensors[m.inputTensor]!.bytes;
          const input = m.input.dtype === 'float32' ? new Float32Array(n / 4) : new Uint8Array(n).fill(100);
          try {
            model.run(input);
          } catch (e) {
            if (!(e instanceof EngineError)) throw e;
            throw new Error(`mutation ${i} compiled but failed to run: ${(e as Error).message}`);
          }
        } finally {
          engine.unload(model);
        }
      }
      expect(compiled + rejected).toBe(N);
      expect(rejected).toBeGreaterThan(0);
    }, 120_000);
  }
});
