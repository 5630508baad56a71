// A minimal Worker that times the engine inside workerd (used by bench/workerd.ts).
import wasmModule from '../build/edgelens.wasm';
import { Engine } from '../src/engine/engine.ts';
import { parseArtifact } from '../src/model/artifact.ts';

interface Env { FIXTURES: Fetcher }

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    const name = url.searchParams.get('model') ?? '';
    const runs = Number(url.searchParams.get('runs') ?? 100);
    const bytes = new Uint8Array(await (await env.FIXTURES.fetch(`http://fixtures/models/${name}`)).arrayBuffer());
    const engine = await Engine.create(wasmModule as WebAssembly.Module);
    const t0 = performance.now();
    const parsed = await parseArtifact(bytes);
    const model = engine.load(parsed);
    const loadMs = performance.now() - t0;
    const m = parsed.manifest;
    const n = m.tensors[m.inputTensor]!.bytes;
    const input = m.input.dtype === 'float32' ? new Float32Array(n / 4).fill(0.5) : new Uint8Array(n).map((_, i) => (i * 7919) % 256);
    for (let i = 0; i < 20; i++) model.run(input); // warm-up: V8 tiers the hot kernels up to TurboFan
    // workerd's clock is coarse (1 ms): time batches and report per-run means
    const times: number[] = [];
    const batch = Math.max(1, Math.ceil(runs / 10));
    for (let b = 0; b < 10; b++) {
      const a = performance.now();
      for (let i = 0; i < batch; i++) model.run(input);
      times.push((performance.now() - a) / batch);
    }
    return Response.json({ model: name, loadMs, times });
  },
};
