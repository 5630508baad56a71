// JPEG decoder core (build/jpeg.wasm): markers, Huffman decoding (baseline and
// progressive), MCU-row streaming for single-scan baseline images, a coefficient
// buffer for progressive / multi-scan images, scaled output (1/1, 1/2, 1/4, 1/8 in the
// DCT domain), fancy upsampling and colour conversion (color.ts), IDCTs (idct.ts).
//
// Memory: everything dynamic lives in one arena above __heap_base that the JS side
// resets per decode (reset(limit)); an allocation that would take the arena over
// `limit` bytes fails with ERR_MEMORY instead of growing memory. No allocation
// happens per block or per row.
//
// Robustness: every read of the input is bounds-checked against its end; every loop is
// bounded by the input length or the image geometry (MCUs x blocks x 64 coefficients x
// scans, scans capped by the caller); corrupt data yields an error code, never a trap
// on purpose (the JS wrapper still catches traps).

import { idct8, idct4, idct2, idct1, initRangeLimit } from './idct';
import { h2v1FancySimd, h1v2FancySimd, h2v2FancySimd, mapRow, yccRow, rgbRow, grayRow } from './color';

// ---- error codes (mirrored in src/image/wasmjpeg.ts) -------------------------------
export const OK = 0;
export const ERR_TRUNCATED = 1; // input ends before the image is complete / no EOI
export const ERR_NOT_JPEG = 2; // no SOI
export const ERR_SEGMENT = 3; // malformed marker segment
export const ERR_NO_FRAME = 4; // SOS before SOF / no SOS
export const ERR_HUFFMAN_TABLE = 5; // invalid or missing Huffman table
export const ERR_QUANT_TABLE = 6; // missing quantisation table
export const ERR_BAD_CODE = 7; // invalid Huffman code in the entropy-coded data
export const ERR_BAD_COEF = 8; // coefficient index out of the block
export const ERR_BAD_SCAN = 9; // invalid scan parameters
export const ERR_MULTI_FRAME = 10; // a second SOF
export const ERR_STATE = 11; // API misuse (decode without a parsed header)
export const ERR_UNSUPPORTED_PROCESS = 20; // lossless, arithmetic, hierarchical
export const ERR_UNSUPPORTED_PRECISION = 21; // not 8-bit
export const ERR_UNSUPPORTED_COMPONENTS = 22; // 2 or 4 components (CMYK/YCCK)
export const ERR_UNSUPPORTED_DNL = 23; // height 0 (DNL)
export const ERR_MEMORY = 30; // arena limit
export const ERR_SCANS = 31; // more scans than allowed

// ---- static tables -------------------------------------------------------------------

