// Seeded, deterministic bad-artifact cases for PUT /v1/models/:id.
// Shared by scripts/fuzz-models.mjs (full size, Node -> `wrangler dev` on loopback) and
// test/worker/fuzz-models.test.ts (smoke size, inside workerd). Web APIs only.
//
// Every case is a mutation of a real compiled artifact (build/models/*.elns, build/golden/*.elns):
// - raw: bit flips, truncation, appended bytes, header fields (caught by the checksum / header);
// - targeted: manifest edits re-signed with a correct sha256 (via writeArtifact, or a raw
//   writer for edits writeArtifact would undo), each one known to be invalid: out-of-range
//   tensor indices, weight slots past the end, shapes inconsistent with ops, huge arenas,
//   wrong dtypes, ... These MUST get 422 and store nothing;
// - random: a random field of the manifest (or random weight bytes) replaced by an
//   "interesting" value and re-signed. Such an artifact may still be valid (a renamed tensor,
//   other weights): it must get 422, or be accepted AND then serve classify/detect without a 5xx.
import { rng, caseSeed } from './fuzz-images-cases.mjs';

export { rng, caseSeed };

const HEADER = 48;
const enc = new TextEncoder();

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** Header fields, manifest object and weights of an artifact (no validation). */
export function splitArtifact(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mlen = dv.getUint32(8, true);
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(HEADER, HEADER + mlen)));
  return { mlen, manifest, weights: bytes.slice(HEADER + mlen) };
}

/**
 * An artifact from a manifest given as text/bytes (anything, not necessarily JSON), with
 * a correct sha256 unless told otherwise. The header fields can be forged.
 */
