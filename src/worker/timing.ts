export const STAGES = ['read', 'decode', 'preprocess', 'model', 'inference', 'total'] as const;
export type Stage = (typeof STAGES)[number];

/** Wall-clock time in ms. Note: deployed Workers only advance timers on I/O, so pure-CPU
 *  stages read 0 there (a Spectre mitigation); under wrangler dev and tests all are real. */
export const now = (): number => performance.now();

export class Timings {
  private readonly ms: Record<Stage, number> = { read: 0, decode: 0, preprocess: 0, model: 0, inference: 0, total: 0 };

  set(stage: Stage, ms: number): void {
    this.ms[stage] = Math.max(0, ms);
  }

  /** Runs fn and adds its duration to stage. */
  async time<T>(stage: Stage, fn: () => Promise<T> | T): Promise<T> {
    const t = now();
    try {
      return await fn();
    } finally {
      this.ms[stage] += now() - t;
    }
  }

  timeSync<T>(stage: Stage, fn: () => T): T {
    const t = now();
    try {
      return fn();
    } finally {
      this.ms[stage] += now() - t;
    }
  }

  toJSON(): Record<Stage, number> {
    const out = {} as Record<Stage, number>;
    for (const s of STAGES) out[s] = Math.round(this.ms[s] * 100) / 100;
    return out;
  }

  /** Server-Timing header value: "read;dur=1.2, decode;dur=3.4, ..." */
  serverTiming(): string {
    return STAGES.map((s) => `${s};dur=${(Math.round(this.ms[s] * 10) / 10).toString()}`).join(', ');
  }
}
