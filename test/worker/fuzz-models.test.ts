// Model fuzz, smoke size: bad artifacts through PUT /v1/models/:id inside workerd (real KV,
// real engine). Every known-bad artifact (bit flips, truncation, header forgeries, and
// manifest edits re-signed with a correct sha256: out-of-range tensor indices, weight slots
// past the end, shapes inconsistent with ops, huge arenas, wrong dtypes...) gets 422 with
// nothing stored, and the old version keeps serving the same answers. Random re-signed
// edits may be valid; accepted ones must then serve without a 5xx. Full size:
// `npm run fuzz:models` (scripts/fuzz-models.mjs), same cases for the same seed.
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { writeArtifact } from '../../src/model/artifact';
import { blobKey } from '../../src/store/layout';
import { TARGETED_NAMES, runModelFuzz } from '../../scripts/fuzz-models-cases.mjs';
import { ADMIN_TOKEN, BASE, fixture, uniqueId } from './helpers';

const SEED = 20261121;
const SMOKE_CASES = 160;

const worker = exports.default as unknown as { fetch(req: Request): Promise<Response> };

/** Whether blob:<sha256> exists (a per-key check: other test files may write to KV meanwhile). */
async function hasBlob(sha256: string): Promise<boolean> {
  return (await env.MODELS.get(blobKey(sha256), 'arrayBuffer')) !== null;
}

let bases: { name: string; bytes: Uint8Array }[];
let image: Uint8Array;

beforeAll(async () => {
  bases = [];
  for (const [name, path] of [['person', 'models/person.elns'], ['vww_96_int8', 'golden-models/vww_96_int8.elns'], ['vww_96_float', 'golden-models/vww_96_float.elns']]) {
    bases.push({ name: name!, bytes: await fixture(path!) });
  }
  image = await fixture('images/samples/grace_hopper.jpg');
});

describe('model fuzz (smoke)', () => {
  it(`${SMOKE_CASES} seeded bad artifacts: 422 and nothing stored, or valid and serving; the old version keeps serving`, async () => {
    expect(SMOKE_CASES).toBeGreaterThan(TARGETED_NAMES.length); // every targeted edit runs
    const quiet = [vi.spyOn(console, 'error').mockImplementation(() => {}), vi.spyOn(console, 'warn').mockImplementation(() => {})];
    let result: Awaited<ReturnType<typeof runModelFuzz>>;
    try {
      result = await runModelFuzz({
        fetch: (path: string, init?: RequestInit) => worker.fetch(new Request(BASE + path, init)),
        bases,
        ids: bases.map((b) => uniqueId(`fuzz-${b.name.replace(/_/g, '-')}`)),
        seed: SEED,
        cases: SMOKE_CASES,
        writeArtifact,
        token: ADMIN_TOKEN,
        image,
        hasBlob,
      });
    } finally {
      quiet.forEach((s) => s.mockRestore());
    }
    console.log(`model fuzz smoke: ${SMOKE_CASES} cases, seed ${SEED}, statuses ${JSON.stringify(result.histogram)}, accepted ${result.accepted}`);
    expect(result.failures).toEqual([]);
    expect(Object.keys(result.histogram).every((s) => ['200', '201', '422'].includes(s))).toBe(true);
    expect(result.histogram[422]).toBeGreaterThan(TARGETED_NAMES.length);
  });
});
