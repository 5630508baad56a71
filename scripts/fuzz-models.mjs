#!/usr/bin/env node
// npm run fuzz:models: seeded bad-artifact fuzz of PUT /v1/models/:id against the real
// Worker under `wrangler dev` (workerd, a fresh local KV seeded like `npm run dev`, an
// ADMIN_TOKEN passed with --var), driven from this process over loopback.
//
//   node scripts/fuzz-models.mjs [--cases 3000] [--seed 20261121] [--json <file>] [--verbose]
//
// Bases: build/models/{person,mobilenet_v2}.elns and build/golden/vww_96_{int8,float}.elns
// (int8 and float32 op sets). Cases (scripts/fuzz-models-cases.mjs): bit flips, truncation,
// appended bytes, header forgeries, targeted manifest edits re-signed with a correct sha256
// (out-of-range tensor indices, weight slots past the end, shapes inconsistent with ops,
// huge arenas, wrong dtypes, ...) and random re-signed field/weight edits.
//
// Checks: known-bad artifacts get 422 invalid_artifact and leave the pointer unchanged;
// accepted ones (random edits may be valid) serve classify and detect without a 5xx and are
// then replaced by the original; every 25 cases each base id still gives its reference
// answer (same sha256, same predictions: no memory corruption across models); at the end
// the KV blobs are exactly the seeded ones + the bases + the accepted artifacts (nothing
// stored by a rejected upload). Exit code 1 on any failure. The smoke size of the same
// cases runs in `npm test` (test/worker/fuzz-models.test.ts).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runModelFuzz } from './fuzz-models-cases.mjs';
import {
  ROOT, fmtIsolate, fmtMiB, inspectIsolate, listLocalKv, loadArtifactModule, parseArgs, procMem, requireBuild, rmState, seedModels,
  startDevServer, tempState, reportFailures, runMain, uncaughtLines } from './hardening-lib.mjs';

const opt = parseArgs(process.argv.slice(2), { cases: 3000, seed: 20261121, json: '', verbose: false });
const log = (m) => console.log(`fuzz:models: ${m}`);

const BASES = [
  ['person', 'build/models/person.elns'],
  ['mobilenet_v2', 'build/models/mobilenet_v2.elns'],
  ['vww_96_int8', 'build/golden/vww_96_int8.elns'],
  ['vww_96_float', 'build/golden/vww_96_float.elns'],
];

async function main() {
  requireBuild();
  const { writeArtifact, parseArtifact } = await loadArtifactModule();
  const state = tempState('fuzz-models');
  const token = randomBytes(16).toString('hex');
  let server;
  try {
    seedModels(state); // also compiles build/models/*.elns when needed
    const bases = [];
    for (const [name, path] of BASES) {
      if (existsSync(join(ROOT, path))) bases.push({ name, bytes: new Uint8Array(readFileSync(join(ROOT, path))) });
      else log(`(${path} missing: run \`npm test\` once to compile the golden models; skipping it)`);
    }
    const baseShas = await Promise.all(bases.map(async (b) => (await parseArtifact(b.bytes)).sha256));
    const blobsBefore = new Set(listLocalKv(state, 'blob:'));
    server = await startDevServer({ persistTo: state, vars: { ADMIN_TOKEN: token }, echo: opt.verbose });
    const memBefore = procMem(server.workerdPid);
    const iso = await inspectIsolate(server).catch(() => null);
    const isoBefore = iso ? fmtIsolate(await iso.heap(), await iso.wasm()) : '-';
    log(`${opt.cases} cases, seed ${opt.seed}, bases ${bases.map((b) => b.name).join(', ')}; wrangler dev on ${server.url} (workerd pid ${server.workerdPid}); ${fmtMiB(memBefore)}`);
    const image = new Uint8Array(readFileSync(join(ROOT, '..', 'shared', 'images', 'samples', 'grace_hopper.jpg')));
    const t0 = Date.now();
    const result = await runModelFuzz({
      fetch: (path, init) => fetch(server.url + path, { ...init, signal: AbortSignal.timeout(120_000) }),
      bases,
      ids: bases.map((b) => `fuzz-${b.name.replace(/_/g, '-')}`),
      seed: opt.seed,
      cases: opt.cases,
      writeArtifact,
      token,
      image,
      log,
    });
    const seconds = (Date.now() - t0) / 1000;
    const memAfter = procMem(server.workerdPid);
    const isoAfter = iso ? fmtIsolate(await iso.heap(), await iso.wasm()) : '-';
    iso?.close();
    const sameWorkerd = server.sameWorkerd();
    await server.stop();
    const failures = [...result.failures];
    if (!sameWorkerd) failures.push('workerd exited or was restarted during the run');
    for (const l of uncaughtLines(server.output)) failures.push(`worker log: ${l}`);
    // nothing stored by rejected uploads: blobs = seeded + bases + accepted artifacts
    const blobsAfter = new Set(listLocalKv(state, 'blob:'));
    const allowed = new Set([...blobsBefore, ...baseShas.map((s) => `blob:${s}`), ...[...result.acceptedShas].map((s) => `blob:${s}`)]);
    const extra = [...blobsAfter].filter((k) => !allowed.has(k));
    if (extra.length > 0) failures.push(`${extra.length} blob(s) in KV that no accepted upload explains: ${extra.slice(0, 5).join(', ')}`);
    const summary = {
      cases: opt.cases, seed: opt.seed, seconds, statuses: result.histogram, byKind: result.kinds, accepted: result.accepted,
      blobs: { before: blobsBefore.size, after: blobsAfter.size, unexplained: extra.length },
      maxPutMs: result.maxMs, memoryMiB: { before: memBefore, after: memAfter, isolateBefore: isoBefore, isolateAfter: isoAfter }, failures,
    };
    log(`done: ${opt.cases} cases in ${seconds.toFixed(0)} s`);
    log(`statuses ${JSON.stringify(result.histogram)}; accepted (valid edits, served, then replaced) ${result.accepted}`);
    log(`by kind ${JSON.stringify(result.kinds)}`);
    log(`KV blobs: ${blobsBefore.size} before, ${blobsAfter.size} after, ${extra.length} unexplained; slowest PUT ${result.maxMs} ms`);
    log(`workerd process memory (includes Miniflare's local KV holding every stored blob): before ${fmtMiB(memBefore)}; after ${fmtMiB(memAfter)}`);
    log(`isolate memory: before ${isoBefore}; after ${isoAfter}`);
    if (opt.json) writeFileSync(opt.json, JSON.stringify(summary, null, 2));
    reportFailures(log, failures, 'OK: every known-bad artifact got 422 with nothing stored, the old versions kept serving, 0 5xx');
  } finally {
    await server?.stop();
    rmState(state);
  }
}

runMain('fuzz:models', main);
