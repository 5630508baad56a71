#!/usr/bin/env node
// npm run load: a bounded load test of the real Worker under `wrangler dev` (workerd, a fresh
// local KV seeded with the default models like `npm run dev`), driven from this process over
// loopback with autocannon.
//
//   node scripts/load.mjs [--requests 2000] [--concurrency 32] [--phases 2] [--json <file>]
//   node scripts/load.mjs --memory-ceiling [--requests 400] [--concurrency 8]
//
// Default mode: `--requests` requests in `--phases` equal parts (default 2: "the first 1000"
// and "the last 1000"; a pause of --pause-seconds 10 between them) at `--concurrency`
// connections, cycling through every sample image in ../shared/images/samples x
// {POST /v1/classify (mobilenet_v2), POST /v1/detect (person)}. Reports throughput, p50/p99
// latency, answers by status, and memory before the load and after each part:
//  - the workerd process that runs the Worker (VmRSS/VmHWM from /proc/<pid>/status; wrangler
//    starts two workerd processes, the other one runs its proxy): runtime + Miniflare's local
//    KV + allocator caches + the isolate;
//  - the isolate itself, through wrangler's inspector port (DevTools protocol): JS heap,
//    ArrayBuffer backing stores (sampled every 250 ms for the peak), the byte size of every
//    WebAssembly.Memory, and the live set after a full GC (flat = no leak).
//
// --memory-ceiling: cat_1080p.jpg only, both default models (classify and detect
// alternating), --concurrency 8: the isolate's peak against the 128 MB limit. See README
// "Hardening" for the budget.
//
// Exit code 1 on any 5xx, transport error or timeout. Bounded: a fixed number of
// requests, a 120 s per-request timeout, and each part is stopped after --max-minutes.
import autocannon from 'autocannon';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SAMPLES_DIR, fmtIsolate, fmtMiB, inspectIsolate, parseArgs, procMem, readSamples, requireBuild, rmState, seedModels, startDevServer,
  tempState, reportFailures, runMain, uncaughtLines } from './hardening-lib.mjs';

const opt = parseArgs(process.argv.slice(2), {
  requests: 0, concurrency: 0, phases: 2, memoryCeiling: false, maxMinutes: 30, pauseSeconds: 10, json: '', verbose: false,
});
if (opt.requests === 0) opt.requests = opt.memoryCeiling ? 400 : 2000;
if (opt.concurrency === 0) opt.concurrency = opt.memoryCeiling ? 8 : 32;
const log = (m) => console.log(`load: ${m}`);
const MIB_128MB = 128e6 / 2 ** 20; // the Workers isolate limit, 128 MB, in MiB

function requestMix() {
  if (opt.memoryCeiling) {
    const body = new Uint8Array(readFileSync(join(SAMPLES_DIR, 'cat_1080p.jpg')));
    return [
      { path: '/v1/classify?model=mobilenet_v2', body: Buffer.from(body), name: 'classify cat_1080p.jpg' },
      { path: '/v1/detect?model=person', body: Buffer.from(body), name: 'detect cat_1080p.jpg' },
    ];
  }
  const out = [];
  for (const s of readSamples()) {
    for (const route of ['classify', 'detect']) out.push({ path: `/v1/${route}`, body: Buffer.from(s.bytes), name: `${route} ${s.name}`, png: s.name.endsWith('.png') });
  }
  return out;
}

/** One autocannon run of `amount` requests cycling through `mix`; samples the workerd
 *  process RSS (every 100 ms) and the isolate's heap + backing stores (every 250 ms) meanwhile. */
async function phase(url, mix, amount, workerdPid, iso, label) {
  let next = 0;
  const non2xx = []; // the first few non-2xx answers, with their bodies
  let maxRss = 0;
  let maxIsolateHeap = 0; // JS heap total + ArrayBuffer backing stores, MiB
  const sampler = setInterval(() => {
    try {
      maxRss = Math.max(maxRss, procMem(workerdPid).rssMiB);
    } catch {
      // workerd gone: reported below
    }
  }, 100);
  let sampling = false;
  const heapSampler = iso && setInterval(() => {
    if (sampling) return;
    sampling = true;
    iso.heap().then((h) => { maxIsolateHeap = Math.max(maxIsolateHeap, h.totalMiB + h.backingStoreMiB); }, () => {}).finally(() => { sampling = false; });
  }, 250);
  const instance = autocannon({
    url,
    connections: opt.concurrency,
    amount,
    timeout: 120,
    requests: [{
      method: 'POST',
      setupRequest: (req) => {
        const m = mix[next++ % mix.length];
        return { ...req, method: 'POST', path: m.path, headers: { 'content-type': m.png ? 'image/png' : 'image/jpeg' }, body: m.body };
      },
      onResponse: (status, body) => {
        if ((status < 200 || status > 299) && non2xx.length < 20) non2xx.push(`${status} ${String(body).slice(0, 300)}`);
      },
    }],
  });
  const guard = setTimeout(() => {
    log(`${label}: still running after ${opt.maxMinutes} min, stopping`);
    instance.stop();
  }, opt.maxMinutes * 60_000);
  const result = await instance;
  clearTimeout(guard);
  clearInterval(sampler);
  if (heapSampler) clearInterval(heapSampler);
  // at the end of the phase: heap first (wasm() makes V8 collect garbage)
  const heapAfter = iso ? await iso.heap() : null;
  const wasmAfter = iso ? await iso.wasm() : null;
  const liveAfterGc = iso ? await iso.heap() : null; // what survives a full GC: the retained set
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    label,
    requests: total,
    seconds: result.duration,
    throughputRps: total / result.duration,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    mem: procMem(workerdPid),
    maxSampledRssMiB: maxRss,
    non2xx,
    isolate: iso ? { heapAfter, wasmAfter, liveAfterGc, maxHeapPlusBackingMiB: maxIsolateHeap, peakEstimateMiB: maxIsolateHeap + wasmAfter.totalMiB } : null,
  };
}

