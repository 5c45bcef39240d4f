import { createHash } from 'node:crypto';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { SigverifyError } from '../errors.ts';
import { quote } from '../text/quote.ts';
import type { VerifiedCheckpoint } from './checkpoint.ts';
import { type WatchedKey, type WatchedSigner, checkCertificate, readEntry, watchedBy, watchedKey } from './entry.ts';
import { type ConsistencyVerdict } from './merkle.ts';
import type { AuditedEntry, MatchedEntry, StoredCheckpoint, UntrustedEntry } from './types.ts';

/** Evidence for a fork: both signed checkpoints, so anyone can check the claim. */
export function forked(what: string, previous: StoredCheckpoint, current: VerifiedCheckpoint, why: string): SigverifyError {
  return new SigverifyError('LOG_FORKED', `${what}: the log is not append-only: ${why} (verified before: size ${previous.treeSize} root ${previous.rootHash}; now: size ${current.treeSize} root ${current.rootHash.toString('base64')})`, {
    details: { url: previous.url, previous: previous.envelope, current: current.envelope },
  });
}

/** A consistency verdict from the previous checkpoint to `current`: throws unless consistent. */
export function requireConsistent(verdict: ConsistencyVerdict, what: string, previous: StoredCheckpoint, current: VerifiedCheckpoint): void {
  if (verdict.kind === 'consistent') return;
  if (verdict.kind === 'forked') throw forked(what, previous, current, 'the new tree does not contain the tree verified before');
  throw new SigverifyError('LOG_PROOF_INVALID', `${what}: consistency proof from size ${previous.treeSize} to ${current.treeSize} does not verify: ${verdict.reason}`, { details: { url: previous.url } });
}

/** The checks before any proof: the same log key, and no smaller tree or other root at the same size. */
export function compareWithPrevious(what: string, previous: StoredCheckpoint, current: VerifiedCheckpoint): void {
  if (previous.logId !== current.logId) {
    throw new SigverifyError('LOG_CHECKPOINT_INVALID', `${what}: checkpoint signed by log ${current.logId}, but this URL served log ${previous.logId} before`, { details: { url: previous.url } });
  }
  const size = BigInt(previous.treeSize);
  if (current.treeSize < size) throw forked(what, previous, current, 'the signed tree is smaller than the one verified before');
  if (current.treeSize === size && current.rootHash.toString('base64') !== previous.rootHash) throw forked(what, previous, current, 'two signed roots for one tree size');
}

/**
 * Reads one included entry's body: a match (certificate issued by the trust
 * root's CA to a watched signer), an untrusted claim, or nothing to report.
 */
export function classifyEntry(
  body: Buffer,
  logIndex: number,
  integratedTime: Date | undefined,
  uuid: string | undefined,
  watch: readonly WatchedSigner[],
  keys: readonly WatchedKey[],
  root: TrustedRoot,
): { match: MatchedEntry } | { untrusted: UntrustedEntry } | undefined {
  let signer;
  try {
    signer = readEntry(body, { identities: watch.map((w) => w.identity), keys });
  } catch {
    return undefined; // kinds sigverify cannot read name no watched signer
  }
  if (signer === undefined) return undefined;
  const at = { logIndex, ...(uuid === undefined ? {} : { uuid }), ...(integratedTime === undefined ? {} : { integratedTime }) };
  const common = { digest: signer.digest, digestOf: signer.digestOf, kind: signer.kind };
  // A bare key is its own proof of who signed: the log verified the signature with it.
  const key = watchedKey(signer, keys);
  if (key !== undefined) return { match: { ...at, identity: key.digest, issuer: '', publicKeySha256: key.digest, ...common } };
  const watched = watchedBy(signer, watch);
  if (watched === undefined || signer.certificateDer === undefined) return undefined;
  const checked = checkCertificate(signer.certificateDer, root, integratedTime);
  if ('untrusted' in checked) return { untrusted: { logIndex, ...(uuid === undefined ? {} : { uuid }), identity: watched.identity, reason: checked.untrusted } };
  return { match: { ...at, identity: watched.identity, issuer: watched.issuer, ...common, certificateSerial: checked.serial } };
}

/** An entry an accepted decision relied on is gone, or another one stands at its index. */
export function missing(what: string, audited: AuditedEntry, why: string): SigverifyError {
  return new SigverifyError('LOG_ENTRY_MISSING', `${what}: log index ${audited.logIndex}, which audit record ${audited.seq} relied on, ${why}`, {
    details: { logId: audited.logId, logIndex: audited.logIndex, auditRecord: audited.seq },
  });
}

/** The entry now at an audited index must still name the signer the record names (and, for Rekor v1, its time). */
export function checkAuditedBody(what: string, audited: AuditedEntry, body: Buffer, integratedTime: Date | undefined): void {
  if (audited.integratedTime !== undefined && integratedTime !== undefined && new Date(audited.integratedTime).getTime() !== integratedTime.getTime()) {
    throw missing(what, audited, `now holds an entry integrated at ${integratedTime.toISOString()}, not ${audited.integratedTime}`);
  }
  if (audited.identity === undefined && audited.publicKeySha256 === undefined) return;
  let signer;
  try {
    signer = readEntry(body);
  } catch {
    signer = undefined;
  }
  if (signer === undefined) throw missing(what, audited, 'now holds an entry sigverify cannot read');
  if (audited.publicKeySha256 !== undefined) {
    const der = signer.publicKeyDer;
    if (der === undefined || `sha256:${createHash('sha256').update(der).digest('hex')}` !== audited.publicKeySha256) {
      throw missing(what, audited, `now holds an entry signed by another key than ${audited.publicKeySha256}`);
    }
    return;
  }
  if (audited.identity === undefined) return;
  if (!signer.sans.includes(audited.identity) || (audited.issuer !== undefined && signer.issuer !== audited.issuer)) {
    throw missing(what, audited, `now holds an entry signed by ${quote(signer.identity ?? 'a key')}, not ${quote(audited.identity)}`);
  }
}
