/**
 * The binary codec of consensus messages on node-to-node channels (no JSON on this path).
 * docs/operations.md ("Node-to-node frames") describes the layout; keep the two in step.
 *
 *   u8 version (1) ‖ u8 type ‖ str from ‖ str to ‖ u64 term ‖ type-specific fields
 *
 * Integers are big-endian; u64 values must be safe integers (< 2^53). `str` is u16 length ‖ UTF-8.
 * `bytes` is u32 length ‖ bytes. An entry is u64 index ‖ u64 term ‖ u8 kind ‖ u8 hasConfiguration
 * ‖ [u32 n ‖ n × str] ‖ bytes payload. Decoding checks every length against the bytes left and the
 * limits below, then runs the consensus core's own `checkMessage`, so random bytes give a
 * `RangeError`/`TypeError` and never reach the core's assertions.
 */
import type { Entry, EntryKind, Message, MessageType, NodeId, Snapshot } from "../../consensus/index.ts";
import { checkMessage } from "../../consensus/index.ts";
import { assert } from "../../util/assert.ts";

export const CODEC_VERSION = 1;

export type CodecLimits = {
  /** Bytes of one node id (ids are 64 hex characters today). */
  nodeIdBytesMax: number;
  /** Entries in one MsgApp. */
  entriesMax: number;
  /** Voters in one configuration. */
  configurationMax: number;
};

export const codecLimitsDefault: CodecLimits = {
  nodeIdBytesMax: 256,
  entriesMax: 65_536,
  configurationMax: 256,
};

const typeCodes: Record<MessageType, number> = {
  MsgApp: 1,
  MsgAppResp: 2,
  MsgVote: 3,
  MsgPreVote: 4,
  MsgVoteResp: 5,
  MsgPreVoteResp: 6,
  MsgHeartbeat: 7,
  MsgHeartbeatResp: 8,
  MsgSnap: 9,
  MsgTimeoutNow: 10,
};
const typeNames = new Map<number, MessageType>(
  Object.entries(typeCodes).map(([k, v]) => [v, k as MessageType]),
);
const kindCodes: Record<EntryKind, number> = { data: 0, signature: 1, reconfiguration: 2 };
const kindNames: EntryKind[] = ["data", "signature", "reconfiguration"];

/**
 * Where an encoded message's fields go. A message is encoded in two passes over the same code:
 * `Sizer` counts its bytes (and refuses what cannot be represented, before anything is
 * allocated), then `Writer` writes them into one buffer of exactly that size: no buffer per field,
 * no concatenation (a MsgApp carries ~110 entries at saturation, to each follower).
 */
type Sink = {
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  u64(v: number): void;
  str(s: string): void;
  bytes(b: Uint8Array): void;
};

