// Bit-exactness inside workerd: the same artifacts and golden cases as the Node
// golden test, run by the engine instantiated from the imported wasm module.
import { describe, it, expect } from 'vitest';
import wasmModule from '../../build/edgelens.wasm';
import { Engine } from '../../src/engine/engine';
import { parseArtifact } from '../../src/model/artifact';
import { fixture } from './helpers';

const MODELS = [
  'coral_mobilenet_v2_1.0_224_quant', 'coral_tf2_mobilenet_v2_1.0_224_ptq', 'movenet_single_pose_lightning_ptq',
  'vww_96_float', 'vww_96_int8', 'wv_quality_cezar', 'wv_quality_k_8_c_5', 'wv_quality_mobilenetv2', 'wv_quality_mohammad_hallaq',
];

function same(dtype: string, got: Uint8Array, want: Uint8Array): boolean {
  if (got.length !== want.length) return false;
  if (dtype !== 'FLOAT32') return got.every((v, i) => v === want[i]);
  const a = new Float32Array(got.slice().buffer), b = new Float32Array(want.slice().buffer);
  return a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * Math.max(Math.abs(v), Math.abs(b[i]!)) || Math.abs(v - b[i]!) <= 1e-7);
}

describe('golden cases inside workerd', () => {
  for (const name of MODELS) {
    it(`${name}: every case matches`, async () => {
      // every model compiles, MoveNet included (a compile error would leave no artifact to fetch)
      const artifact = await fixture(`golden-models/${name}.elns`);
      const engine = await Engine.create(wasmModule as WebAssembly.Module);
      const model = engine.load(await parseArtifact(artifact));
      const gm = JSON.parse(new TextDecoder().decode(await fixture(`golden/${name}/manifest.json`)));
      const failures: string[] = [];
      for (const c of gm.cases) {
        const raw = await fixture(`golden/${name}/${encodeURIComponent(c.input_file)}`);
        const input = gm.inputs[0].dtype === 'FLOAT32' ? new Float32Array(raw.slice().buffer) : raw;
        const outs = model.run(input);
        for (let k = 0; k < c.output_files.length; k++) {
          const want = await fixture(`golden/${name}/${encodeURIComponent(c.output_files[k])}`);
          const o = outs[k]!;
          if (!same(gm.outputs[k].dtype, new Uint8Array(o.buffer, o.byteOffset, o.byteLength), want)) failures.push(`${c.case} output ${k}`);
        }
      }
      expect(failures).toEqual([]);
      expect(gm.cases.length).toBe(42);
    });
  }
});
