import { existsSync } from 'node:fs';
import { readLines } from '../audit/lines.ts';
import { AuditRecordSchema } from '../audit/record.ts';
import { type AuditVerification, verifyAuditLog } from '../audit/verify.ts';
import { SigverifyError } from '../errors.ts';
import { readOwnedCapped } from '../io/local-files.ts';
import type { Limits } from '../limits.ts';
import { loadModulePolicyFile } from '../processor/module-policy.ts';
import type { PolicyInput } from '../policy/index.ts';
import { isDigest, parseReference, pinnedReference } from '../reference/index.ts';
import type { StoreFactory } from '../registry/index.ts';
import { quote } from '../text/quote.ts';
import type { TrustRoot } from '../trust-root/index.ts';
import { resolveReference, verifyImage } from '../verify/index.ts';
import type { WatchedKey, WatchedSigner } from './entry.ts';
import type { AuditedEntry } from './types.ts';

/**
 * What the site approved, as log positions. The log holds only the hash of
 * what was signed (for cosign v3 the hash of an in-toto statement that
 * protojson serialises with random whitespace), so an image digest cannot be
 * turned into the hash a log entry records. Instead every approved image is
 * verified, with each watched signer as the policy, exactly as the gate
 * verifies: each signature that verifies carries its log entry (log ID and
 * index), and that entry is expected. The audit trail adds the entries its
 * accepted decisions name; an operator's list adds images (`repo@sha256:…`)
 * and, for other artifacts, the digests the log records (`sha256:…`).
 */
export interface ApprovalSources {
  /** The gate's audit trail: its accepted decisions (digests and log entries). */
  readonly auditLog?: string;
  /**
   * Segments rotated out of that trail (`sigverify audit rotate`), oldest
   * first: their decisions approve too, and the chain is verified across them
   * into the live trail, which continues from the last one.
   */
  readonly auditSegments?: readonly string[];
  /** Module policy files: their tags, resolved now. */
  readonly modules?: readonly string[];
  /** A file of approved images (`repo@sha256:…`) and artifact digests (`sha256:…`), one a line, `#` comments. */
  readonly approvedList?: string;
}

export interface Approval {
  /** Why it is expected, for the report: `audit record 12`, `module brain-seg`, `operator list`. */
  readonly because: string;
  readonly imageReference?: string;
}

export interface Approvals {
  /** `${logId}/${logIndex}` → why. */
  readonly positions: ReadonlyMap<string, Approval>;
  /** Artifact digests as the log records them (`sha256:<hex>`) → why. */
  readonly digests: ReadonlyMap<string, Approval>;
  /** Entries accepted decisions relied on, to be re-checked in the log. */
  readonly audited: readonly AuditedEntry[];
  /** Approved images verified for the watched signers. */
  readonly images: number;
}

export interface ApprovalContext {
  readonly trust: TrustRoot;
  readonly stores: StoreFactory;
  readonly limits: Limits;
  readonly watch: readonly WatchedSigner[];
  readonly keys: readonly WatchedKey[];
  readonly signal?: AbortSignal;
}

export function positionKey(logId: string, logIndex: number): string {
  return `${logId}/${logIndex}`;
}