export async function rawArtifact(manifestBytes, weights, forge = {}) {
  const json = typeof manifestBytes === 'string' ? enc.encode(manifestBytes) : manifestBytes;
  const mlen = (json.length + 15) & ~15;
  const out = new Uint8Array(HEADER + mlen + weights.length);
  out.set(enc.encode(forge.magic ?? 'ELNS'), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(4, forge.version ?? 1, true);
  dv.setUint32(8, forge.mlen ?? mlen, true);
  dv.setUint32(12, forge.wlen ?? weights.length, true);
  out.set(json, HEADER);
  out.fill(0x20, HEADER + json.length, HEADER + mlen);
  out.set(weights, HEADER + mlen);
  out.set(await sha256(out.subarray(HEADER)), 16);
  return out;
}

const clone = (v) => JSON.parse(JSON.stringify(v));
const stripForWrite = (m) => {
  const { sha256: _s, format: _f, weightsBytes: _w, ...rest } = m;
  return rest;
};

/** Indices of ops having a weight slot / of a given kind. */
const opsWithWeights = (m) => m.ops.map((o, i) => [o, i]).filter(([o]) => Object.keys(o.w ?? {}).length > 0).map(([, i]) => i);

/**
 * The targeted edits: [name, (manifest, weights, r) => manifest | { raw: manifestText, forge? }].
 * Each returns an invalid manifest (the base artifact is valid).
 */
const TARGETED = [
  ['op input tensor index out of range', (m, w, r) => { const o = r.pick(m.ops); o.in[0] = m.tensors.length + r.int(0, 1000); return m; }],
  ['op output tensor index -1', (m, w, r) => { r.pick(m.ops).out[0] = -1; return m; }],
  ['op input tensor index 1.5', (m, w, r) => { r.pick(m.ops).in[0] = 1.5; return m; }],
  ['op input tensor index as a string', (m, w, r) => { const o = r.pick(m.ops); o.in[0] = String(o.in[0]); return m; }],
  ['op with an extra input', (m, w, r) => { const o = r.pick(m.ops); o.in.push(o.in[0]); return m; }],
  ['op with no outputs', (m, w, r) => { r.pick(m.ops).out = []; return m; }],
  ['input tensor index out of range', (m) => { m.inputTensor = m.tensors.length; return m; }],
  ['output tensor index out of range', (m) => { m.outputTensors[0] = 1 << 30; return m; }],
  ['no output tensors', (m) => { m.outputTensors = []; m.outputs = []; return m; }],
  ['weight slot past the end', (m, w, r) => { const o = m.ops[r.pick(opsWithWeights(m))]; const k = r.pick(Object.keys(o.w)); o.w[k] = [(w.length + 16) & ~15, o.w[k][1]]; return m; }],
  ['weight slot overlapping the end', (m, w, r) => { const o = m.ops[r.pick(opsWithWeights(m))]; const k = r.pick(Object.keys(o.w)); o.w[k] = [(w.length - 16) & ~15, o.w[k][1] + 32]; return m; }],
  ['weight slot misaligned', (m, w, r) => { const o = m.ops[r.pick(opsWithWeights(m))]; const k = r.pick(Object.keys(o.w)); o.w[k][0] += r.int(1, 15); return m; }],
  // every weight block of the engine's ops needs at least 4 bytes
  ['weight slot too short', (m, w, r) => { const o = m.ops[r.pick(opsWithWeights(m))]; const k = r.pick(Object.keys(o.w)); o.w[k][1] = r.int(0, 3); return m; }],
  ['weight slot negative', (m, w, r) => { const o = m.ops[r.pick(opsWithWeights(m))]; const k = r.pick(Object.keys(o.w)); o.w[k][0] = -16; return m; }],
  ['weight slot missing', (m, w, r) => { const o = m.ops[r.pick(opsWithWeights(m))]; delete o.w[r.pick(Object.keys(o.w))]; return m; }],
  ['weight slot 2^53', (m, w, r) => { const o = m.ops[r.pick(opsWithWeights(m))]; const k = r.pick(Object.keys(o.w)); o.w[k] = [2 ** 53, 16]; return m; }],
  ['tensor shape inconsistent with its op (bytes updated)', (m, w, r) => {
    const o = r.pick(m.ops);
    const t = m.tensors[o.out[0]];
    t.shape[t.shape.length - 1] += r.int(1, 8);
    t.bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'int8' ? 1 : t.dtype === 'int16' ? 2 : 4);
    m.arenaBytes = Math.max(m.arenaBytes, t.offset + t.bytes + 16);
    return m;
  }],
  ['op geometry inconsistent with its tensors', (m, w, r) => {
    const o = r.pick(m.ops);
    const keys = Object.keys(o.p).filter((k) => /^(in|out)[HWC]$|^[nchw]$|^depth$|^outer$|^bytes$/.test(k));
    if (keys.length === 0) { o.in[0] = 1e9; return m; }
    o.p[r.pick(keys)] += r.int(1, 64);
    return m;
  }],
  ['tensor bytes != shape x dtype', (m, w, r) => { r.pick(m.tensors).bytes += 1; return m; }],
  ['arenaBytes 2^31', (m) => { m.arenaBytes = 2 ** 31; return m; }],
  ['arenaBytes 96 MiB + 16 (over the limit)', (m) => { m.arenaBytes = (96 << 20) + 16; return m; }],
  ['arenaBytes 2^53', (m) => { m.arenaBytes = 2 ** 53; return m; }],
  // valid per the manifest limit (96 MiB), but over the Worker's model memory budget
  ['arenaBytes 90 MiB (over the model memory budget)', (m) => { m.arenaBytes = 90 << 20; return m; }],
  ['scratchBytes 60 MiB (over the model memory budget)', (m) => { m.scratchBytes = 60 << 20; return m; }],
  ['arenaBytes negative', (m) => { m.arenaBytes = -1; return m; }],
  ['arenaBytes as a string', (m) => { m.arenaBytes = String(m.arenaBytes); return m; }],
  ['arena smaller than its tensors', (m) => { m.arenaBytes = 16; return m; }],
  ['scratchBytes 2^40', (m) => { m.scratchBytes = 2 ** 40; return m; }],
  ['scratch smaller than an op needs', (m) => { m.scratchBytes = 0; return m; }],
  ['tensor offset outside the arena', (m, w, r) => { r.pick(m.tensors).offset = m.arenaBytes; return m; }],
  ['tensor offset misaligned', (m, w, r) => { r.pick(m.tensors).offset += 8; return m; }],
  ['tensor dtype float64', (m, w, r) => { r.pick(m.tensors).dtype = 'float64'; return m; }],
  ['tensor dtype uint8', (m, w, r) => { r.pick(m.tensors).dtype = 'uint8'; return m; }],
  ['int8 tensor retyped float32 (bytes updated)', (m, w, r) => {
    const ts = m.ops.flatMap((o) => (o.kind.endsWith('_i8') ? o.in : []));
    const t = m.tensors[ts.length > 0 ? r.pick(ts) : 0];
    const to = t.dtype === 'float32' ? 'int8' : 'float32';
    t.bytes = (t.bytes / (t.dtype === 'int8' ? 1 : t.dtype === 'int16' ? 2 : 4)) * (to === 'int8' ? 1 : 4);
    t.dtype = to;
    m.arenaBytes = Math.max(m.arenaBytes, t.offset + t.bytes + 16);
    return m;
  }],
  ['tensor shape with a negative dimension', (m, w, r) => { const t = r.pick(m.tensors); t.shape[0] = -1; return m; }],
  ['tensor shape of rank 7', (m, w, r) => { const t = r.pick(m.tensors); t.shape = [1, 1, 1, ...t.shape, 1, 1, 1].slice(0, 7); return m; }],
  ['unknown op kind', (m, w, r) => { r.pick(m.ops).kind = r.pick(['conv_u4', '__proto__', 'toString', 'constructor', '']); return m; }],
  ['op param missing', (m, w, r) => { const o = r.pick(m.ops); delete o.p[r.pick(Object.keys(o.p))]; return m; }],
  ['op param not an integer', (m, w, r) => {
    const o = r.pick(m.ops);
    const ks = Object.keys(o.p).filter((k) => !['scale', 'beta', 'actMin', 'actMax'].includes(k));
    o.p[r.pick(ks)] = 0.5;
    return m;
  }],
  ['op param as a string', (m, w, r) => { const o = r.pick(m.ops); o.p[r.pick(Object.keys(o.p))] = '1'; return m; }],
  ['op param 2^31', (m, w, r) => {
    const o = r.pick(m.ops);
    const ks = Object.keys(o.p).filter((k) => !['scale', 'beta', 'actMin', 'actMax'].includes(k));
    o.p[r.pick(ks)] = 2 ** 31;
    return m;
  }],
  ['conv stride 0', (m) => { const o = m.ops.find((x) => 'sH' in x.p); if (o) o.p.sH = 0; else m.ops[0].kind = 'nope'; return m; }],
  ['conv kernel 0x0', (m) => { const o = m.ops.find((x) => 'kH' in x.p); if (o) { o.p.kH = 0; o.p.kW = 0; } else m.ops[0].kind = 'nope'; return m; }],
  ['conv padding larger than the kernel', (m) => { const o = m.ops.find((x) => 'padT' in x.p); if (o) o.p.padT = 1000; else m.ops[0].kind = 'nope'; return m; }],
  ['activation range inverted', (m) => { const o = m.ops.find((x) => x.kind.endsWith('_i8') && 'actMin' in x.p); if (o) { o.p.actMin = 100; o.p.actMax = -100; } else m.ops[0].kind = 'nope'; return m; }],
  ['zero point out of range', (m) => { const o = m.ops.find((x) => 'inZp' in x.p); if (o) o.p.inZp = 100000; else m.ops[0].kind = 'nope'; return m; }],
  ['ops not an array', (m) => { m.ops = { 0: m.ops[0] }; return m; }],
  ['10001 ops', (m) => { m.ops = new Array(10001).fill(m.ops[m.ops.length - 1]); return m; }],
  ['op is null', (m, w, r) => { m.ops[r.int(0, m.ops.length - 1)] = null; return m; }],
  ['tensor is a string', (m, w, r) => { m.tensors[r.int(0, m.tensors.length - 1)] = 'x'; return m; }],
  ['input shape != input tensor shape', (m) => { m.input.shape = [1, m.input.shape[1] + 1, m.input.shape[2], 3]; return m; }],
  ['input with 4 channels', (m) => { m.input.shape[3] = 4; m.tensors[m.inputTensor].shape[3] = 4; return m; }],
  ['input dtype int16', (m) => { m.input.dtype = 'int16'; return m; }],
  ['input normalization std 0', (m) => { m.input.normalization.std = [1, 0, 1]; return m; }],
  ['input normalization missing', (m) => { delete m.input.normalization; return m; }],
  ['input scale 0', (m) => { m.input.scale = 0; return m; }],
  ['input scale negative', (m) => { m.input.scale = -m.input.scale; return m; }],
  ['input zero point 1000', (m) => { m.input.zeroPoint = 1000; return m; }],
  ['output shape mismatch', (m) => { m.outputs[0].shape = [1, 7]; return m; }],
  ['output dtype int32', (m) => { m.outputs[0].dtype = 'int32'; return m; }],
  ['outputs count != outputTensors count', (m) => { m.outputs.push(m.outputs[0]); return m; }],
  ['labels not strings', (m) => { m.labels = [1, 2, 3]; return m; }],
  ['precision "int4"', (m) => { m.precision = 'int4'; return m; }],
  ['name of 201 characters', (m) => { m.name = 'n'.repeat(201); return m; }],
  ['manifest is an array', () => ({ raw: '[]' })],
  ['manifest is null', () => ({ raw: 'null' })],
  ['manifest is not JSON', (m) => ({ raw: JSON.stringify(m).slice(0, -1) })],
  ['manifest is not UTF-8', (m) => ({ raw: new Uint8Array([...enc.encode(JSON.stringify(m)).slice(0, -2), 0xc3, 0x28, 0x7d]) })],
  ['manifest nested 100000 deep', () => ({ raw: '['.repeat(100000) + ']'.repeat(100000) })],
  ['format 2 in the manifest', (m) => ({ raw: JSON.stringify({ ...m, format: 2 }) })],
  ['weightsBytes != weights length', (m, w) => ({ raw: JSON.stringify({ ...m, format: 1, weightsBytes: w.length + 16 }) })],
  ['header version 2 (re-signed)', (m, w) => ({ raw: JSON.stringify({ ...m, format: 1, weightsBytes: w.length }), forge: { version: 2 } })],
  ['header manifest length not a multiple of 16', (m, w) => ({ raw: JSON.stringify({ ...m, format: 1, weightsBytes: w.length }), forge: { mlen: 24 } })],
  ['header weights length 2^32-1', (m, w) => ({ raw: JSON.stringify({ ...m, format: 1, weightsBytes: w.length }), forge: { wlen: 0xffffffff } })],
  ['magic "ELNZ" (re-signed)', (m, w) => ({ raw: JSON.stringify({ ...m, format: 1, weightsBytes: w.length }), forge: { magic: 'ELNZ' } })],
];

