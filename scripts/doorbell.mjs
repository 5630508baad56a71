#!/usr/bin/env node
// A doorbell camera against edgelens: sends the images of a folder (sorted, .jpg/.jpeg/.png)
// as frames at a fixed rate to /v1/detect (or /v1/classify), with bounded concurrency,
// a live progress line, a per-frame summary table, aggregate stats and an optional JSON report.
//
//   npm run doorbell -- <folder> [--url http://localhost:8787] [--fps 2] [--endpoint detect|classify]
//                       [--mode full|adaptive] [--loop N] [--report out.json] [options]
//
// Exit codes: 0 every frame answered 2xx; 1 some frames failed (HTTP error, timeout, network);
// 2 bad arguments or no images; 3 the server is unreachable.
// Plain Node (>= 20) ESM, no dependencies.

import { readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

const USAGE = `usage: npm run doorbell -- <folder of images> [options]

  --url <base>          server (default http://localhost:8787)
  --fps <n>             frames per second sent, as a camera would (default 2)
  --endpoint <e>        detect | classify (default detect)
  --mode <m>            full | adaptive (default full)
  --loop <n>            send the folder n times (default 1)
  --report <file>       write a JSON report
  --concurrency <n>     requests in flight at most (default 4)
  --drop                drop a frame when all slots are busy (a real camera) instead of waiting
  --model <id>          model id (default: the server's default for the endpoint)
  --threshold <x>       detect threshold 0..1 (default: the server's, 0.5)
  --top <n>             classify: classes returned (default 1)
  --ladder <id>         adaptive: the ladder of models (default: the server's, GET /v1/ladders)
  --confidence <x>      adaptive: confidence to stop early (default: the server's)
  --stream <id>         adaptive: a camera stream id, so the server carries the cascade over frames
  --timeout <ms>        per-request timeout (default 30000)
  -h, --help            this help

Exit codes: 0 all frames OK, 1 some frames failed, 2 bad arguments, 3 server unreachable.`;

const EXTS = new Set(['.jpg', '.jpeg', '.png']);
const TYPES = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png' };
const STAGES = ['read', 'decode', 'preprocess', 'model', 'inference'];

// ---------------------------------------------------------------- arguments

function usageError(msg) {
  console.error(`doorbell: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    folder: undefined, url: 'http://localhost:8787', fps: 2, endpoint: 'detect', mode: 'full', loop: 1,
    report: undefined, concurrency: 4, drop: false, model: undefined, threshold: undefined, top: 1,
    confidence: undefined, ladder: undefined, stream: undefined, timeout: 30_000,
  };
  const num = (flag, v, { min, max, int } = {}) => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) ||
      (min !== undefined && n < min) || (max !== undefined && n > max)) {
      usageError(`${flag} needs ${int ? 'an integer' : 'a number'}${min !== undefined ? ` >= ${min}` : ''}${max !== undefined ? ` <= ${max}` : ''}, got ${v ?? 'nothing'}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) usageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      case '--url': o.url = value(); break;
      case '--fps': o.fps = num(flag, value(), { min: 0.01, max: 1000 }); break;
      case '--endpoint': o.endpoint = value(); break;
      case '--mode': o.mode = value(); break;
      case '--loop': o.loop = num(flag, value(), { min: 1, int: true }); break;
      case '--report': o.report = value(); break;
      case '--concurrency': o.concurrency = num(flag, value(), { min: 1, max: 256, int: true }); break;
      case '--drop': o.drop = true; break;
      case '--model': o.model = value(); break;
      case '--threshold': o.threshold = num(flag, value(), { min: 0, max: 1 }); break;
      case '--top': o.top = num(flag, value(), { min: 1, max: 1000, int: true }); break;
      case '--confidence': o.confidence = num(flag, value(), { min: 0, max: 1 }); break;
      case '--ladder': o.ladder = value(); break;
      case '--stream': o.stream = value(); break;
      case '--timeout': o.timeout = num(flag, value(), { min: 1, int: true }); break;
      default:
        if (flag.startsWith('-')) usageError(`unknown option ${flag}`);
        if (o.folder !== undefined) usageError(`one folder only (got ${o.folder} and ${a})`);
        o.folder = a;
    }
  }
  if (o.folder === undefined) usageError('no folder of images given');
  if (o.endpoint !== 'detect' && o.endpoint !== 'classify') usageError(`--endpoint must be detect or classify, got ${o.endpoint}`);
  if (o.mode !== 'full' && o.mode !== 'adaptive') usageError(`--mode must be full or adaptive, got ${o.mode}`);
  if (o.mode === 'adaptive' && o.model !== undefined) usageError('--mode adaptive runs a ladder of models: use --ladder, not --model');
  if (o.mode !== 'adaptive') {
    for (const k of ['ladder', 'confidence', 'stream']) if (o[k] !== undefined) usageError(`--${k} needs --mode adaptive`);
  }
  try {
    const u = new URL(o.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    o.url = u.href.replace(/\/+$/, '');
  } catch {
    usageError(`--url must be an http(s) URL, got ${o.url}`);
  }
  return o;
}

