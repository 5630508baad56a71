// Golden checks: run every case of every model folder in ../shared/golden and
// compare with the TFLite reference outputs bit for bit.

import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Engine, LoadedModel } from '../src/engine/engine.ts';
import { compileTflite, CompileError } from './compile.ts';
import { parseArtifact } from '../src/model/artifact.ts';

export interface GoldenCaseResult { model: string; case: string; ok: boolean; detail?: string }
export interface GoldenModelResult { model: string; passed: number; failed: number; skipped?: string; failures: GoldenCaseResult[]; ms: number }

interface GoldenManifest {
  model: { file: string; sha256: string };
  inputs: { dtype: string; shape: number[] }[];
  outputs: { dtype: string; shape: number[] }[];
  cases: { case: string; input_file: string; output_files: string[] }[];
  trace?: { dir: string; case: string };
}

export function goldenDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'manifest.json')) && statSync(join(dir, d)).isDirectory())
    .sort();
}

/** Compare one output against the reference: integer types exactly, float32 within 1e-5 relative. */
export function compareOutput(dtype: string, got: Uint8Array, want: Uint8Array): string | null {
  if (got.length !== want.length) return `output has ${got.length} bytes, reference ${want.length}`;
  if (dtype === 'FLOAT32') {
    const a = new Float32Array(got.buffer, got.byteOffset, got.length / 4);
    const b = new Float32Array(want.slice().buffer);
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (!(d <= 1e-5 * Math.max(Math.abs(a[i]!), Math.abs(b[i]!)) || d <= 1e-7)) return `element ${i}: ${a[i]} vs ${b[i]}`;
    }
    return null;
  }
  let diffs = 0, first = -1, maxd = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      diffs++;
      if (first < 0) first = i;
      const d = dtype === 'INT8' ? Math.abs(((got[i]! << 24) >> 24) - ((want[i]! << 24) >> 24)) : Math.abs(got[i]! - want[i]!);
      maxd = Math.max(maxd, d);
    }
  }
  return diffs ? `${diffs} bytes differ (first at ${first}, max ${maxd} LSB)` : null;
}

export async function runGoldenModel(engine: Engine, goldenRoot: string, name: string, opts: { reference?: boolean } = {}): Promise<GoldenModelResult> {
  const dir = join(goldenRoot, name);
  const gm = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as GoldenManifest;
  const t0 = performance.now();
  const modelPath = resolve(goldenRoot, '..', gm.model.file);
  let model: LoadedModel;
  try {
    const { artifact } = await compileTflite(new Uint8Array(readFileSync(modelPath)), { name, reference: opts.reference });
    model = engine.load(await parseArtifact(artifact));
  } catch (e) {
    if (e instanceof CompileError) {
      return { model: name, passed: 0, failed: 0, skipped: e.message, failures: [], ms: performance.now() - t0 };
    }
    throw e;
  }
  const failures: GoldenCaseResult[] = [];
  let passed = 0;
  try {
    for (const c of gm.cases) {
      const inBytes = new Uint8Array(readFileSync(join(dir, c.input_file)));
      const input = gm.inputs[0]!.dtype === 'FLOAT32' ? new Float32Array(inBytes.buffer, inBytes.byteOffset, inBytes.length / 4) : inBytes;
      let detail: string | null = null;
      try {
        const outs = model.run(input);
        c.output_files.forEach((f, k) => {
          const want = new Uint8Array(readFileSync(join(dir, f)));
          const o = outs[k]!;
          const d = compareOutput(gm.outputs[k]!.dtype, new Uint8Array(o.buffer, o.byteOffset, o.byteLength), want);
          if (d && !detail) detail = d;
        });
      } catch (e) {
        detail = `error: ${(e as Error).message}`;
      }
      if (detail) failures.push({ model: name, case: c.case, ok: false, detail });
      else passed++;
    }
  } finally {
    engine.unload(model);
  }
  return { model: name, passed, failed: failures.length, failures, ms: performance.now() - t0 };
}
