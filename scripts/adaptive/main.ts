// npm run calibrate      fits every ladder stage's calibration on the labelled data and writes
//                        it into models/ladders.json (with its cross-validated figures)
// npm run eval:adaptive  cascade vs the largest model alone: accuracy, MACs, ms, where requests stop
//
// Both run the Worker's cascade code (src/adaptive/) in Node: the same engine, image pipeline,
// stage interpretation, calibration and stopping rule. Stage outputs are computed once per
// (image, model) (5 runs each, checked identical) and served to the cascade from
// memory, so sweeping settings and cross-validation folds is cheap. Stage ms = the fastest of
// the runs (2 shared cores: medians move with whatever else runs on the machine).
//
// Options: --runs N (runs per image and model, default 5), --json <file> (eval: where the
// full results go, default build/adaptive/eval.json; the tables also go to eval.md beside it),
// --task detect|classify (only one task),
// --force (calibrate even when the outputs look broken: constant, or no better than chance).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IDENTITY, type Calibration } from '../../src/adaptive/calibration';
import { CostModel, interpretStage, runCascade, type CascadeResult, type StageExecution, type StagePlan } from '../../src/adaptive/cascade';
import { crossValidate, FITTERS, stratifiedFolds, type CvSummary } from '../../src/adaptive/fit';
import { parseLadders, type LadderDef, type LadderTask } from '../../src/adaptive/ladder';
import { executeAll, imagenetSet, personSet, ROOT } from './data';

const LADDERS_FILE = join(ROOT, 'models', 'ladders.json');
const K = 5;
const REPEATS = 10;
/** The three settings of the headline tables (the sweep covers more). */
const HEADLINE: Record<LadderTask, number[]> = { detect: [0.75, 0.9, 0.95], classify: [0.5, 0.8, 0.95] };
const SWEEP: Record<LadderTask, number[]> = {
  detect: [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99],
  classify: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
};

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(flag('--runs') ?? 5);
const ONLY_TASK = flag('--task') as LadderTask | undefined;

const log = (s: string) => console.error(s);
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const sig6 = (x: number) => Number(x.toPrecision(6));
const pct = (x: number, d = 1) => (100 * x).toFixed(d);
const mmacs = (x: number) => (x / 1e6).toFixed(1);

interface TaskData {
  task: LadderTask;
  files: string[];
  /** detect: person label; classify: the ImageNet index */
  truth: number[];
  execs: Map<string, StageExecution[]>;
  /** per model: log-odds z and raw score (uncalibrated) per image, and the calibration target y */
  signal: Map<string, { z: number[]; raw: number[]; y: number[] }>;
  describe: string;
  decoder: string;
}

async function taskData(task: LadderTask, ladders: LadderDef[]): Promise<TaskData> {
  const models = [...new Set(ladders.filter((l) => l.task === task).flatMap((l) => l.stages.map((s) => s.model)))];
  const items = task === 'detect' ? personSet() : imagenetSet();
  const files = items.map((i) => i.file);
  const truth = items.map((i) => ('person' in i ? i.person : i.index));
  log(`${task}: ${files.length} labelled images x ${models.length} models (${models.join(', ')}), ${RUNS} runs each`);
  const { byModel, decoder } = await executeAll(files, models, RUNS, log);
  const signal = new Map<string, { z: number[]; raw: number[]; y: number[] }>();
  for (const m of models) {
    const z: number[] = [], raw: number[] = [], y: number[] = [];
    byModel.get(m)!.forEach((ex, i) => {
      const v = interpretStage(task, ex.manifest, ex.outputs, IDENTITY);
      z.push(v.z);
      raw.push(v.rawScore);
      y.push(task === 'detect' ? truth[i]! : v.top1!.index === truth[i] ? 1 : 0);
    });
    signal.set(m, { z, raw, y });
  }
  const describe = task === 'detect'
    ? `${files.length} photos: imagenet-dev/person.csv (96) + 15 labelled samples (README of ../shared/images); ${truth.filter((t) => t === 1).length} with a person`
    : `${files.length} photos of imagenet-dev/labels.csv (one ImageNet class each)`;
  return { task, files, truth, execs: byModel, signal, describe, decoder };
}

