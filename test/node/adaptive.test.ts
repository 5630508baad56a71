// The runtime-neutral adaptive-inference logic (src/adaptive/): calibration, fitting, ladder
// validation, the cascade's stopping rule and budget, stream state. No engine needed: stages
// are fake executions with hand-made outputs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OutputSpec } from '../../src/engine/types';
import {
  CostModel, StreamStore, calibrate, classLogOdds, nextStreamState, parseLadders, runCascade, selectLadder, sigmoid,
  type CascadeResult, type LadderDef, type StageExecution, type StageManifest, type StagePlan,
} from '../../src/adaptive';
import { crossValidate, FITTERS, fitPlatt, fitTemperature, metrics, prng, stratifiedFolds } from '../../src/adaptive/fit';

const softmaxSpec: OutputSpec = { name: 'p', shape: [1, 2], dtype: 'uint8', scale: 1 / 256, zeroPoint: 0, kind: 'softmax' };
const logitSpec: OutputSpec = { name: 'l', shape: [1, 2], dtype: 'uint8', scale: 0.02, zeroPoint: 120, kind: 'logits' };

function manifest(size: number, macs: number, out = softmaxSpec, labels?: string[]): StageManifest {
  return {
    input: { name: 'in', shape: [1, size, size, 3], dtype: 'uint8', scale: 1, zeroPoint: 0, layout: 'NHWC', normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
    outputs: [out], macs, meta: { personIndex: 1 }, labels,
  };
}

/** A stage whose (uint8 softmax) person probability is p. */
function personStage(size: number, macs: number, p: number, ms = 1): StageExecution {
  const q1 = Math.round(p * 256);
  return { manifest: manifest(size, macs), outputs: [Uint8Array.of(Math.min(255, 256 - q1), Math.min(255, q1))], preprocessMs: ms / 2, inferenceMs: ms / 2 };
}

const ladder3: LadderDef = {
  id: 'l3', task: 'detect', stages: [
    { model: 'a', calibration: { method: 'none' } }, { model: 'b' }, { model: 'c' },
  ],
};
const plan3: StagePlan[] = [
  { model: 'a', macs: 1e6, costKey: 'a' }, { model: 'b', macs: 5e6, costKey: 'b' }, { model: 'c', macs: 20e6, costKey: 'c' },
];

function execOf(ps: number[], ms = [1, 2, 8]) {
  const calls: number[] = [];
  const sizes = [32, 64, 128];
  const macs = [1e6, 5e6, 20e6];
  return {
    calls,
    exec: async (i: number) => {
      calls.push(i);
      return personStage(sizes[i]!, macs[i]!, ps[i]!, ms[i]!);
    },
  };
}

describe('calibration', () => {
  it('log-odds of logits and of clipped quantized probabilities', () => {
    expect(classLogOdds([0.5, 2.5], logitSpec, 1)).toBeCloseTo(2, 12);
    expect(classLogOdds([0.25, 0.75], softmaxSpec, 1)).toBeCloseTo(Math.log(3), 12);
    // a quantized 0 is clipped at half a step (1/512): finite
    const z = classLogOdds([0, 1], softmaxSpec, 1);
    expect(z).toBeCloseTo(Math.log(512), 12);
    expect(classLogOdds([0.2, 0.3, 0.5], { kind: 'softmax', dtype: 'float32', scale: 0 }, 2)).toBeCloseTo(0, 12);
  });

  it('platt, temperature, none', () => {
    expect(calibrate({ method: 'platt', a: 2, b: -1 }, 1)).toBeCloseTo(sigmoid(1), 12);
    expect(calibrate({ method: 'temperature', t: 2 }, 4)).toBeCloseTo(sigmoid(2), 12);
    expect(calibrate(undefined, 0.3)).toBeCloseTo(sigmoid(0.3), 12);
  });
});

describe('fitting', () => {
  const rnd = prng(7);
  const z: number[] = [], y: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const v = (rnd() - 0.5) * 10;
    z.push(v);
    y.push(rnd() < sigmoid(1.5 * v - 0.7) ? 1 : 0);
  }

  it('fitPlatt recovers the generating slope and intercept', () => {
    const { a, b } = fitPlatt(z, y);
    expect(a).toBeCloseTo(1.5, 0);
    expect(b).toBeCloseTo(-0.7, 0);
  });

  it('fitTemperature: sharper signal -> t > 1 when z is overconfident', () => {
    const zz = z.map((v) => v * 3); // 3x overconfident
    const yy = z.map((v, i) => (rnd() < sigmoid(v) ? 1 : 0) + 0 * i);
    const { t } = fitTemperature(zz, yy);
    expect(t).toBeGreaterThan(2);
    expect(t).toBeLessThan(4);
  });

  it('stratified folds are deterministic and balanced', () => {
    const labels = [...Array(23).fill(1), ...Array(88).fill(0)];
    const f1 = stratifiedFolds(labels, 5, 1);
    expect(stratifiedFolds(labels, 5, 1)).toEqual(f1);
    expect(stratifiedFolds(labels, 5, 2)).not.toEqual(f1);
    for (let k = 0; k < 5; k++) {
      const inFold = f1.map((f, i) => (f === k ? i : -1)).filter((i) => i >= 0);
      expect(inFold.length).toBeGreaterThanOrEqual(22);
      expect(inFold.length).toBeLessThanOrEqual(23);
      const pos = inFold.filter((i) => labels[i] === 1).length;
      expect(pos).toBeGreaterThanOrEqual(4);
      expect(pos).toBeLessThanOrEqual(5);
    }
  });

  it('cross-validation is deterministic; platt beats none on a shifted signal', () => {
    const zs = z.slice(0, 300).map((v) => v + 3); // biased: raw sigmoid(z) is badly calibrated
    const ys = y.slice(0, 300);
    const none = crossValidate(zs, ys, FITTERS.none, 5, 3);
    const platt = crossValidate(zs, ys, FITTERS.platt, 5, 3);
    expect(crossValidate(zs, ys, FITTERS.platt, 5, 3)).toEqual(platt);
    expect(platt.mean.nll).toBeLessThan(none.mean.nll);
    expect(metrics([0.9, 0.1], [1, 0]).accuracy).toBe(1);
  });
});