class Sizer implements Sink {
  size = 0;
  u8(): void {
    this.size += 1;
  }
  u16(): void {
    this.size += 2;
  }
  u32(): void {
    this.size += 4;
  }
  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 field out of range: ${v}`);
    this.size += 8;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    if (n > 0xffff) throw new RangeError("string field longer than 65535 bytes");
    this.size += 2 + n;
  }
  bytes(b: Uint8Array): void {
    this.size += 4 + b.byteLength;
  }
}

class Writer implements Sink {
  readonly buf: Buffer;
  offset: number;
  constructor(buf: Buffer, offset: number) {
    this.buf = buf;
    this.offset = offset;
  }
  u8(v: number): void {
    this.offset = this.buf.writeUInt8(v, this.offset);
  }
  u16(v: number): void {
    this.offset = this.buf.writeUInt16BE(v, this.offset);
  }
  u32(v: number): void {
    this.offset = this.buf.writeUInt32BE(v, this.offset);
  }
  u64(v: number): void {
    this.offset = this.buf.writeUInt32BE(Math.floor(v / 2 ** 32), this.offset);
    this.offset = this.buf.writeUInt32BE(v >>> 0, this.offset);
  }
  str(s: string): void {
    const n = this.buf.write(s, this.offset + 2, "utf8");
    this.buf.writeUInt16BE(n, this.offset);
    this.offset += 2 + n;
  }
  bytes(b: Uint8Array): void {
    this.offset = this.buf.writeUInt32BE(b.byteLength, this.offset);
    this.buf.set(b, this.offset);
    this.offset += b.byteLength;
  }
}

/** Reads fields with a bounds check on every one; throws RangeError on truncated or oversized input. */
class Reader {
  private offset = 0;
  private readonly buf: Buffer;
  private readonly limits: CodecLimits;
  constructor(buf: Buffer, limits: CodecLimits) {
    this.buf = buf;
    this.limits = limits;
  }
  /** The offset of the next `bytes` bytes, after checking they are there. */
  private at(bytes: number, what: string): number {
    if (bytes > this.buf.length - this.offset) throw new RangeError(`message truncated in ${what}`);
    const at = this.offset;
    this.offset += bytes;
    return at;
  }
  u8(what: string): number {
    return this.buf.readUInt8(this.at(1, what));
  }
  u16(what: string): number {
    return this.buf.readUInt16BE(this.at(2, what));
  }
  u32(what: string): number {
    return this.buf.readUInt32BE(this.at(4, what));
  }
  u64(what: string): number {
    const at = this.at(8, what);
    const hi = this.buf.readUInt32BE(at);
    if (hi >= 2 ** 21) throw new RangeError(`${what} exceeds 2^53`);
    return hi * 2 ** 32 + this.buf.readUInt32BE(at + 4);
  }
  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new RangeError(`${what} must be 0 or 1`);
    return v === 1;
  }
  id(what: string): NodeId {
    const n = this.u16(what);
    if (n > this.limits.nodeIdBytesMax)
      throw new RangeError(`${what} longer than ${this.limits.nodeIdBytesMax} bytes`);
    const at = this.at(n, what);
    return this.buf.toString("utf8", at, at + n);
  }
  bytes(what: string): Uint8Array {
    const n = this.u32(what);
    const at = this.at(n, what);
    return this.buf.subarray(at, at + n);
  }
  count(what: string, max: number, minBytesEach: number): number {
    const n = this.u32(what);
    if (n > max || n * minBytesEach > this.buf.length - this.offset)
      throw new RangeError(`${what} count ${n} too large`);
    return n;
  }
  end(): void {
    if (this.offset !== this.buf.length)
      throw new RangeError(`${this.buf.length - this.offset} trailing bytes`);
  }
}

function writeConfiguration(w: Sink, configuration: readonly NodeId[]): void {
  w.u32(configuration.length);
  for (const id of configuration) w.str(id);
}

function readConfiguration(r: Reader, limits: CodecLimits): NodeId[] {
  const n = r.count("configuration", limits.configurationMax, 2);
  const out: NodeId[] = [];
  for (let i = 0; i < n; i++) out.push(r.id("configuration id"));
  return out;
}

function writeEntry(w: Sink, e: Entry): void {
  w.u64(e.index);
  w.u64(e.term);
  w.u8(kindCodes[e.kind]);
  w.u8(e.configuration === undefined ? 0 : 1);
  if (e.configuration !== undefined) writeConfiguration(w, e.configuration);
  w.bytes(e.payload);
}

function readEntry(r: Reader, limits: CodecLimits): Entry {
  const index = r.u64("entry.index");
  const term = r.u64("entry.term");
  const kind = kindNames[r.u8("entry.kind")];
  if (kind === undefined) throw new RangeError("unknown entry kind");
  const hasConfiguration = r.bool("entry.hasConfiguration");
  const entry: Entry = { index, term, kind, payload: new Uint8Array(0) };
  if (hasConfiguration) entry.configuration = readConfiguration(r, limits);
  entry.payload = r.bytes("entry.payload");
  return entry;
}

function writeSnapshot(w: Sink, s: Snapshot): void {
  w.u64(s.meta.index);
  w.u64(s.meta.term);
  writeConfiguration(w, s.meta.configuration);
  w.bytes(s.payload);
}

function readSnapshot(r: Reader, limits: CodecLimits): Snapshot {
  const index = r.u64("snapshot.index");
  const term = r.u64("snapshot.term");
  const configuration = readConfiguration(r, limits);
  return { meta: { index, term, configuration }, payload: r.bytes("snapshot.payload") };
}

/**
 * Encodes one message after `reserve` bytes left for the caller (the channel's frame header), so
 * a frame is made without copying the message again. Throws RangeError for a value it cannot
 * represent, before anything is allocated.
 */
export function encodeMessage(m: Message, reserve = 0): Buffer {
  const sizer = new Sizer();
  writeMessage(sizer, m);
  const w = new Writer(Buffer.allocUnsafe(reserve + sizer.size), reserve);
  writeMessage(w, m);
  assert(w.offset === w.buf.length, "a message's size is counted right");
  return w.buf;
}

function writeMessage(w: Sink, m: Message): void {
  w.u8(CODEC_VERSION);
  w.u8(typeCodes[m.type]);
  w.str(m.from);
  w.str(m.to);
  w.u64(m.term);
  writeBody(w, m);
}

function writeBody(w: Sink, m: Message): void {
  switch (m.type) {
    case "MsgApp":
      w.u64(m.prevIndex);
      w.u64(m.prevTerm);
      w.u64(m.commit);
      w.u32(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      return;
    case "MsgAppResp":
      w.u64(m.index);
      w.u8(m.reject ? 1 : 0);
      w.u64(m.conflictTerm);
      w.u64(m.conflictIndex);
      return;
    case "MsgVote":
    case "MsgPreVote":
      w.u64(m.lastIndex);
      w.u64(m.lastTerm);
      w.u8(m.force ? 1 : 0);
      return;
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      w.u8(m.reject ? 1 : 0);
      w.u64(m.commit);
      w.u64(m.commitTerm);
      return;
    case "MsgHeartbeat":
      w.u64(m.commit);
      return;
    case "MsgSnap":
      writeSnapshot(w, m.snapshot);
      return;
    case "MsgHeartbeatResp":
    case "MsgTimeoutNow":
      return;
  }
}

/**
 * Decodes one message. Throws RangeError/TypeError on anything malformed: truncated, oversized,
 * trailing bytes, unknown type or kind, or fields the consensus core's `checkMessage` refuses.
 */
export function decodeMessage(buf: Buffer, limits: CodecLimits = codecLimitsDefault): Message {
  const r = new Reader(buf, limits);
  const version = r.u8("version");
  if (version !== CODEC_VERSION) throw new RangeError(`unknown codec version ${version}`);
  const type = typeNames.get(r.u8("type"));
  if (type === undefined) throw new RangeError("unknown message type");
  const base = { from: r.id("from"), to: r.id("to"), term: r.u64("term") };
  const m = readBody(r, type, base, limits);
  r.end();
  return checkMessage(m);
}

type Base = { from: NodeId; to: NodeId; term: number };

function readBody(r: Reader, type: MessageType, base: Base, limits: CodecLimits): Message {
  switch (type) {
    case "MsgApp": {
      const prevIndex = r.u64("prevIndex");
      const prevTerm = r.u64("prevTerm");
      const commit = r.u64("commit");
      const n = r.count("entries", limits.entriesMax, 22);
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r, limits));
      return { ...base, type, prevIndex, prevTerm, commit, entries };
    }
    case "MsgAppResp":
      return {
        ...base,
        type,
        index: r.u64("index"),
        reject: r.bool("reject"),
        conflictTerm: r.u64("conflictTerm"),
        conflictIndex: r.u64("conflictIndex"),
      };
    case "MsgVote":
    case "MsgPreVote":
      return {
        ...base,
        type,
        lastIndex: r.u64("lastIndex"),
        lastTerm: r.u64("lastTerm"),
        force: r.bool("force"),
      };
    case "MsgVoteResp":
    case "MsgPreVoteResp":
      return {
        ...base,
        type,
        reject: r.bool("reject"),
        commit: r.u64("commit"),
        commitTerm: r.u64("commitTerm"),
      };
    case "MsgHeartbeat":
      return { ...base, type, commit: r.u64("commit") };
    case "MsgSnap":
      return { ...base, type, snapshot: readSnapshot(r, limits) };
    case "MsgHeartbeatResp":
    case "MsgTimeoutNow":
      return { ...base, type };
  }
}
