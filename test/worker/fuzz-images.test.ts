// Image fuzz, smoke size: seeded mutations of the sample JPEGs/PNGs plus every crafted case
// (1x1 / 20000x1 images, CMYK without APP14, bombs, thousands of scans, wrong content types...)
// sent through the real Worker in workerd. Only 2xx or the documented 4xx, JSON bodies, and
// bombs refused from the header. The full size (10,000 cases, with timings) is
// `npm run fuzz:images` (scripts/fuzz-images.mjs); the cases are the same for the same seed.
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildImageCorpus, checkImageAnswer, imageCase } from '../../scripts/fuzz-images-cases.mjs';
import { ADMIN_TOKEN, BASE, adminHeaders, fixture } from './helpers';

const SEED = 20261121;
const SMOKE_CASES = 300;
const SAMPLES = [
  'bird.jpg', 'cat.jpg', 'cat.png', 'cat_1080p.jpg', 'cat_720p.jpg', 'dragonfly.jpg', 'face.jpg', 'grace_hopper.jpg',
  'grace_hopper.png', 'hot_dog.jpg', 'kite_and_cold.jpg', 'missvickie_potato_chips.jpg', 'owl.jpg', 'parrot.jpg',
  'pets.jpg', 'squat.jpg', 'sunflower.jpg', 'tflm_no_person.jpg', 'tflm_person.jpg',
];

const worker = exports.default as unknown as { fetch(req: Request): Promise<Response> };

type Corpus = Awaited<ReturnType<typeof buildImageCorpus>>;
let corpus: Corpus;

beforeAll(async () => {
  for (const id of ['mobilenet_v2', 'person']) {
    const res = await worker.fetch(new Request(`${BASE}/v1/models/${id}`, {
      method: 'PUT', headers: { ...adminHeaders(ADMIN_TOKEN), 'content-type': 'application/octet-stream' }, body: await fixture(`models/${id}.elns`),
    }));
    expect([200, 201]).toContain(res.status);
  }
  const samples = await Promise.all(SAMPLES.map(async (name) => ({ name, bytes: await fixture(`images/samples/${name}`) })));
  corpus = await buildImageCorpus(samples);
});

describe('image fuzz (smoke)', () => {
  it(`${SMOKE_CASES} seeded cases: only 2xx or documented 4xx, JSON bodies, bombs refused from the header`, async () => {
    // decoder exceptions mapped to 422 are logged with console.warn: expected here
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const histogram: Record<string, number> = {};
    const failures: string[] = [];
    try {
      expect(SMOKE_CASES).toBeGreaterThan(corpus.crafted.length); // every crafted case runs
      for (let i = 0; i < SMOKE_CASES; i++) {
        const c = imageCase(corpus, SEED, i);
        const headers: Record<string, string> = {};
        if (c.contentType !== null) headers['content-type'] = c.contentType;
        const res = await worker.fetch(new Request(BASE + c.path, { method: 'POST', headers, body: c.body }));
        const text = await res.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        histogram[res.status] = (histogram[res.status] ?? 0) + 1;
        const problems = checkImageAnswer(c, res.status, json, res.headers.get('content-type'));
        if (problems.length > 0) failures.push(`case ${i} (${c.kind}: ${c.name}) -> ${res.status} ${text.slice(0, 200)}: ${problems.join('; ')}`);
      }
    } finally {
      warn.mockRestore();
    }
    console.log(`image fuzz smoke: ${SMOKE_CASES} cases, seed ${SEED}, statuses ${JSON.stringify(histogram)}`);
    expect(failures).toEqual([]);
    expect(Object.keys(histogram).every((s) => Number(s) < 500)).toBe(true);
    expect(histogram[200]).toBeGreaterThan(0);
  });
});