describe('ladders', () => {
  it('validates', () => {
    expect(() => parseLadders({})).toThrow(/ladders/);
    expect(() => parseLadders({ ladders: [{ id: 'x', task: 'detect', stages: [] }] })).toThrow(/stages/);
    expect(() => parseLadders({ ladders: [{ id: 'x', task: 'pose', stages: [{ model: 'a' }] }] })).toThrow(/task/);
    expect(() => parseLadders({ ladders: [{ id: 'x', task: 'detect', stages: [{ model: 'a', calibration: { method: 'platt', a: 1 } }] }] })).toThrow(/platt/);
    expect(() => parseLadders({ ladders: [{ id: 'x', task: 'detect', stages: [{ model: 'A!' }] }] })).toThrow(/model id/);
    const two = { ladders: [{ id: 'x', task: 'detect', default: true, stages: [{ model: 'a' }] }, { id: 'y', task: 'detect', default: true, stages: [{ model: 'a' }] }] };
    expect(() => parseLadders(two)).toThrow(/default/);
  });

  it('selects by id and task, else the default', () => {
    const ls = parseLadders({ ladders: [
      { id: 'c', task: 'classify', stages: [{ model: 'm' }] },
      { id: 'd1', task: 'detect', stages: [{ model: 'm' }] },
      { id: 'd2', task: 'detect', default: true, stages: [{ model: 'm' }] },
    ] });
    expect(selectLadder(ls, 'detect')?.id).toBe('d2');
    expect(selectLadder(ls, 'classify')?.id).toBe('c');
    expect(selectLadder(ls, 'detect', 'd1')?.id).toBe('d1');
    expect(selectLadder(ls, 'detect', 'c')).toBeNull();
  });

  it('models/ladders.json: default ladders for both tasks, every stage calibrated for its model', () => {
    const ls = parseLadders(JSON.parse(readFileSync(join(__dirname, '..', '..', 'models', 'ladders.json'), 'utf8')));
    for (const task of ['detect', 'classify'] as const) {
      const l = selectLadder(ls, task)!;
      expect(l.default).toBe(true);
      expect(l.stages.length).toBeGreaterThanOrEqual(2);
      for (const s of l.stages) {
        expect(s.calibration, `${l.id}/${s.model}`).toBeDefined();
        expect(s.calibration!.fit?.input).toHaveLength(2);
      }
    }
  });
});

