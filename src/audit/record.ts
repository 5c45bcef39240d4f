import { resolve } from 'node:path';
import * as z from 'zod';
import { type ErrorCode, SigverifyError } from '../errors.ts';
import type { GithubWorkflowClaims, SanKind } from '../policy/index.ts';
import { type Digest, isDigest } from '../reference/index.ts';
import type { SignatureOutcome, VerificationResult } from '../verify/index.ts';
import { canonicalDigest, canonicalJson, sha256Hex } from './canonical-json.ts';

/**
 * One audit record per gate decision: a line of JSON (canonical JSON, so
 * the line is a function of its content), hash-chained to the line before it.
 * What a quality system asks of each run of a regulated module: when, what
 * was asked for, what digest was run, the decision and its reason code, who
 * signed it and where that is logged, which trust root and policy decided,
 * which sigverify, how long it took, and whether a cached decision was reused.
 *
 * No secret reaches a record: no credentials, tokens or keys (a public key
 * only as the sha256 of its SubjectPublicKeyInfo), no error messages (they may
 * quote servers), no attestation statements; URLs lose userinfo and queries.
 */
export const AUDIT_RECORD_MEDIA_TYPE = 'application/vnd.sigverify.audit-record+json;version=1';

/** `prev` of the first record of a trail. */
export const GENESIS_PREV = '0'.repeat(64);

/**
 * `invalid`: the request could not be judged as given (an invalid module
 * policy, key or trust configuration; a test trust root): the site's
 * configuration is wrong, not the image, and a reviewer must see the two apart.
 */
export type AuditDecision = 'verified' | 'rejected' | 'invalid' | 'unavailable' | 'signature-not-required' | 'log-monitor';
export const AUDIT_DECISIONS: readonly AuditDecision[] = ['verified', 'rejected', 'invalid', 'unavailable', 'signature-not-required', 'log-monitor'];

export interface AuditSigner {
  /** Keyless: the certificate's primary SAN and its kind. */
  readonly identity?: string;
  readonly identityKind?: SanKind;
  readonly issuer?: string;
  readonly githubWorkflow?: GithubWorkflowClaims;
  /** Key mode: sha256 of the key's DER SubjectPublicKeyInfo (never the key). */
  readonly publicKeySha256?: Digest;
}

export interface AuditTlog {
  readonly logId: string;
  readonly logIndex: number;
  readonly integratedTime?: string;
}

export interface AuditAttestation extends AuditSigner {
  readonly predicateType: string;
  readonly tlog?: AuditTlog;
}

/** What the gate reports; the trail adds `mediaType`, `seq`, `prev` and `hash`. */
export interface AuditEntry {
  /** ISO 8601 time of the decision. */
  readonly time: string;
  readonly module?: string;
  /** The reference as configured (usually a tag). */
  readonly reference: string;
  /** The digest the reference resolved to (the index digest of a multi-arch image). */
  readonly digest?: Digest;
  /** What the processor was told to run (absent when nothing may run). */
  readonly pinnedReference?: string;
  readonly decision: AuditDecision;
  /** The SigverifyError code of a refusal. */
  readonly reason?: ErrorCode | 'INTERNAL_ERROR';
  /** Per-signature reason codes of a refusal, in the result's order. */
  readonly signatureReasons?: readonly string[];
  readonly signer?: AuditSigner;
  readonly tlog?: AuditTlog;
  readonly attestations?: readonly AuditAttestation[];
  readonly trust?: AuditTrust;
  readonly policyDigest?: Digest;
  /** sha256 of the canonical JSON of the VerificationResult the decision rests on (the same for every cache hit of it). */
  readonly resultDigest?: Digest;
  /** When that result was reached (earlier than `time` for a cache hit). */
  readonly verifiedAt?: string;
  readonly cached: boolean;
  readonly durationMs: number;
  readonly sigverifyVersion: string;
  /** Decision `log-monitor`: what one transparency-log monitor run found. */
  readonly monitor?: AuditMonitorRun;
}

/**
 * One run of `sigverify log audit`: its outcome, the checkpoint it verified
 * for each log, how many entries were unexpected, and the sha256 of the JSON
 * report it wrote (so the report on file can be matched to the trail).
 */
export interface AuditMonitorRun {
  readonly outcome: 'clean' | 'unexpected' | 'inconsistent' | 'undecided';
  readonly logs: readonly { readonly url: string; readonly treeSize: number; readonly rootHash: string }[];
  readonly unexpectedCount: number;
  readonly reportSha256: string;
}

