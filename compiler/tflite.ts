// TFLite flatbuffer import: parse and verify a .tflite file into plain data.
// Only what the compiler needs is read, but everything read is validated.

import { FlatReader, ModelFormatError, Table } from './flatbuffer.ts';

export { ModelFormatError };

export const TensorType = {
  FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4, STRING: 5, BOOL: 6, INT16: 7,
  COMPLEX64: 8, INT8: 9, FLOAT64: 10, COMPLEX128: 11, UINT64: 12, RESOURCE: 13, VARIANT: 14,
  UINT32: 15, UINT16: 16, INT4: 17,
} as const;
export const TENSOR_TYPE_NAMES = Object.fromEntries(Object.entries(TensorType).map(([k, v]) => [v, k])) as Record<number, string>;
const TYPE_SIZE: Record<number, number> = { 0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 12: 8, 15: 4, 16: 2 };

const OP_NAMES = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH',
  'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
  'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB',
  'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP',
  'TOPK_V2', 'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM',
  'ARG_MAX', 'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE',
  'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT',
  'RSQRT', 'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR',
  'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL',
  'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS',
  'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU',
  'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE',
  'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM',
  'BATCH_MATMUL',
];
export function opName(code: number): string {
  return OP_NAMES[code] ?? `BUILTIN_${code}`;
}

export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

export interface TfTensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  typeName: string;
  /** constant data (little-endian bytes) or null for activations */
  data: Uint8Array | null;
  quant: Quantization | null;
  isVariable: boolean;
}

export interface TfOperator {
  index: number;
  opcode: number;
  name: string;
  customCode: string | null;
  /** tensor indices; -1 marks an omitted optional input */
  inputs: number[];
  outputs: number[];
  options: Record<string, number | number[] | boolean>;
  optionsType: number;
}

export interface TfModel {
  version: number;
  description: string;
  tensors: TfTensor[];
  operators: TfOperator[];
  inputs: number[];
  outputs: number[];
}

const MAX_DIM = 1 << 24;
const MAX_ELEMENTS = 1 << 28;

/** Option tables by op, with the BuiltinOptions union index TFLite uses. */
function readOptions(op: string, optType: number, t: Table | null): Record<string, number | number[] | boolean> {
  const expect = (idx: number) => {
    if (t && optType !== idx) throw new ModelFormatError(`${op}: builtin_options has type ${optType}, expected ${idx}`);
  };
  const g = t ?? null;
  const i32 = (id: number, def = 0) => (g ? g.i32(id, def) : def);
  const i8 = (id: number, def = 0) => (g ? g.i8(id, def) : def);
  switch (op) {
    case 'CONV_2D':
      expect(1);
      return { padding: i8(0), strideW: i32(1), strideH: i32(2), activation: i8(3), dilationW: i32(4, 1), dilationH: i32(5, 1) };
    case 'DEPTHWISE_CONV_2D':
      expect(2);
      return { padding: i8(0), strideW: i32(1), strideH: i32(2), depthMultiplier: i32(3), activation: i8(4), dilationW: i32(5, 1), dilationH: i32(6, 1) };
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
      expect(5);
      return { padding: i8(0), strideW: i32(1), strideH: i32(2), filterW: i32(3), filterH: i32(4), activation: i8(5) };
    case 'FULLY_CONNECTED':
      expect(8);
      return { activation: i8(0), weightsFormat: i8(1), keepNumDims: g ? g.bool(2) : false };
    case 'SOFTMAX':
      expect(9);
      return { beta: g ? g.f32(0, 0) : 0 };
    case 'CONCATENATION':
      expect(10);
      return { axis: i32(0), activation: i8(1) };
    case 'ADD':
      expect(11);
      return { activation: i8(0) };
    case 'RESHAPE':
      expect(17);
      return { newShape: g ? (g.i32s(0) ?? []) : [] };
    case 'MEAN':
      expect(27);
      return { keepDims: g ? g.bool(0) : false };
    case 'STRIDED_SLICE':
      expect(32);
      return { beginMask: i32(0), endMask: i32(1), ellipsisMask: i32(2), newAxisMask: i32(3), shrinkAxisMask: i32(4), offset: g ? g.bool(5) : false };
    case 'PACK':
      expect(59);
      return { valuesCount: i32(0), axis: i32(1) };
    case 'MUL':
      expect(21);
      return { activation: i8(0) };
    case 'SUB':
      expect(28);
      return { activation: i8(0) };
    case 'DIV':
      expect(29);
      return { activation: i8(0) };
    case 'RESIZE_BILINEAR':
      expect(15);
      return { alignCorners: g ? g.bool(2) : false, halfPixelCenters: g ? g.bool(3) : false };
    case 'ARG_MAX':
      expect(40);
      return { outputType: i8(0) };
    case 'UNPACK':
      expect(64);
      return { num: i32(0), axis: i32(1) };
    default:
      return {};
  }
}