describe('cascade', () => {
  it('stops at the first stage whose confidence reaches the target', async () => {
    const { exec, calls } = execOf([0.95, 0.5, 0.5]);
    const r = await runCascade(ladder3, plan3, { confidence: 0.9 }, exec, new CostModel());
    expect(calls).toEqual([0]);
    expect(r.stop).toEqual({ stage: 0, reason: 'confident' });
    expect(r.macs).toEqual({ used: 1e6, full: 20e6 });
    expect(r.stages[0]!.input).toEqual([32, 32]);
    // 'none' on stage 0 -> uncalibrated score, flagged
    expect(r.stages[0]!.verdict.calibrated).toBe(false);
    expect(r.final.verdict.score).toBeCloseTo(243 / 256, 9); // round(0.95 * 256) / 256
  });

  it('confidence is symmetric: a confident "no person" also stops', async () => {
    const { exec, calls } = execOf([0.04, 0.5, 0.5]);
    const r = await runCascade(ladder3, plan3, { confidence: 0.9 }, exec, new CostModel());
    expect(calls).toEqual([0]);
    expect(r.final.verdict.score).toBeLessThan(0.1);
  });

  it('escalates, and the last stage always answers', async () => {
    const { exec, calls } = execOf([0.6, 0.7, 0.55]);
    const r = await runCascade(ladder3, plan3, { confidence: 0.9 }, exec, new CostModel());
    expect(calls).toEqual([0, 1, 2]);
    expect(r.stop).toEqual({ stage: 2, reason: 'last_stage' });
    expect(r.macs.used).toBe(26e6);
  });

  it('is deterministic for an input and setting', async () => {
    const a = await runCascade(ladder3, plan3, { confidence: 0.8 }, execOf([0.6, 0.85, 0.55]).exec, new CostModel());
    const b = await runCascade(ladder3, plan3, { confidence: 0.8 }, execOf([0.6, 0.85, 0.55]).exec, new CostModel());
    expect(b.stages.map((s) => [s.index, s.verdict.score])).toEqual(a.stages.map((s) => [s.index, s.verdict.score]));
    expect(b.stop).toEqual(a.stop);
  });

  it('budget 0: only the first stage runs', async () => {
    const { exec, calls } = execOf([0.6, 0.6, 0.6]);
    const r = await runCascade(ladder3, plan3, { confidence: 0.99, budgetMs: 0 }, exec, new CostModel());
    expect(calls).toEqual([0]);
    expect(r.stop.reason).toBe('budget');
    expect(r.stop.next).toMatchObject({ stage: 1, model: 'b' });
  });

  it('budget: a stage starts only if its expected ms fits what is left (measured ms once known)', async () => {
    const cost = new CostModel();
    // never measured: estimates from MACs at 5 GMAC/s -> 0.2, 1, 4 ms
    expect(cost.expectedMs('b', 5e6)).toBeCloseTo(1, 9);
    // stage 0 takes 1 ms (measured); 1 + 1 (b) <= 2.5 runs b (2 ms measured); 3 + 4 > 2.5 stops
    const { exec, calls } = execOf([0.6, 0.6, 0.6], [1, 2, 8]);
    const r = await runCascade(ladder3, plan3, { confidence: 0.99, budgetMs: 2.5 }, exec, cost);
    expect(calls).toEqual([0, 1]);
    expect(r.stop).toMatchObject({ stage: 1, reason: 'budget', next: { stage: 2 } });
    expect(r.spentMs).toBeCloseTo(3, 9);
    // now b is known to take 2 ms: with 2.5 ms b no longer fits after a
    expect(cost.expectedMs('b', 5e6)).toBeCloseTo(2, 9);
    const second = execOf([0.6, 0.6, 0.6], [1, 2, 8]);
    await runCascade(ladder3, plan3, { confidence: 0.99, budgetMs: 2.5 }, second.exec, cost);
    expect(second.calls).toEqual([0]);
  });

  it('a frozen clock (0 ms) is charged the estimate', async () => {
    const { exec } = execOf([0.6, 0.6, 0.6], [0, 0, 0]);
    const r = await runCascade(ladder3, plan3, { confidence: 0.99, budgetMs: 1.5 }, exec, new CostModel());
    // 0.2 (a, estimated) + 1 (b) <= 1.5; then + 4 (c) > 1.5
    expect(r.stages.map((s) => s.index)).toEqual([0, 1]);
    expect(r.spentMs).toBeCloseTo(1.2, 9);
  });

  it('a start stage (stream) is lowered until it fits the budget', async () => {
    const { exec, calls } = execOf([0.95, 0.95, 0.95]);
    const r = await runCascade(ladder3, plan3, { confidence: 0.9, startStage: 2, budgetMs: 1.5 }, exec, new CostModel());
    expect(r.startStage).toBe(1);
    expect(calls).toEqual([1]);
    const r2 = await runCascade(ladder3, plan3, { confidence: 0.9, startStage: 2 }, execOf([0.95, 0.95, 0.95]).exec, new CostModel());
    expect(r2.startStage).toBe(2);
  });

  it('classify: confidence is the (calibrated) top-1 probability', async () => {
    const spec: OutputSpec = { name: 'p', shape: [1, 4], dtype: 'uint8', scale: 1 / 256, zeroPoint: 0, kind: 'softmax' };
    const l: LadderDef = { id: 'c', task: 'classify', stages: [{ model: 'lo' }, { model: 'hi', calibration: { method: 'temperature', t: 2, fit: { input: [64, 64] } } }] };
    const plan: StagePlan[] = [{ model: 'lo', macs: 1, costKey: null }, { model: 'hi', macs: 2, costKey: null }];
    const outs = [Uint8Array.of(20, 150, 60, 26), Uint8Array.of(10, 10, 230, 6)];
    const r = await runCascade(l, plan, { confidence: 0.8 }, async (i) => ({
      manifest: manifest(32 * (i + 1), i + 1, spec, ['w', 'x', 'y', 'z']), outputs: [outs[i]!], preprocessMs: 0, inferenceMs: 0,
    }), new CostModel());
    expect(r.stages.map((s) => s.verdict.top1?.label)).toEqual(['x', 'y']);
    expect(r.stages[0]!.verdict.confidence).toBeCloseTo(150 / 256, 9);
    // the calibration was fitted for 64x64: it applies
    expect(r.stages[1]!.verdict.calibrated).toBe(true);
    expect(r.stages[1]!.verdict.confidence).toBeCloseTo(sigmoid(Math.log(230 / 26) / 2), 9);
  });

  it('a calibration fitted for another input size is not applied', async () => {
    const l: LadderDef = { id: 'x', task: 'detect', stages: [{ model: 'a', calibration: { method: 'platt', a: 5, b: 5, fit: { input: [99, 99] } } }] };
    const r = await runCascade(l, [plan3[0]!], { confidence: 0.5 }, async () => personStage(32, 1, 0.25), new CostModel());
    expect(r.final.verdict.calibrated).toBe(false);
    expect(r.final.verdict.score).toBeCloseTo(0.25, 9);
  });
});

