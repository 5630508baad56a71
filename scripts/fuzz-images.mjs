#!/usr/bin/env node
// npm run fuzz:images: seeded image fuzz against the real Worker under `wrangler dev`
// (workerd, the repo's wrangler.toml, a fresh local KV seeded with the default models like
// `npm run dev`), driven from this process over loopback, one request at a time.
//
//   node scripts/fuzz-images.mjs [--cases 10000] [--seed 20261121] [--max-ms 10000]
//                                [--from <i>] [--only <i>] [--json <file>] [--verbose]
//
// Cases (scripts/fuzz-images-cases.mjs): every crafted case (1x1 and 20000x1 PNG/JPEG,
// CMYK without APP14, decompression bombs, thousands of progressive scans, zero-length
// bodies, wrong content types, ...) then random mutations of the samples in
// ../shared/images/samples (bit flips, truncation, repeated or forged markers/chunks, huge
// SOF/IHDR dimensions, forged EXIF, splices, multipart). The smoke size of the same cases
// runs in `npm test` (test/worker/fuzz-images.test.ts).
//
// Checks: every answer is 2xx or one of {400,401,403,404,413,415,422} with a JSON body;
// crafted cases get their expected status; bombs are refused by the header checks; no
// connection error, no workerd restart, no "uncaught exception"/internal error in the
// Worker's log; no request slower than --max-ms (the maximum is reported). Then a bomb
// check: every bomb again plus a PNG whose 510 KiB IDAT inflates to 512 MiB must leave the
// Worker process's peak RSS (VmHWM) within 32 MiB. Memory is reported for the workerd process
// that runs the Worker and for the isolate (through wrangler's inspector port). Exit code 1
// if anything fails.
//
// The Worker runs under `wrangler dev` on its deploy bundle (`wrangler deploy --dry-run`, see
// scripts/hardening-lib.mjs), so edits made during the run do not restart it.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { ALLOWED_STATUSES, PNG_SIG, buildImageCorpus, checkImageAnswer, concat, ihdr, imageCase, pngChunk } from './fuzz-images-cases.mjs';
import {
  fmtIsolate, fmtMiB, inspectIsolate, parseArgs, percentile, procMem, resetPeak, readSamples, requireBuild, rmState, seedModels, startDevServer, tempState, reportFailures, runMain, uncaughtLines } from './hardening-lib.mjs';

const opt = parseArgs(process.argv.slice(2), { cases: 10_000, from: 0, seed: 20261121, maxMs: 10_000, only: -1, json: '', verbose: false });
const log = (m) => console.log(`fuzz:images: ${m}`);

