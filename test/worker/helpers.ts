// Shared helpers of the workerd tests.
import { env } from 'cloudflare:workers';
import { sha256Hex } from '../../src/store/digest';
import type { BlobSource } from '../../src/store/cache';

export const ADMIN_TOKEN = 'test-admin-token';
export const BASE = 'http://edgelens.test';

/** Bytes of a fixture served by the Node-side FIXTURES binding (see vitest.config.ts). */
export async function fixture(path: string): Promise<Uint8Array> {
  const res = await env.FIXTURES.fetch(`http://fixtures/${path}`);
  if (!res.ok) {
    const hint = path.startsWith('models/') ? ' (compile it: npm run build && node scripts/prepare-models.mjs --no-seed)' : '';
    throw new Error(`fixture ${path}: HTTP ${res.status} ${await res.text()}${hint}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** A BlobSource over a KV namespace that counts get() calls. */
export function countingSource(kv: KVNamespace): BlobSource & { gets: number; keys: string[] } {
  const s = {
    gets: 0,
    keys: [] as string[],
    get(key: string, options: { type: 'arrayBuffer'; cacheTtl?: number }) {
      s.gets++;
      s.keys.push(key);
      return kv.get(key, options);
    },
  };
  return s;
}

/** A stand-in "artifact" for cache tests that need no engine: its content is JSON
 *  {name, size}; the fake loader reports `size` as the model's bytes and the sha256 of the
 *  content as its identity (what parseArtifact + manifest.sha256 do for real artifacts). */
export interface FakeModel {
  readonly bytes: number;
  readonly name: string;
  readonly sha256: string;
  unloaded: boolean;
}

export async function fakeArtifact(name: string, size: number): Promise<{ bytes: Uint8Array; sha256: string }> {
  const bytes = new TextEncoder().encode(JSON.stringify({ name, size }));
  return { bytes, sha256: await sha256Hex(bytes) };
}

export async function fakeLoad(bytes: Uint8Array): Promise<FakeModel> {
  let o: { name: string; size: number };
  try {
    o = JSON.parse(new TextDecoder().decode(bytes)) as { name: string; size: number };
  } catch {
    throw new Error('fake artifact: not JSON');
  }
  if (typeof o.name !== 'string' || typeof o.size !== 'number') throw new Error('fake artifact: bad shape');
  return { bytes: o.size, name: o.name, sha256: await sha256Hex(bytes), unloaded: false };
}

let counter = 0;
/** A model id unique within this run (KV state may be shared between test files). */
export function uniqueId(prefix: string): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export function adminHeaders(token = ADMIN_TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  const td = new Uint8Array(4 + data.length);
  td.set(new TextEncoder().encode(type), 0);
  td.set(data, 4);
  out.set(td, 4);
  dv.setUint32(8 + data.length, crc32(td));
  return out;
}

/** A PNG whose header claims width x height RGB pixels (no real pixel data): a decompression bomb. */
export function pngHeaderOnly(width: number, height: number): Uint8Array {
  const sig = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  const parts = [sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), pngChunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A body stream of `total` bytes in chunks, with no Content-Length. */
export function byteStream(total: number, chunk = 1 << 20): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      const n = Math.min(chunk, total - sent);
      const c = new Uint8Array(n);
      if (sent === 0) c.set([0xff, 0xd8, 0xff]); // looks like a JPEG
      sent += n;
      controller.enqueue(c);
    },
  });
}
