// Worker for bench/variants.ts (inside workerd via Miniflare, with a real local KV namespace):
//   GET /__bench/load?key=<kv key>&loads=N&runs=M
//       N times: KV read (arrayBuffer) -> parseArtifact (full validation) -> Engine.load into a ready
//       engine (a fresh one per model, created before the first timing); then M inferences (batched,
//       workerd's clock is coarse) and the engine's linear memory after them (peak wasm memory).
//   everything else: the real edgelens app (PUT /v1/models/:id, /v1/classify, /v1/detect, ...).
import wasmModule from '../build/edgelens.wasm';
import { Engine } from '../src/engine/engine.ts';
import { parseArtifact } from '../src/model/artifact.ts';
import app from '../src/worker/index.ts';
import type { Env } from '../src/worker/env.ts';

async function benchLoad(env: Env, url: URL): Promise<Response> {
  const key = url.searchParams.get('key') ?? '';
  const loads = Math.max(1, Number(url.searchParams.get('loads') ?? 5));
  const runs = Math.max(1, Number(url.searchParams.get('runs') ?? 20));
  const engine = await Engine.create(wasmModule as WebAssembly.Module);
  const memBefore = engine.memoryBytes;
  const loadMs: number[] = [];
  const kvMs: number[] = [];
  let model = null as ReturnType<Engine['load']> | null;
  for (let i = 0; i < loads; i++) {
    if (model) engine.unload(model);
    const t0 = performance.now();
    const buf = await env.MODELS.get(key, 'arrayBuffer');
    const t1 = performance.now();
    if (!buf) return new Response(`no ${key}`, { status: 404 });
    const parsed = await parseArtifact(new Uint8Array(buf));
    model = engine.load(parsed);
    loadMs.push(performance.now() - t0);
    kvMs.push(t1 - t0);
  }
  const m = model!.manifest;
  const n = m.tensors[m.inputTensor]!.bytes;
  const input = m.input.dtype === 'float32' ? new Float32Array(n / 4).map((_, i) => ((i * 7919) % 256) / 255) : new Uint8Array(n).map((_, i) => (i * 7919) % 256);
  for (let i = 0; i < 3; i++) model!.run(input);
  const batch = Math.max(1, Math.ceil(runs / 10));
  const times: number[] = [];
  for (let b = 0; b < 10; b++) {
    const a = performance.now();
    for (let i = 0; i < batch; i++) model!.run(input);
    times.push((performance.now() - a) / batch);
  }
  return Response.json({ key, loadMs, kvMs, times, wasmMemoryBytes: engine.memoryBytes, wasmMemoryBeforeBytes: memBefore, modelBytes: model!.bytes, arenaBytes: m.arenaBytes + m.scratchBytes });
}

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/__bench/load') return benchLoad(env, url);
    return app.fetch(req, env, ctx);
  },
};