// ------------------------------------------------------------------ calibrate

/**
 * A broken build (engine, compiler or decoder out of step) produces constant or chance-level
 * outputs, and fitting on them would write nonsense into the recipes: refuse (unless --force).
 */
function sanityProblem(d: TaskData): string | null {
  for (const [model, ex] of d.execs) {
    const first = ex[0]!.outputs[0]!;
    if (ex.every((e) => e.outputs[0]!.every((v, j) => v === first[j]))) return `${model} gives the same output on every photo`;
  }
  const largest = [...d.execs.keys()].reduce((a, b) => (d.execs.get(b)![0]!.manifest.macs > d.execs.get(a)![0]!.manifest.macs ? b : a));
  const acc = aloneStats(d, largest).accuracy;
  const majority = d.task === 'detect' ? Math.max(...[0, 1].map((c) => d.truth.filter((t) => t === c).length / d.truth.length)) : 0.2;
  if (acc <= majority) return `${largest} alone scores ${pct(acc)}% on the labelled photos, no better than ${pct(majority)}`;
  return null;
}

/** JSON with 2-space indentation, but anything that fits in 100 characters on one line. */
function pretty(v: unknown, indent = ''): string {
  const flat = JSON.stringify(v);
  if (typeof v !== 'object' || v === null || flat.length + indent.length <= 100) return flat;
  const next = indent + '  ';
  if (Array.isArray(v)) return `[\n${v.map((x) => next + pretty(x, next)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return `{\n${entries.map(([k, x]) => `${next}${JSON.stringify(k)}: ${pretty(x, next)}`).join(',\n')}\n${indent}}`;
}

async function calibrateCmd(): Promise<void> {
  const doc = JSON.parse(readFileSync(LADDERS_FILE, 'utf8')) as { ladders: Record<string, unknown>[] };
  const ladders = parseLadders(doc);
  const tasks = (['detect', 'classify'] as const).filter((t) => (!ONLY_TASK || t === ONLY_TASK) && ladders.some((l) => l.task === t));
  const report: string[] = [];
  for (const task of tasks) {
    const d = await taskData(task, ladders);
    const problem = sanityProblem(d);
    if (problem && !args.includes('--force')) {
      throw new Error(`refusing to calibrate: ${problem}. Is the build consistent (npm run build, then node scripts/prepare-models.mjs --no-seed)? --force overrides.`);
    }
    report.push(`\n### ${task}: ${d.describe}\n`);
    report.push(`Target: ${task === 'detect' ? 'person present' : 'top-1 is the right class'}. Stratified ${K}-fold CV repeated ${REPEATS} times (seeds 1..${REPEATS}); mean (sd over repeats).\n`);
    report.push('| model | method | params | CV NLL | CV Brier | CV ECE | CV accuracy | chosen |');
    report.push('|---|---|---|---|---|---|---|---|');
    for (const [model, s] of d.signal) {
      const base = (_z: number, i: number) => s.raw[i]!;
      const cv: Record<string, CvSummary> = {};
      const full: Record<string, Calibration> = {};
      for (const method of ['none', 'temperature', 'platt'] as const) {
        cv[method] = crossValidate(s.z, s.y, FITTERS[method], K, REPEATS, base);
        full[method] = FITTERS[method](s.z, s.y);
      }
      const chosen = (['none', 'temperature', 'platt'] as const).reduce((a, b) => (cv[b]!.mean.nll < cv[a]!.mean.nll ? b : a));
      const ex0 = d.execs.get(model)![0]!;
      const [, h, w] = ex0.manifest.input.shape as number[];
      const params = (c: Calibration) => (c.method === 'platt' ? { a: sig6(c.a!), b: sig6(c.b!) } : c.method === 'temperature' ? { t: sig6(c.t!) } : {});
      const fig = (key: 'nll' | 'brier' | 'ece' | 'accuracy') => Object.fromEntries(Object.entries(cv).map(([m, c]) => [m, { mean: r4(c.mean[key]), sd: r4(c.sd[key]) }]));
      const calibration: Calibration = {
        method: chosen,
        ...params(full[chosen]!),
        fit: {
          source: ex0.manifest.source?.file,
          input: [h!, w!],
          target: task === 'detect' ? 'P(person)' : 'P(top-1 correct)',
          signal: task === 'detect' ? 'z = log P(person) - log P(no person), dequantized outputs (logits: l1 - l0)' : 'z = logit(top-1 probability)',
          data: d.describe,
          decode: d.decoder,
          n: s.y.length,
          positives: s.y.filter((v) => v === 1).length,
          chosen_by: `lowest mean NLL in stratified ${K}-fold cross-validation repeated ${REPEATS} times`,
          cv: { k: K, repeats: REPEATS, nll: fig('nll'), brier: fig('brier'), ece: fig('ece'), accuracy: fig('accuracy') },
          alternatives: { temperature: params(full.temperature!), platt: params(full.platt!) },
        },
      };
      for (const l of doc.ladders) {
        if (l.task !== task) continue;
        for (const st of l.stages as Record<string, unknown>[]) if (st.model === model) st.calibration = calibration;
      }
      for (const method of ['none', 'temperature', 'platt'] as const) {
        const c = cv[method]!;
        const p = params(full[method]!);
        report.push(`| ${model} | ${method} | ${Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ') || '-'} | ` +
          `${c.mean.nll.toFixed(3)} (${c.sd.nll.toFixed(3)}) | ${c.mean.brier.toFixed(3)} (${c.sd.brier.toFixed(3)}) | ` +
          `${c.mean.ece.toFixed(3)} (${c.sd.ece.toFixed(3)}) | ${pct(c.mean.accuracy)}% | ${method === chosen ? 'yes' : ''} |`);
      }
    }
  }
  parseLadders(doc); // still valid
  writeFileSync(LADDERS_FILE, pretty(doc) + '\n');
  console.log(report.join('\n'));
  log(`\nwrote ${LADDERS_FILE}`);
}

