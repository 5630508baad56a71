// edgelens CLI (Node only; never bundled into the Worker).
//
//   edgelens compile <model.tflite> -o <artifact> [--labels <file>] [--name <id>] [--mean a,b,c --std a,b,c] [--meta json] [--input-size N|HxW] [--reference]
//        [--precision fp32|int16|int8] [--calibrate <image dir>] [--calib-method minmax|percentile|mse] [--calib-limit N]
//        [--weights-bits 8|4|mixed:<config>] [--auto-bits <max drop, points>] [--save-bits <file.json>] [--no-bias-correction]
//   edgelens quant-report <float model> <artifact> --images <dir> [--limit N]
//   edgelens run <model.tflite|artifact> --input <in.bin> --output <out.bin>
//   edgelens golden [dir]                 (default ../shared/golden)
//   edgelens bench <model> [--runs N] [--json]
//   edgelens inspect <model.tflite|artifact>
//   edgelens trace <model-folder-in-golden> [dir]   first op whose output differs from the reference trace

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileTflite, CompileError } from './compile.ts';
import { createNodeEngine, loadModelFile, repoRoot, isArtifact } from './node-engine.ts';
import { goldenDirs, runGoldenModel, compareOutput } from './golden.ts';
import { parseArtifact, ArtifactError } from '../src/model/artifact.ts';
import { ModelFormatError } from './tflite.ts';
import { compileWithFlags } from './variant.ts';
import { quantReportCli } from './quant-report.ts';

function parseArgs(argv: string[]) {
  const pos: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2)) {
      const key = a.replace(/^-+/, '');
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) { flags[key] = next; i++; } else flags[key] = true;
    } else pos.push(a);
  }
  return { pos, flags };
}

const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);
const triple = (v: string | undefined, what: string): [number, number, number] | undefined => {
  if (!v) return undefined;
  const n = v.split(',').map(Number);
  if (n.length === 1) n.push(n[0]!, n[0]!);
  if (n.length !== 3 || n.some((x) => !Number.isFinite(x))) throw new CompileError(`--${what} takes 1 or 3 comma-separated numbers`);
  return n as [number, number, number];
};

function defaultGoldenDir(): string {
  const fromRoot = resolve(repoRoot(), '..', 'shared', 'golden');
  return existsSync(fromRoot) ? fromRoot : resolve(process.cwd(), '..', 'shared', 'golden');
}