// zigzag index -> natural index, padded with 63s (libjpeg's jpeg_natural_order + 16)
const ZZ = memory.data<u8>([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
  58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

// quantisation tables as defined by DQT: 4 x 64 x i32, natural order
const QT = memory.data(4 * 256, 16);
let qtDefined: i32 = 0;

// Huffman tables: index = class * 4 + id (class 0 = DC, 1 = AC); N = 2^LOOK_BITS
//   HT_LOOK     lookahead u16[N]: (length << 8) | symbol for codes of <= LOOK_BITS bits, 0 = longer
//   HT_MAXCODE  i32[18]  (index 1..16; -1 = no code of that length)
//   HT_VALOFF   i32[17]
//   HT_VALS     u8[256]
//   HT_FAST     fast AC i32[N]: (value << 16) | (run << 8) | (code length + value bits),
//               0 = not resolvable within LOOK_BITS bits
const LOOK_BITS: i32 = 10;
const LOOK_SIZE: usize = 1 << LOOK_BITS;
const HT_LOOK: usize = 0;
const HT_MAXCODE: usize = HT_LOOK + 2 * LOOK_SIZE;
const HT_VALOFF: usize = HT_MAXCODE + 80;
const HT_VALS: usize = HT_VALOFF + 80;
const HT_FAST: usize = HT_VALS + 256;
const HT_SIZE: usize = HT_FAST + 4 * LOOK_SIZE;
const HT = memory.data(8 * (6 * (1 << LOOK_BITS) + 416), 16); // 8 x HT_SIZE
let htDefined: i32 = 0;

// components: 4 x 32 i32 fields
const COMP = memory.data(4 * 128, 16);
const F_ID = 0;
const F_H = 1;
const F_V = 2;
const F_TQ = 3;
const F_TD = 4;
const F_TA = 5;
const F_BW = 6; // blocks per row in the coefficient buffer (MCU-padded)
const F_BH = 7; // block rows (MCU-padded)
const F_BWR = 8; // real blocks per row (non-interleaved scans)
const F_BHR = 9;
const F_PRED = 10; // DC predictor
const F_S = 11; // IDCT output size 8/4/2/1
const F_CW = 12; // component width in samples at the output scale
const F_CH = 13;
const F_PITCH = 14;
const F_STRIP0 = 15;
const F_STRIP1 = 16;
const F_ABOVE = 17;
const F_COEF = 18;
const F_UP = 19;
const F_MODE = 20;
const F_MAPX = 21;
const F_QUANT = 22; // latched quant table (ptr)
const F_LATCHED = 23;
const F_R = 24; // strip rows = v * S
const F_VNUM = 25; // v * S (rows of this component per iMCU row)
const F_SEEN = 26; // appeared in a scan
const F_MASK = 27; // progressive: per block a u64 of nonzero AC coefficients (zigzag order)

@inline function cget(c: i32, f: i32): i32 {
  return load<i32>(COMP + (<usize>c << 7) + (<usize>f << 2));
}
@inline function cset(c: i32, f: i32, v: i32): void {
  store<i32>(COMP + (<usize>c << 7) + (<usize>f << 2), v);
}

// latched quant tables, one per component
const CQ = memory.data(4 * 256, 16);
// scratch block for AC coefficients that are decoded but not kept (1/8 scale)
const SCRATCH = memory.data(128, 16);

// upsampling modes
const UP_DIRECT = 0;
const UP_H2V1 = 1;
const UP_H1V2 = 2;
const UP_H2V2 = 3;
const UP_MAP = 4;

// ---- arena ----------------------------------------------------------------------------

let arenaBase: usize = 0;
let arenaTop: usize = 0;
let arenaLimit: usize = 0; // max arena bytes
let arenaPeak: usize = 0;

export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/** Start a new decode: forget every allocation; the arena may use up to limit bytes. */
export function reset(limit: usize): void {
  arenaBase = heapBase();
  arenaTop = arenaBase;
  arenaLimit = limit;
  arenaPeak = 0;
  headerOk = false;
}

/** Bytes of arena in use (peak since reset). */
export function arenaPeakBytes(): usize {
  return arenaPeak;
}

/** Room for n bytes of input (16-aligned); 0 if over the arena limit. */
export function allocInput(n: usize): usize {
  return alloc(<u64>n);
}

/** Allocate n bytes (16-aligned) in the arena, growing memory; 0 if over the limit. */
function alloc(n: u64): usize {
  const size = (n + 15) & ~(<u64>15);
  const used = <u64>(arenaTop - arenaBase) + size;
  if (used > <u64>arenaLimit) return 0;
  const end = <u64>arenaTop + size;
  if (end > 0xffff0000) return 0;
  const have = <u64>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  const p = arenaTop;
  arenaTop = <usize>end;
  if (arenaTop - arenaBase > arenaPeak) arenaPeak = arenaTop - arenaBase;
  return p;
}

// ---- input and header state ---------------------------------------------------------

let inStart: usize = 0;
let inEnd: usize = 0;
let pos: usize = 0; // marker parser position

let headerOk = false;
let frameSeen = false;
let sof: i32 = 0;
let progressive = false;
let W: i32 = 0;
let H: i32 = 0;
let NC: i32 = 0;
let maxH: i32 = 1;
let maxV: i32 = 1;
let mcusX: i32 = 0;
let mcusY: i32 = 0;
let restartInterval: i32 = 0;
let sawJFIF = false;
let sawAdobe = false;
let adobeTransform: i32 = -1;
let firstSosPos: usize = 0; // just after the first SOS marker (at its length field)
let firstScanNC: i32 = 0;
let colorMode: i32 = 0; // 0 gray, 1 YCbCr, 2 RGB

// current scan
let scanNC: i32 = 0;
const SCAN_COMP = memory.data(16, 16); // i32[4]: component indexes
let Ss: i32 = 0;
let Se: i32 = 63;
let Ah: i32 = 0;
let Al: i32 = 0;

@inline function scanComp(i: i32): i32 {
  return load<i32>(SCAN_COMP + (<usize>i << 2));
}

// ---- bit reader -----------------------------------------------------------------------

let rdPos: usize = 0;
let bitBuf: u64 = 0; // next bits left-aligned
let bitCnt: i32 = 0;
let fakeBits: i32 = 0; // zero bits appended after a marker / the end of the input
let hitMarker = false;
let eobrun: i32 = 0;

function resetReader(at: usize): void {
  rdPos = at;
  bitBuf = 0;
  bitCnt = 0;
  fakeBits = 0;
  hitMarker = false;
}

/** Refill to >= 57 bits. Stops at a marker (or the end): zeros are fed from then on. */
function fill(): void {
  // fast path: the next 8 bytes hold no 0xFF (no stuffing, no marker): take whole bytes at once
  if (!hitMarker && rdPos + 8 <= inEnd) {
    const raw = load<u64>(rdPos);
    const inv = ~raw;
    if (((inv - 0x0101010101010101) & ~inv & 0x8080808080808080) == 0) {
      const nb = (64 - bitCnt) >> 3; // >= 1 since bitCnt <= 56 here
      const keep = bitCnt + (nb << 3);
      let v = bswap<u64>(raw) >> <u64>bitCnt;
      if (keep < 64) v &= ~(<u64>-1 >> <u64>keep);
      bitBuf |= v;
      bitCnt = keep;
      rdPos += <usize>nb;
      return;
    }
  }
  while (bitCnt <= 56) {
    let b: u64 = 0;
    if (!hitMarker) {
      if (rdPos < inEnd) {
        const v = load<u8>(rdPos);
        if (v != 0xff) {
          b = v;
          rdPos++;
        } else {
          // FF: skip fill FFs; FF 00 is a data FF, anything else is a marker
          let p = rdPos + 1;
          while (p < inEnd && load<u8>(p) == 0xff) p++;
          if (p < inEnd && load<u8>(p) == 0) {
            b = 0xff;
            rdPos = p + 1;
          } else {
            hitMarker = true; // rdPos stays on the marker's first FF
          }
        }
      } else {
        hitMarker = true;
      }
    }
    if (hitMarker) fakeBits += 8;
    bitBuf |= b << <u64>(56 - bitCnt);
    bitCnt += 8;
  }
}

/** True if the decoder has consumed bits that were not in the data. */
@inline function overrun(): bool {
  return fakeBits > bitCnt;
}

@inline function getBits(n: i32): i32 {
  // n in 1..16; caller guarantees bitCnt >= n
  const v = <i32>(bitBuf >> <u64>(64 - n));
  bitBuf <<= <u64>n;
  bitCnt -= n;
  return v;
}

@inline function getBit(): i32 {
  if (bitCnt < 1) fill();
  const v = <i32>(bitBuf >> 63);
  bitBuf <<= 1;
  bitCnt -= 1;
  return v;
}

@inline function extend(v: i32, s: i32): i32 {
  return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

/** Decode one Huffman symbol with table t; -1 for an invalid code. */
@inline function decodeSym(t: usize): i32 {
  if (bitCnt < 16) fill();
  const e = <i32>load<u16>(t + HT_LOOK + (<usize>(bitBuf >> <u64>(64 - LOOK_BITS)) << 1));
  if (e != 0) {
    const l = e >> 8;
    bitBuf <<= <u64>l;
    bitCnt -= l;
    return e & 0xff;
  }
  return decodeSlow(t);
}

function decodeSlow(t: usize): i32 {
  for (let l = LOOK_BITS + 1; l <= 16; l++) {
    const code = <i32>(bitBuf >> <u64>(64 - l));
    if (code <= load<i32>(t + HT_MAXCODE + (<usize>l << 2))) {
      const idx = code + load<i32>(t + HT_VALOFF + (<usize>l << 2));
      bitBuf <<= <u64>l;
      bitCnt -= l;
      return <i32>load<u8>(t + HT_VALS + <usize>(idx & 0xff));
    }
  }
  return -1;
}

/** Receive s bits (s in 0..16) and sign-extend. */
@inline function receiveExtend(s: i32): i32 {
  if (s == 0) return 0;
  if (bitCnt < s) fill();
  return extend(getBits(s), s);
}

// ---- marker segment parsing ---------------------------------------------------------

@inline function u8at(p: usize): i32 {
  return <i32>load<u8>(p);
}
@inline function u16at(p: usize): i32 {
  return (<i32>load<u8>(p) << 8) | <i32>load<u8>(p + 1);
}

/** Next marker from pos (skipping garbage and fill bytes), -1 at the end. pos ends after it. */
function nextMarker(): i32 {
  for (;;) {
    while (pos < inEnd && load<u8>(pos) != 0xff) pos++;
    while (pos < inEnd && load<u8>(pos) == 0xff) pos++;
    if (pos >= inEnd) return -1;
    const m = u8at(pos);
    pos++;
    if (m == 0) continue; // stuffed byte in entropy data
    if (m >= 0xd0 && m <= 0xd7) continue; // stray RSTn
    return m;
  }
}

let segStart: usize = 0; // first payload byte
let segEnd: usize = 0;

/** Read the length field at pos; sets segStart/segEnd and moves pos past the segment. */
function readSegmentBounds(): i32 {
  if (pos + 2 > inEnd) return ERR_TRUNCATED;
  const len = u16at(pos);
  if (len < 2) return ERR_SEGMENT;
  if (pos + <usize>len > inEnd) return ERR_TRUNCATED;
  segStart = pos + 2;
  segEnd = pos + <usize>len;
  pos = segEnd;
  return OK;
}

function readDQT(): i32 {
  let p = segStart;
  while (p < segEnd) {
    const pq = u8at(p) >> 4;
    const tq = u8at(p) & 15;
    p++;
    if (pq > 1 || tq > 3) return ERR_SEGMENT;
    const n: usize = pq == 0 ? 64 : 128;
    if (p + n > segEnd) return ERR_SEGMENT;
    const t = QT + (<usize>tq << 8);
    for (let k = 0; k < 64; k++) {
      const v = pq == 0 ? u8at(p + <usize>k) : u16at(p + (<usize>k << 1));
      store<i32>(t + (<usize>load<u8>(ZZ + <usize>k) << 2), v);
    }
    p += n;
    qtDefined |= 1 << tq;
  }
  return OK;
}

function buildHuffman(t: usize, counts: usize, vals: usize, nvals: i32, isDC: bool): i32 {
  // values
  for (let i = 0; i < 256; i++) store<u8>(t + HT_VALS + <usize>i, i < nvals ? load<u8>(vals + <usize>i) : 0);
  if (isDC) {
    for (let i = 0; i < nvals; i++) if (load<u8>(vals + <usize>i) > 15) return ERR_HUFFMAN_TABLE;
  }
  // lookahead cleared
  memory.fill(t + HT_LOOK, 0, 2 * LOOK_SIZE);
  memory.fill(t + HT_FAST, 0, 4 * LOOK_SIZE);
  let code: i32 = 0;
  let k: i32 = 0;
  for (let l = 1; l <= 16; l++) {
    const n = <i32>load<u8>(counts + <usize>(l - 1));
    store<i32>(t + HT_VALOFF + (<usize>l << 2), k - code);
    if (code + n > (1 << l)) return ERR_HUFFMAN_TABLE; // over-subscribed
    if (n > 0) {
      // lookahead entries for codes of length <= LOOK_BITS
      if (l <= LOOK_BITS) {
        for (let i = 0; i < n; i++) {
          const c = code + i;
          const sym = <i32>load<u8>(vals + <usize>(k + i));
          const shift = LOOK_BITS - l;
          const first = c << shift;
          const count = 1 << shift;
          const entry = <u16>((l << 8) | sym);
          for (let j = 0; j < count; j++) store<u16>(t + HT_LOOK + (<usize>(first + j) << 1), entry);
          // fast AC: code + magnitude bits within LOOK_BITS
          const run = sym >> 4;
          const size = sym & 15;
          if (!isDC && size != 0 && l + size <= LOOK_BITS) {
            for (let j = 0; j < count; j++) {
              const idx = first + j;
              const raw = (idx >> (LOOK_BITS - l - size)) & ((1 << size) - 1);
              const v = extend(raw, size);
              store<i32>(t + HT_FAST + (<usize>idx << 2), (v << 16) | (run << 8) | (l + size));
            }
          }
        }
      }
      code += n;
      k += n;
      store<i32>(t + HT_MAXCODE + (<usize>l << 2), code - 1);
    } else {
      store<i32>(t + HT_MAXCODE + (<usize>l << 2), -1);
    }
    code <<= 1;
  }
  if (k != nvals) return ERR_HUFFMAN_TABLE;
  return OK;
}

function readDHT(): i32 {
  let p = segStart;
  while (p < segEnd) {
    if (p + 17 > segEnd) return ERR_SEGMENT;
    const tc = u8at(p) >> 4;
    const th = u8at(p) & 15;
    if (tc > 1 || th > 3) return ERR_SEGMENT;
    let total = 0;
    for (let i = 1; i <= 16; i++) total += u8at(p + <usize>i);
    if (total > 256 || p + 17 + <usize>total > segEnd) return ERR_SEGMENT;
    const idx = tc * 4 + th;
    const e = buildHuffman(HT + <usize>idx * HT_SIZE, p + 1, p + 17, total, tc == 0);
    if (e != OK) return e;
    htDefined |= 1 << idx;
    p += 17 + <usize>total;
  }
  return OK;
}

function readSOF(m: i32): i32 {
  if (frameSeen) return ERR_MULTI_FRAME;
  if (m != 0xc0 && m != 0xc1 && m != 0xc2) return ERR_UNSUPPORTED_PROCESS;
  const p = segStart;
  if (segEnd - p < 6) return ERR_SEGMENT;
  const precision = u8at(p);
  H = u16at(p + 1);
  W = u16at(p + 3);
  NC = u8at(p + 5);
  if (segEnd - p != 6 + 3 * <usize>NC) return ERR_SEGMENT;
  if (precision != 8) return ERR_UNSUPPORTED_PRECISION;
  if (W == 0) return ERR_SEGMENT;
  if (H == 0) return ERR_UNSUPPORTED_DNL;
  if (NC != 1 && NC != 3) return NC == 0 ? ERR_SEGMENT : ERR_UNSUPPORTED_COMPONENTS;
  maxH = 1;
  maxV = 1;
  for (let c = 0; c < NC; c++) {
    const q = p + 6 + 3 * <usize>c;
    const h = u8at(q + 1) >> 4;
    const v = u8at(q + 1) & 15;
    const tq = u8at(q + 2);
    if (h < 1 || h > 4 || v < 1 || v > 4 || tq > 3) return ERR_SEGMENT;
    cset(c, F_ID, u8at(q));
    cset(c, F_H, h);
    cset(c, F_V, v);
    cset(c, F_TQ, tq);
    cset(c, F_LATCHED, 0);
    cset(c, F_SEEN, 0);
    if (h > maxH) maxH = h;
    if (v > maxV) maxV = v;
  }
  if (NC == 1) {
    // a single component is never interleaved: its MCU is one block (libjpeg does the same)
    cset(0, F_H, 1);
    cset(0, F_V, 1);
    maxH = 1;
    maxV = 1;
  }
  mcusX = (W + 8 * maxH - 1) / (8 * maxH);
  mcusY = (H + 8 * maxV - 1) / (8 * maxV);
  for (let c = 0; c < NC; c++) {
    const h = cget(c, F_H);
    const v = cget(c, F_V);
    cset(c, F_BW, mcusX * h);
    cset(c, F_BH, mcusY * v);
    const cw = (W * h + maxH - 1) / maxH;
    const ch = (H * v + maxV - 1) / maxV;
    cset(c, F_BWR, (cw + 7) >> 3);
    cset(c, F_BHR, (ch + 7) >> 3);
  }
  sof = m;
  progressive = m == 0xc2;
  frameSeen = true;
  return OK;
}

function readSOS(): i32 {
  if (!frameSeen) return ERR_NO_FRAME;
  const p = segStart;
  if (segEnd - p < 1) return ERR_SEGMENT;
  const n = u8at(p);
  if (n < 1 || n > 4 || segEnd - p != 4 + 2 * <usize>n) return ERR_SEGMENT;
  for (let i = 0; i < n; i++) {
    const id = u8at(p + 1 + 2 * <usize>i);
    const t = u8at(p + 2 + 2 * <usize>i);
    let c = -1;
    for (let j = 0; j < NC; j++) {
      if (cget(j, F_ID) == id) {
        c = j;
        break;
      }
    }
    if (c < 0) return ERR_BAD_SCAN;
    for (let j = 0; j < i; j++) if (scanComp(j) == c) return ERR_BAD_SCAN;
    store<i32>(SCAN_COMP + (<usize>i << 2), c);
    const td = t >> 4;
    const ta = t & 15;
    if (td > 3 || ta > 3) return ERR_BAD_SCAN;
    cset(c, F_TD, td);
    cset(c, F_TA, ta);
  }
  scanNC = n;
  const q = p + 1 + 2 * <usize>n;
  Ss = u8at(q);
  Se = u8at(q + 1);
  Ah = u8at(q + 2) >> 4;
  Al = u8at(q + 2) & 15;
  if (progressive) {
    if (Ss > Se || Se > 63 || Al > 13 || Ah > 13) return ERR_BAD_SCAN;
    if (Ss == 0 && Se != 0) return ERR_BAD_SCAN;
    if (Ss > 0 && n != 1) return ERR_BAD_SCAN;
  } else {
    // libjpeg ignores these for sequential JPEG (warning only)
    Ss = 0;
    Se = 63;
    Ah = 0;
    Al = 0;
  }
  // interleaved scans: at most 10 blocks per MCU
  if (n > 1) {
    let blocks = 0;
    for (let i = 0; i < n; i++) blocks += cget(scanComp(i), F_H) * cget(scanComp(i), F_V);
    if (blocks > 10) return ERR_BAD_SCAN;
  }
  return OK;
}

/** Handle a non-SOS, non-EOI marker segment (tables, APPn, COM, DRI, SOF). */
function readOther(m: i32): i32 {
  if (m == 0xd8) return OK; // stray SOI (libjpeg errors; ignore)
  if (m == 0x01) return OK; // TEM
  let e = readSegmentBounds();
  if (e != OK) return e;
  if (m == 0xdb) return readDQT();
  if (m == 0xc4) return readDHT();
  if (m == 0xdd) {
    if (segEnd - segStart < 2) return ERR_SEGMENT;
    restartInterval = u16at(segStart);
    return OK;
  }
  if (m == 0xdc) return ERR_UNSUPPORTED_DNL;
  if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) return readSOF(m);
  if (m == 0xcc) return ERR_UNSUPPORTED_PROCESS; // DAC (arithmetic)
  if (m == 0xe0 && segEnd - segStart >= 5) {
    if (u8at(segStart) == 0x4a && u8at(segStart + 1) == 0x46 && u8at(segStart + 2) == 0x49 &&
      u8at(segStart + 3) == 0x46 && u8at(segStart + 4) == 0) sawJFIF = true;
  }
  if (m == 0xee && segEnd - segStart >= 12) {
    if (u8at(segStart) == 0x41 && u8at(segStart + 1) == 0x64 && u8at(segStart + 2) == 0x6f &&
      u8at(segStart + 3) == 0x62 && u8at(segStart + 4) == 0x65) {
      sawAdobe = true;
      adobeTransform = u8at(segStart + 11);
    }
  }
  return OK; // APPn, COM, anything else: skipped
}

/**
 * Parse the markers from SOI up to the first SOS (tables, frame header, restart
 * interval, JFIF/Adobe markers). The input must stay in memory at ptr until decode().
 */
export function parseHeader(ptr: usize, len: usize): i32 {
  initRangeLimit();
  headerOk = false;
  frameSeen = false;
  qtDefined = 0;
  htDefined = 0;
  restartInterval = 0;
  sawJFIF = false;
  sawAdobe = false;
  adobeTransform = -1;
  W = 0;
  H = 0;
  NC = 0;
  inStart = ptr;
  inEnd = ptr + len;
  if (len < 4 || u8at(ptr) != 0xff || u8at(ptr + 1) != 0xd8) return ERR_NOT_JPEG;
  pos = ptr + 2;
  for (;;) {
    const m = nextMarker();
    if (m < 0) return frameSeen ? ERR_TRUNCATED : ERR_NO_FRAME;
    if (m == 0xd9) return ERR_NO_FRAME;
    if (m == 0xda) {
      if (!frameSeen) return ERR_NO_FRAME;
      firstSosPos = pos;
      const e = readSegmentBounds();
      if (e != OK) return e;
      const e2 = readSOS();
      if (e2 != OK) return e2;
      firstScanNC = scanNC;
      break;
    }
    const e = readOther(m);
    if (e != OK) return e;
  }
  // colour space (jdapimin.c default_decompress_parms)
  if (NC == 1) colorMode = 0;
  else if (sawJFIF) colorMode = 1;
  else if (sawAdobe) colorMode = adobeTransform == 0 ? 2 : 1;
  else if (cget(0, F_ID) == 82 && cget(1, F_ID) == 71 && cget(2, F_ID) == 66) colorMode = 2;
  else colorMode = 1;
  headerOk = true;
  return OK;
}

export function frameWidth(): i32 {
  return W;
}
export function frameHeight(): i32 {
  return H;
}
export function frameComponents(): i32 {
  return NC;
}
export function frameProgressive(): i32 {
  return progressive ? 1 : 0;
}
export function frameColorMode(): i32 {
  return colorMode;
}
/** Sampling factors of component c as (h << 4) | v. */
export function frameSampling(c: i32): i32 {
  return c >= 0 && c < NC ? (cget(c, F_H) << 4) | cget(c, F_V) : 0;
}

// ---- decoding state -----------------------------------------------------------------

let s: i32 = 8; // output block size of a full-resolution component (8 >> scale)
let dcOnly = false; // 1/8 scale with a coefficient buffer: keep only DC coefficients
let coefStride: usize = 128; // bytes per stored block
let streaming = false;
let outW: i32 = 0;
let outH: i32 = 0;
let outBuf: usize = 0;
let fancyTmp: usize = 0; // i16 scratch row of the fancy upsamplers
let rowsPerGroup: i32 = 8; // output rows per iMCU row

export function outPtr(): usize {
  return outBuf;
}
export function outWidth(): i32 {
  return outW;
}
export function outHeight(): i32 {
  return outH;
}

/** Plan the geometry of a decode at 1/2^scaleLog2; with doAlloc, allocate the buffers. */
function setup(scaleLog2: i32, doAlloc: bool): u64 {
  s = 8 >> scaleLog2;
  streaming = !progressive && firstScanNC == NC;
  // 1/8 with a coefficient buffer: keep only the DC of every component (2 bytes per
  // block). Streaming (single-scan sequential) images get libjpeg-turbo's 1/8 instead:
  // luma DC only, subsampled chroma through the 2x2/4x4 IDCT (exact vs djpeg -scale 1/8).
  dcOnly = s == 1 && !streaming;
  coefStride = dcOnly ? 2 : 128;
  outW = (W * s + 7) >> 3;
  outH = (H * s + 7) >> 3;
  rowsPerGroup = maxV * s;
  const doFancy = s > 1; // libjpeg: do_fancy_upsampling && min_DCT_scaled_size > 1
  let total: u64 = <u64>outW * <u64>outH * 3 + 16;
  for (let c = 0; c < NC; c++) {
    const h = cget(c, F_H);
    const v = cget(c, F_V);
    // libjpeg-turbo jdmaster.c: enlarge the IDCT of subsampled components instead of upsampling
    let S = s;
    if (!dcOnly) {
      while (S < 8 && (maxH * s) % (h * S * 2) == 0 && (maxV * s) % (v * S * 2) == 0) S *= 2;
    }
    const cw = <i32>((<u64>W * <u64>(h * S) + <u64>(maxH * 8 - 1)) / <u64>(maxH * 8));
    const ch = <i32>((<u64>H * <u64>(v * S) + <u64>(maxV * 8 - 1)) / <u64>(maxV * 8));
    const hnum = maxH * s;
    const vnum = maxV * s;
    const hden = h * S;
    const vden = v * S;
    let mode = UP_MAP;
    if (hnum == hden && vnum == vden) mode = UP_DIRECT;
    else if (doFancy && hnum == 2 * hden && vnum == vden && cw > 2) mode = UP_H2V1;
    else if (doFancy && hnum == hden && vnum == 2 * vden) mode = UP_H1V2;
    else if (doFancy && hnum == 2 * hden && vnum == 2 * vden && cw > 2) mode = UP_H2V2;
    const bw = cget(c, F_BW);
    const pitch = bw * S;
    const R = v * S;
    cset(c, F_S, S);
    cset(c, F_CW, cw);
    cset(c, F_CH, ch);
    cset(c, F_PITCH, pitch);
    cset(c, F_MODE, mode);
    cset(c, F_R, R);
    cset(c, F_VNUM, vden);
    const stripBytes = <u64>pitch * <u64>R + 32;
    const upBytes: u64 = mode == UP_DIRECT ? 0 : <u64>outW + 64;
    const mapBytes: u64 = mode == UP_MAP ? <u64>outW * 4 + 16 : 0;
    const coefBytes: u64 = streaming
      ? <u64>bw * <u64>v * <u64>coefStride + 16
      : <u64>bw * <u64>cget(c, F_BH) * <u64>coefStride + 16;
    // progressive AC refinement visits only nonzero coefficients: 8 bytes per block
    const maskBytes: u64 = progressive && !dcOnly ? <u64>bw * <u64>cget(c, F_BH) * 8 + 16 : 0;
    total += stripBytes * 2 + <u64>pitch + 32 + upBytes + mapBytes + coefBytes + maskBytes + 7 * 16;
    if (doAlloc) {
      const s0 = alloc(stripBytes);
      const s1 = alloc(stripBytes);
      const ab = alloc(<u64>pitch + 32);
      const up = upBytes ? alloc(upBytes) : 1;
      const mp = mapBytes ? alloc(mapBytes) : 1;
      const cf = alloc(coefBytes);
      const mk = maskBytes ? alloc(maskBytes) : 1;
      if (!s0 || !s1 || !ab || !up || !mp || !cf || !mk) return 0;
      cset(c, F_MASK, <i32>mk);
      if (maskBytes) memory.fill(mk, 0, <usize>maskBytes);
      cset(c, F_STRIP0, <i32>s0);
      cset(c, F_STRIP1, <i32>s1);
      cset(c, F_ABOVE, <i32>ab);
      cset(c, F_UP, <i32>up);
      cset(c, F_MAPX, <i32>mp);
      cset(c, F_COEF, <i32>cf);
      memory.fill(cf, 0, <usize>coefBytes);
      if (mode == UP_MAP) {
        for (let x = 0; x < outW; x++) {
          let cx = <i32>((<u64>x * <u64>hden) / <u64>hnum);
          if (cx > cw - 1) cx = cw - 1;
          store<i32>(mp + (<usize>x << 2), cx);
        }
      }
    }
  }
  total += <u64>outW * 2 + 64 + 16;
  if (doAlloc) {
    outBuf = alloc(<u64>outW * <u64>outH * 3 + 16);
    fancyTmp = alloc(<u64>outW * 2 + 64);
    if (!outBuf || !fancyTmp) return 0;
  }
  return total;
}

/** Bytes of arena decode(scaleLog2) will allocate (after parseHeader; the input not included). */
export function planBytes(scaleLog2: i32): f64 {
  if (!headerOk || scaleLog2 < 0 || scaleLog2 > 3) return -1;
  return <f64>setup(scaleLog2, false);
}

// ---- entropy decoding of blocks -----------------------------------------------------

@inline function htab(cls: i32, id: i32): usize {
  return HT + <usize>(cls * 4 + id) * HT_SIZE;
}

/**
 * Sequential (baseline) block: DC into dcBlk[0], ACs into acBlk (natural order).
 * The hot loop of the decoder: the bit buffer lives in locals (written back before any
 * call and at the end); one refill per coefficient guarantees >= 32 bits, enough for a
 * code (<= 16 bits) and its value (<= 15 bits).
 */
function decodeBlockBaseline(c: i32, dcBlk: usize, acBlk: usize, dct: usize, act: usize): i32 {
  let buf = bitBuf;
  let cnt = bitCnt;
  if (cnt < 32) {
    bitBuf = buf;
    bitCnt = cnt;
    fill();
    buf = bitBuf;
    cnt = bitCnt;
  }
  // DC
  let e = <i32>load<u16>(dct + HT_LOOK + (<usize>(buf >> <u64>(64 - LOOK_BITS)) << 1));
  let sym: i32;
  if (e != 0) {
    const l = e >> 8;
    buf <<= <u64>l;
    cnt -= l;
    sym = e & 0xff;
  } else {
    bitBuf = buf;
    bitCnt = cnt;
    sym = decodeSlow(dct);
    buf = bitBuf;
    cnt = bitCnt;
    if (sym < 0) return ERR_BAD_CODE;
  }
  let pred = cget(c, F_PRED);
  if (sym != 0) {
    const v = <i32>(buf >> <u64>(64 - sym));
    buf <<= <u64>sym;
    cnt -= sym;
    pred += extend(v, sym);
    cset(c, F_PRED, pred);
  }
  store<i16>(dcBlk, <i16>pred);
  // AC
  let k = 1;
  while (k < 64) {
    if (cnt < 32) {
      bitBuf = buf;
      bitCnt = cnt;
      fill();
      buf = bitBuf;
      cnt = bitCnt;
    }
    const look = <usize>(buf >> <u64>(64 - LOOK_BITS));
    // fast path: run, size and value within the 9-bit lookahead
    const f = load<i32>(act + HT_FAST + (look << 2));
    if (f != 0) {
      k += (f >> 8) & 15;
      const l = f & 0xff;
      buf <<= <u64>l;
      cnt -= l;
      if (k > 63) {
        bitBuf = buf;
        bitCnt = cnt;
        return ERR_BAD_COEF;
      }
      store<i16>(acBlk + (<usize>load<u8>(ZZ + <usize>k) << 1), <i16>(f >> 16));
      k++;
      continue;
    }
    e = <i32>load<u16>(act + HT_LOOK + (look << 1));
    let rs: i32;
    if (e != 0) {
      const l = e >> 8;
      buf <<= <u64>l;
      cnt -= l;
      rs = e & 0xff;
    } else {
      bitBuf = buf;
      bitCnt = cnt;
      rs = decodeSlow(act);
      buf = bitBuf;
      cnt = bitCnt;
      if (rs < 0) return ERR_BAD_CODE;
    }
    const r = rs >> 4;
    const sz = rs & 15;
    if (sz != 0) {
      k += r;
      if (k > 63) {
        bitBuf = buf;
        bitCnt = cnt;
        return ERR_BAD_COEF;
      }
      const v = <i32>(buf >> <u64>(64 - sz));
      buf <<= <u64>sz;
      cnt -= sz;
      store<i16>(acBlk + (<usize>load<u8>(ZZ + <usize>k) << 1), <i16>extend(v, sz));
      k++;
    } else {
      if (r != 15) break;
      k += 16;
    }
  }
  bitBuf = buf;
  bitCnt = cnt;
  return OK;
}

function decodeDCFirst(c: i32, blk: usize, dct: usize): i32 {
  const sym = decodeSym(dct);
  if (sym < 0) return ERR_BAD_CODE;
  const pred = cget(c, F_PRED) + receiveExtend(sym);
  cset(c, F_PRED, pred);
  store<i16>(blk, <i16>(pred << Al));
  return OK;
}

function decodeDCRefine(blk: usize): i32 {
  if (getBit()) store<i16>(blk, <i16>(<i32>load<i16>(blk) | (1 << Al)));
  return OK;
}

// The progressive AC decoders keep the bit buffer in locals like decodeBlockBaseline.
// Refills: before a symbol when < 32 bits remain (code <= 16 + sign bit or EOB run
// length <= 14 bits), and before each correction bit when none remain.

function decodeACFirst(blk: usize, mp: usize, act: usize): i32 {
  if (eobrun > 0) {
    eobrun--;
    return OK;
  }
  let mask = load<u64>(mp);
  let buf = bitBuf;
  let cnt = bitCnt;
  let k = Ss;
  const se = Se;
  const al = Al;
  let err = OK;
  while (k <= se) {
    if (cnt < 32) {
      bitBuf = buf;
      bitCnt = cnt;
      fill();
      buf = bitBuf;
      cnt = bitCnt;
    }
    const look = <usize>(buf >> <u64>(64 - LOOK_BITS));
    const f = load<i32>(act + HT_FAST + (look << 2));
    if (f != 0) {
      k += (f >> 8) & 15;
      const l = f & 0xff;
      buf <<= <u64>l;
      cnt -= l;
      if (k > se) {
        err = ERR_BAD_COEF;
        break;
      }
      store<i16>(blk + (<usize>load<u8>(ZZ + <usize>k) << 1), <i16>((f >> 16) << al));
      mask |= <u64>1 << <u64>k;
      k++;
      continue;
    }
    const e = <i32>load<u16>(act + HT_LOOK + (look << 1));
    let rs: i32;
    if (e != 0) {
      const l = e >> 8;
      buf <<= <u64>l;
      cnt -= l;
      rs = e & 0xff;
    } else {
      bitBuf = buf;
      bitCnt = cnt;
      rs = decodeSlow(act);
      buf = bitBuf;
      cnt = bitCnt;
      if (rs < 0) return ERR_BAD_CODE;
    }
    const r = rs >> 4;
    const sz = rs & 15;
    if (sz != 0) {
      k += r;
      if (k > se) {
        err = ERR_BAD_COEF;
        break;
      }
      const v = <i32>(buf >> <u64>(64 - sz));
      buf <<= <u64>sz;
      cnt -= sz;
      store<i16>(blk + (<usize>load<u8>(ZZ + <usize>k) << 1), <i16>(extend(v, sz) << al));
      mask |= <u64>1 << <u64>k;
      k++;
    } else {
      if (r < 15) {
        let run = 1 << r;
        if (r != 0) {
          run += <i32>(buf >> <u64>(64 - r));
          buf <<= <u64>r;
          cnt -= r;
        }
        eobrun = run - 1;
        break;
      }
      k += 16;
    }
  }
  store<u64>(mp, mask);
  bitBuf = buf;
  bitCnt = cnt;
  return err;
}

/** Correction bit for the nonzero coefficient at cp (libjpeg: increase |coef| by p1 if set). */
@inline function refineCoef(cp: usize, bit: u64, p1: i32, m1: i32): void {
  const coef = <i32>load<i16>(cp);
  if (bit != 0 && (coef & p1) == 0) store<i16>(cp, <i16>(coef >= 0 ? coef + p1 : coef + m1));
}

function decodeACRefine(blk: usize, mp: usize, act: usize): i32 {
  const p1 = 1 << Al;
  const m1 = -1 << Al;
  const se = Se;
  // nonzero coefficients of this block within the band (zigzag positions <= se)
  const band: u64 = se == 63 ? <u64>-1 : (<u64>1 << <u64>(se + 1)) - 1;
  let mask = load<u64>(mp);
  let buf = bitBuf;
  let cnt = bitCnt;
  let k = Ss;
  if (eobrun == 0) {
    for (; k <= se; k++) {
      if (cnt < 32) {
        bitBuf = buf;
        bitCnt = cnt;
        fill();
        buf = bitBuf;
        cnt = bitCnt;
      }
      const e = <i32>load<u16>(act + HT_LOOK + (<usize>(buf >> <u64>(64 - LOOK_BITS)) << 1));
      let rs: i32;
      if (e != 0) {
        const l = e >> 8;
        buf <<= <u64>l;
        cnt -= l;
        rs = e & 0xff;
      } else {
        bitBuf = buf;
        bitCnt = cnt;
        rs = decodeSlow(act);
        buf = bitBuf;
        cnt = bitCnt;
        if (rs < 0) return ERR_BAD_CODE;
      }
      let r = rs >> 4;
      const sz = rs & 15;
      let val = 0;
      if (sz != 0) {
        // sz must be 1 (libjpeg warns and goes on otherwise): one sign bit
        val = (buf >> 63) != 0 ? p1 : m1;
        buf <<= 1;
        cnt -= 1;
      } else if (r != 15) {
        eobrun = 1 << r;
        if (r != 0) {
          eobrun += <i32>(buf >> <u64>(64 - r));
          buf <<= <u64>r;
          cnt -= r;
        }
        break;
      }
      // Skip r zero coefficients (the target is the next zero after them), appending a
      // correction bit to each nonzero coefficient passed on the way (jdphuff.c).
      for (;;) {
        const nz = (mask & band) >> <u64>k;
        const p = nz != 0 ? k + <i32>ctz<u64>(nz) : se + 1; // next nonzero position
        const z = p - k; // zeros before it
        if (r < z) {
          k += r; // the target zero coefficient
          break;
        }
        r -= z;
        k = p;
        if (k > se) break;
        if (cnt < 1) {
          bitBuf = buf;
          bitCnt = cnt;
          fill();
          buf = bitBuf;
          cnt = bitCnt;
        }
        refineCoef(blk + (<usize>load<u8>(ZZ + <usize>k) << 1), buf >> 63, p1, m1);
        buf <<= 1;
        cnt -= 1;
        k++;
        if (k > se) break;
      }
      if (val != 0) {
        if (k > 63) {
          bitBuf = buf;
          bitCnt = cnt;
          return ERR_BAD_COEF;
        }
        store<i16>(blk + (<usize>load<u8>(ZZ + <usize>k) << 1), <i16>val);
        mask |= <u64>1 << <u64>k;
      }
    }
  }
  if (eobrun > 0) {
    // the rest of the band is in an EOB run: correction bits for the nonzero coefficients only
    if (k <= se) {
      let nz = (mask & band) >> <u64>k;
      while (nz != 0) {
        const p = k + <i32>ctz<u64>(nz);
        if (cnt < 1) {
          bitBuf = buf;
          bitCnt = cnt;
          fill();
          buf = bitBuf;
          cnt = bitCnt;
        }
        refineCoef(blk + (<usize>load<u8>(ZZ + <usize>p) << 1), buf >> 63, p1, m1);
        buf <<= 1;
        cnt -= 1;
        nz &= nz - 1;
      }
    }
    eobrun--;
  }
  store<u64>(mp, mask);
  bitBuf = buf;
  bitCnt = cnt;
  return OK;
}

// ---- restart markers ----------------------------------------------------------------

let restartsLeft: i32 = 0;

function processRestart(): i32 {
  if (overrun()) return ERR_TRUNCATED;
  // discard the remaining bits and find the marker
  let p = rdPos;
  let found = false;
  while (p < inEnd) {
    if (load<u8>(p) != 0xff) {
      p++;
      continue;
    }
    let q = p + 1;
    while (q < inEnd && load<u8>(q) == 0xff) q++;
    if (q >= inEnd) break;
    const m = load<u8>(q);
    if (m == 0) {
      p = q + 1; // stuffed data byte: keep looking
      continue;
    }
    if (m >= 0xd0 && m <= 0xd7) {
      p = q + 1;
      found = true;
    }
    break;
  }
  resetReader(p);
  if (!found) hitMarker = true; // some other marker (or the end): zeros from here
  for (let i = 0; i < NC; i++) cset(i, F_PRED, 0);
  eobrun = 0;
  restartsLeft = restartInterval;
  return OK;
}

@inline function restartCheck(): i32 {
  if (restartInterval != 0) {
    if (restartsLeft == 0) {
      const e = processRestart();
      if (e != OK) return e;
    }
    restartsLeft--;
  }
  return OK;
}

// ---- scans --------------------------------------------------------------------------

function startScan(): i32 {
  // latch quantisation tables and check the Huffman tables of the scan's components
  for (let i = 0; i < scanNC; i++) {
    const c = scanComp(i);
    cset(c, F_SEEN, 1);
    if (!cget(c, F_LATCHED)) {
      const tq = cget(c, F_TQ);
      if (!(qtDefined & (1 << tq))) return ERR_QUANT_TABLE;
      memory.copy(CQ + (<usize>c << 8), QT + (<usize>tq << 8), 256);
      cset(c, F_LATCHED, 1);
    }
    const needDC = !progressive || (Ss == 0 && Ah == 0);
    const needAC = !progressive || Ss > 0;
    if (needDC && !(htDefined & (1 << cget(c, F_TD)))) return ERR_HUFFMAN_TABLE;
    if (needAC && !(htDefined & (1 << (4 + cget(c, F_TA))))) return ERR_HUFFMAN_TABLE;
    cset(c, F_PRED, 0);
  }
  eobrun = 0;
  restartsLeft = restartInterval;
  resetReader(pos);
  return OK;
}

/** One block of the current (buffered-mode) scan. */
@inline function decodeBufferedBlock(c: i32, blk: usize): i32 {
  if (!progressive) {
    return decodeBlockBaseline(c, blk, dcOnly ? SCRATCH : blk, htab(0, cget(c, F_TD)), htab(1, cget(c, F_TA)));
  }
  if (Ss == 0) {
    return Ah == 0 ? decodeDCFirst(c, blk, htab(0, cget(c, F_TD))) : decodeDCRefine(blk);
  }
  return ERR_BAD_SCAN; // AC scans: bufferedScan calls the AC decoders itself (with the masks)
}

/** Decode a scan into the coefficient buffer (progressive or multi-scan sequential). */
function bufferedScan(): i32 {
  let e = startScan();
  if (e != OK) return e;
  if (dcOnly && progressive && Ss > 0) return OK; // AC bands are not needed at 1/8
  if (scanNC == 1) {
    const c = scanComp(0);
    const bw = cget(c, F_BW);
    const bwr = cget(c, F_BWR);
    const bhr = cget(c, F_BHR);
    const base = <usize>cget(c, F_COEF);
    const masks = <usize>cget(c, F_MASK);
    const act = htab(1, cget(c, F_TA));
    const ac = progressive && Ss > 0;
    for (let by = 0; by < bhr; by++) {
      for (let bx = 0; bx < bwr; bx++) {
        e = restartCheck();
        if (e != OK) return e;
        const idx = <usize>by * <usize>bw + <usize>bx;
        if (ac) {
          e = Ah == 0 ? decodeACFirst(base + (idx << 7), masks + (idx << 3), act) : decodeACRefine(base + (idx << 7), masks + (idx << 3), act);
        } else {
          e = decodeBufferedBlock(c, base + idx * coefStride);
        }
        if (e != OK) return e;
      }
      if (overrun()) return ERR_TRUNCATED;
    }
  } else {
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++) {
        e = restartCheck();
        if (e != OK) return e;
        for (let i = 0; i < scanNC; i++) {
          const c = scanComp(i);
          const h = cget(c, F_H);
          const v = cget(c, F_V);
          const bw = <usize>cget(c, F_BW);
          const base = <usize>cget(c, F_COEF);
          for (let j = 0; j < v; j++) {
            const row = base + (<usize>(my * v + j) * bw + <usize>(mx * h)) * coefStride;
            for (let k = 0; k < h; k++) {
              e = decodeBufferedBlock(c, row + <usize>k * coefStride);
              if (e != OK) return e;
            }
          }
        }
      }
      if (overrun()) return ERR_TRUNCATED;
    }
  }
  if (overrun()) return ERR_TRUNCATED;
  return OK;
}

