import { SigverifyError } from '../errors.ts';
import { rootFromInclusionProof } from '../verify/checkpoint.ts';
import { type VerifiedCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import { checkAuditedBody, classifyEntry, compareWithPrevious, missing, requireConsistent } from './common.ts';
import { consistencyProof, inclusionProof, leafHash, nodeHash, treeRoot, verifyConsistency } from './merkle.ts';
import type { MatchedEntry, ScanInput, ScanOutput, UntrustedEntry } from './types.ts';

/**
 * Rekor v2 (rekor-tiles) publishes no search and no proofs: a signed
 * `checkpoint` and the C2SP tlog-tiles (`tile/<L>/<N>[.p/<W>]`, 256 hashes of
 * 32 bytes each; `tile/entries/<N>[.p/<W>]`, the entries themselves, each
 * behind a big-endian uint16 length). The monitor reads the entries from the
 * last verified checkpoint to the newest and computes the proofs itself:
 * each entry's inclusion proof from the hash tiles (RFC 9162 §2.1.3.1) must
 * lead to the signed root, and so must the consistency proof from the last
 * checkpoint (§2.1.4.1); a tile that lies fails one of them.
 */
const TILE_WIDTH = 256;
const HASH_BYTES = 32;
/** Hash tiles kept between entry bundles: the upper levels are shared by every bundle. */
const TILE_CACHE = 64;

/** C2SP tlog-tiles path element for index N: groups of three digits, all but the last prefixed `x`. */
export function tileIndexPath(n: number): string {
  const digits = String(n).padStart(3, '0');
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end).padStart(3, '0'));
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function tilePath(level: number | 'entries', index: number, width: number): string {
  return `tile/${level}/${tileIndexPath(index)}${width === TILE_WIDTH ? '' : `.p/${width}`}`;
}

class Tiles {
  readonly #in: ScanInput;
  readonly #size: number;
  readonly #tiles = new Map<string, Buffer>();
  #nodes = new Map<string, Buffer>();

  constructor(input: ScanInput, size: number) {
    this.#in = input;
    this.#size = size;
  }

  /** Width of tile `index` at `level` in this tree: full, or the partial right edge. */
  #width(level: number, index: number): number {
    const nodes = Math.floor(this.#size / TILE_WIDTH ** level);
    return Math.min(TILE_WIDTH, nodes - index * TILE_WIDTH);
  }

  async #hashTile(level: number, index: number): Promise<Buffer> {
    const width = this.#width(level, index);
    const key = `${level}/${index}/${width}`;
    const cached = this.#tiles.get(key);
    if (cached !== undefined) return cached;
    const { http, what } = this.#in;
    if (width <= 0) throw http.invalid(`${what}: asked for tile ${level}/${index} beyond the tree`);
    const bytes = await http.get(tilePath(level, index, width), `${what} tile ${level}/${index}`);
    if (bytes === undefined) throw http.invalid(`${what}: tile ${level}/${index} (width ${width}) is missing`);
    if (bytes.length !== width * HASH_BYTES) throw http.invalid(`${what}: tile ${level}/${index} holds ${bytes.length} bytes, not ${width} hashes`);
    if (this.#tiles.size >= TILE_CACHE) this.#tiles.delete(this.#tiles.keys().next().value as string);
    const tile = Buffer.from(bytes);
    this.#tiles.set(key, tile);
    return tile;
  }

  /** Node hashes from the tiles: height 8L from tile level L, heights in between hashed up from it. */
  readonly node = async (height: number, index: number): Promise<Buffer> => {
    const key = `${height}/${index}`;
    const memo = this.#nodes.get(key);
    if (memo !== undefined) return memo;
    let hash: Buffer;
    if (height % 8 === 0) {
      const level = height / 8;
      const tile = await this.#hashTile(level, Math.floor(index / TILE_WIDTH));
      const offset = (index % TILE_WIDTH) * HASH_BYTES;
      hash = tile.subarray(offset, offset + HASH_BYTES);
    } else {
      hash = nodeHash(await this.node(height - 1, 2 * index), await this.node(height - 1, 2 * index + 1));
    }
    this.#nodes.set(key, hash);
    return hash;
  };

  /** Node memos are per entry bundle, so memory stays bounded however long the scan. */
  forgetNodes(): void {
    this.#nodes = new Map();
  }

  /** The entries of bundle `index` in this tree, exactly as many as its width. */
  async entries(index: number): Promise<Buffer[]> {
    const { http, what } = this.#in;
    const width = this.#width(0, index);
    const bytes = await http.get(tilePath('entries', index, width), `${what} entry bundle ${index}`);
    if (bytes === undefined) throw http.invalid(`${what}: entry bundle ${index} (width ${width}) is missing`);
    const entries: Buffer[] = [];
    const data = Buffer.from(bytes);
    for (let at = 0; at < data.length;) {
      if (at + 2 > data.length) throw http.invalid(`${what}: entry bundle ${index} is truncated`);
      const length = data.readUInt16BE(at);
      if (at + 2 + length > data.length) throw http.invalid(`${what}: entry bundle ${index} is truncated`);
      entries.push(data.subarray(at + 2, at + 2 + length));
      at += 2 + length;
    }
    if (entries.length !== width) throw http.invalid(`${what}: entry bundle ${index} holds ${entries.length} entries, not ${width}`);
    return entries;
  }

