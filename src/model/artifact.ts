// The edgelens artifact: one file holding a compiled model.
//
//   0   magic "ELNS"
//   4   u32 format version (2: requant blocks may carry FAST2R fields, see src/model/pack.ts)
//   8   u32 manifest byte length
//   12  u32 weights byte length
//   16  32 bytes SHA-256 of everything from byte 48 to the end
//   48  manifest (UTF-8 JSON), zero-padded to a multiple of 16
//   ..  weights blob (packed for the kernels; every block 16-byte aligned)
//
// Shared by the compiler (writer) and the engine (reader). Web APIs only, so it
// runs in Node and in workerd. Readers validate everything: an artifact is
// untrusted input (it can be uploaded).

import type { InputSpec, OutputSpec } from '../engine/types.ts';
import { validateOps, type MOp, type MTensor } from './ops.ts';

export const MAGIC = 'ELNS';
export const FORMAT_VERSION = 2;
export const HEADER_BYTES = 48;
const MAX_MANIFEST_BYTES = 8 << 20;
const MAX_WEIGHTS_BYTES = 256 << 20;
export const MAX_ARENA_BYTES = 96 << 20;

export class ArtifactError extends Error {
  override name = 'ArtifactError';
}

export type Precision = 'int8' | 'uint8' | 'float32' | 'int16' | 'mixed';

export interface ArtifactManifest {
  format: number;
  name: string;
  /** hex SHA-256 of the artifact content (filled in by the reader from the header) */
  sha256: string;
  precision: Precision;
  source?: { file?: string; sha256?: string };
  createdBy?: string;
  input: InputSpec;
  outputs: OutputSpec[];
  inputTensor: number;
  outputTensors: number[];
  labels?: string[];
  /** free-form metadata from the model recipe (task, personIndex, ...) */
  meta?: Record<string, unknown>;
  macs: number;
  arenaBytes: number;
  scratchBytes: number;
  weightsBytes: number;
  tensors: MTensor[];
  ops: MOp[];
}

export interface ParsedArtifact {
  manifest: ArtifactManifest;
  sha256: string;
  weights: Uint8Array;
  bytes: number;
}

export function toHex(buf: ArrayBuffer | Uint8Array): string {
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as unknown as ArrayBuffer));
}

const align16 = (n: number) => (n + 15) & ~15;

export async function writeArtifact(manifest: Omit<ArtifactManifest, 'sha256' | 'format' | 'weightsBytes'>, weights: Uint8Array): Promise<Uint8Array> {
  const full: Omit<ArtifactManifest, 'sha256'> = { ...manifest, format: FORMAT_VERSION, weightsBytes: weights.length };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const mlen = align16(json.length);
  const out = new Uint8Array(HEADER_BYTES + mlen + weights.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, FORMAT_VERSION, true);
  dv.setUint32(8, mlen, true);
  dv.setUint32(12, weights.length, true);
  out.set(json, HEADER_BYTES);
  out.fill(0x20, HEADER_BYTES + json.length, HEADER_BYTES + mlen); // pad JSON with spaces
  out.set(weights, HEADER_BYTES + mlen);
  out.set(await sha256(out.subarray(HEADER_BYTES)), 16);
  return out;
}

/** Read the header's SHA-256 without verifying it (e.g. to name a blob). */
export function headerSha256(bytes: Uint8Array): string {
  if (bytes.length < HEADER_BYTES) throw new ArtifactError(`artifact is too small (${bytes.length} bytes)`);
  return toHex(bytes.subarray(16, 48));
}

/** Fully validate an artifact: header, checksum, manifest schema, op footprints. */
export async function parseArtifact(bytes: Uint8Array): Promise<ParsedArtifact> {
  if (!(bytes instanceof Uint8Array)) throw new ArtifactError('artifact must be bytes');
  if (bytes.length < HEADER_BYTES) throw new ArtifactError(`artifact is too small (${bytes.length} bytes)`);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== MAGIC) throw new ArtifactError(`not an edgelens artifact (magic ${JSON.stringify(magic)}, expected "${MAGIC}")`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(4, true);
  if (version !== FORMAT_VERSION) throw new ArtifactError(`unsupported artifact format version ${version} (this engine reads ${FORMAT_VERSION})`);
  const mlen = dv.getUint32(8, true);
  const wlen = dv.getUint32(12, true);
  if (mlen > MAX_MANIFEST_BYTES || mlen % 16 !== 0) throw new ArtifactError(`bad manifest length ${mlen}`);
  if (wlen > MAX_WEIGHTS_BYTES) throw new ArtifactError(`weights too large (${wlen} bytes)`);
  if (HEADER_BYTES + mlen + wlen !== bytes.length) {
    throw new ArtifactError(`artifact length ${bytes.length} does not match its header (${HEADER_BYTES + mlen + wlen}): truncated or padded`);
  }
  const declared = toHex(bytes.subarray(16, 48));
  const actual = toHex(await sha256(bytes.subarray(HEADER_BYTES)));
  if (declared !== actual) throw new ArtifactError(`artifact checksum mismatch: header says ${declared}, content hashes to ${actual}`);
  let manifest: ArtifactManifest;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + mlen)));
  } catch (e) {
    throw new ArtifactError(`artifact manifest is not valid JSON: ${(e as Error).message}`);
  }
  // null / a number / a string would make the assignment below throw a TypeError (a 500)
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new ArtifactError('invalid artifact manifest: not an object');
  }
  manifest.sha256 = actual;
  validateManifest(manifest, wlen);
  return { manifest, sha256: actual, weights: bytes.subarray(HEADER_BYTES + mlen), bytes: bytes.length };
}

