// Bit-exactness against TFLite's reference kernels, on every golden case, in Node.
import { describe, it, expect, beforeAll } from 'vitest';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { createNodeEngine } from '../../compiler/node-engine.ts';
import { goldenDirs, runGoldenModel, compareOutput } from '../../compiler/golden.ts';
import { compileTflite } from '../../compiler/compile.ts';
import { parseArtifact } from '../../src/model/artifact.ts';
import type { Engine } from '../../src/engine/engine.ts';

const GOLDEN = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'golden');
const models = goldenDirs(GOLDEN);

let engine: Engine;
beforeAll(async () => {
  engine = await createNodeEngine();
});

describe('golden (fast kernels)', () => {
  it('finds the golden models', () => {
    expect(models.length).toBeGreaterThanOrEqual(9);
  });
  for (const name of models) {
    it(`${name}: every case byte-identical`, async () => {
      const r = await runGoldenModel(engine, GOLDEN, name);
      // Every model compiles, MoveNet included (its CAST, FLOOR_DIV, GATHER_ND, ... are supported).
      expect(r.skipped).toBeUndefined();
      expect(r.failures).toEqual([]);
      expect(r.passed).toBe(42);
    }, 120_000);
  }
});

describe('golden (scalar reference kernels)', () => {
  // The reference kernels are the spec; run them on a few cases per model.
  for (const name of models) {
    it(`${name}: reference kernels match on 3 cases`, async () => {
      const dir = join(GOLDEN, name);
      const gm = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const { artifact, report } = await compileTflite(new Uint8Array(readFileSync(resolve(GOLDEN, '..', gm.model.file))), { reference: true });
      expect(report.refKernels.length).toBeGreaterThan(0);
      const model = engine.load(await parseArtifact(artifact));
      try {
        for (const c of [gm.cases[0], gm.cases[20], gm.cases[41]]) {
          const raw = new Uint8Array(readFileSync(join(dir, c.input_file)));
          const input = gm.inputs[0].dtype === 'FLOAT32' ? new Float32Array(raw.slice().buffer) : raw;
          const out = model.run(input)[0]!;
          const want = new Uint8Array(readFileSync(join(dir, c.output_files[0])));
          expect(compareOutput(gm.outputs[0].dtype, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), want)).toBeNull();
        }
      } finally {
        engine.unload(model);
      }
    }, 120_000);
  }
});
