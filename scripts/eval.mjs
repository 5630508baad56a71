#!/usr/bin/env node
// npm run eval [-- --url http://localhost:8787]: runs ../shared/images/imagenet-dev through the
// running service (or a private `wrangler dev` it starts) and prints top-1 / top-5 accuracy next
// to the golden reference's top-1 (TFLite on Pillow-preprocessed inputs), then person accuracy
// on the labelled samples and on imagenet-dev/person.csv.
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, serverFromArgs } from './lib/devserver.mjs';

const SHARED = process.env.EDGELENS_SHARED_DIR ? resolve(process.env.EDGELENS_SHARED_DIR) : resolve(ROOT, '..', 'shared');
const DEV = join(SHARED, 'images', 'imagenet-dev');
const SAMPLES = join(SHARED, 'images', 'samples');
const PERSONS = new Set(['grace_hopper', 'squat', 'face', 'kite_and_cold', 'tflm_person']); // images/README.md

const csv = (f) => {
  const [head, ...rows] = readFileSync(f, 'utf8').trim().split(/\r?\n/);
  const cols = head.split(',');
  return rows.map((r) => { const v = r.split(','); return Object.fromEntries(cols.map((c, i) => [c, v[i]])); });
};

async function post(url, path, file) {
  const body = readFileSync(file);
  const type = /\.png$/i.test(file) ? 'image/png' : 'image/jpeg';
  const r = await fetch(new URL(path, url), { method: 'POST', body, headers: { 'content-type': type } });
  const j = await r.json();
  if (!r.ok) throw new Error(`${file}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const server = await serverFromArgs(process.argv.slice(2));
try {
  const labels = csv(join(DEV, 'labels.csv'));
  const fileCol = Object.keys(labels[0]).find((k) => /file/i.test(k));
  const idxCol = Object.keys(labels[0]).find((k) => /index/i.test(k));
  const golden = JSON.parse(readFileSync(join(SHARED, 'golden', 'coral_tf2_mobilenet_v2_1.0_224_ptq', 'manifest.json'), 'utf8'));
  const goldenTop1 = new Map(golden.cases.filter((c) => c.top5).map((c) => [c.case, c.top5[0].index]));
  let top1 = 0, top5 = 0, agree = 0, agreeN = 0, goldenCorrect = 0;
  for (const row of labels) {
    const want = Number(row[idxCol]);
    const j = await post(server.url, '/v1/classify?model=mobilenet_v2&top=5', join(DEV, row[fileCol]));
    const idx = j.predictions.map((p) => p.index);
    if (idx[0] === want) top1++;
    if (idx.includes(want)) top5++;
    if (goldenTop1.has(row[fileCol])) {
      agreeN++;
      if (goldenTop1.get(row[fileCol]) === idx[0]) agree++;
      if (goldenTop1.get(row[fileCol]) === want) goldenCorrect++;
    }
  }
  const n = labels.length;
  console.log(`imagenet-dev (${n} photos) through ${server.url}/v1/classify (mobilenet_v2):`);
  console.log(`  top-1 ${(100 * top1 / n).toFixed(1)}%  top-5 ${(100 * top5 / n).toFixed(1)}%`);
  console.log(`  golden reference (TFLite, Pillow preprocessing) on its ${agreeN} cases: top-1 ${(100 * goldenCorrect / agreeN).toFixed(1)}%; ours agrees with its top-1 on ${agree}/${agreeN}`);

  let ok = 0, total = 0;
  const rows = [];
  for (const f of ['grace_hopper.jpg', 'squat.jpg', 'face.jpg', 'kite_and_cold.jpg', 'tflm_person.jpg', 'cat.jpg', 'bird.jpg', 'sunflower.jpg',
    'dragonfly.jpg', 'missvickie_potato_chips.jpg', 'owl.jpg', 'parrot.jpg', 'hot_dog.jpg', 'pets.jpg', 'tflm_no_person.jpg']) {
    if (!existsSync(join(SAMPLES, f))) continue;
    const j = await post(server.url, '/v1/detect?threshold=0.5', join(SAMPLES, f));
    const truth = PERSONS.has(f.replace(/\.\w+$/, ''));
    total++;
    if (j.person.detected === truth) ok++;
    rows.push(`${f}: ${j.person.score.toFixed(2)} ${j.person.detected === truth ? 'ok' : 'WRONG'}`);
  }
  console.log(`person (labelled samples, ${total}): accuracy ${(100 * ok / total).toFixed(1)}%`);
  console.log(`  ${rows.join('; ')}`);
  const persons = csv(join(DEV, 'person.csv'));
  const pf = Object.keys(persons[0]).find((k) => /file/i.test(k));
  const pp = Object.keys(persons[0]).find((k) => /person/i.test(k));
  let pok = 0;
  for (const row of persons) {
    const j = await post(server.url, '/v1/detect?threshold=0.5', join(DEV, row[pf]));
    if (j.person.detected === (row[pp] === '1')) pok++;
  }
  console.log(`person (imagenet-dev/person.csv, ${persons.length}): accuracy ${(100 * pok / persons.length).toFixed(1)}%`);
} finally {
  await server.stop();
}