function printPhase(p) {
  log(`${p.label}: ${p.requests} requests in ${p.seconds.toFixed(1)} s = ${p.throughputRps.toFixed(1)} req/s; ` +
    `latency p50 ${p.latencyMs.p50} ms, p90 ${p.latencyMs.p90} ms, p99 ${p.latencyMs.p99} ms, max ${p.latencyMs.max} ms; ` +
    `statuses ${JSON.stringify(p.statuses)}, transport errors ${p.errors}, timeouts ${p.timeouts}`);
  log(`  workerd process after: ${fmtMiB(p.mem)} (max sampled RSS during the phase ${p.maxSampledRssMiB.toFixed(1)} MiB)`);
  if (p.isolate) {
    log(`  isolate after: ${fmtIsolate(p.isolate.heapAfter, p.isolate.wasmAfter)}`);
    log(`  isolate live set after a full GC: JS heap ${p.isolate.liveAfterGc.usedMiB.toFixed(1)} MiB used, backing stores ${p.isolate.liveAfterGc.backingStoreMiB.toFixed(1)} MiB, wasm ${p.isolate.wasmAfter.totalMiB.toFixed(1)} MiB`);
    log(`  isolate peak (sampled JS heap + backing stores ${p.isolate.maxHeapPlusBackingMiB.toFixed(1)} MiB + wasm ${p.isolate.wasmAfter.totalMiB.toFixed(1)} MiB): ${p.isolate.peakEstimateMiB.toFixed(1)} MiB`);
  }
}