/** Names of the targeted edits, in case order. */
export const TARGETED_NAMES = TARGETED.map(([n]) => n);

const INTERESTING = [0, -1, 1, 2, 15, 16, 17, 255, 256, 65535, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 31), 0.5, 1e308, -1e308, '', '0', null, true, [], {}, [0, 0], 'x'.repeat(300)];

/** All paths to leaves (and small containers) of a JSON value. */
function paths(v, at = [], out = []) {
  if (Array.isArray(v)) {
    out.push(at);
    v.forEach((x, i) => paths(x, [...at, i], out));
  } else if (v !== null && typeof v === 'object') {
    out.push(at);
    for (const k of Object.keys(v)) paths(v[k], [...at, k], out);
  } else {
    out.push(at);
  }
  return out;
}

function setAt(root, path, value) {
  let o = root;
  for (let i = 0; i < path.length - 1; i++) o = o[path[i]];
  o[path[path.length - 1]] = value;
}
function getAt(root, path) {
  let o = root;
  for (const k of path) o = o?.[k];
  return o;
}

/**
 * Model fuzz case `index` of run `seed` over `bases` ([{ name, bytes }]; split lazily).
 * Returns { index, kind, name, base (index into bases), bytes, mustReject }.
 * writeArtifact: src/model/artifact.ts's writer (computes the sha256).
 * Cases 0..TARGETED.length-1 are the targeted edits on base 0, in order (all of them in
 * every run that is at least that long), then a mix of everything on every base.
 */