/** Single-scan sequential image: decode an MCU row, IDCT it, output the previous one. */
function streamingScan(): i32 {
  let e = startScan();
  if (e != OK) return e;
  const dcs = SCAN_COMP; // all components, in scan order
  for (let my = 0; my < mcusY; my++) {
    for (let i = 0; i < NC; i++) {
      memory.fill(<usize>cget(i, F_COEF), 0, <usize>(cget(i, F_BW) * cget(i, F_V)) * coefStride);
    }
    if (scanNC == 1) {
      const c = scanComp(0);
      const base = <usize>cget(c, F_COEF);
      const dct = htab(0, cget(c, F_TD));
      const act = htab(1, cget(c, F_TA));
      const bwr = cget(c, F_BWR);
      for (let bx = 0; bx < bwr; bx++) {
        e = restartCheck();
        if (e != OK) return e;
        const blk = base + <usize>bx * coefStride;
        e = decodeBlockBaseline(c, blk, dcOnly ? SCRATCH : blk, dct, act);
        if (e != OK) return e;
      }
    } else {
      for (let mx = 0; mx < mcusX; mx++) {
        e = restartCheck();
        if (e != OK) return e;
        for (let i = 0; i < scanNC; i++) {
          const c = load<i32>(dcs + (<usize>i << 2));
          const h = cget(c, F_H);
          const v = cget(c, F_V);
          const bw = <usize>cget(c, F_BW);
          const base = <usize>cget(c, F_COEF);
          const dct = htab(0, cget(c, F_TD));
          const act = htab(1, cget(c, F_TA));
          for (let j = 0; j < v; j++) {
            const row = base + (<usize>j * bw + <usize>(mx * h)) * coefStride;
            for (let k = 0; k < h; k++) {
              const blk = row + <usize>k * coefStride;
              e = decodeBlockBaseline(c, blk, dcOnly ? SCRATCH : blk, dct, act);
              if (e != OK) return e;
            }
          }
        }
      }
    }
    if (overrun()) return ERR_TRUNCATED;
    idctRow(my, true);
    if (my > 0) outputRow(my - 1);
  }
  outputRow(mcusY - 1);
  return OK;
}