export async function collectApprovals(sources: ApprovalSources, ctx: ApprovalContext): Promise<Approvals> {
  const positions = new Map<string, Approval>();
  const digests = new Map<string, Approval>();
  const audited: AuditedEntry[] = [];
  /** Approved image → why. */
  const images = new Map<string, string>();

  const trail = [...(sources.auditSegments ?? []), ...(sources.auditLog === undefined ? [] : [sources.auditLog])];
  if (trail.length > 0) {
    for (const record of await acceptedRecords(trail, ctx.limits)) {
      const because = `audit record ${record.seq}`;
      const image = record.pinnedReference ?? record.reference;
      for (const tlog of [record.tlog, ...(record.attestations ?? []).map((a) => a.tlog)]) {
        if (tlog === undefined) continue;
        positions.set(positionKey(tlog.logId, tlog.logIndex), { because, imageReference: image });
        audited.push({
          logId: tlog.logId,
          logIndex: tlog.logIndex,
          ...(tlog.integratedTime === undefined ? {} : { integratedTime: tlog.integratedTime }),
          ...(tlog === record.tlog && record.signer?.identity !== undefined ? { identity: record.signer.identity } : {}),
          ...(tlog === record.tlog && record.signer?.issuer !== undefined ? { issuer: record.signer.issuer } : {}),
          ...(tlog === record.tlog && record.signer?.publicKeySha256 !== undefined ? { publicKeySha256: record.signer.publicKeySha256 } : {}),
          seq: record.seq,
        });
      }
      if (record.pinnedReference !== undefined && !images.has(record.pinnedReference)) images.set(record.pinnedReference, because);
    }
  }
  for (const path of sources.modules ?? []) {
    const module = await loadModulePolicyFile(path, { limits: ctx.limits });
    const resolved = await resolveReference(module.reference, { stores: ctx.stores, limits: ctx.limits, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) });
    if (!images.has(resolved.pinnedReference)) images.set(resolved.pinnedReference, `module ${module.name ?? path}`);
  }
  if (sources.approvedList !== undefined) {
    const text = (await readOwnedCapped(sources.approvedList, ctx.limits.maxConfigFileBytes, 'approved list')).toString('utf8');
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') continue;
      if (isDigest(line)) {
        digests.set(line, { because: 'operator list' });
        continue;
      }
      let ref;
      try {
        ref = parseReference(line);
      } catch (cause) {
        throw new SigverifyError('USAGE', `approved list ${sources.approvedList} line ${i + 1}: ${quote(line)} is neither sha256:<hex> nor an image reference`, { cause });
      }
      if (ref.digest === undefined) throw new SigverifyError('USAGE', `approved list ${sources.approvedList} line ${i + 1}: ${quote(line)} names no digest (repo@sha256:…)`);
      images.set(pinnedReference(ref, ref.digest), 'operator list');
    }
  }
  const policies = [
    ...ctx.watch.map((w) => ({ certificateIdentity: w.identity, certificateOidcIssuer: w.issuer })),
    ...ctx.keys.map((k) => ({ publicKey: k.pem })),
  ];
  for (const [image, because] of images) {
    for (const policy of policies) {
      for (const tlog of await verifiedEntries(image, policy, ctx)) positions.set(positionKey(tlog.logId, tlog.logIndex), { because, imageReference: image });
    }
  }
  return { positions, digests, audited, images: images.size };
}

/** The log entries of the image's signatures that verify for this signer; none when it did not sign it. */
async function verifiedEntries(image: string, policy: PolicyInput, ctx: ApprovalContext): Promise<{ logId: string; logIndex: number }[]> {
  let signatures;
  try {
    signatures = (await verifyImage(image, policy, {
      trust: ctx.trust, stores: ctx.stores, limits: ctx.limits, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    })).signatures;
  } catch (error) {
    // Not signed by this signer: nothing of it is expected. Could not look: the approvals are incomplete, so no verdict.
    if (error instanceof SigverifyError && error.kind === 'rejected') signatures = error.result?.signatures ?? [];
    else throw error;
  }
  return signatures.flatMap((s) => (s.outcome === 'verified' && s.tlog !== undefined ? [s.tlog] : []));
}

/**
 * The audit trail's accepted decisions, after its hash chain verified, each
 * segment continuing from the one before: a trail someone edited approves
 * nothing. A live trail not written yet approves nothing either (this run's
 * record will start it); a named segment must exist.
 */
async function acceptedRecords(paths: readonly string[], limits: Limits) {
  const records = [];
  let tail: AuditVerification['tail'];
  for (const [i, path] of paths.entries()) {
    if (i === paths.length - 1 && !existsSync(path)) break;
    const verification = await verifyAuditLog(path, { limits, ...(tail === undefined ? {} : { continuesFrom: tail }) });
    if (!verification.ok) {
      throw new SigverifyError('AUDIT_CHAIN_BROKEN', `audit trail ${path} is broken (${verification.problem?.message ?? 'unknown problem'}); its decisions cannot approve anything`, { details: { path } });
    }
    tail = verification.tail;
    for await (const line of readLines(path, limits.maxAuditLineBytes)) {
      if (line.bytes === undefined) continue;
      const parsed = AuditRecordSchema.safeParse(JSON.parse(line.bytes.toString('utf8')));
      if (parsed.success && parsed.data.decision === 'verified') records.push(parsed.data);
    }
  }
  return records;
}
