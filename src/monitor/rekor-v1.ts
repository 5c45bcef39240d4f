import { createHash, createPublicKey } from 'node:crypto';
import { crypto } from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import * as z from 'zod';
import { canonicalJson } from '../audit/canonical-json.ts';
import { SigverifyError } from '../errors.ts';
import { rootFromInclusionProof } from '../verify/checkpoint.ts';
import { type VerifiedCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import { checkAuditedBody, classifyEntry, compareWithPrevious, missing, requireConsistent } from './common.ts';
import { leafHash, verifyConsistency } from './merkle.ts';
import type { LogHttp } from './log-http.ts';
import type { MatchedEntry, ScanInput, ScanOutput, UntrustedEntry } from './types.ts';

/**
 * Rekor v1 (sigstore/rekor `openapi.yaml`): the signed tree head from
 * `GET /api/v1/log`, consistency from `GET /api/v1/log/proof`, a watched
 * signer's entries from the search index (`POST /api/v1/index/retrieve`, by
 * email), the entries themselves from `POST /api/v1/log/entries/retrieve`
 * (at most 10 per request, the API's own limit). Every entry is verified
 * before it is reported: its UUID is its leaf hash, its inclusion proof
 * leads to a checkpoint tied to the one verified for this run, its signed
 * entry timestamp (which covers the integrated time) verifies with the log key.
 */
const RETRIEVE_BATCH = 10;

const hex = z.string().regex(/^[0-9a-f]*$/);
const LogInfo = z.looseObject({ signedTreeHead: z.string().min(1), treeSize: z.number().int().nonnegative(), rootHash: hex });
const Proof = z.looseObject({ rootHash: hex, hashes: z.array(hex) });
const Uuids = z.array(z.string().regex(/^([0-9a-f]{16})?[0-9a-f]{64}$/)).nullable();
const Entry = z.looseObject({
  body: z.base64().min(1),
  integratedTime: z.number().int().nonnegative(),
  logID: z.string().regex(/^[0-9a-f]{64}$/),
  logIndex: z.number().int().nonnegative(),
  verification: z.looseObject({
    signedEntryTimestamp: z.base64().min(1),
    inclusionProof: z.looseObject({
      checkpoint: z.string().min(1),
      hashes: z.array(hex),
      logIndex: z.number().int().nonnegative(),
      rootHash: hex,
      treeSize: z.number().int().positive(),
    }),
  }),
});
const EntryMap = z.record(z.string(), Entry);
type RekorEntry = z.output<typeof Entry>;

/** Proof hashes as 32-byte buffers; anything else is a malformed answer. */
function hashes(http: LogHttp, values: readonly string[], what: string): Buffer[] {
  return values.map((h) => {
    if (h.length !== 64) throw http.invalid(`${what}: a proof hash is not 32 bytes of hex`);
    return Buffer.from(h, 'hex');
  });
}

class RekorV1 {
  readonly #in: ScanInput;
  readonly #checkpoint: VerifiedCheckpoint;
  /** Other tree sizes an entry's proof named, tied to this run's checkpoint by a consistency proof. */
  readonly #tied = new Map<string, string>();

  constructor(input: ScanInput, checkpoint: VerifiedCheckpoint) {
    this.#in = input;
    this.#checkpoint = checkpoint;
  }

  /** A consistency proof between two signed trees of this log, verified; `older` first. */
  async consistency(olderSize: bigint, olderRoot: Buffer, newerSize: bigint, newerRoot: Buffer): Promise<ReturnType<typeof verifyConsistency>> {
    if (olderSize === 0n || olderSize === newerSize) return verifyConsistency(olderSize, newerSize, olderRoot, newerRoot, []);
    const { http, what } = this.#in;
    const proof = await http.json(Proof, `api/v1/log/proof?firstSize=${olderSize}&lastSize=${newerSize}`, `${what} consistency proof ${olderSize}→${newerSize}`);
    return verifyConsistency(olderSize, newerSize, olderRoot, newerRoot, hashes(http, proof.hashes, `${what} consistency proof`));
  }

  /**
   * Verifies an entry: UUID = leaf hash, the log's ID, the SET, and inclusion
   * in a signed checkpoint that is this run's or consistent with it. Sharded
   * logs (public-good Rekor v1) prove entries of earlier shards against those
   * shards' own checkpoints (another origin): verified with the trusted key,
   * but not part of the tree this run watches grow.
   */
  async verifyEntry(uuid: string | undefined, entry: RekorEntry): Promise<{ body: Buffer; shardIndex: number; currentShard: boolean }> {
    const { http, what, root } = this.#in;
    const at = `${what} entry ${entry.logIndex}`;
    const body = Buffer.from(entry.body, 'base64');
    const leaf = leafHash(body);
    if (uuid !== undefined && uuid.slice(-64) !== leaf.toString('hex')) throw http.invalid(`${at}: the entry served is not the one asked for (its body does not hash to UUID ${uuid})`);
    if (entry.logID !== this.#checkpoint.logId) throw http.invalid(`${at}: entry of another log (${entry.logID})`);
    verifySet(entry, root, this.#checkpoint.logId, at);
    const proof = entry.verification.inclusionProof;
    const proofRoot = Buffer.from(proof.rootHash, 'hex');
    let computed: Buffer;
    try {
      computed = rootFromInclusionProof(BigInt(proof.logIndex), BigInt(proof.treeSize), leaf, hashes(http, proof.hashes, `${at} inclusion proof`));
    } catch (cause) {
      throw new SigverifyError('LOG_ENTRY_UNVERIFIED', `${at}: inclusion proof does not verify`, { cause });
    }
    if (!computed.equals(proofRoot)) throw new SigverifyError('LOG_ENTRY_UNVERIFIED', `${at}: inclusion proof does not lead to its root`);
    const currentShard = await this.#tie(BigInt(proof.treeSize), proofRoot, proof.checkpoint, at);
    return { body, shardIndex: proof.logIndex, currentShard };
  }

  /**
   * The tree an inclusion proof names must be this run's checkpoint, or a
   * signed tree consistent with it; or a signed checkpoint of another shard.
   * Resolves whether it is this run's shard.
   */
  async #tie(size: bigint, rootHash: Buffer, envelope: string, at: string): Promise<boolean> {
    const current = this.#checkpoint;
    if (size === current.treeSize && rootHash.equals(current.rootHash)) return true;
    const key = `${size}/${rootHash.toString('hex')}`;
    const known = this.#tied.get(key);
    if (known !== undefined) return known === 'current';
    const signed = verifyCheckpoint(envelope, this.#in.root, at);
    if (signed.logId !== current.logId || signed.treeSize !== size || !signed.rootHash.equals(rootHash)) {
      throw new SigverifyError('LOG_ENTRY_UNVERIFIED', `${at}: inclusion proof's checkpoint does not match its tree size and root`);
    }
    if (signed.origin !== current.origin) {
      this.#tied.set(key, 'other-shard');
      return false;
    }
    const verdict = size < current.treeSize
      ? await this.consistency(size, rootHash, current.treeSize, current.rootHash)
      : await this.consistency(current.treeSize, current.rootHash, size, rootHash);
    if (verdict.kind === 'forked') {
      throw new SigverifyError('LOG_FORKED', `${at}: the log signed trees of size ${size} and ${current.treeSize} that are not one append-only log`, { details: { previous: envelope, current: current.envelope } });
    }
    if (verdict.kind === 'invalid') throw new SigverifyError('LOG_PROOF_INVALID', `${at}: consistency proof between sizes ${size} and ${current.treeSize} does not verify: ${verdict.reason}`);
    this.#tied.set(key, 'current');
    return true;
  }

  /** Entry positions of one identity or key in the search index. */
  async search(query: SearchQuery, name: string): Promise<string[]> {
    const { http, what, limits } = this.#in;
    const uuids = (await http.json(Uuids, 'api/v1/index/retrieve', `${what} search for ${name}`, query)) ?? [];
    const distinct = [...new Set(uuids)];
    if (distinct.length !== uuids.length) throw http.invalid(`${what} search for ${name}: the same entry is listed twice`);
    if (distinct.length > limits.maxLogSearchResults) throw http.invalid(`${what} search for ${name}: ${distinct.length} entries, more than maxLogSearchResults (${limits.maxLogSearchResults})`);
    return distinct;
  }

  /** The entries of `uuids`, in batches; the log must answer exactly what was asked. */
  async *retrieve(uuids: readonly string[]): AsyncGenerator<{ uuid: string; entry: RekorEntry }> {
    const { http, what } = this.#in;
    for (let i = 0; i < uuids.length; i += RETRIEVE_BATCH) {
      const batch = uuids.slice(i, i + RETRIEVE_BATCH);
      const answer = await http.json(z.array(EntryMap), 'api/v1/log/entries/retrieve', `${what} entries`, { entryUUIDs: batch });
      const served = new Map<string, RekorEntry>();
      for (const map of answer) {
        for (const [uuid, entry] of Object.entries(map)) {
          const asked = batch.find((u) => u === uuid || u.slice(-64) === uuid.slice(-64));
          if (asked === undefined) throw http.invalid(`${what}: served entry ${uuid.slice(0, 80)} that was not asked for`);
          if (served.has(asked)) throw http.invalid(`${what}: served entry ${asked} twice`);
          served.set(asked, entry);
        }
      }
      for (const uuid of batch) {
        const entry = served.get(uuid);
        if (entry === undefined) throw http.invalid(`${what}: withheld entry ${uuid} that its search index lists`);
        yield { uuid, entry };
      }
    }
  }

  /** The entry at a log index, or undefined when the log has none there. */
  async byIndex(logIndex: number): Promise<{ uuid: string; entry: RekorEntry } | undefined> {
    const { http, what } = this.#in;
    const bytes = await http.get(`api/v1/log/entries?logIndex=${logIndex}`, `${what} entry ${logIndex}`);
    if (bytes === undefined) return undefined;
    const map = await Promise.resolve().then(() => EntryMap.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8'))));
    if (!map.success) throw http.invalid(`${what} entry ${logIndex}: malformed answer`);
    const entries = Object.entries(map.data);
    const [first] = entries;
    if (entries.length !== 1 || first === undefined) throw http.invalid(`${what} entry ${logIndex}: ${entries.length} entries served for one index`);
    if (first[1].logIndex !== logIndex) throw http.invalid(`${what} entry ${logIndex}: served the entry at index ${first[1].logIndex}`);
    return { uuid: first[0], entry: first[1] };
  }
}

type SearchQuery = { email: string } | { subject: string } | { publicKey: { format: 'x509'; content: string }; hash: string };

/** Rekor's index keys SANs lowercased; `email` takes only an email address, `subject` any other SAN (URIs). */
function identityQuery(identity: string): SearchQuery {
  return /^[^@\s:/]+@[^@\s:/]+$/.test(identity) ? { email: identity.toLowerCase() } : { subject: identity.toLowerCase() };
}

/**
 * A key's entries. Rekor v1 (pkg/api/index.go) looks a `publicKey` up as the
 * hex sha256 of its canonical PEM, which is how hashedrekord entries index
 * it; dsse entries (cosign v3) index the same hash as `sha256:<hex>`, which
 * only the `hash` query finds. Both, in one "or" query.
 */
function keyQuery(der: Buffer): SearchQuery {
  const pem = `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
  return { publicKey: { format: 'x509', content: Buffer.from(pem).toString('base64') }, hash: `sha256:${createHash('sha256').update(pem).digest('hex')}` };
}

/** The signed entry timestamp: the log's signature over the canonical {body, integratedTime, logID, logIndex}. */
function verifySet(entry: RekorEntry, root: TrustedRoot, logId: string, at: string): void {
  const tlog = root.tlogs.find((t) => t.logId !== undefined && Buffer.from(t.logId.keyId).toString('hex') === logId);
  const raw = tlog?.publicKey?.rawBytes;
  const payload = canonicalJson({ body: entry.body, integratedTime: entry.integratedTime, logID: entry.logID, logIndex: entry.logIndex });
  let ok = false;
  try {
    ok = raw !== undefined && crypto.verify(Buffer.from(payload, 'utf8'), createPublicKey({ key: Buffer.from(raw), format: 'der', type: 'spki' }), Buffer.from(entry.verification.signedEntryTimestamp, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) throw new SigverifyError('LOG_ENTRY_UNVERIFIED', `${at}: signed entry timestamp does not verify with the log key`);
}

/** One Rekor v1 monitoring pass; see the file comment. */
export async function scanRekorV1(input: ScanInput): Promise<ScanOutput> {
  const { http, what, previous, watch, root, since } = input;
  // 1. The newest signed tree head, verified with a log key of the trust root.
  const info = await http.json(LogInfo, 'api/v1/log', `${what} tree head`);
  const checkpoint = verifyCheckpoint(info.signedTreeHead, root, what);
  if (BigInt(info.treeSize) !== checkpoint.treeSize || info.rootHash !== checkpoint.rootHash.toString('hex')) {
    throw http.invalid(`${what}: tree size and root hash disagree with the signed tree head`);
  }
  const log = new RekorV1(input, checkpoint);
  // 2. Append-only since the last run: RFC 6962 consistency proof from the stored checkpoint.
  if (previous !== undefined) {
    compareWithPrevious(what, previous, checkpoint);
    requireConsistent(await log.consistency(BigInt(previous.treeSize), Buffer.from(previous.rootHash, 'base64'), checkpoint.treeSize, checkpoint.rootHash), what, previous, checkpoint);
  }
  // 3. Every entry of every watched email in the search index, verified; reported when new.
  const from = previous === undefined ? 0 : Number(previous.treeSize);
  const matches: MatchedEntry[] = [];
  const untrusted: UntrustedEntry[] = [];
  let scanned = 0;
  const seen = new Set<string>();
  const queries = [
    ...[...new Set(watch.map((w) => w.identity))].map((identity) => ({ query: identityQuery(identity), name: identity })),
    ...input.keys.map((k) => ({ query: keyQuery(k.der), name: `key ${k.digest}` })),
  ];
  for (const { query, name } of queries) {
    const uuids = (await log.search(query, name)).filter((u) => !seen.has(u.slice(-64)));
    for await (const { uuid, entry } of log.retrieve(uuids)) {
      seen.add(uuid.slice(-64));
      const { body, shardIndex, currentShard } = await log.verifyEntry(uuid, entry);
      scanned += 1;
      const integrated = new Date(entry.integratedTime * 1000);
      // New: integrated since --since when given; else after the last run's checkpoint
      // (an index of this shard's tree at or beyond its size; earlier shards only on a first run).
      const isNew = since !== undefined ? integrated >= since : previous === undefined || (currentShard && shardIndex >= from);
      if (!isNew) continue;
      const found = classifyEntry(body, entry.logIndex, integrated, uuid, watch, input.keys, root);
      if (found === undefined) continue;
      if ('match' in found) matches.push(found.match);
      else untrusted.push(found.untrusted);
    }
  }
  // 4. Entries accepted decisions relied on are still there, at their index.
  let auditedChecked = 0;
  for (const audited of input.audited.filter((a) => a.logId === checkpoint.logId)) {
    const found = await log.byIndex(audited.logIndex);
    if (found === undefined) throw missing(what, audited, 'is not served any more (HTTP 404)');
    const { body } = await log.verifyEntry(found.uuid, found.entry);
    checkAuditedBody(what, audited, body, new Date(found.entry.integratedTime * 1000));
    auditedChecked += 1;
  }
  return { checkpoint, entriesScanned: scanned, matches, untrusted, auditedChecked };
}