async function main() {
  requireBuild();
  const mix = requestMix();
  const state = tempState('load');
  let server;
  try {
    seedModels(state);
    server = await startDevServer({ persistTo: state, echo: opt.verbose });
    const before = procMem(server.workerdPid);
    const iso = await inspectIsolate(server).catch((e) => {
      log(`(no isolate measurements: ${e.message})`);
      return null;
    });
    const isoBefore = iso ? { heap: await iso.heap(), wasm: await iso.wasm() } : null;
    log(`wrangler dev on ${server.url}, workerd pid ${server.workerdPid}; ${opt.requests} requests at concurrency ${opt.concurrency}, ` +
      `${mix.length} request kinds${opt.memoryCeiling ? ' (memory ceiling: cat_1080p.jpg, classify + detect)' : ' (every sample x classify/detect)'}`);
    log(`before: workerd process ${fmtMiB(before)}${isoBefore ? `; isolate ${fmtIsolate(isoBefore.heap, isoBefore.wasm)}` : ''}`);
    const phases = [];
    if (opt.memoryCeiling) {
      phases.push(await phase(server.url, mix, opt.requests, server.workerdPid, iso, `all ${opt.requests}`));
    } else {
      // --phases equal parts (default 2: "the first 1000" and "the last 1000")
      let done = 0;
      for (let k = 0; k < opt.phases; k++) {
        const n = Math.floor((opt.requests * (k + 1)) / opt.phases) - done;
        const label = opt.phases === 2 ? (k === 0 ? `first ${n}` : `last ${n}`) : `requests ${done + 1}-${done + n}`;
        if (k > 0) {
          // Let the idle keep-alive connections between wrangler's proxy and the Worker
          // close first: a request sent on one just as it closes gets a 503 "Your worker
          // restarted mid-request" from the proxy (a dev-proxy race, not the Worker).
          await new Promise((r) => setTimeout(r, opt.pauseSeconds * 1000));
        }
        phases.push(await phase(server.url, mix, n, server.workerdPid, iso, label));
        if (k < opt.phases - 1) printPhase(phases[k]);
        done += n;
      }
    }
    printPhase(phases[phases.length - 1]);
    const sameWorkerd = server.sameWorkerd();
    const proxyMem = server.proxyWorkerdPid ? procMem(server.proxyWorkerdPid) : null;
    iso?.close();
    await server.stop();

    const statuses = {};
    for (const p of phases) for (const [k, v] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    const total = phases.reduce((n, p) => n + p.requests, 0);
    const seconds = phases.reduce((n, p) => n + p.seconds, 0);
    const fivexx = Object.entries(statuses).filter(([k]) => Number(k) >= 500).reduce((n, [, v]) => n + v, 0);
    const errors = phases.reduce((n, p) => n + p.errors + p.timeouts, 0);
    const peak = Math.max(...phases.map((p) => p.mem.hwmMiB));
    const summary = {
      mode: opt.memoryCeiling ? 'memory-ceiling' : 'load', requests: total, concurrency: opt.concurrency, seconds,
      throughputRps: total / seconds, statuses, fivexx, transportErrorsAndTimeouts: errors,
      memoryMiB: {
        before, phases: phases.map((p) => ({ label: p.label, ...p.mem, maxSampledRssMiB: p.maxSampledRssMiB })), peakHwm: peak,
        isolateBefore: isoBefore, isolatePeakEstimate: Math.max(0, ...phases.map((p) => p.isolate?.peakEstimateMiB ?? 0)), wranglerProxyWorkerd: proxyMem,
      },
      phases,
    };
    log(`total: ${total} requests in ${seconds.toFixed(1)} s = ${(total / seconds).toFixed(1)} req/s; statuses ${JSON.stringify(statuses)}; ` +
      `5xx ${fivexx}; transport errors + timeouts ${errors}`);
    log(`workerd process memory: before ${fmtMiB(before)}; ${phases.map((p) => `after ${p.label}: ${fmtMiB(p.mem)}`).join('; ')}`);
    if (iso) {
      log(`isolate memory: before ${fmtIsolate(isoBefore.heap, isoBefore.wasm)}; ${phases.map((p) => `after ${p.label}: ${fmtIsolate(p.isolate.heapAfter, p.isolate.wasmAfter)}`).join('; ')}`);
    }
    log(`(wrangler's proxy workerd, not the Worker: ${fmtMiB(proxyMem)})`);
    if (opt.memoryCeiling) {
      const isoPeak = summary.memoryMiB.isolatePeakEstimate;
      log(`memory ceiling vs the 128 MB (${MIB_128MB.toFixed(1)} MiB) isolate limit: isolate peak ${iso ? `${isoPeak.toFixed(1)} MiB` : 'not measured'} ` +
        `(JS heap + ArrayBuffer backing stores sampled every 250 ms + wasm memories); workerd process peak (VmHWM) ${peak.toFixed(1)} MiB, ` +
        `of which ${before.rssMiB.toFixed(1)} MiB before the first request (runtime, bundle, local KV)`);
    } else if (phases.length >= 2) {
      const a = phases[0];
      const b = phases[phases.length - 1];
      log(`memory from the end of the first to the end of the last phase: workerd process RSS ${a.mem.rssMiB.toFixed(1)} -> ${b.mem.rssMiB.toFixed(1)} MiB, ` +
        `peak ${a.mem.hwmMiB.toFixed(1)} -> ${b.mem.hwmMiB.toFixed(1)} MiB` +
        (iso ? `; isolate live set after GC (JS heap used + backing stores + wasm) ${(a.isolate.liveAfterGc.usedMiB + a.isolate.liveAfterGc.backingStoreMiB + a.isolate.wasmAfter.totalMiB).toFixed(1)} -> ` +
          `${(b.isolate.liveAfterGc.usedMiB + b.isolate.liveAfterGc.backingStoreMiB + b.isolate.wasmAfter.totalMiB).toFixed(1)} MiB` : ''));
    }
    const failures = [];
    if (fivexx > 0) failures.push(`${fivexx} 5xx answers`);
    if (errors > 0) failures.push(`${errors} transport errors/timeouts`);
    if (total < opt.requests) failures.push(`only ${total} of ${opt.requests} requests completed`);
    if (!sameWorkerd) failures.push('workerd exited or was restarted during the run');
    for (const l of uncaughtLines(server.output)) failures.push(`worker log: ${l}`);
    for (const p of phases) for (const a of p.non2xx) failures.push(`${p.label}: ${a}`);
    if (fivexx > 0) {
      const errs = server.output.filter((l) => /ERROR|\b5\d\d\b/.test(l)).slice(0, 20);
      if (errs.length > 0) log(`worker log lines about the 5xx:\n  ${errs.join('\n  ')}`);
    }
    summary.failures = failures;
    if (opt.json) writeFileSync(opt.json, JSON.stringify(summary, null, 2));
    reportFailures(log, failures, 'OK: 0 5xx, 0 transport errors', 20);
  } finally {
    await server?.stop();
    rmState(state);
  }
}

runMain('load', main);