async function main() {
  requireBuild();
  const samples = readSamples();
  const corpus = await buildImageCorpus(samples);
  log(`${samples.length} samples, ${corpus.crafted.length} crafted cases, ${opt.cases} cases, seed ${opt.seed}`);
  const state = tempState('fuzz-images');
  let server;
  const failures = [];
  const histogram = {};
  const byKind = {};
  const times = [];
  let slowest = { ms: 0, what: '' };
  let memAfterCrafted = null;
  try {
    seedModels(state);
    server = await startDevServer({ persistTo: state, echo: opt.verbose });
    const memBefore = procMem(server.workerdPid);
    const iso = await inspectIsolate(server).catch(() => null);
    const isoBefore = iso ? fmtIsolate(await iso.heap(), await iso.wasm()) : '-';
    log(`wrangler dev on ${server.url} (workerd pid ${server.workerdPid}); before: process ${fmtMiB(memBefore)}; isolate ${isoBefore}`);
    const t0 = Date.now();
    const indices = opt.only >= 0 ? [opt.only] : Array.from({ length: Math.max(0, opt.cases - opt.from) }, (_, i) => opt.from + i);
    for (const i of indices) {
      const c = imageCase(corpus, opt.seed, i);
      const headers = {};
      if (c.contentType !== null) headers['content-type'] = c.contentType;
      const what = `case ${i} (${c.kind}: ${c.name})`;
      const start = performance.now();
      let res;
      let text;
      try {
        // a bounded wait: 3x the time limit, then the case counts as hung
        res = await fetch(server.url + c.path, { method: 'POST', headers, body: c.body, signal: AbortSignal.timeout(opt.maxMs * 3) });
        text = await res.text();
      } catch (e) {
        failures.push(`${what}: request failed (${e.name}: ${e.message}) - crash or hang`);
        histogram.error = (histogram.error ?? 0) + 1;
        if (server.exited) break;
        continue;
      }
      const ms = performance.now() - start;
      times.push(ms);
      if (ms > slowest.ms) slowest = { ms, what };
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      histogram[res.status] = (histogram[res.status] ?? 0) + 1;
      const k = `${c.kind} ${res.status}`;
      byKind[k] = (byKind[k] ?? 0) + 1;
      const problems = checkImageAnswer(c, res.status, json, res.headers.get('content-type'));
      if (problems.length > 0) failures.push(`${what} -> ${res.status} ${text.slice(0, 200)}: ${problems.join('; ')}`);
      if (opt.verbose) log(`${what} -> ${res.status} in ${ms.toFixed(0)} ms`);
      if (i === corpus.crafted.length - 1) memAfterCrafted = procMem(server.workerdPid);
      if ((i + 1) % 1000 === 0) log(`${i + 1}/${opt.cases} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s, statuses ${JSON.stringify(histogram)}, ${failures.length} failures`);
    }
    const elapsed = (Date.now() - t0) / 1000;

    // Bomb memory check: every bomb again, plus a PNG whose 510 KiB IDAT inflates to 512 MiB,
    // must keep the Worker process's peak RSS (VmHWM, reset first) within BOMB_MIB of its RSS.
    const BOMB_MIB = 32;
    const zip512 = concat([PNG_SIG, ihdr(64, 64), pngChunk('IDAT', new Uint8Array(deflateSync(Buffer.alloc(512 << 20), { level: 9 }))), pngChunk('IEND', new Uint8Array(0))]);
    const bombs = [{ name: 'png zip bomb (512 MiB inflated)', body: zip512, type: 'image/png', expect: [422] },
      ...corpus.crafted.filter((c) => c.bomb).map((c) => ({ name: c.name, body: c.bytes, type: c.bytes[0] === 0x89 ? 'image/png' : 'image/jpeg', expect: c.expect }))];
    // VmHWM only records a new maximum: reset it to the current RSS first
    if (!resetPeak(server.workerdPid)) failures.push('bomb check: cannot reset VmHWM (/proc/<pid>/clear_refs)');
    const hwmBeforeBombs = procMem(server.workerdPid).hwmMiB;
    for (const b of bombs) {
      const res = await fetch(server.url + '/v1/classify', { method: 'POST', headers: { 'content-type': b.type }, body: b.body, signal: AbortSignal.timeout(opt.maxMs * 3) });
      await res.text();
      if (!b.expect.includes(res.status)) failures.push(`bomb check: ${b.name} -> ${res.status}, expected ${b.expect.join('/')}`);
    }
    const hwmAfterBombs = procMem(server.workerdPid).hwmMiB;
    if (hwmAfterBombs - hwmBeforeBombs > BOMB_MIB) {
      failures.push(`bomb check: the Worker process's peak RSS grew by ${(hwmAfterBombs - hwmBeforeBombs).toFixed(1)} MiB (limit ${BOMB_MIB} MiB): a bomb was allocated`);
    }
    const memAfter = procMem(server.workerdPid);
    const isoAfter = iso ? fmtIsolate(await iso.heap(), await iso.wasm()) : '-';
    iso?.close();
    // the same workerd process as at the start: it did not crash and was not restarted
    const stillWorkerd = server.workerdPid !== null && server.sameWorkerd();
    await server.stop();
    for (const l of uncaughtLines(server.output)) failures.push(`worker log: ${l}`);
    if (!stillWorkerd) failures.push('workerd exited or was restarted during the run');
    if (slowest.ms > opt.maxMs) failures.push(`slowest request took ${slowest.ms.toFixed(0)} ms > --max-ms ${opt.maxMs}: ${slowest.what}`);
    const sorted = [...times].sort((a, b) => a - b);
    const summary = {
      cases: indices.length, seed: opt.seed, seconds: elapsed,
      statuses: histogram, byKind,
      fivexx: Object.entries(histogram).filter(([s]) => Number(s) >= 500).reduce((n, [, v]) => n + v, 0),
      disallowed: Object.entries(histogram).filter(([s]) => !ALLOWED_STATUSES.includes(Number(s))).reduce((n, [, v]) => n + v, 0),
      ms: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: slowest.ms, slowest: slowest.what, bound: opt.maxMs },
      bombCheck: { bombs: bombs.length, hwmBeforeMiB: hwmBeforeBombs, hwmAfterMiB: hwmAfterBombs, limitMiB: BOMB_MIB },
      memoryMiB: { before: memBefore, afterCraftedIncludingBombs: memAfterCrafted, after: memAfter, isolateBefore: isoBefore, isolateAfter: isoAfter },
      failures,
    };
    log(`done: ${summary.cases} cases in ${elapsed.toFixed(0)} s`);
    log(`statuses ${JSON.stringify(histogram)} (5xx: ${summary.fivexx}, not allowed: ${summary.disallowed})`);
    log(`by kind ${JSON.stringify(byKind)}`);
    log(`request time: p50 ${summary.ms.p50?.toFixed(1)} ms, p99 ${summary.ms.p99?.toFixed(1)} ms, max ${slowest.ms.toFixed(0)} ms (bound ${opt.maxMs} ms): ${slowest.what}`);
    log(`workerd process memory: before ${fmtMiB(memBefore)}; after the crafted cases (incl. bombs) ${fmtMiB(memAfterCrafted)}; after ${fmtMiB(memAfter)}`);
    log(`isolate memory: before ${isoBefore}; after ${isoAfter}`);
    log(`bomb check: ${bombs.length} bombs (incl. a 512 MiB PNG zip bomb): Worker process peak RSS ${hwmBeforeBombs.toFixed(1)} -> ${hwmAfterBombs.toFixed(1)} MiB (limit +${BOMB_MIB} MiB)`);
    if (opt.json) writeFileSync(opt.json, JSON.stringify(summary, null, 2));
    reportFailures(log, failures, 'OK: only 2xx and documented 4xx, 0 crashes, 0 5xx');
  } finally {
    await server?.stop();
    rmState(state);
  }
}

runMain('fuzz:images', main);
