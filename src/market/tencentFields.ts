/**
 * Fields 2..48 of a Tencent record: where each begins and ends, and the numbers among them, read
 * in one pass over the GBK bytes. The pass is WebAssembly (tencentFields.wat, assembled into
 * tencentFieldsWasm.ts by `npm run wasm`); this module copies the body into its memory, runs it
 * and hands the numbers it left alone to scan.ts.
 *
 * Why WebAssembly: this loop is most of a parse, and V8's code for a byte loop over a Buffer
 * checks bounds and tags on every byte, where the WebAssembly loop is plain machine code. Measured
 * 2026-12-03 on the 900-row capture as GBK bytes: the whole parse takes 12.2k instructions per
 * record against 18.5k with this loop in TypeScript (valgrind callgrind, 300 parses, which counts
 * the same on a busy box), and 1.1-1.35x the records per second in alternating timed runs. WebAssembly needs nothing
 * installed (Node has it); its text is checked into the repository beside the bytes, and a test
 * assembles the text again and compares, so the bytes are always the text's.
 *
 * The contract, which test/market/tencentFields.test.ts checks field by field against scan.ts on
 * every row of the captured payloads and on edited ones: each number reads exactly as
 * scanFixed/scanInt read that field's bytes, and each kept range is that field's bytes.
 */
import { scanFixed, scanInt } from './scan.ts';
import { TENCENT_FIELDS_WASM } from './tencentFieldsWasm.ts';

/** How field k is read (the table the pass follows): passed over. */
export const SKIP = -2;
/** Only its byte range (starts/ends). */
export const RANGE = -1;
/** A number read as scanInt reads it (else with (how & 7) decimals, as scanFixed). */
export const AS_INT = 8;
/** A number whose range is kept too (an empty limit field means "not published"). */
export const KEEP_RANGE = 16;
export const FIELDS = 49;

function fieldTable(d: 2 | 3): Int8Array {
  const t = new Int8Array(FIELDS).fill(SKIP);
  for (const k of [2, 30, 35, 37, 40]) t[k] = RANGE; // code, time, amount, 万元 amount, status
  for (const k of [3, 4, 5, 33, 34]) t[k] = d; // last, prevClose, open, high, low
  t[6] = AS_INT; // volume
  for (let k = 9; k <= 28; k += 2) {
    t[k] = d; // book price
    t[k + 1] = AS_INT; // book lots
  }
  t[44] = 2; // float market cap, 亿元
  t[47] = d | KEEP_RANGE; // limit up
  t[48] = d | KEEP_RANGE; // limit down
  return t;
}
export const HOW2 = fieldTable(2);
export const HOW3 = fieldTable(3);

// The memory layout tencentFields.wat documents.
const VALS = 0;
const STARTS = 400;
const ENDS = 600;
const SLOW = 800;
const TABLE2 = 900;
const TABLE3 = 960;
const BODY = 1024;
const PAGE = 65_536;

// The part of the WebAssembly API used here (the project's TypeScript libraries do not declare it).
interface FieldsModule {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  fields(i: number, end: number, table: number): number;
  same(a: number, b: number, len: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: FieldsModule };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WasmApi };
const {
  memory,
  fields: scan,
  same,
} = new wasm.Instance(new wasm.Module(Buffer.from(TENCENT_FIELDS_WASM, 'base64'))).exports;

/**
 * The pass's results for the record last read: field k spans [starts[k], ends[k]) where its table
 * entry keeps the range, and vals[k] holds its number where it is one (NaN for garbage, as
 * scan.ts reads it). Views over the module's memory, replaced when it grows: read them through
 * this object, never keep one.
 */
export const fields = {
  vals: new Float64Array(0),
  starts: new Int32Array(0),
  ends: new Int32Array(0),
};
let heap = new Uint8Array(0);
let slow = new Uint8Array(0);

function views(): void {
  const b = memory.buffer;
  heap = new Uint8Array(b);
  fields.vals = new Float64Array(b, VALS, FIELDS);
  fields.starts = new Int32Array(b, STARTS, FIELDS);
  fields.ends = new Int32Array(b, ENDS, FIELDS);
  slow = new Uint8Array(b, SLOW, FIELDS);
}
views();
heap.set(HOW2, TABLE2);
heap.set(HOW3, TABLE3);