export function parseTflite(bytes: Uint8Array): TfModel {
  if (bytes.length < 8) throw new ModelFormatError(`not a TFLite model: file is ${bytes.length} bytes`);
  const ident = String.fromCharCode(...bytes.subarray(4, 8));
  if (ident !== 'TFL3') throw new ModelFormatError(`not a TFLite model: file identifier is ${JSON.stringify(ident)}, expected "TFL3"`);
  const r = new FlatReader(bytes);
  const model = r.root();
  const version = model.u32(0);
  if (version !== 3) throw new ModelFormatError(`unsupported TFLite schema version ${version} (expected 3)`);

  const opcodeTables = model.tables(1, 'operator_codes') ?? [];
  const opcodes = opcodeTables.map((t) => {
    const dep = t.i8(0, 0);
    const code = t.i32(3, 0);
    return { code: Math.max(dep, code), custom: t.string(1) };
  });

  const subgraphs = model.tables(2, 'subgraphs') ?? [];
  if (subgraphs.length === 0) throw new ModelFormatError('model has no subgraphs');
  if (subgraphs.length > 1) throw new ModelFormatError(`model has ${subgraphs.length} subgraphs; only single-subgraph models are supported (control flow ops are not)`);
  const sg = subgraphs[0]!;

  const bufferTables = model.tables(4, 'buffers') ?? [];
  const buffers: (Uint8Array | null)[] = bufferTables.map((b, i) => {
    const data = b.bytes(0);
    const off = b.u64(1, 0n);
    const size = b.u64(2, 0n);
    if (off > 1n) {
      if (off + size > BigInt(bytes.length)) throw new ModelFormatError(`buffer ${i}: external data (offset ${off}, size ${size}) is past the end of the file`);
      return bytes.subarray(Number(off), Number(off + size));
    }
    return data && data.length > 0 ? data : null;
  });

  const tensorTables = sg.tables(0, 'tensors') ?? [];
  const tensors: TfTensor[] = tensorTables.map((t, index) => {
    const name = t.string(3) ?? `tensor_${index}`;
    const shape = t.i32s(0) ?? [];
    const type = t.u8(1, 0);
    const typeName = TENSOR_TYPE_NAMES[type];
    if (typeName === undefined) throw new ModelFormatError(`tensor ${index} (${name}): unknown type ${type}`);
    if (shape.length > 6) throw new ModelFormatError(`tensor ${index} (${name}): rank ${shape.length} is too large`);
    let elements = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0 || d > MAX_DIM) throw new ModelFormatError(`tensor ${index} (${name}): invalid dimension ${d} in shape [${shape}]`);
      elements *= d;
      if (elements > MAX_ELEMENTS) throw new ModelFormatError(`tensor ${index} (${name}): shape [${shape}] is too large`);
    }
    const bufIdx = t.u32(2, 0);
    if (bufIdx >= buffers.length && bufIdx !== 0) throw new ModelFormatError(`tensor ${index} (${name}): buffer index ${bufIdx} out of range (${buffers.length} buffers)`);
    const data = bufIdx < buffers.length ? buffers[bufIdx]! : null;
    if (data) {
      const es = TYPE_SIZE[type];
      if (es === undefined) throw new ModelFormatError(`tensor ${index} (${name}): constant data of unsupported type ${typeName}`);
      if (data.length !== elements * es) {
        throw new ModelFormatError(`tensor ${index} (${name}): constant buffer has ${data.length} bytes, shape [${shape}] of ${typeName} needs ${elements * es}`);
      }
    }
    let quant: Quantization | null = null;
    const q = t.table(4, `tensor ${index} quantization`);
    if (q) {
      const scale = q.f32s(2) ?? [];
      const zp = (q.i64s(3) ?? []).map((z) => {
        if (z < -2147483648n || z > 2147483647n) throw new ModelFormatError(`tensor ${index} (${name}): zero point ${z} out of range`);
        return Number(z);
      });
      const qd = q.i32(6, 0);
      if (scale.length > 0) {
        if (zp.length !== 0 && zp.length !== scale.length) {
          throw new ModelFormatError(`tensor ${index} (${name}): ${scale.length} scales but ${zp.length} zero points`);
        }
        for (const s of scale) {
          if (!Number.isFinite(s) || s <= 0) throw new ModelFormatError(`tensor ${index} (${name}): invalid quantization scale ${s}`);
        }
        if (scale.length > 1) {
          if (qd < 0 || qd >= shape.length) throw new ModelFormatError(`tensor ${index} (${name}): quantized_dimension ${qd} out of range for shape [${shape}]`);
          if (shape[qd] !== scale.length) throw new ModelFormatError(`tensor ${index} (${name}): ${scale.length} scales for dimension ${qd} of size ${shape[qd]}`);
        }
        quant = { scale, zeroPoint: zp.length ? zp : scale.map(() => 0), quantizedDimension: qd };
      }
    }
    return { index, name, shape, type, typeName, data, quant, isVariable: t.bool(5) };
  });

  const checkIdx = (i: number, what: string, optional: boolean) => {
    if (i === -1 && optional) return;
    if (!Number.isInteger(i) || i < 0 || i >= tensors.length) throw new ModelFormatError(`${what}: tensor index ${i} out of range (${tensors.length} tensors)`);
  };
  const inputs = sg.i32s(1) ?? [];
  const outputs = sg.i32s(2) ?? [];
  inputs.forEach((i) => checkIdx(i, 'subgraph input', false));
  outputs.forEach((i) => checkIdx(i, 'subgraph output', false));
  if (inputs.length === 0) throw new ModelFormatError('model declares no inputs');
  if (outputs.length === 0) throw new ModelFormatError('model declares no outputs');

  const opTables = sg.tables(3, 'operators') ?? [];
  const operators: TfOperator[] = opTables.map((o, index) => {
    const oc = o.u32(0, 0);
    if (oc >= opcodes.length) throw new ModelFormatError(`operator ${index}: opcode index ${oc} out of range (${opcodes.length} operator codes)`);
    const { code, custom } = opcodes[oc]!;
    const name = code === 32 ? `CUSTOM(${custom ?? '?'})` : opName(code);
    const ins = o.i32s(1) ?? [];
    const outs = o.i32s(2) ?? [];
    ins.forEach((i) => checkIdx(i, `operator ${index} (${name}) input`, true));
    outs.forEach((i) => checkIdx(i, `operator ${index} (${name}) output`, false));
    const optType = o.u8(3, 0);
    const optTable = o.table(4, `operator ${index} options`);
    const options = readOptions(name, optType, optTable);
    return { index, opcode: code, name, customCode: custom, inputs: ins, outputs: outs, options, optionsType: optType };
  });
  return { version, description: model.string(3) ?? '', tensors, operators, inputs, outputs };
}

/** Constant tensor data as typed arrays (copies, so alignment never matters). */
export function constInt8(t: TfTensor): Int8Array { return new Int8Array(t.data!.slice().buffer); }
export function constUint8(t: TfTensor): Uint8Array { return t.data!.slice(); }
export function constInt32(t: TfTensor): Int32Array { return new Int32Array(t.data!.slice().buffer); }
export function constFloat32(t: TfTensor): Float32Array { return new Float32Array(t.data!.slice().buffer); }
export function constInt64(t: TfTensor): BigInt64Array { return new BigInt64Array(t.data!.slice().buffer); }