// ---- IDCT and output ----------------------------------------------------------------

/** IDCT the blocks of iMCU row k of every component into its strip (k & 1). */
function idctRow(k: i32, relative: bool): void {
  for (let c = 0; c < NC; c++) {
    const S = cget(c, F_S);
    const v = cget(c, F_V);
    const bw = <usize>cget(c, F_BW);
    const pitch = <usize>cget(c, F_PITCH);
    const strip = <usize>((k & 1) != 0 ? cget(c, F_STRIP1) : cget(c, F_STRIP0));
    const q = CQ + (<usize>c << 8);
    const base = <usize>cget(c, F_COEF);
    // only the blocks that hold real samples
    let bxEnd = (cget(c, F_CW) + S - 1) / S;
    if (bxEnd > <i32>bw) bxEnd = <i32>bw;
    const ch = cget(c, F_CH);
    for (let j = 0; j < v; j++) {
      const by = k * v + j;
      if (by * S >= ch) break;
      let blk = base + <usize>(relative ? j : by) * bw * coefStride;
      let out = strip + <usize>(j * S) * pitch;
      if (S == 8) {
        for (let bx = 0; bx < bxEnd; bx++) {
          idct8(blk, q, out, pitch);
          blk += coefStride;
          out += 8;
        }
      } else if (S == 4) {
        for (let bx = 0; bx < bxEnd; bx++) {
          idct4(blk, q, out, pitch);
          blk += coefStride;
          out += 4;
        }
      } else if (S == 2) {
        for (let bx = 0; bx < bxEnd; bx++) {
          idct2(blk, q, out, pitch);
          blk += coefStride;
          out += 2;
        }
      } else {
        for (let bx = 0; bx < bxEnd; bx++) {
          store<u8>(out, idct1(blk, q));
          blk += coefStride;
          out += 1;
        }
      }
    }
  }
}