  /** RFC 9162 §2.1.3.2 with a proof computed from the tiles: the entry is in the signed tree at `logIndex`. */
  async included(logIndex: number, entry: Buffer, checkpoint: VerifiedCheckpoint): Promise<void> {
    const proof = await inclusionProof(logIndex, this.#size, this.node);
    let root: Buffer;
    try {
      root = rootFromInclusionProof(BigInt(logIndex), BigInt(this.#size), leafHash(entry), proof);
    } catch (cause) {
      throw new SigverifyError('LOG_PROOF_INVALID', `${this.#in.what}: no inclusion proof for entry ${logIndex} from the tiles`, { cause });
    }
    if (!root.equals(checkpoint.rootHash)) {
      throw new SigverifyError('LOG_PROOF_INVALID', `${this.#in.what}: entry ${logIndex} and the tiles do not hash to the signed root`, { details: { logIndex } });
    }
  }
}

/** One Rekor v2 monitoring pass; see the file comment. */
export async function scanRekorV2(input: ScanInput): Promise<ScanOutput> {
  const { http, what, previous, watch, root, limits } = input;
  // 1. The newest checkpoint, verified with a log key of the trust root.
  const text = await http.get('checkpoint', `${what} checkpoint`);
  if (text === undefined) throw http.invalid(`${what}: no checkpoint (HTTP 404)`);
  const checkpoint = verifyCheckpoint(Buffer.from(text).toString('utf8'), root, what);
  if (checkpoint.treeSize > BigInt(Number.MAX_SAFE_INTEGER)) throw http.invalid(`${what}: tree size ${checkpoint.treeSize} is not a plausible log`);
  const size = Number(checkpoint.treeSize);
  const tiles = new Tiles(input, size);
  // 2. Append-only since the last run: a consistency proof computed from the tiles.
  const from = previous === undefined ? 0 : Number(previous.treeSize);
  if (previous !== undefined) {
    compareWithPrevious(what, previous, checkpoint);
    if (from > 0 && from < size) {
      // The tiles' own tree of the old size, and the proof that it is a prefix of the signed tree.
      // Only when that proof holds do the tiles speak for the log; then an old root that
      // differs from the one verified before is a fork, whatever the old size.
      const prefix = await treeRoot(from, tiles.node);
      const proof = await consistencyProof(from, size, tiles.node);
      const verdict = verifyConsistency(BigInt(from), checkpoint.treeSize, prefix, checkpoint.rootHash, proof);
      if (verdict.kind !== 'consistent') throw new SigverifyError('LOG_PROOF_INVALID', `${what}: the tiles do not hash to the signed root (consistency from size ${from})`);
      requireConsistent(prefix.equals(Buffer.from(previous.rootHash, 'base64')) ? verdict : { kind: 'forked' }, what, previous, checkpoint);
      tiles.forgetNodes();
    }
  }
  if (size - from > limits.maxLogScanEntries) throw http.invalid(`${what}: ${size - from} new entries, more than maxLogScanEntries (${limits.maxLogScanEntries}) in one run`);
  // 3. Every new entry: included in the signed tree, then read for a watched signer.
  const matches: MatchedEntry[] = [];
  const untrusted: UntrustedEntry[] = [];
  for (let bundle = Math.floor(from / TILE_WIDTH); bundle * TILE_WIDTH < size; bundle++) {
    tiles.forgetNodes();
    const entries = await tiles.entries(bundle);
    for (const [offset, entry] of entries.entries()) {
      const logIndex = bundle * TILE_WIDTH + offset;
      if (logIndex < from) continue;
      await tiles.included(logIndex, entry, checkpoint);
      const found = classifyEntry(entry, logIndex, undefined, undefined, watch, input.keys, root);
      if (found === undefined) continue;
      if ('match' in found) matches.push(found.match);
      else untrusted.push(found.untrusted);
    }
  }
  // 4. Entries accepted decisions relied on are still there, at their index.
  let auditedChecked = 0;
  for (const audited of input.audited.filter((a) => a.logId === checkpoint.logId)) {
    if (audited.logIndex >= size) throw missing(what, audited, `is beyond the log's tree size ${size}`);
    tiles.forgetNodes();
    const entry = (await tiles.entries(Math.floor(audited.logIndex / TILE_WIDTH)))[audited.logIndex % TILE_WIDTH] as Buffer;
    await tiles.included(audited.logIndex, entry, checkpoint);
    checkAuditedBody(what, audited, entry, undefined);
    auditedChecked += 1;
  }
  return { checkpoint, entriesScanned: size - from, matches, untrusted, auditedChecked };
}