describe('streams', () => {
  function result(start: number, stop: number, reason: CascadeResult['stop']['reason']): CascadeResult {
    return { startStage: start, stop: { stage: stop, reason } } as CascadeResult;
  }

  it('throttles up to the stage a frame needed and back down after N confident frames', () => {
    let s = nextStreamState(null, result(0, 2, 'confident'), 3, 3);
    expect(s).toMatchObject({ startStage: 2, confidentStreak: 0, frames: 1 });
    const at = (st: typeof s) => ({ ...st, updatedAt: 0 });
    s = nextStreamState(at(s), result(2, 2, 'confident'), 3, 3);
    s = nextStreamState(at(s), result(2, 2, 'confident'), 3, 3);
    expect(s).toMatchObject({ startStage: 2, confidentStreak: 2 });
    s = nextStreamState(at(s), result(2, 2, 'confident'), 3, 3);
    expect(s).toMatchObject({ startStage: 1, confidentStreak: 0, frames: 4 });
    expect(nextStreamState(at(s), result(1, 2, 'last_stage'), 3, 3)).toMatchObject({ startStage: 2, confidentStreak: 0 });
    expect(nextStreamState(at(s), result(0, 0, 'budget'), 3, 3)).toMatchObject({ startStage: 1 });
  });

  it('store: TTL and max entries', () => {
    let t = 0;
    const st = new StreamStore({ maxEntries: 2, ttlMs: 1000, now: () => t });
    st.set('a', { startStage: 1, confidentStreak: 0, frames: 1 });
    t = 500;
    st.set('b', { startStage: 2, confidentStreak: 0, frames: 1 });
    expect(st.get('a')?.startStage).toBe(1);
    t = 1200; // a expired (last update at 0)
    expect(st.get('a')).toBeNull();
    expect(st.get('b')?.startStage).toBe(2);
    st.set('c', { startStage: 0, confidentStreak: 0, frames: 1 });
    st.set('d', { startStage: 0, confidentStreak: 0, frames: 1 }); // evicts b (least recently updated)
    expect(st.get('b')).toBeNull();
    expect(st.size).toBe(2);
  });
});
