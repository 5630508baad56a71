// Model ladders: an ordered list of models for one task, cheapest first, each with the
// calibration of its confidence. Defined in models/ladders.json (see the README,
// "Adaptive inference"); validated here, shared by the Worker and the Node scripts.

import { calibrationProblem, type Calibration } from './calibration';

export type LadderTask = 'detect' | 'classify';

export interface StageDef {
  /** model id in the store (models/<id>.json recipe) */
  model: string;
  calibration?: Calibration;
}

export interface StreamSettings {
  /** a stream steps its start stage down by one after this many consecutive frames that
   *  were confident at their start stage */
  relax_after: number;
}

export interface LadderDef {
  id: string;
  task: LadderTask;
  /** the ladder used when a request names none (one per task) */
  default?: boolean;
  description?: string;
  stages: StageDef[];
  stream?: StreamSettings;
}

export class LadderError extends Error {
  override name = 'LadderError';
}

export const LADDER_ID_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const MODEL_ID_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
export const MAX_STAGES = 8;
export const DEFAULT_RELAX_AFTER = 3;

/** Validates the content of models/ladders.json: { ladders: LadderDef[] } (other keys ignored). */
export function parseLadders(json: unknown): LadderDef[] {
  const fail = (msg: string): never => {
    throw new LadderError(`ladders: ${msg}`);
  };
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { ladders?: unknown }).ladders)) {
    fail('expected an object with a "ladders" array');
  }
  const out: LadderDef[] = [];
  const ids = new Set<string>();
  const defaults = new Set<string>();
  for (const [i, raw] of ((json as { ladders: unknown[] }).ladders).entries()) {
    const where = `ladder ${i}`;
    if (typeof raw !== 'object' || raw === null) fail(`${where}: not an object`);
    const l = raw as Record<string, unknown>;
    if (typeof l.id !== 'string' || !LADDER_ID_RE.test(l.id)) fail(`${where}: bad id ${JSON.stringify(l.id)}`);
    const id = l.id as string;
    if (ids.has(id)) fail(`duplicate ladder id ${id}`);
    ids.add(id);
    if (l.task !== 'detect' && l.task !== 'classify') fail(`${id}: task must be "detect" or "classify"`);
    if (!Array.isArray(l.stages) || l.stages.length === 0 || l.stages.length > MAX_STAGES) {
      fail(`${id}: stages must be an array of 1..${MAX_STAGES} stages`);
    }
    const stages: StageDef[] = [];
    for (const [k, s] of (l.stages as unknown[]).entries()) {
      if (typeof s !== 'object' || s === null) fail(`${id} stage ${k}: not an object`);
      const st = s as Record<string, unknown>;
      if (typeof st.model !== 'string' || !MODEL_ID_RE.test(st.model)) fail(`${id} stage ${k}: bad model id ${JSON.stringify(st.model)}`);
      const problem = calibrationProblem(st.calibration);
      if (problem) fail(`${id} stage ${k}: ${problem}`);
      stages.push({ model: st.model as string, ...(st.calibration ? { calibration: st.calibration as Calibration } : {}) });
    }
    let stream: StreamSettings | undefined;
    if (l.stream !== undefined) {
      const ra = (l.stream as Record<string, unknown> | null)?.relax_after;
      if (typeof ra !== 'number' || !Number.isInteger(ra) || ra < 1 || ra > 1000) fail(`${id}: stream.relax_after must be an integer 1..1000`);
      stream = { relax_after: ra as number };
    }
    if (l.default === true) {
      if (defaults.has(l.task as string)) fail(`more than one default ladder for task ${String(l.task)}`);
      defaults.add(l.task as string);
    }
    out.push({
      id,
      task: l.task as LadderTask,
      ...(l.default === true ? { default: true } : {}),
      ...(typeof l.description === 'string' ? { description: l.description } : {}),
      stages,
      ...(stream ? { stream } : {}),
    });
  }
  return out;
}

/** The ladder `id` (which must be for `task`), or the task's default (else its first) ladder. */
export function selectLadder(ladders: readonly LadderDef[], task: LadderTask, id?: string): LadderDef | null {
  if (id !== undefined) {
    const l = ladders.find((x) => x.id === id);
    return l && l.task === task ? l : null;
  }
  return ladders.find((x) => x.task === task && x.default) ?? ladders.find((x) => x.task === task) ?? null;
}