/** Row r (component row index at the output scale) while iMCU row k is being output. */
function rowAt(c: i32, r: i32, k: i32): usize {
  const ch = cget(c, F_CH);
  if (r < 0) r = 0;
  if (r > ch - 1) r = ch - 1;
  const R = cget(c, F_R);
  const base = k * R;
  const pitch = <usize>cget(c, F_PITCH);
  if (r < base) return <usize>cget(c, F_ABOVE);
  if (r >= base + R) {
    const next = <usize>(((k + 1) & 1) != 0 ? cget(c, F_STRIP1) : cget(c, F_STRIP0));
    return next + <usize>(r - base - R) * pitch;
  }
  const cur = <usize>((k & 1) != 0 ? cget(c, F_STRIP1) : cget(c, F_STRIP0));
  return cur + <usize>(r - base) * pitch;
}

/** Component c's samples for output row y (length >= outW). */
function upsampled(c: i32, y: i32, k: i32): usize {
  const mode = cget(c, F_MODE);
  if (mode == UP_DIRECT) return rowAt(c, y, k);
  const up = <usize>cget(c, F_UP);
  const cw = cget(c, F_CW);
  if (mode == UP_H2V1) {
    h2v1FancySimd(rowAt(c, y, k), cw, up, fancyTmp);
  } else if (mode == UP_H1V2) {
    const cy = y >> 1;
    const near = rowAt(c, cy, k);
    if (y & 1) h1v2FancySimd(near, rowAt(c, cy + 1, k), cw, 2, up);
    else h1v2FancySimd(near, rowAt(c, cy - 1, k), cw, 1, up);
  } else if (mode == UP_H2V2) {
    const cy = y >> 1;
    const near = rowAt(c, cy, k);
    h2v2FancySimd(near, rowAt(c, (y & 1) ? cy + 1 : cy - 1, k), cw, up, fancyTmp);
  } else {
    const cy = <i32>((<u64>y * <u64>cget(c, F_VNUM)) / <u64>rowsPerGroup);
    mapRow(rowAt(c, cy, k), <usize>cget(c, F_MAPX), outW, up);
  }
  return up;
}