/** The body whose bytes are in the module's memory (null: none since begin()). */
let loaded: Uint8Array | null = null;

/**
 * Call once per body before reading its records: the body is copied in at its first record read,
 * so a poll whose records are all unchanged copies nothing. (Not by identity alone: a pooled
 * buffer comes back with new bytes.)
 */
export function begin(): void {
  loaded = null;
}

function reserve(need: number): void {
  if (memory.buffer.byteLength < need) {
    memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    views();
  }
}

function load(s: Uint8Array): void {
  reserve(BODY + s.length + 1);
  // A body this large reaches into the memo's slots: what they held is gone.
  if (s.length > MEMO_MAX_BODY) slabEpoch++;
  heap.set(s, BODY);
  loaded = s;
}

// ---- RecordMemo's record copies ---------------------------------------------------------------
// They live in this module's memory so that "same bytes as last poll?" is one call to `same`
// over the body already copied in, instead of Buffer#compare's argument checks and a C++ call
// per record, and a changed record is copied with one copyWithin. Before this (issue 15), each
// watched code owned a Buffer of its own: 5,000 ArrayBuffers for the GC to track, and the
// compare and the per-byte copy were ~12% of the guard's JavaScript time at 5,000 watched.
// Fixed slots: a Tencent record is ~450-560 bytes (quotes.md's captures); a longer one is simply
// not remembered (parsed every poll, still exact). The slots start above the largest body the
// memo works with, so loading a body never touches them.

/** Bytes per slot. */
export const MEMO_SLOT_BYTES = 768;
const SLAB = BODY + 16 * 1024 * 1024;
/** Bodies longer than this are parsed without the memo (their copy would reach the slots). */
export const MEMO_MAX_BODY = SLAB - BODY - 1;
let slotCount = 0;
const freeSlots: number[] = [];
/** Bumped when a large body overwrote the slots: entries from before compare unequal. */
export let slabEpoch = 0;

/** A slot's address. */
export function slotAlloc(): number {
  const free = freeSlots.pop();
  if (free !== undefined) return free;
  const at = SLAB + slotCount * MEMO_SLOT_BYTES;
  reserve(at + MEMO_SLOT_BYTES);
  slotCount++;
  return at;
}

export function slotFree(at: number): void {
  freeSlots.push(at);
}

/** Copies `s` in (once per body) for the memo; false when it is too large for the memo. */
export function memoLoad(s: Uint8Array): boolean {
  if (s.length > MEMO_MAX_BODY) return false;
  if (loaded !== s) load(s);
  return true;
}

/** Whether bytes [start, start + len) of the loaded body equal the slot's first `len` bytes. */
export function slotSame(at: number, start: number, len: number): boolean {
  return same(at, BODY + start, len) === 1;
}

/** Copies bytes [start, start + len) of the loaded body into the slot. */
export function slotWrite(at: number, start: number, len: number): void {
  heap.copyWithin(at, BODY + start, BODY + start + len);
}

/**
 * Reads fields 2..48 of the record whose field 2 starts at `i` and whose closing '"' is at `end`
 * (offsets into `s`, the body begin() was last called for). Returns the end of field 48, or -1
 * when the record has fewer fields; the results are in `fields`.
 */
export function readFields(s: Uint8Array, i: number, end: number, decimals: 2 | 3): number {
  if (loaded !== s) load(s);
  const r = scan(i, end, decimals === 2 ? TABLE2 : TABLE3);
  if (r < 0) return -1;
  if ((r & 1) !== 0) {
    // Numbers the pass did not read (a sign, an exponent, more than 15 digits, garbage).
    const how = decimals === 2 ? HOW2 : HOW3;
    const { vals, starts, ends } = fields;
    for (let k = 2; k < FIELDS; k++) {
      if (slow[k] === 0) continue;
      slow[k] = 0;
      const h = how[k]!;
      vals[k] = h & AS_INT ? scanInt(s, starts[k]!, ends[k]!) : scanFixed(s, starts[k]!, ends[k]!, h & 7);
    }
  }
  return r >> 1;
}