// ---------------------------------------------------------------- helpers

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}

const fmtMs = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v < 10 ? v.toFixed(1) : String(Math.round(v)));
const round2 = (v) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);

function latencyStats(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return { count: 0, min: null, p50: null, p95: null, p99: null, max: null, mean: null };
  return {
    count: s.length, min: round2(s[0]), p50: round2(percentile(s, 50)), p95: round2(percentile(s, 95)),
    p99: round2(percentile(s, 99)), max: round2(s[s.length - 1]), mean: round2(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

function countBy(items, key) {
  const out = {};
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1;
  return out;
}

/** Frames sent per second between the first and the last frame sent. */
function achievedFps(frames) {
  const t = frames.map((f) => f.sentMs).filter((v) => typeof v === 'number');
  if (t.length < 2) return null;
  const span = (t[t.length - 1] - t[0]) / 1000;
  return span > 0 ? round2((t.length - 1) / span) : null;
}

function table(headers, rows, rightAligned = new Set()) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (rightAligned.has(i) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function errorText(e) {
  const c = e?.cause;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  if (c?.code) return `${c.code}${c.address ? ` ${c.address}:${c.port}` : ''}`;
  return c?.message ?? e?.message ?? String(e);
}

// ---------------------------------------------------------------- main

async function listImages(folder) {
  let names;
  try {
    names = await readdir(folder, { withFileTypes: true });
  } catch (e) {
    usageError(`cannot read folder ${folder}: ${e.code ?? e.message}`);
  }
  const files = names
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && EXTS.has(extname(d.name).toLowerCase()))
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) usageError(`no .jpg, .jpeg or .png files in ${folder}`);
  return files.map((f) => join(folder, f));
}

async function checkServer(o) {
  try {
    const res = await fetch(`${o.url}/healthz`, { signal: AbortSignal.timeout(o.timeout) });
    await res.arrayBuffer().catch(() => {});
    return null;
  } catch (e) {
    return errorText(e);
  }
}

function requestUrl(o) {
  const q = new URLSearchParams();
  if (o.model) q.set('model', o.model);
  if (o.endpoint === 'detect' && o.threshold !== undefined) q.set('threshold', String(o.threshold));
  if (o.endpoint === 'classify') q.set('top', String(o.top));
  if (o.mode === 'adaptive') {
    q.set('mode', 'adaptive');
    if (o.ladder !== undefined) q.set('ladder', o.ladder);
    if (o.confidence !== undefined) q.set('confidence', String(o.confidence));
    if (o.stream !== undefined) q.set('stream', o.stream);
  }
  const qs = q.toString();
  return `${o.url}/v1/${o.endpoint}${qs ? `?${qs}` : ''}`;
}

/** One frame: POST the bytes, time the round trip, keep what the summary needs. */
async function sendFrame(o, url, frame) {
  const t0 = performance.now();
  frame.sentAt = new Date().toISOString();
  try {
    const bytes = await readFile(frame.path);
    const res = await fetch(url, {
      method: 'POST', body: bytes, headers: { 'content-type': TYPES[extname(frame.path).toLowerCase()] },
      signal: AbortSignal.timeout(o.timeout),
    });
    const text = await res.text();
    frame.latencyMs = performance.now() - t0;
    frame.status = res.status;
    let body = null;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    if (!res.ok) {
      frame.error = body?.error?.message ?? `HTTP ${res.status}${text ? `: ${text.slice(0, 120)}` : ''}`;
      frame.errorCode = body?.error?.code ?? null;
      return;
    }
    if (body === null) {
      frame.error = 'the reply is not JSON';
      return;
    }
    frame.cache = body.cache ?? null;
    frame.timings = body.timings_ms ?? null;
    frame.serverMs = typeof body.timings_ms?.total === 'number' ? body.timings_ms.total : null;
    frame.model = body.model ? `${body.model.id}@${body.model.version}` : null;
    if (body.person) frame.person = { detected: !!body.person.detected, score: body.person.score };
    if (Array.isArray(body.predictions)) frame.top1 = body.predictions[0] ? { label: body.predictions[0].label, score: body.predictions[0].score } : null;
    if (Array.isArray(body.stages)) frame.stages = body.stages.length;
    if (body.stop && typeof body.stop === 'object') frame.stop = { stage: body.stop.stage, model: body.stop.model, reason: body.stop.reason };
    if (body.macs && typeof body.macs === 'object') frame.macs = { used: body.macs.used, full: body.macs.full };
  } catch (e) {
    frame.latencyMs = performance.now() - t0;
    frame.status = 0;
    frame.error = errorText(e);
    frame.network = e?.name !== 'TimeoutError' && e?.name !== 'AbortError';
  }
}

const clip = (t, n) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

function resultText(f, width = 72) {
  if (f.dropped) return 'dropped (all slots busy)';
  if (f.error) return clip(`${f.errorCode ? `${f.errorCode}: ` : ''}${f.error}`, width);
  const via = f.stop?.model ? ` (${f.stop.model})` : '';
  if (f.person) return `${f.person.detected ? 'PERSON' : 'no person'} ${f.person.score.toFixed(3)}${via}`;
  if (f.top1) return clip(`${f.top1.label} ${f.top1.score.toFixed(3)}${via}`, width);
  return f.status ? 'ok' : '-';
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const files = await listImages(resolve(o.folder));
  const url = requestUrl(o);
  const tty = process.stdout.isTTY === true;

  const unreachable = await checkServer(o);
  if (unreachable !== null) {
    console.error(`doorbell: cannot reach ${o.url} (${unreachable}). Is the server running? (npm run dev)`);
    process.exit(3);
  }

  const total = files.length * o.loop;
  console.log(`doorbell: ${files.length} image${files.length === 1 ? '' : 's'} x ${o.loop} = ${total} frames at ${o.fps} fps -> POST ${url}` +
    ` (concurrency ${o.concurrency}${o.drop ? ', dropping frames when busy' : ''})`);

  const frames = [];
  let inflight = 0, sent = 0, done = 0, persons = 0, errors = 0, dropped = 0, stopping = false;
  const waiters = [];
  const latencies = [];
  const started = performance.now();
  const startedAt = new Date().toISOString();

  const progress = () => {
    const s = [...latencies].sort((a, b) => a - b);
    const line = `frames ${sent}/${total} sent, ${done} done | persons ${persons} | p50 ${fmtMs(percentile(s, 50))} ms p95 ${fmtMs(percentile(s, 95))} ms | errors ${errors}${dropped ? ` | dropped ${dropped}` : ''}`;
    if (tty) process.stdout.write(`\r\x1b[2K${clip(line, Math.max(20, (process.stdout.columns || 120) - 1))}`);
    return line;
  };
  const slotFree = () => new Promise((r) => waiters.push(r));
  const release = () => { inflight--; waiters.shift()?.(); };

  const onSigint = () => {
    if (stopping) process.exit(130);
    stopping = true;
    if (tty) process.stdout.write('\n');
    console.log('doorbell: interrupted, waiting for the frames in flight (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);

  const pending = [];
  const interval = 1000 / o.fps;
  for (let n = 0; n < total && !stopping; n++) {
    const path = files[n % files.length];
    const frame = { n: n + 1, file: basename(path), path, pass: Math.floor(n / files.length) + 1, status: null, latencyMs: null };
    frames.push(frame);
    const due = started + n * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (stopping) { frames.pop(); break; }
    if (inflight >= o.concurrency) {
      if (o.drop) {
        frame.dropped = true;
        dropped++;
        if (tty) progress(); else console.log(`[${frame.n}/${total}] ${frame.file} dropped: ${o.concurrency} requests in flight`);
        continue;
      }
      while (inflight >= o.concurrency) await slotFree();
    }
    inflight++;
    sent++;
    frame.lateMs = Math.max(0, performance.now() - due);
    frame.sentMs = performance.now() - started;
    if (tty) progress();
    pending.push(sendFrame(o, url, frame).then(() => {
      done++;
      if (frame.error) errors++;
      else if (Number.isFinite(frame.latencyMs)) latencies.push(frame.latencyMs);
      if (frame.person?.detected) persons++;
      if (tty) progress();
      else {
        console.log(`[${frame.n}/${total}] ${frame.file} ${frame.status || 'ERR'} ${resultText(frame)} ${fmtMs(frame.latencyMs)} ms${frame.cache ? ` ${frame.cache}` : ''}`);
      }
      release();
    }));
  }
  await Promise.all(pending);
  const wallMs = performance.now() - started;
  if (tty) process.stdout.write('\n');
  process.removeListener('SIGINT', onSigint);

  // ------------------------------------------------------------ summary
  const MAX_ROWS = 200;
  const rows = frames.map((f) => [
    f.n, f.file, f.dropped ? '-' : f.status || 'ERR', resultText(f), fmtMs(f.latencyMs), fmtMs(f.serverMs), f.cache ?? '-',
  ]);
  const shown = rows.length > MAX_ROWS ? rows.slice(-MAX_ROWS) : rows;
  console.log('');
  if (rows.length > MAX_ROWS) console.log(`(the last ${MAX_ROWS} of ${rows.length} frames; --report has them all)`);
  console.log(table(['#', 'file', 'status', o.endpoint === 'detect' ? 'person / score' : 'top-1 / score', 'latency ms', 'server ms', 'cache'],
    shown, new Set([0, 4, 5])));

  const okFrames = frames.filter((f) => !f.dropped && !f.error && f.status);
  const lat = latencyStats(okFrames.map((f) => f.latencyMs));
  const server = latencyStats(okFrames.map((f) => f.serverMs).filter((v) => v !== null));
  const stageMeans = {};
  for (const s of STAGES) {
    const v = okFrames.map((f) => f.timings?.[s]).filter((x) => typeof x === 'number');
    stageMeans[s] = v.length ? round2(v.reduce((a, b) => a + b, 0) / v.length) : null;
  }
  const byStatus = {};
  for (const f of frames) if (!f.dropped) byStatus[f.status || 'network'] = (byStatus[f.status || 'network'] ?? 0) + 1;
  const macsFrames = okFrames.filter((f) => f.macs && f.macs.full > 0);
  const stats = {
    frames: frames.length, sent, ok: okFrames.length, errors, dropped,
    persons: o.endpoint === 'detect' ? persons : undefined,
    byStatus,
    cache: { hit: okFrames.filter((f) => f.cache === 'hit').length, miss: okFrames.filter((f) => f.cache === 'miss').length },
    wallSeconds: round2(wallMs / 1000),
    achievedFps: achievedFps(frames),
    maxLateMs: round2(Math.max(0, ...frames.map((f) => f.lateMs ?? 0))),
    latencyMs: lat,
    serverMs: server,
    stageMeanMs: stageMeans,
    stops: o.mode === 'adaptive' ? countBy(okFrames.filter((f) => f.stop), (f) => f.stop.model) : undefined,
    macsUsedFraction: macsFrames.length ? round2(macsFrames.reduce((a, f) => a + f.macs.used / f.macs.full, 0) / macsFrames.length) : undefined,
  };

  console.log('');
  const agg = [
    ['frames', `${stats.frames} (${stats.ok} ok, ${stats.errors} errors${dropped ? `, ${dropped} dropped` : ''})`],
    ...(o.endpoint === 'detect' ? [['persons seen', String(persons)]] : []),
    ['statuses', Object.entries(byStatus).map(([k, v]) => `${k}: ${v}`).join(', ') || '-'],
    ['rate', `${stats.achievedFps ?? '-'} fps achieved of ${o.fps} asked, ${stats.wallSeconds} s${stats.maxLateMs > 50 ? `, frames up to ${fmtMs(stats.maxLateMs)} ms late` : ''}`],
    ['latency ms', lat.count ? `min ${fmtMs(lat.min)}  p50 ${fmtMs(lat.p50)}  p95 ${fmtMs(lat.p95)}  p99 ${fmtMs(lat.p99)}  max ${fmtMs(lat.max)}  mean ${fmtMs(lat.mean)}` : '-'],
    ['server ms', server.count ? `p50 ${fmtMs(server.p50)}  p95 ${fmtMs(server.p95)}  mean ${fmtMs(server.mean)}` : '-'],
    ['stage means ms', STAGES.map((s) => `${s} ${fmtMs(stageMeans[s])}`).join('  ')],
    ['model cache', `${stats.cache.hit} hit, ${stats.cache.miss} miss`],
    ...(o.mode === 'adaptive' ? [['adaptive', [
      stats.stops && Object.keys(stats.stops).length ? `stopped at ${Object.entries(stats.stops).map(([m, c]) => `${m} ${c}`).join(', ')}` : 'no stages in the replies',
      stats.macsUsedFraction !== undefined ? `MACs used ${Math.round(stats.macsUsedFraction * 100)}% of the full model's on average` : '',
    ].filter(Boolean).join('; ')]] : []),
  ];
  const kw = Math.max(...agg.map(([k]) => k.length));
  for (const [k, v] of agg) console.log(`${k.padEnd(kw)}  ${v}`);

  if (o.report) {
    const report = {
      url, endpoint: o.endpoint, mode: o.mode, fps: o.fps, loop: o.loop, concurrency: o.concurrency, drop: o.drop,
      folder: resolve(o.folder), startedAt, finishedAt: new Date().toISOString(), interrupted: stopping,
      stats,
      frames: frames.map(({ path, ...f }) => ({
        ...f, latencyMs: round2(f.latencyMs), lateMs: round2(f.lateMs), sentMs: round2(f.sentMs),
      })),
    };
    try {
      await writeFile(o.report, JSON.stringify(report, null, 2) + '\n');
      console.log(`report: ${o.report}`);
    } catch (e) {
      console.error(`doorbell: cannot write ${o.report}: ${e.message}`);
      process.exitCode = 1;
    }
  }

  const networkFailures = frames.filter((f) => f.network).length;
  if (sent > 0 && networkFailures === sent) {
    console.error(`doorbell: every frame failed to reach ${o.url}`);
    process.exit(3);
  }
  if (stopping) process.exit(130);
  process.exit(errors > 0 || process.exitCode === 1 ? 1 : 0);
}

await main();
