#!/usr/bin/env node
// npm run bench:e2e [-- --url http://localhost:8787]: stage breakdown of a cold and a warm
// classify request for cat_720p.jpg and cat_1080p.jpg through a real local Worker.
// Cold = the model is not in the isolate's cache (a fresh id is uploaded through the admin
// API first, so the request pays the KV read + load); warm = the median of 10 cached requests.
// Targets: warm total <= 2x inference; cold total <= inference + 50 ms (locally).
import { readFileSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, serverFromArgs } from './lib/devserver.mjs';

const SHARED = process.env.EDGELENS_SHARED_DIR ? resolve(process.env.EDGELENS_SHARED_DIR) : resolve(ROOT, '..', 'shared');
const recipe = JSON.parse(readFileSync(join(ROOT, 'models', 'mobilenet_v2.json'), 'utf8'));
const modelsDir = process.env.EDGELENS_MODELS_DIR ?? join(SHARED, 'models');
const tmp = mkdtempSync(join(tmpdir(), 'edgelens-e2e-'));
/** A fresh artifact (a unique name gives a new sha256), so the first request is a real cache miss. */
function freshArtifact(name) {
  const out = join(tmp, `${name}.elns`);
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.mjs'), 'compile', join(modelsDir, recipe.source), '-o', out, '--name', name,
    '--labels', join(modelsDir, 'imagenet_labels.txt'), '--mean', recipe.preprocessing.mean.join(','), '--std', recipe.preprocessing.std.join(',')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return readFileSync(out);
}
const server = await serverFromArgs(process.argv.slice(2));
const stages = ['read', 'decode', 'preprocess', 'model', 'inference', 'total'];
const fmt = (t) => stages.map((s) => `${s} ${t[s].toFixed(1)}`).join(' | ');
try {
  if (!server.adminToken) throw new Error('set ADMIN_TOKEN to the server\'s token to measure cold requests');
  // The first request of a fresh isolate also pays one-time JIT/instantiation costs; warm the
  // isolate with a request to the default model so "cold" below means a model-cache miss.
  {
    const body = readFileSync(join(SHARED, 'images', 'samples', 'cat.jpg'));
    const r = await fetch(new URL('/v1/classify?model=mobilenet_v2&top=1', server.url), { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } });
    const j = await r.json();
    console.log(`isolate warm-up (cat.jpg, ${j.cache}): ${fmt(j.timings_ms)}`);
  }
  for (const img of ['cat_720p.jpg', 'cat_1080p.jpg']) {
    const body = readFileSync(join(SHARED, 'images', 'samples', img));
    const id = `bench-${img.replace(/\W/g, '-')}-${Date.now().toString(36)}`;
    const put = await fetch(new URL(`/v1/models/${id}`, server.url), { method: 'PUT', body: freshArtifact(id), headers: { authorization: `Bearer ${server.adminToken}` } });
    if (!put.ok) throw new Error(`upload: ${put.status} ${await put.text()}`);
    const call = async () => {
      const r = await fetch(new URL(`/v1/classify?model=${id}&top=1`, server.url), { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } });
      const j = await r.json();
      if (!r.ok) throw new Error(JSON.stringify(j));
      return j;
    };
    const cold = await call();
    const warm = [];
    for (let i = 0; i < 10; i++) warm.push(await call());
    const med = (k) => { const v = warm.map((w) => w.timings_ms[k]).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
    const w = Object.fromEntries(stages.map((s) => [s, med(s)]));
    console.log(`${img} (${cold.image.width}x${cold.image.height}) -> ${cold.predictions[0].label}`);
    console.log(`  cold (${cold.cache}): ${fmt(cold.timings_ms)}   [target total <= inference + 50 = ${(cold.timings_ms.inference + 50).toFixed(1)}]`);
    console.log(`  warm (median of 10, ${warm[warm.length - 1].cache}): ${fmt(w)}   [target total <= 2 x inference = ${(2 * w.inference).toFixed(1)}]`);
    await fetch(new URL(`/v1/models/${id}`, server.url), { method: 'DELETE', headers: { authorization: `Bearer ${server.adminToken}` } });
  }
} finally {
  await server.stop();
}