export async function modelCase(bases, seed, index, writeArtifact) {
  const r = rng(caseSeed(seed, index));
  let kind;
  let bi;
  if (index < TARGETED.length) {
    kind = 'targeted';
    bi = 0;
  } else {
    kind = r.weighted([[10, 'bitflip'], [5, 'truncate'], [2, 'append'], [4, 'header'], [35, 'targeted'], [40, 'random-field'], [4, 'random-weights']]);
    bi = r.int(0, bases.length - 1);
  }
  const base = bases[bi];
  base.split ??= splitArtifact(base.bytes);
  const { manifest, weights } = base.split;
  const src = base.bytes;

  if (kind === 'bitflip') {
    const b = src.slice();
    const n = r.int(1, 16);
    for (let i = 0; i < n; i++) {
      // half of the flips in the header + manifest, where they matter most
      const at = r.chance(0.5) ? r.int(0, Math.min(b.length, HEADER + base.split.mlen) - 1) : r.int(0, b.length - 1);
      b[at] ^= 1 << r.int(0, 7);
    }
    return { index, kind, name: `${base.name}: ${n} bit flips`, base: bi, bytes: b, mustReject: true };
  }
  if (kind === 'truncate') {
    // at least one byte: an empty body is a 400 no_body, not an artifact
    const at = r.chance(0.3) ? r.int(1, 200) : r.int(1, src.length - 1);
    return { index, kind, name: `${base.name}: truncated at ${at}`, base: bi, bytes: src.slice(0, at), mustReject: true };
  }
  if (kind === 'append') {
    const n = r.pick([1, 15, 16, 4096]);
    const b = new Uint8Array(src.length + n);
    b.set(src);
    return { index, kind, name: `${base.name}: ${n} bytes appended`, base: bi, bytes: b, mustReject: true };
  }
  if (kind === 'header') {
    const b = src.slice();
    const dv = new DataView(b.buffer);
    const field = r.pick([4, 8, 12]);
    dv.setUint32(field, r.pick([0, 1, 2, 0xffffffff, dv.getUint32(field, true) + 16, dv.getUint32(field, true) - 16, r.int(0, 0xffffffff)]) >>> 0, true);
    if (dv.getUint32(field, true) === new DataView(src.buffer, src.byteOffset).getUint32(field, true)) b[field] ^= 0x10;
    return { index, kind, name: `${base.name}: header field at ${field} forged`, base: bi, bytes: b, mustReject: true };
  }
  if (kind === 'targeted') {
    const ti = index < TARGETED.length ? index : r.int(0, TARGETED.length - 1);
    const [name, edit] = TARGETED[ti];
    const res = edit(clone(manifest), weights, r);
    const bytes = res && typeof res === 'object' && 'raw' in res
      ? await rawArtifact(res.raw, weights, res.forge)
      : await writeArtifact(stripForWrite(res), weights);
    return { index, kind, name: `${base.name}: ${name}`, base: bi, bytes, mustReject: true };
  }
  if (kind === 'random-weights') {
    const w = weights.slice();
    const n = r.int(1, 64);
    for (let i = 0; i < n; i++) w[r.int(0, w.length - 1)] = r.int(0, 255);
    return { index, kind, name: `${base.name}: ${n} weight bytes changed`, base: bi, bytes: await writeArtifact(stripForWrite(manifest), w), mustReject: false };
  }
  // random-field: one field of the manifest (structure-weighted) gets an interesting value
  const m = clone(manifest);
  const all = paths(m).filter((p) => p.length > 0);
  const region = r.weighted([[4, 'ops'], [3, 'tensors'], [1, 'input'], [1, 'outputs'], [1, 'top']]);
  const pool = all.filter((p) => (region === 'top' ? !['ops', 'tensors', 'labels'].includes(String(p[0])) : p[0] === region));
  const p = r.pick(pool.length > 0 ? pool : all);
  const old = getAt(m, p);
  const value = typeof old === 'number' && r.chance(0.5)
    ? r.pick([old + 1, old - 1, old * 2, old + 16, old - 16, -old, old * 65536, Math.floor(old / 2)])
    : r.pick(INTERESTING);
  setAt(m, p, value);
  return {
    index, kind, name: `${base.name}: ${p.join('.')} = ${JSON.stringify(value)?.slice(0, 40)} (was ${JSON.stringify(old)?.slice(0, 40)})`,
    base: bi, bytes: await writeArtifact(stripForWrite(m), weights), mustReject: false,
  };
}

