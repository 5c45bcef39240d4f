import { createHash } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { crypto } from '@sigstore/core';
import { createPublicKey } from 'node:crypto';
import { SignatureRejected } from '../errors.ts';

/**
 * Checkpoints whose signer name is not part of the log's URL.
 *
 * @sigstore/verify accepts a checkpoint signature only if the signer name in
 * the signed note is a literal substring of the trusted root's tlog `baseUrl`
 * (docs/formats.md pitfall 11). Private deployments whose Rekor signs with its
 * pod hostname (`rekor-00001-deployment-…`) fail that, although sigstore-go
 * accepts them: what authenticates a checkpoint is the log's key, selected by
 * the key hint and the entry's log ID (C2SP signed-note; transparency-dev
 * `formats/log`). Here the checkpoint signature is verified with exactly that
 * key, its tree size and root hash are compared with the proof, and the
 * RFC 9162 §2.1.3.2 inclusion proof is recomputed. Only then, and only for
 * entries that also carry a signed entry timestamp, is the entry handed to
 * sigstore-js without its proof (a v0.1 bundle), which still verifies the SET,
 * the body, the certificate chain and the signature.
 */
type TlogEntry = SerializedBundle['verificationMaterial']['tlogEntries'][number];

const SIGNATURE_LINE = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/;

export interface SignedNote {
  readonly note: string;
  readonly signatures: readonly { readonly name: string; readonly keyHint: Buffer; readonly signature: Buffer }[];
}

function invalid(message: string): SignatureRejected {
  return new SignatureRejected('TLOG_ENTRY_INVALID', `checkpoint: ${message}`);
}

/** A C2SP signed note: the note text (through its last newline) and its signature lines. */
export function parseSignedNote(envelope: string): SignedNote {
  const split = envelope.indexOf('\n\n');
  if (split === -1) throw invalid('missing separator between note and signatures');
  const signatures = envelope
    .slice(split + 2)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const m = SIGNATURE_LINE.exec(line);
      if (m === null) throw invalid('malformed signature line');
      const bytes = Buffer.from(m[2] as string, 'base64');
      if (bytes.length < 5) throw invalid('signature too short');
      return { name: m[1] as string, keyHint: bytes.subarray(0, 4), signature: bytes.subarray(4) };
    });
  if (signatures.length === 0) throw invalid('no signatures');
  return { note: envelope.slice(0, split + 1), signatures };
}

/** RFC 9162 §2.1.3.2: the root a leaf hashes to through its audit path. */
export function rootFromInclusionProof(leafIndex: bigint, treeSize: bigint, leafHash: Buffer, hashes: readonly Buffer[]): Buffer {
  if (leafIndex >= treeSize) throw invalid('leaf index beyond the tree size');
  const node = (left: Buffer, right: Buffer) => createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
  let fn = leafIndex;
  let sn = treeSize - 1n;
  let r = leafHash;
  for (const p of hashes) {
    if (sn === 0n) throw invalid('inclusion proof longer than the tree');
    if ((fn & 1n) === 1n || fn === sn) {
      r = node(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = node(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw invalid('inclusion proof shorter than the tree');
  return r;
}

/**
 * Verifies an entry's inclusion proof and checkpoint with the trusted key of
 * the log that the entry names, ignoring the signer name. Throws unless the
 * checkpoint is signed by that key and commits to the proof's root.
 */
export function verifyInclusionIgnoringCheckpointName(entry: TlogEntry, root: TrustedRoot): void {
  const proof = entry.inclusionProof;
  if (proof?.checkpoint === undefined) throw invalid('entry has no inclusion proof');
  const logId = Buffer.from(entry.logId.keyId, 'base64');
  const integrated = new Date(Number(entry.integratedTime) * 1000);
  const tlog = root.tlogs.find((t) => t.logId !== undefined && Buffer.from(t.logId.keyId).equals(logId));
  const key = tlog?.publicKey;
  if (key?.rawBytes === undefined) throw invalid('the entry names a log the trust root does not hold');
  const start = key.validFor?.start;
  const end = key.validFor?.end;
  if (start === undefined || start > integrated || (end !== undefined && end < integrated)) throw invalid('the log key is not valid at the integrated time');
  const publicKey = createPublicKey({ key: Buffer.from(key.rawBytes), format: 'der', type: 'spki' });

  const signed = parseSignedNote(proof.checkpoint.envelope);
  const hint = logId.subarray(0, 4);
  if (!signed.signatures.some((s) => s.keyHint.equals(hint) && crypto.verify(Buffer.from(signed.note, 'utf8'), publicKey, s.signature))) {
    throw invalid('no checkpoint signature verifies with the log key');
  }
  // Checkpoint body (C2SP tlog-checkpoint): origin, tree size, base64 root hash.
  const [, size, rootHash] = signed.note.split('\n');
  if (size !== proof.treeSize || rootHash === undefined || !Buffer.from(rootHash, 'base64').equals(Buffer.from(proof.rootHash, 'base64'))) {
    throw invalid('checkpoint does not commit to the proof\'s tree size and root hash');
  }
  const leafHash = createHash('sha256').update(Buffer.from([0])).update(Buffer.from(entry.canonicalizedBody, 'base64')).digest();
  const computed = rootFromInclusionProof(BigInt(proof.logIndex), BigInt(proof.treeSize), leafHash, proof.hashes.map((h) => Buffer.from(h, 'base64')));
  if (!computed.equals(Buffer.from(proof.rootHash, 'base64'))) throw invalid('inclusion proof does not lead to the checkpoint root');
}

/**
 * The same bundle as v0.1 with inclusion proofs removed, for sigstore-js to
 * verify everything else; every entry must keep a signed entry timestamp.
 */
export function withoutInclusionProofs(json: SerializedBundle): SerializedBundle {
  const vm = json.verificationMaterial;
  if (vm.tlogEntries.some((e) => e.inclusionPromise === undefined)) throw invalid('an entry without a signed entry timestamp cannot be verified this way');
  const material = 'certificate' in vm && vm.certificate !== undefined
    ? { x509CertificateChain: { certificates: [vm.certificate] } }
    : {};
  const { certificate: _certificate, ...rest } = vm;
  return {
    ...json,
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      ...rest,
      ...material,
      tlogEntries: vm.tlogEntries.map(({ inclusionProof: _proof, ...entry }) => entry as TlogEntry),
    },
  } as SerializedBundle;
}
