// A bounds-checked reader for FlatBuffers binaries. Every access is checked
// against the buffer, so malformed files fail with a clear error instead of
// reading garbage or looping.

export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

export class FlatReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || size < 0 || pos + size > this.bytes.length) {
      throw new ModelFormatError(`${what} at offset ${pos} (+${size}) is outside the file (${this.bytes.length} bytes)`);
    }
  }
  u8(pos: number): number { this.check(pos, 1, 'byte'); return this.view.getUint8(pos); }
  i8(pos: number): number { this.check(pos, 1, 'byte'); return this.view.getInt8(pos); }
  u16(pos: number): number { this.check(pos, 2, 'uint16'); return this.view.getUint16(pos, true); }
  i32(pos: number): number { this.check(pos, 4, 'int32'); return this.view.getInt32(pos, true); }
  u32(pos: number): number { this.check(pos, 4, 'uint32'); return this.view.getUint32(pos, true); }
  f32(pos: number): number { this.check(pos, 4, 'float32'); return this.view.getFloat32(pos, true); }
  i64(pos: number): bigint { this.check(pos, 8, 'int64'); return this.view.getBigInt64(pos, true); }
  u64(pos: number): bigint { this.check(pos, 8, 'uint64'); return this.view.getBigUint64(pos, true); }

  root(): Table {
    if (this.bytes.length < 8) throw new ModelFormatError(`file is too small to be a FlatBuffer (${this.bytes.length} bytes)`);
    return this.table(this.u32(0), 'root table');
  }
  table(pos: number, what: string): Table {
    this.check(pos, 4, what);
    const vt = pos - this.i32(pos);
    this.check(vt, 4, `${what} vtable`);
    const vtSize = this.u16(vt);
    const tSize = this.u16(vt + 2);
    if (vtSize < 4 || vtSize % 2 !== 0) throw new ModelFormatError(`${what}: bad vtable size ${vtSize}`);
    this.check(vt, vtSize, `${what} vtable`);
    this.check(pos, tSize, what);
    return new Table(this, pos, vt, vtSize, tSize, what);
  }
}

export class Table {
  constructor(
    readonly r: FlatReader,
    readonly pos: number,
    private readonly vt: number,
    private readonly vtSize: number,
    private readonly tSize: number,
    readonly what: string,
  ) {}

  /** position of field `id`, or 0 when absent */
  field(id: number, size: number): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtSize) return 0;
    const off = this.r.u16(this.vt + slot);
    if (off === 0) return 0;
    if (off + size > this.tSize) throw new ModelFormatError(`${this.what}: field ${id} lies outside its table`);
    return this.pos + off;
  }
  has(id: number): boolean { return this.field(id, 1) !== 0; }
  u8(id: number, def = 0): number { const p = this.field(id, 1); return p ? this.r.u8(p) : def; }
  i8(id: number, def = 0): number { const p = this.field(id, 1); return p ? this.r.i8(p) : def; }
  bool(id: number, def = false): boolean { const p = this.field(id, 1); return p ? this.r.u8(p) !== 0 : def; }
  i32(id: number, def = 0): number { const p = this.field(id, 4); return p ? this.r.i32(p) : def; }
  u32(id: number, def = 0): number { const p = this.field(id, 4); return p ? this.r.u32(p) : def; }
  f32(id: number, def = 0): number { const p = this.field(id, 4); return p ? this.r.f32(p) : def; }
  u64(id: number, def = 0n): bigint { const p = this.field(id, 8); return p ? this.r.u64(p) : def; }

  private ref(id: number): number {
    const p = this.field(id, 4);
    if (!p) return 0;
    return p + this.r.u32(p);
  }
  table(id: number, what: string): Table | null {
    const p = this.ref(id);
    return p ? this.r.table(p, what) : null;
  }
  string(id: number): string | null {
    const p = this.ref(id);
    if (!p) return null;
    const n = this.r.u32(p);
    if (p + 4 + n > this.r.bytes.length) throw new ModelFormatError(`${this.what}: string field ${id} runs past the end of the file`);
    return new TextDecoder().decode(this.r.bytes.subarray(p + 4, p + 4 + n));
  }
  /** [start, length] of a vector of `elemSize`-byte elements */
  vector(id: number, elemSize: number): [number, number] | null {
    const p = this.ref(id);
    if (!p) return null;
    const n = this.r.u32(p);
    if (n * elemSize > this.r.bytes.length || p + 4 + n * elemSize > this.r.bytes.length) {
      throw new ModelFormatError(`${this.what}: vector field ${id} (${n} elements) runs past the end of the file`);
    }
    return [p + 4, n];
  }
  i32s(id: number): number[] | null {
    const v = this.vector(id, 4);
    if (!v) return null;
    const out = new Array<number>(v[1]);
    for (let i = 0; i < v[1]; i++) out[i] = this.r.i32(v[0] + 4 * i);
    return out;
  }
  f32s(id: number): number[] | null {
    const v = this.vector(id, 4);
    if (!v) return null;
    const out = new Array<number>(v[1]);
    for (let i = 0; i < v[1]; i++) out[i] = this.r.f32(v[0] + 4 * i);
    return out;
  }
  i64s(id: number): bigint[] | null {
    const v = this.vector(id, 8);
    if (!v) return null;
    const out = new Array<bigint>(v[1]);
    for (let i = 0; i < v[1]; i++) out[i] = this.r.i64(v[0] + 8 * i);
    return out;
  }
  bytes(id: number): Uint8Array | null {
    const v = this.vector(id, 1);
    if (!v) return null;
    return this.r.bytes.subarray(v[0], v[0] + v[1]);
  }
  tables(id: number, what: string): Table[] | null {
    const v = this.vector(id, 4);
    if (!v) return null;
    const out: Table[] = [];
    for (let i = 0; i < v[1]; i++) {
      const p = v[0] + 4 * i;
      out.push(this.r.table(p + this.r.u32(p), `${what}[${i}]`));
    }
    return out;
  }
}