function outputRow(k: i32): void {
  const y0 = k * rowsPerGroup;
  let y1 = y0 + rowsPerGroup;
  if (y1 > outH) y1 = outH;
  const stride = <usize>outW * 3;
  for (let y = y0; y < y1; y++) {
    const out = outBuf + <usize>y * stride;
    if (NC == 1) {
      grayRow(upsampled(0, y, k), out, outW);
    } else {
      const p0 = upsampled(0, y, k);
      const p1 = upsampled(1, y, k);
      const p2 = upsampled(2, y, k);
      if (colorMode == 1) yccRow(p0, p1, p2, out, outW);
      else rgbRow(p0, p1, p2, out, outW);
    }
  }
  // keep the last row of this strip as the "above" context of the next iMCU row
  for (let c = 0; c < NC; c++) {
    const R = cget(c, F_R);
    const cur = <usize>((k & 1) != 0 ? cget(c, F_STRIP1) : cget(c, F_STRIP0));
    const pitch = <usize>cget(c, F_PITCH);
    memory.copy(<usize>cget(c, F_ABOVE), cur + <usize>(R - 1) * pitch, pitch);
  }
}

function outputBuffered(): void {
  for (let c = 0; c < NC; c++) {
    if (!cget(c, F_LATCHED)) {
      // a component that was never in a scan: grey (zero coefficients), any table
      memory.fill(CQ + (<usize>c << 8), 0, 256);
      cset(c, F_LATCHED, 1);
    }
  }
  for (let k = 0; k < mcusY; k++) {
    idctRow(k, false);
    if (k > 0) outputRow(k - 1);
  }
  outputRow(mcusY - 1);
}