const isInt = (v: unknown, lo = 0, hi = 2 ** 31 - 1): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function fail(msg: string): never {
  throw new ArtifactError(`invalid artifact manifest: ${msg}`);
}

export function validateManifest(m: ArtifactManifest, weightsLen: number): void {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('not an object');
  if (m.format !== FORMAT_VERSION) fail(`format ${String(m.format)}`);
  if (typeof m.name !== 'string' || m.name.length > 200) fail('name');
  if (!['int8', 'uint8', 'float32', 'int16', 'mixed'].includes(m.precision)) fail(`precision ${String(m.precision)}`);
  if (m.weightsBytes !== weightsLen) fail(`weightsBytes ${m.weightsBytes} != ${weightsLen}`);
  if (!isInt(m.arenaBytes, 0, MAX_ARENA_BYTES)) fail(`arenaBytes ${String(m.arenaBytes)} (limit ${MAX_ARENA_BYTES})`);
  if (!isInt(m.scratchBytes, 0, MAX_ARENA_BYTES)) fail(`scratchBytes ${String(m.scratchBytes)}`);
  if (!isNum(m.macs) || m.macs < 0) fail('macs');
  if (!Array.isArray(m.tensors) || m.tensors.length > 100000) fail('tensors');
  m.tensors.forEach((t, i) => {
    if (typeof t !== 'object' || t === null) fail(`tensor ${i}`);
    if (!Array.isArray(t.shape) || t.shape.length > 6 || !t.shape.every((d) => isInt(d, 0, 1 << 24))) fail(`tensor ${i} shape`);
    if (!['int8', 'float32', 'int32', 'int16'].includes(t.dtype)) fail(`tensor ${i} dtype ${String(t.dtype)}`);
    const es = t.dtype === 'int8' ? 1 : t.dtype === 'int16' ? 2 : 4;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.bytes !== n * es) fail(`tensor ${i} bytes ${String(t.bytes)} != ${n * es}`);
    if (!isInt(t.offset) || t.offset % 16 !== 0 || t.offset + t.bytes > m.arenaBytes) fail(`tensor ${i} offset ${String(t.offset)} outside the arena`);
  });
  const tensorIdx = (v: unknown, what: string) => {
    if (!isInt(v, 0, m.tensors.length - 1)) fail(`${what} tensor index ${String(v)}`);
    return v;
  };
  tensorIdx(m.inputTensor, 'input');
  if (!Array.isArray(m.outputTensors) || m.outputTensors.length === 0) fail('outputTensors');
  m.outputTensors.forEach((t) => tensorIdx(t, 'output'));
  const inT = m.tensors[m.inputTensor]!;
  const inS = m.input;
  if (typeof inS !== 'object' || inS === null) fail('input spec');
  if (!Array.isArray(inS.shape) || inS.shape.length !== 4 || inS.shape[0] !== 1 || inS.shape.join() !== inT.shape.join()) fail('input shape');
  if (inS.shape[3] !== 3) fail('input must have 3 channels (RGB)');
  if (!['int8', 'uint8', 'float32'].includes(inS.dtype)) fail(`input dtype ${String(inS.dtype)}`);
  // scale > 0: quantizeInput divides by it (0 or negative would fail every request)
  if (!isNum(inS.scale) || !(inS.scale > 0) || !isInt(inS.zeroPoint, -128, 255)) fail('input quantization');
  const nrm = inS.normalization;
  if (!nrm || !Array.isArray(nrm.mean) || !Array.isArray(nrm.std) || nrm.mean.length !== 3 || nrm.std.length !== 3 ||
      !nrm.mean.every(isNum) || !nrm.std.every((s) => isNum(s) && s !== 0)) fail('input normalization');
  if (!Array.isArray(m.outputs) || m.outputs.length !== m.outputTensors.length) fail('outputs');
  m.outputs.forEach((o, i) => {
    const t = m.tensors[m.outputTensors[i]!]!;
    if (!Array.isArray(o.shape) || o.shape.join() !== t.shape.join()) fail(`output ${i} shape`);
    if (!['int8', 'uint8', 'float32'].includes(o.dtype)) fail(`output ${i} dtype`);
    if (!isNum(o.scale) || !isInt(o.zeroPoint, -128, 255)) fail(`output ${i} quantization`);
  });
  if (m.labels !== undefined && (!Array.isArray(m.labels) || !m.labels.every((l) => typeof l === 'string'))) fail('labels');
  if (!Array.isArray(m.ops) || m.ops.length > 10000) fail('ops');
  try {
    validateOps(m.ops, m.tensors, weightsLen, m.scratchBytes);
  } catch (e) {
    fail((e as Error).message);
  }
}