// ------------------------------------------------------------------ eval

interface RunStats {
  confidence: number;
  accuracy: number;
  meanMacs: number;
  meanMs: number;
  /** share of requests stopping at each stage */
  stops: number[];
  /** share that reached the target (the rest stopped at the last stage) */
  confident: number;
}

function planOf(l: LadderDef, d: TaskData): StagePlan[] {
  return l.stages.map((s) => ({ model: s.model, macs: d.execs.get(s.model)![0]!.manifest.macs, costKey: s.model }));
}

function correct(d: TaskData, r: CascadeResult, i: number): boolean {
  const v = r.final.verdict;
  return d.task === 'detect' ? (v.score >= 0.5 ? 1 : 0) === d.truth[i] : v.top1!.index === d.truth[i];
}

/** Runs the cascade (src/adaptive/cascade.ts) on images `idx`; accumulates into acc. */
async function cascadeOver(l: LadderDef, d: TaskData, idx: number[], confidence: number, acc: { ok: number; macs: number; ms: number; n: number; stops: number[]; confident: number }): Promise<void> {
  const plan = planOf(l, d);
  const cost = new CostModel();
  for (const i of idx) {
    const r = await runCascade(l, plan, { confidence }, async (k) => d.execs.get(l.stages[k]!.model)![i]!, cost);
    acc.n++;
    if (correct(d, r, i)) acc.ok++;
    acc.macs += r.macs.used;
    acc.ms += r.stages.reduce((s, x) => s + x.ms, 0);
    acc.stops[r.stop.stage]!++;
    if (r.stop.reason === 'confident') acc.confident++;
  }
}

const emptyAcc = (n: number) => ({ ok: 0, macs: 0, ms: 0, n: 0, stops: new Array<number>(n).fill(0), confident: 0 });
const statsOf = (c: number, a: ReturnType<typeof emptyAcc>): RunStats => ({
  confidence: c, accuracy: a.ok / a.n, meanMacs: a.macs / a.n, meanMs: a.ms / a.n, stops: a.stops.map((s) => s / a.n), confident: a.confident / a.n,
});

