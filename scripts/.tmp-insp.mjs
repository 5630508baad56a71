import { startDevServer, seedModels, tempState, rmState, procMem, inspectIsolate, fmtIsolate } from './hardening-lib.mjs';
import { readFileSync } from 'node:fs';
const dir = tempState('insp');
seedModels(dir);
const s = await startDevServer({ persistTo: dir });
try {
const iso = await inspectIsolate(s);
console.log(fmtIsolate(await iso.heap(), await iso.wasm()), procMem(s.workerdPid));
const img = readFileSync('/work/shared/images/samples/cat_1080p.jpg');
for (let i = 0; i < 5; i++) await (await fetch(s.url + (i % 2 ? '/v1/classify' : '/v1/detect'), { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: img })).text();
console.log(fmtIsolate(await iso.heap(), await iso.wasm()), procMem(s.workerdPid));
console.log(fmtIsolate(await iso.heap()));
iso.close();
} catch (e) { console.log('ERR', e); }
await s.stop();
rmState(dir);