const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };
const pct = (a: number[], p: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]!; };

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { pos, flags } = parseArgs(rest);
  switch (cmd) {
    case 'compile': {
      const src = pos[0];
      const out = str(flags.o) ?? str(flags.output);
      if (!src || !out) { console.error('usage: edgelens compile <model.tflite> -o <artifact> [--labels <file>] [--name <id>]'); return 2; }
      const labelsFile = str(flags.labels);
      const labels = labelsFile ? readFileSync(labelsFile, 'utf8').split(/\r?\n/).filter((l, i, a) => l.length > 0 || i < a.length - 1) : undefined;
      const mean = triple(str(flags.mean), 'mean');
      const std = triple(str(flags.std), 'std');
      if ((mean && !std) || (!mean && std)) throw new CompileError('--mean and --std go together');
      const meta = str(flags.meta) ? JSON.parse(str(flags.meta)!) : undefined;
      const sizeArg = str(flags['input-size']);
      let inputSize: [number, number] | undefined;
      if (sizeArg) {
        const m = /^(\d+)(?:x(\d+))?$/.exec(sizeArg);
        if (!m) throw new CompileError('--input-size takes N or HxW, e.g. 160 or 160x160');
        inputSize = [Number(m[1]), Number(m[2] ?? m[1])];
      }
      const t0 = performance.now();
      const { artifact, report } = await compileWithFlags(new Uint8Array(readFileSync(src)), flags, {
        name: str(flags.name) ?? src.split('/').pop()!.replace(/\.tflite$/, ''),
        labels, meta, sourceFile: src.split('/').pop(), reference: flags.reference === true, noRows: flags['no-rows'] === true, inputSize,
        ...(mean && std ? { normalization: { mean, std } } : {}),
      });
      writeFileSync(out, artifact);
      console.log(`${out}: ${report.artifactBytes} bytes, ${report.ops} ops (from ${report.tfliteOps}), ${(report.macs / 1e6).toFixed(1)} M MACs, ` +
        `arena ${report.arenaBytes} B + scratch ${report.scratchBytes} B, weights ${report.weightsBytes} B, ${(performance.now() - t0).toFixed(0)} ms`);
      for (const r of report.refKernels) console.log(`  note: ${r}`);
      return 0;
    }
    case 'run': {
      const src = pos[0];
      const inp = str(flags.input), outp = str(flags.output);
      if (!src || !inp || !outp) { console.error('usage: edgelens run <model> --input <in.bin> --output <out.bin>'); return 2; }
      const engine = await createNodeEngine();
      const { parsed } = await loadModelFile(src);
      const model = engine.load(parsed);
      const raw = new Uint8Array(readFileSync(inp));
      const input = parsed.manifest.input.dtype === 'float32' ? new Float32Array(raw.slice().buffer) : raw;
      const outs = model.run(input);
      const o = outs[0]!;
      writeFileSync(outp, new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
      if (outs.length > 1) outs.slice(1).forEach((x, k) => writeFileSync(`${outp}.${k + 1}`, new Uint8Array(x.buffer, x.byteOffset, x.byteLength)));
      return 0;
    }
    case 'golden': {
      const dir = resolve(pos[0] ?? defaultGoldenDir());
      const engine = await createNodeEngine();
      let passed = 0, failed = 0;
      for (const name of goldenDirs(dir)) {
        const r = await runGoldenModel(engine, dir, name, { reference: flags.reference === true });
        if (r.skipped) {
          console.log(`${name}: skipped (${r.skipped})`);
          continue;
        }
        passed += r.passed; failed += r.failed;
        console.log(`${name}: ${r.passed}/${r.passed + r.failed} passed (${r.ms.toFixed(0)} ms)`);
        for (const f of r.failures.slice(0, 5)) console.log(`  FAIL ${f.case}: ${f.detail}`);
      }
      console.log(`${passed} passed, ${failed} failed`);
      return failed > 0 || passed === 0 ? 1 : 0;
    }
    case 'bench': {
      const src = pos[0];
      if (!src) { console.error('usage: edgelens bench <model> [--runs N] [--json]'); return 2; }
      const runs = Number(str(flags.runs) ?? 50);
      const engine = await createNodeEngine();
      const { parsed, artifact } = await loadModelFile(src);
      const model = engine.load(parsed);
      const m = parsed.manifest;
      const n = m.tensors[m.inputTensor]!.bytes;
      const input = m.input.dtype === 'float32' ? new Float32Array(n / 4).map((_, i) => ((i * 2654435761) % 256) / 255) : new Uint8Array(n).map((_, i) => (i * 2654435761) % 256);
      for (let i = 0; i < Math.min(10, runs); i++) model.run(input);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        model.run(input);
        times.push(performance.now() - t0);
      }
      const res = {
        model: m.name, runs, median_ms: median(times), p90_ms: pct(times, 0.9), artifact_bytes: artifact.length,
        arena_bytes: m.arenaBytes, scratch_bytes: m.scratchBytes, macs: m.macs, gmacs_per_s: m.macs / (median(times) * 1e6),
      };
      if (flags.json) console.log(JSON.stringify(res));
      else {
        console.log(`${res.model}: median ${res.median_ms.toFixed(3)} ms, p90 ${res.p90_ms.toFixed(3)} ms over ${runs} runs`);
        console.log(`  artifact ${res.artifact_bytes} B, peak arena ${res.arena_bytes} B (+${res.scratch_bytes} B scratch), ${(res.macs / 1e6).toFixed(1)} M MACs, ${res.gmacs_per_s.toFixed(1)} GMAC/s`);
        if (flags.profile) {
          const agg = new Map<string, number>();
          for (let i = 0; i < 10; i++) for (const o of model.profile(input).ops) agg.set(o.kind, (agg.get(o.kind) ?? 0) + o.ms / 10);
          for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(18)} ${v.toFixed(3)} ms`);
          if (flags.profile === 'ops') {
            const per = new Float64Array(m.ops.length);
            for (let i = 0; i < 20; i++) model.profile(input).ops.forEach((o, j) => { per[j] += o.ms / 20; });
            m.ops.forEach((op, j) => {
              const p = op.p as Record<string, number>;
              const shape = p.outC !== undefined ? ` ${p.inH}x${p.inW}x${p.inC} -> ${p.outH}x${p.outW}x${p.outC} k${p.kH}x${p.kW} s${p.sH}` : '';
              console.log(`  #${String(j).padStart(3)} ${op.kind.padEnd(10)} ${per[j]!.toFixed(3)} ms${shape}`);
            });
          }
        }
      }
      return 0;
    }
    case 'inspect': {
      const src = pos[0];
      if (!src) { console.error('usage: edgelens inspect <model>'); return 2; }
      const bytes = new Uint8Array(readFileSync(src));
      const m = isArtifact(bytes) ? (await parseArtifact(bytes)).manifest : (await compileTflite(bytes)).manifest;
      const { tensors: _t, ops, labels, ...rest } = m;
      console.log(JSON.stringify({ ...rest, labels: labels ? `${labels.length} labels` : undefined, ops: ops.map((o) => `${o.kind}${o.p.fast === 0 ? '(ref)' : ''} ${o.src ?? ''}`) }, null, 1));
      return 0;
    }
    case 'trace': {
      const name = pos[0];
      const dir = resolve(pos[1] ?? defaultGoldenDir());
      if (!name) { console.error('usage: edgelens trace <golden-model-folder> [dir]'); return 2; }
      const gdir = join(dir, name);
      const gm = JSON.parse(readFileSync(join(gdir, 'manifest.json'), 'utf8'));
      const trace = JSON.parse(readFileSync(join(gdir, 'trace', 'trace.json'), 'utf8'));
      const engine = await createNodeEngine();
      const { parsed } = await loadModelFile(resolve(dir, '..', gm.model.file), { reference: flags.reference === true, noReuse: true });
      const model = engine.load(parsed);
      const c = gm.cases.find((x: { case: string }) => x.case === gm.trace.case);
      const raw = new Uint8Array(readFileSync(join(gdir, c.input_file)));
      const input = gm.inputs[0].dtype === 'FLOAT32' ? new Float32Array(raw.slice().buffer) : raw;
      model.run(input);
      const m = parsed.manifest;
      const mem = (engine as unknown as { mem(): ArrayBuffer; arena(): number });
      const entries = (trace.tensors ?? trace.ops ?? trace) as { tensor_name: string; file: string; dtype: string; op_type: string; op_index: number }[];
      let shown = 0;
      for (const e of entries) {
        const t = m.tensors.find((x) => x.name === e.tensor_name);
        if (!t) { console.log(`${e.op_index} ${e.op_type} ${e.tensor_name}: (not materialized)`); continue; }
        const got = new Uint8Array(mem.mem(), mem.arena() + t.offset, t.bytes).slice();
        if (e.dtype === 'UINT8') for (let i = 0; i < got.length; i++) got[i] = got[i]! ^ 0x80;
        const want = new Uint8Array(readFileSync(join(gdir, 'trace', e.file)));
        const d = compareOutput(e.dtype, got, want);
        console.log(`${e.op_index} ${e.op_type} ${e.tensor_name.slice(0, 60)}: ${d ?? 'ok'}`);
        if (d && ++shown >= 3) break;
      }
      return 0;
    }
    case 'quant-report': {
      const [floatModel, art] = pos;
      const images = str(flags.images);
      if (!floatModel || !art || !images) { console.error('usage: edgelens quant-report <float model> <artifact> --images <dir> [--limit N]'); return 2; }
      console.log(await quantReportCli(floatModel, art, images, str(flags.limit) ? Number(str(flags.limit)) : undefined));
      return 0;
    }
    default:
      console.error('usage: edgelens <compile|run|golden|bench|inspect|trace|quant-report> ...');
      return 2;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  if (e instanceof CompileError || e instanceof ArtifactError || e instanceof ModelFormatError) {
    console.error(`error: ${e.message}`);
  } else {
    console.error(e);
  }
  process.exitCode = 1;
});