async function inSample(l: LadderDef, d: TaskData, c: number): Promise<RunStats> {
  const acc = emptyAcc(l.stages.length);
  await cascadeOver(l, d, d.files.map((_, i) => i), c, acc);
  return statsOf(c, acc);
}

/** Each fold's images run through a ladder whose calibrations were fitted (same method as
 *  shipped) on the other folds only; averaged over the repeats. */
async function crossValidated(l: LadderDef, d: TaskData, c: number): Promise<RunStats> {
  const acc = emptyAcc(l.stages.length);
  // folds are stratified on the task's truth (detect: person; classify: top-1 correct at the largest stage)
  const strat = d.task === 'detect' ? d.truth : d.signal.get(l.stages[l.stages.length - 1]!.model)!.y;
  for (let r = 0; r < REPEATS; r++) {
    const folds = stratifiedFolds(strat, K, r + 1);
    for (let f = 0; f < K; f++) {
      const train = folds.map((g, i) => (g === f ? -1 : i)).filter((i) => i >= 0);
      const test = folds.map((g, i) => (g === f ? i : -1)).filter((i) => i >= 0);
      const foldLadder: LadderDef = {
        ...l,
        stages: l.stages.map((s) => {
          const method = s.calibration?.method ?? 'none';
          if (method === 'none') return s;
          const sig = d.signal.get(s.model)!;
          const cal = FITTERS[method](train.map((i) => sig.z[i]!), train.map((i) => sig.y[i]!));
          return { ...s, calibration: { ...cal, fit: s.calibration!.fit } };
        }),
      };
      await cascadeOver(foldLadder, d, test, c, acc);
    }
  }
  return statsOf(c, acc);
}

interface Alone { model: string; accuracy: number; macs: number; meanMs: number }

function aloneStats(d: TaskData, model: string): Alone {
  const ex = d.execs.get(model)!;
  let ok = 0, ms = 0;
  ex.forEach((e, i) => {
    const v = interpretStage(d.task, e.manifest, e.outputs, IDENTITY); // uncalibrated: what mode=full answers
    if (d.task === 'detect' ? (v.rawScore >= 0.5 ? 1 : 0) === d.truth[i] : v.top1!.index === d.truth[i]) ok++;
    ms += e.preprocessMs + e.inferenceMs;
  });
  return { model, accuracy: ok / ex.length, macs: ex[0]!.manifest.macs, meanMs: ms / ex.length };
}

/** Other ladders over the default ladder's models, for comparison (calibration is per model):
 *  the first two stages swapped, and every two-stage ladder ending at the largest model. */
function variants(l: LadderDef, have: readonly LadderDef[]): LadderDef[] {
  const st = l.stages;
  const out: LadderDef[] = [];
  const add = (name: string, stages: LadderDef['stages']) => {
    const key = stages.map((s) => s.model).join('>');
    if (have.some((h) => h.stages.map((s) => s.model).join('>') === key) || out.some((h) => h.stages.map((s) => s.model).join('>') === key)) return;
    out.push({ ...l, id: `${l.id} variant [${name}: ${stages.map((s) => s.model).join(' > ')}]`, default: false, stages });
  };
  if (st.length >= 3) add('first two swapped', [st[1]!, st[0]!, ...st.slice(2)]);
  for (let i = 0; i < st.length - 1; i++) add('2 stages', [st[i]!, st[st.length - 1]!]);
  return out;
}

