#!/usr/bin/env node
// npm run load: a bounded load test of the real Worker under `wrangler dev` (workerd, a fresh
// local KV seeded with the default models like `npm run dev`), driven from this process over
// loopback with autocannon.
//
//   node scripts/load.mjs [--requests 2000] [--concurrency 32] [--json <file>]
//   node scripts/load.mjs --memory-ceiling [--requests 400] [--concurrency 8]
//
// Default mode: `--requests` requests (two halves of requests/2) at `--concurrency`
// connections, cycling through every sample image in ../shared/images/samples x
// {POST /v1/classify (mobilenet_v2), POST /v1/detect (person)}. Reports throughput, p50/p99
// latency, errors by status, and the workerd process's memory (VmRSS and VmHWM from
// /proc/<pid>/status; the pid is found in wrangler's process tree) before the load, after
// the first half and after the second half (flat = no growth).
//
// --memory-ceiling: cat_1080p.jpg only, both default models (classify and detect
// alternating), --concurrency 8; samples VmRSS every 100 ms and reports the peak
// (VmHWM) against the 128 MB isolate limit. See README "Hardening" for the budget.
//
// Exit code 1 on any 5xx, transport error or timeout. Bounded: a fixed number of
// requests, a 120 s per-request timeout, and the whole run is stopped after --max-minutes.
import autocannon from 'autocannon';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SAMPLES_DIR, fmtMiB, parseArgs, procMem, readSamples, requireBuild, rmState, seedModels, startDevServer,
  tempState, uncaughtLines,
} from './hardening-lib.mjs';

const opt = parseArgs(process.argv.slice(2), {
  requests: 0, concurrency: 0, memoryCeiling: false, maxMinutes: 30, json: '', verbose: false,
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

/** One autocannon run of `amount` requests cycling through `mix`; samples workerd RSS meanwhile. */
async function phase(url, mix, amount, workerdPid, label) {
  let next = 0;
  let maxRss = 0;
  const sampler = setInterval(() => {
    try {
      maxRss = Math.max(maxRss, procMem(workerdPid).rssMiB);
    } catch {
      // workerd gone: reported below
    }
  }, 100);
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
    }],
  });
  const guard = setTimeout(() => {
    log(`${label}: still running after ${opt.maxMinutes} min, stopping`);
    instance.stop();
  }, opt.maxMinutes * 60_000);
  const result = await instance;
  clearTimeout(guard);
  clearInterval(sampler);
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
  };
}

function printPhase(p) {
  log(`${p.label}: ${p.requests} requests in ${p.seconds.toFixed(1)} s = ${p.throughputRps.toFixed(1)} req/s; ` +
    `latency p50 ${p.latencyMs.p50} ms, p90 ${p.latencyMs.p90} ms, p99 ${p.latencyMs.p99} ms, max ${p.latencyMs.max} ms; ` +
    `statuses ${JSON.stringify(p.statuses)}, transport errors ${p.errors}, timeouts ${p.timeouts}`);
  log(`  workerd after: ${fmtMiB(p.mem)} (max sampled RSS during the phase ${p.maxSampledRssMiB.toFixed(1)} MiB)`);
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
    log(`wrangler dev on ${server.url}, workerd pid ${server.workerdPid}; ${opt.requests} requests at concurrency ${opt.concurrency}, ` +
      `${mix.length} request kinds${opt.memoryCeiling ? ' (memory ceiling: cat_1080p.jpg, classify + detect)' : ' (every sample x classify/detect)'}`);
    log(`before: ${fmtMiB(before)}`);
    const phases = [];
    if (opt.memoryCeiling) {
      phases.push(await phase(server.url, mix, opt.requests, server.workerdPid, `all ${opt.requests}`));
    } else {
      const half = Math.floor(opt.requests / 2);
      phases.push(await phase(server.url, mix, half, server.workerdPid, `first ${half}`));
      printPhase(phases[0]);
      phases.push(await phase(server.url, mix, opt.requests - half, server.workerdPid, `last ${opt.requests - half}`));
    }
    printPhase(phases[phases.length - 1]);
    const sameWorkerd = server.sameWorkerd();
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
      memoryMiB: { before, phases: phases.map((p) => ({ label: p.label, ...p.mem, maxSampledRssMiB: p.maxSampledRssMiB })), peakHwm: peak },
      phases,
    };
    log(`total: ${total} requests in ${seconds.toFixed(1)} s = ${(total / seconds).toFixed(1)} req/s; statuses ${JSON.stringify(statuses)}; ` +
      `5xx ${fivexx}; transport errors + timeouts ${errors}`);
    log(`workerd memory: before ${fmtMiB(before)}; ${phases.map((p) => `after ${p.label}: ${fmtMiB(p.mem)}`).join('; ')}`);
    if (opt.memoryCeiling) {
      log(`memory ceiling: process peak ${peak.toFixed(1)} MiB (${((peak * 2 ** 20) / 1e6).toFixed(1)} MB) vs the 128 MB isolate limit ` +
        `(${MIB_128MB.toFixed(1)} MiB); growth over the idle process (runtime + loaded script) ${(peak - before.rssMiB).toFixed(1)} MiB`);
    } else if (phases.length === 2) {
      log(`memory growth from the first to the second half: RSS ${(phases[1].mem.rssMiB - phases[0].mem.rssMiB).toFixed(1)} MiB, ` +
        `peak ${(phases[1].mem.hwmMiB - phases[0].mem.hwmMiB).toFixed(1)} MiB`);
    }
    const failures = [];
    if (fivexx > 0) failures.push(`${fivexx} 5xx answers`);
    if (errors > 0) failures.push(`${errors} transport errors/timeouts`);
    if (total < opt.requests) failures.push(`only ${total} of ${opt.requests} requests completed`);
    if (!sameWorkerd) failures.push('workerd exited or was restarted during the run');
    for (const l of uncaughtLines(server.output)) failures.push(`worker log: ${l}`);
    summary.failures = failures;
    if (opt.json) writeFileSync(opt.json, JSON.stringify(summary, null, 2));
    if (failures.length > 0) {
      log(`FAILED: ${failures.slice(0, 20).join('; ')}`);
      process.exitCode = 1;
    } else {
      log('OK: 0 5xx, 0 transport errors');
    }
  } finally {
    await server?.stop();
    rmState(state);
  }
}

main().catch((e) => {
  console.error(`load: ${e.stack ?? e}`);
  process.exitCode = 1;
});
