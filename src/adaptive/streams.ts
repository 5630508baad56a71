// Per-camera cascade state for `stream=<camera-id>`: where the next frame starts and how
// many confident frames in a row the current start stage has had. Bounded (max entries,
// least recently used evicted first) and expiring (TTL since the last frame). It lives in
// one process: in a Worker that is one isolate, so it resets whenever the isolate does, and
// different isolates (or colos) serving one camera keep separate states.

import type { CascadeResult } from './cascade';

export interface StreamState {
  /** stage the next frame starts at */
  startStage: number;
  /** consecutive frames confident at their start stage */
  confidentStreak: number;
  /** frames seen since this state was created */
  frames: number;
  /** clock value of the last update */
  updatedAt: number;
}

export const STREAM_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export interface StreamStoreOptions {
  maxEntries?: number;
  ttlMs?: number;
  /** clock in ms (Date.now by default; injectable for tests) */
  now?: () => number;
}

export class StreamStore {
  private readonly map = new Map<string, StreamState>(); // insertion order = least recently updated first
  readonly maxEntries: number;
  readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: StreamStoreOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 1000;
    this.ttlMs = opts.ttlMs ?? 120_000;
    this.now = opts.now ?? (() => Date.now());
  }

  get size(): number {
    this.purge();
    return this.map.size;
  }

  /** The live state of `key`, or null (never seen, expired, or evicted). */
  get(key: string): StreamState | null {
    this.purge();
    const s = this.map.get(key);
    return s ? { ...s } : null;
  }

  set(key: string, state: Omit<StreamState, 'updatedAt'>): StreamState {
    const s: StreamState = { ...state, updatedAt: this.now() };
    this.map.delete(key);
    this.map.set(key, s);
    this.purge();
    while (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
    return { ...s };
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Drops expired entries (they are at the front: the map is in update order). */
  private purge(): void {
    const limit = this.now() - this.ttlMs;
    for (const [k, s] of this.map) {
      if (s.updatedAt > limit) break;
      this.map.delete(k);
    }
  }
}

/**
 * The state after a frame:
 * - confident at its start stage: streak + 1; after `relaxAfter` such frames in a row the
 *   start stage steps down by one (and the streak restarts);
 * - confident at a higher stage (it escalated): the next frame starts at that stage;
 * - not confident at the last stage: start at the last stage;
 * - stopped by the budget: start one stage above the one it stopped at (what it needed).
 */
export function nextStreamState(prev: StreamState | null, r: CascadeResult, stageCount: number, relaxAfter: number): Omit<StreamState, 'updatedAt'> {
  const frames = (prev?.frames ?? 0) + 1;
  const stop = r.stop.stage;
  if (r.stop.reason === 'confident') {
    if (stop === r.startStage) {
      const streak = (prev?.confidentStreak ?? 0) + 1;
      if (streak >= relaxAfter && r.startStage > 0) return { startStage: r.startStage - 1, confidentStreak: 0, frames };
      return { startStage: r.startStage, confidentStreak: streak, frames };
    }
    return { startStage: stop, confidentStreak: 0, frames };
  }
  if (r.stop.reason === 'budget') return { startStage: Math.min(stop + 1, stageCount - 1), confidentStreak: 0, frames };
  return { startStage: stageCount - 1, confidentStreak: 0, frames };
}