function table(l: LadderDef, ref: Alone, rows: RunStats[]): string[] {
  const out = [
    `| confidence | accuracy | vs ${ref.model} alone | mean MACs | of ${ref.model} alone | mean ms | reached target | stops ${l.stages.map((s) => s.model).join(' / ')} |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(`| ${r.confidence} | ${pct(r.accuracy)}% | ${(100 * (r.accuracy - ref.accuracy) >= 0 ? '+' : '')}${(100 * (r.accuracy - ref.accuracy)).toFixed(1)} | ` +
      `${mmacs(r.meanMacs)} M | ${pct(r.meanMacs / ref.macs, 0)}% | ${r.meanMs.toFixed(2)} | ${pct(r.confident, 0)}% | ${r.stops.map((s) => pct(s, 0) + '%').join(' / ')} |`);
  }
  return out;
}

async function evalCmd(): Promise<void> {
  const ladders = parseLadders(JSON.parse(readFileSync(LADDERS_FILE, 'utf8')));
  const tasks = (['detect', 'classify'] as const).filter((t) => (!ONLY_TASK || t === ONLY_TASK) && ladders.some((l) => l.task === t));
  const md: string[] = [];
  const json: Record<string, unknown> = { runs: RUNS, k: K, repeats: REPEATS, node: process.version, tasks: {} };
  for (const task of tasks) {
    const d = await taskData(task, ladders);
    const own = ladders.filter((l) => l.task === task);
    const all = [...own, ...own.filter((l) => l.default).flatMap((l) => variants(l, own))];
    const models = [...d.signal.keys()];
    const alone = models.map((m) => aloneStats(d, m));
    const taskJson: Record<string, unknown> = { data: d.describe, decoder: d.decoder, alone, ladders: {} };
    md.push(`\n## ${task}: ${d.describe}\n`);
    md.push(`Decoding: ${d.decoder}.\n`);
    const problem = sanityProblem(d);
    if (problem) {
      md.push(`**WARNING: ${problem}: the build looks broken, these numbers mean nothing.**\n`);
      log(`WARNING: ${problem}`);
    }
    md.push('Each model alone (mode=full, uncalibrated):\n');
    md.push(`| model | ${task === 'detect' ? 'accuracy' : 'top-1'} | MACs | mean ms |`, '|---|---|---|---|');
    for (const a of alone) md.push(`| ${a.model} | ${pct(a.accuracy)}% | ${mmacs(a.macs)} M | ${a.meanMs.toFixed(2)} |`);
    for (const l of all) {
      const refModel = l.stages.reduce((a, s) => (d.execs.get(s.model)![0]!.manifest.macs > d.execs.get(a.model)![0]!.manifest.macs ? s : a)).model;
      const ref = alone.find((a) => a.model === refModel)!;
      const cv: RunStats[] = [], ins: RunStats[] = [];
      for (const c of SWEEP[task]) {
        cv.push(await crossValidated(l, d, c));
        ins.push(await inSample(l, d, c));
      }
      const head = (rows: RunStats[]) => rows.filter((r) => HEADLINE[task].includes(r.confidence));
      (taskJson.ladders as Record<string, unknown>)[l.id] = { stages: l.stages.map((s) => s.model), reference: ref, crossValidated: cv, inSample: ins };
      md.push(`\n### ${l.id}\n`);
      md.push(`Cross-validated (calibration fitted on the other folds; ${K}-fold x ${REPEATS}), the ${HEADLINE[task].length} headline settings:\n`);
      md.push(...table(l, ref, head(cv)));
      md.push(`\nSweep, cross-validated:\n`);
      md.push(...table(l, ref, cv));
      md.push(`\nSweep, in-sample (the shipped calibration, fitted on all of these images):\n`);
      md.push(...table(l, ref, ins));
    }
    (json.tasks as Record<string, unknown>)[task] = taskJson;
  }
  const out = flag('--json') ?? join(ROOT, 'build', 'adaptive', 'eval.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(json, null, 1));
  const mdOut = out.replace(/\.json$/, '') + '.md';
  writeFileSync(mdOut, md.join('\n') + '\n');
  console.log(md.join('\n'));
  log(`\nfull results: ${out}, tables: ${mdOut}`);
}

const cmd = args[0];
const run = cmd === 'calibrate' ? calibrateCmd : cmd === 'eval' ? evalCmd : null;
if (!run) {
  console.error('usage: node scripts/adaptive.mjs calibrate|eval [--runs N] [--task detect|classify] [--json file]');
  process.exit(2);
}
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