/** The trust root a decision rested on: its description, where it was read from (an absolute path or a URL), and its digest. */
export interface AuditTrust {
  readonly source: string;
  readonly location?: string;
  readonly digest?: Digest;
}

/** Who wrote a record: the host, and the processor (service) the site names; added by the trail, not the gate. */
export interface AuditWriter {
  readonly host: string;
  readonly processor?: string;
}

export interface AuditRecord extends AuditEntry, Partial<AuditWriter> {
  readonly mediaType: typeof AUDIT_RECORD_MEDIA_TYPE;
  /** 1 for the first record of a trail, then one more per record. */
  readonly seq: number;
  /** sha256 (hex) of the previous line's bytes, without its newline; {@link GENESIS_PREV} for the first. */
  readonly prev: string;
  /** sha256 (hex) of the canonical JSON of this record without `hash`. */
  readonly hash: string;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const digest = z.string().refine(isDigest, 'expected sha256:<64 hex>');
const signerShape = {
  identity: z.string().optional(),
  identityKind: z.string().optional(),
  issuer: z.string().optional(),
  githubWorkflow: z.record(z.string(), z.string()).optional(),
  publicKeySha256: digest.optional(),
};
const tlogSchema = z.looseObject({ logId: z.string(), logIndex: z.number(), integratedTime: z.string().optional() });

/**
 * A record as read back. Loose: records written by a later version may carry
 * more members, and the hash covers whatever is there.
 */
export const AuditRecordSchema = z.looseObject({
  mediaType: z.literal(AUDIT_RECORD_MEDIA_TYPE),
  seq: z.number().int().positive(),
  time: z.iso.datetime({ offset: true }),
  module: z.string().optional(),
  reference: z.string(),
  digest: digest.optional(),
  pinnedReference: z.string().optional(),
  decision: z.enum(AUDIT_DECISIONS as [AuditDecision, ...AuditDecision[]]),
  reason: z.string().optional(),
  signatureReasons: z.array(z.string()).optional(),
  signer: z.looseObject(signerShape).optional(),
  tlog: tlogSchema.optional(),
  attestations: z.array(z.looseObject({ predicateType: z.string(), ...signerShape, tlog: tlogSchema.optional() })).optional(),
  trust: z.looseObject({ source: z.string(), location: z.string().optional(), digest: digest.optional() }).optional(),
  policyDigest: digest.optional(),
  resultDigest: digest.optional(),
  verifiedAt: z.string().optional(),
  cached: z.boolean(),
  durationMs: z.number().nonnegative(),
  sigverifyVersion: z.string(),
  host: z.string().optional(),
  processor: z.string().optional(),
  monitor: z.looseObject({
    outcome: z.enum(['clean', 'unexpected', 'inconsistent', 'undecided']),
    logs: z.array(z.looseObject({ url: z.string(), treeSize: z.number(), rootHash: z.string() })),
    unexpectedCount: z.number(),
    reportSha256: hex64,
  }).optional(),
  prev: hex64,
  hash: hex64,
});

/** The record's own hash: over its canonical JSON without `hash`. */
export function recordHash(record: Readonly<Record<string, unknown>>): string {
  const { hash: _hash, ...content } = record;
  return sha256Hex(canonicalJson(content));
}

/** Seals an entry as record `seq` after the line whose hash is `prev`; returns the record and its line (with newline). */
export function sealRecord(entry: AuditEntry, seq: number, prev: string, writer?: AuditWriter): { record: AuditRecord; line: string } {
  const content = { ...redactEntry(entry), ...writer, mediaType: AUDIT_RECORD_MEDIA_TYPE, seq, prev, durationMs: roundMs(entry.durationMs) } as const;
  const record: AuditRecord = { ...content, hash: sha256Hex(canonicalJson(content)) };
  return { record, line: `${canonicalJson(record)}\n` };
}

function roundMs(ms: number): number {
  return Math.max(0, Math.round(ms * 1000) / 1000);
}

/** Strips what may carry a secret from the free-text members (URL userinfo, queries and fragments). */
function redactEntry(entry: AuditEntry): AuditEntry {
  return {
    ...entry,
    reference: redactUrls(entry.reference),
    ...(entry.pinnedReference === undefined ? {} : { pinnedReference: redactUrls(entry.pinnedReference) }),
    ...(entry.trust === undefined ? {} : { trust: { ...entry.trust, source: redactUrls(entry.trust.source), ...(entry.trust.location === undefined ? {} : { location: redactUrls(entry.trust.location) }) } }),
  };
}

const URL_PATTERN = /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@]*@)?([^\s?#]*)(?:[?#]\S*)?/gi;

/** `https://user:token@host/path?sig=…` → `https://host/path`. */
export function redactUrls(text: string): string {
  return text.replace(URL_PATTERN, '$1$2');
}

/**
 * The evidence a verification result carries into a record: the first
 * distinct verified signature's signer and log entry, the trust root, and the
 * result's digest (so a cache hit names the verification it reuses).
 */
export function evidenceOf(result: VerificationResult, publicKeySha256?: Digest): Pick<AuditEntry, 'signer' | 'tlog' | 'trust' | 'resultDigest' | 'verifiedAt'> {
  const signature = result.signatures.find((s) => s.outcome === 'verified' && s.duplicateOf === undefined);
  return {
    ...(signature === undefined ? {} : signatureEvidence(signature, publicKeySha256)),
    trust: auditTrust(result.trustRoot),
    resultDigest: resultDigest(result),
    verifiedAt: result.verifiedAt,
  };
}

/**
 * A trust root as recorded: with its location as an absolute path (or URL),
 * so a record read years later names the file that decided, whatever the
 * working directory of the process that wrote it.
 */
export function auditTrust(root: { readonly source: string; readonly origin?: { readonly kind: string; readonly location: string }; readonly digest?: Digest | undefined }): AuditTrust {
  const location = root.origin?.location;
  // An assembled root lists its files (already absolute); a URL stays a URL; a path becomes absolute.
  const absolute = (l: string): string => (root.origin?.kind === 'assembled' || /^[a-z][a-z0-9+.-]*:\/\//i.test(l) ? l : resolve(l));
  return {
    source: root.source,
    ...(location === undefined || location === '' ? {} : { location: absolute(location) }),
    ...(root.digest === undefined ? {} : { digest: root.digest }),
  };
}

const resultDigests = new WeakMap<VerificationResult, Digest>();

/** Memoised per result object: a cached result is hashed once, not on every hit. */
function resultDigest(result: VerificationResult): Digest {
  let d = resultDigests.get(result);
  if (d === undefined) {
    d = canonicalDigest(result);
    resultDigests.set(result, d);
  }
  return d;
}

export function attestationEvidence(result: VerificationResult, publicKeySha256?: Digest): AuditAttestation {
  const signature = result.signatures.find((s) => s.outcome === 'verified' && s.duplicateOf === undefined);
  if (signature === undefined) return { predicateType: result.purpose.predicateType };
  const { signer, tlog } = signatureEvidence(signature, publicKeySha256);
  return { predicateType: result.purpose.predicateType, ...signer, ...(tlog === undefined ? {} : { tlog }) };
}

function signatureEvidence(s: SignatureOutcome, publicKeySha256: Digest | undefined): { signer: AuditSigner; tlog?: AuditTlog } {
  const signer: AuditSigner = {
    ...(s.identity === undefined ? {} : { identity: s.identity }),
    ...(s.identityKind === undefined ? {} : { identityKind: s.identityKind }),
    ...(s.issuer === undefined ? {} : { issuer: s.issuer }),
    ...(s.githubWorkflow === undefined || Object.keys(s.githubWorkflow).length === 0 ? {} : { githubWorkflow: s.githubWorkflow }),
    ...(s.publicKey === true && publicKeySha256 !== undefined ? { publicKeySha256 } : {}),
  };
  return { signer, ...(s.tlog === undefined ? {} : { tlog: s.tlog }) };
}

/** The reason codes of a refusal: the error's, and each evaluated signature's. */
export function refusalOf(error: unknown): Pick<AuditEntry, 'decision' | 'reason' | 'signatureReasons' | 'digest'> {
  if (!(error instanceof SigverifyError)) return { decision: 'unavailable', reason: 'INTERNAL_ERROR' };
  const { result } = error;
  const digestDetail = result?.digest ?? error.details.digest;
  return {
    decision: error.kind === 'unavailable' ? 'unavailable' : error.kind === 'usage' ? 'invalid' : 'rejected',
    reason: error.code,
    ...(result === undefined ? {} : { signatureReasons: result.signatures.map((s) => s.reason?.code ?? s.outcome) }),
    ...(isDigest(digestDetail) ? { digest: digestDetail } : {}),
  };
}
