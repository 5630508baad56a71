// Types of scripts/fuzz-models-cases.mjs (used by test/worker/*.test.ts).
export { rng, caseSeed } from './fuzz-images-cases.mjs';
/** manifest: the parsed JSON (typed loosely as `any`: the caller knows its shape) */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export declare function splitArtifact(bytes: Uint8Array): { mlen: number; manifest: any; weights: Uint8Array };
export declare function rawArtifact(
  manifest: string | Uint8Array,
  weights: Uint8Array,
  forge?: { magic?: string; version?: number; mlen?: number; wlen?: number },
): Promise<Uint8Array>;
export declare const TARGETED_NAMES: readonly string[];
export interface ModelBase { name: string; bytes: Uint8Array }
export type WriteArtifact = (manifest: never, weights: Uint8Array) => Promise<Uint8Array>;
export interface ModelCase { index: number; kind: string; name: string; base: number; bytes: Uint8Array; mustReject: boolean }
export declare function modelCase(bases: ModelBase[], seed: number, index: number, writeArtifact: WriteArtifact): Promise<ModelCase>;
export declare const INFERENCE_OK: readonly number[];
export interface ModelFuzzOptions {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  bases: ModelBase[];
  ids: string[];
  seed: number;
  cases: number;
  writeArtifact: WriteArtifact;
  token: string;
  image: Uint8Array;
  /** whether blob:<sha256> exists in the store (smoke test: env.MODELS) */
  hasBlob?: ((sha256: string) => Promise<boolean>) | null;
  checkEvery?: number;
  log?: (message: string) => void;
  now?: () => number;
}
export interface ModelFuzzResult {
  histogram: Record<string, number>;
  kinds: Record<string, number>;
  accepted: number;
  failures: string[];
  acceptedShas: Set<string>;
  maxMs: number;
  pointers: unknown[];
}
export declare function runModelFuzz(options: ModelFuzzOptions): Promise<ModelFuzzResult>;