// ------------------------------------------------------------------ runner

/** Statuses an inference with an accepted (mutated but valid) model may get. */
export const INFERENCE_OK = Object.freeze([200, 400, 413, 415, 422]);

/**
 * Runs `cases` model fuzz cases against a Worker reachable through `fetch(path, init)`.
 * For every base artifact it first stores the original under its own id and records a
 * reference answer (classify top-5 of `image`); each case is PUT to its base's id:
 *  - 422 invalid_artifact: the pointer must be unchanged, and (when hasBlob is given) no
 *    blob may exist under the sha256 the artifact declares or hashes to (unless that is the
 *    sha256 of a base or of an accepted artifact, e.g. a header-only edit);
 *  - 2xx: only allowed for cases that are not known-bad (mustReject false); the new model
 *    must then answer classify and detect without a 5xx, and the original is PUT back;
 *  - anything else is a failure.
 * Every `checkEvery` cases (and at the end) each base id must still give the reference answer.
 * Returns { histogram, kinds, accepted, failures, acceptedShas, maxMs }.
 */
export async function runModelFuzz({ fetch, bases, ids, seed, cases, writeArtifact, token, image, hasBlob = null, checkEvery = 25, log = () => {}, now = () => Date.now() }) {
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' };
  const failures = [];
  const histogram = {};
  const kinds = {};
  const acceptedShas = new Set();
  let accepted = 0;
  let maxMs = 0;
  const json = async (res) => {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      return { nonJson: text.slice(0, 200) };
    }
  };
  const classify = (id) => fetch(`/v1/classify?model=${id}&top=5`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: image });
  const pointers = [];
  const reference = [];
  for (let k = 0; k < bases.length; k++) {
    const res = await fetch(`/v1/models/${ids[k]}`, { method: 'PUT', headers: auth, body: bases[k].bytes });
    const body = await json(res);
    if (res.status !== 200 && res.status !== 201) throw new Error(`storing base ${bases[k].name}: ${res.status} ${JSON.stringify(body)}`);
    pointers.push(body.model);
    const ref = await classify(ids[k]);
    const refBody = await json(ref);
    if (ref.status !== 200) throw new Error(`reference answer of ${bases[k].name}: ${ref.status} ${JSON.stringify(refBody)}`);
    reference.push(JSON.stringify(refBody.predictions));
  }
  const checkServing = async (when) => {
    for (let k = 0; k < bases.length; k++) {
      const res = await classify(ids[k]);
      const body = await json(res);
      if (res.status !== 200 || body.model?.sha256 !== pointers[k].sha256 || JSON.stringify(body.predictions) !== reference[k]) {
        failures.push(`${when}: ${ids[k]} no longer serves the original (${res.status}, sha ${body.model?.sha256}, ${JSON.stringify(body.predictions ?? body).slice(0, 160)})`);
      }
    }
  };
  const known = new Set(pointers.map((p) => p.sha256)); // shas that are legitimately stored
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  for (let i = 0; i < cases; i++) {
    const c = await modelCase(bases, seed, i, writeArtifact);
    const id = ids[c.base];
    const t0 = now();
    const res = await fetch(`/v1/models/${id}`, { method: 'PUT', headers: auth, body: c.bytes });
    const body = await json(res);
    const ms = now() - t0;
    if (ms > maxMs) maxMs = ms;
    histogram[res.status] = (histogram[res.status] ?? 0) + 1;
    const kk = `${c.kind} ${res.status}`;
    kinds[kk] = (kinds[kk] ?? 0) + 1;
    const what = `case ${i} (${c.kind}: ${c.name})`;
    if (res.status === 422) {
      if (body?.error?.code !== 'invalid_artifact') failures.push(`${what}: 422 with code ${body?.error?.code}`);
      const p = await json(await fetch(`/v1/models/${id}`));
      if (JSON.stringify(p.model) !== JSON.stringify(pointers[c.base])) failures.push(`${what}: rejected, but the pointer changed: ${JSON.stringify(p).slice(0, 200)}`);
      if (hasBlob && c.bytes.length >= 48) {
        const declared = hex(c.bytes.subarray(16, 48));
        const actual = hex(await sha256(c.bytes.subarray(48)));
        for (const sha of new Set([declared, actual])) {
          if (!known.has(sha) && (await hasBlob(sha))) failures.push(`${what}: rejected, but blob:${sha} was stored`);
        }
      }
    } else if (res.status === 200 || res.status === 201) {
      accepted++;
      acceptedShas.add(body.model?.sha256);
      known.add(body.model?.sha256);
      if (c.mustReject) failures.push(`${what}: a known-bad artifact was accepted (${res.status})`);
      for (const route of ['classify', 'detect']) {
        const inf = await fetch(`/v1/${route}?model=${id}`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: image });
        const ib = await json(inf);
        if (!INFERENCE_OK.includes(inf.status)) failures.push(`${what}: accepted, then /v1/${route} answered ${inf.status} ${JSON.stringify(ib).slice(0, 200)}`);
      }
      const back = await fetch(`/v1/models/${id}`, { method: 'PUT', headers: auth, body: bases[c.base].bytes });
      const bb = await json(back);
      if (back.status !== 200) failures.push(`${what}: restoring the original answered ${back.status}`);
      else pointers[c.base] = bb.model;
    } else {
      failures.push(`${what}: unexpected ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
    if ((i + 1) % checkEvery === 0) await checkServing(`after case ${i}`);
    if ((i + 1) % 250 === 0) log(`${i + 1}/${cases} cases, statuses ${JSON.stringify(histogram)}, ${failures.length} failures`);
  }
  await checkServing('at the end');
  return { histogram, kinds, accepted, failures, acceptedShas, maxMs, pointers };
}