/**
 * Decode the image parsed by parseHeader at 1/2^scaleLog2 (0..3) into an RGB buffer
 * (outPtr(), outWidth() x outHeight() x 3). maxScans caps the number of SOS segments.
 */
export function decode(scaleLog2: i32, maxScans: i32): i32 {
  if (!headerOk || scaleLog2 < 0 || scaleLog2 > 3) return ERR_STATE;
  if (setup(scaleLog2, true) == 0) return ERR_MEMORY;
  pos = firstSosPos;
  let scans = 0;
  let streamed = false;
  let m = 0xda;
  for (;;) {
    if (m == 0xda) {
      scans++;
      if (scans > maxScans) return ERR_SCANS;
      let e = readSegmentBounds();
      if (e != OK) return e;
      e = readSOS();
      if (e != OK) return e;
      if (streaming) {
        if (!streamed) {
          e = streamingScan();
          if (e != OK) return e;
          streamed = true;
          pos = rdPos;
        }
        // later scans of a single-scan-complete sequential image carry nothing new: skipped
      } else {
        e = bufferedScan();
        if (e != OK) return e;
        if (!(dcOnly && progressive && Ss > 0)) pos = rdPos;
      }
    } else if (m == 0xd9) {
      break;
    } else {
      const e = readOther(m);
      if (e != OK) return e;
    }
    m = nextMarker();
    if (m < 0) return ERR_TRUNCATED; // no EOI
  }
  if (!streaming) outputBuffered();
  return OK;
}
