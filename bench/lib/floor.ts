/**
 * The cryptographic floor of one verification: the ECDSA signature checks a
 * keyless signature cannot do without, on data and KeyObjects prepared
 * beforehand, so that timing them measures node:crypto and nothing else.
 *
 * What is NOT in the floor, because it is the same for every signature and
 * can be done once per trust root: the Fulcio intermediate by the root, the
 * TSA certificate by its root, parsing trust material. Also left out as
 * negligible: the sha256 of the Merkle inclusion proof and of the artifact.
 */
import { X509Certificate as NodeX509Certificate, verify, type KeyObject } from 'node:crypto';
import { ByteStream, EXTENSION_OID_SCT, X509Certificate, X509SCTExtension } from '@sigstore/core';
import { COSIGN_ANNOTATIONS, canonicalJson, der, pae, type RekorBundleAnnotation, type TestSigstore } from '../../test/helpers/sigstore/index.ts';
import { sha256, spkiDer } from '../../test/helpers/sigstore/keys.ts';
import type { MintedImage } from './mint.ts';

/** One ECDSA verification, ready to run. */
export interface EcdsaCheck {
  readonly what: string;
  readonly hash: 'sha256' | 'sha384';
  readonly data: Buffer;
  readonly key: KeyObject;
  readonly signature: Buffer;
}

/** Runs every check; throws if any fails (a floor that does not verify measures nothing). */
export function runChecks(checks: readonly EcdsaCheck[]): void {
  for (const check of checks) {
    if (!verify(check.hash, check.data, check.key, check.signature)) throw new Error(`floor: ${check.what} does not verify`);
  }
}

function hashOf(algorithm: string): 'sha256' | 'sha384' {
  if (algorithm === 'sha256' || algorithm === 'sha384') return algorithm;
  throw new Error(`floor: unexpected hash ${algorithm}`);
}

/** The leaf certificate by the Fulcio intermediate, and its embedded SCT by the CT log (RFC 6962 §3.2). */
function certificateChecks(leafDer: Buffer, sigstore: TestSigstore): EcdsaCheck[] {
  const leaf = X509Certificate.parse(Buffer.from(leafDer));
  const intermediate = sigstore.ca.intermediate;
  const clone = leaf.clone();
  const index = clone.extensions.findIndex((extension) => extension.subs[0]?.toOID() === EXTENSION_OID_SCT);
  const extension = clone.extensions[index];
  if (extension === undefined) throw new Error('floor: the leaf certificate has no SCT');
  const [sct] = new X509SCTExtension(extension).signedCertificateTimestamps;
  if (sct === undefined) throw new Error('floor: the SCT list is empty');
  clone.extensions.splice(index, 1);
  const tbs = clone.tbsCertificate.toDER();
  const signed = new ByteStream();
  signed.appendChar(sct.version);
  signed.appendChar(0); // certificate_timestamp
  signed.appendView(sct.timestamp);
  signed.appendUint16(1); // precert_entry
  signed.appendView(sha256(spkiDer(intermediate.keyPair.publicKey)));
  signed.appendUint24(tbs.length);
  signed.appendView(tbs);
  signed.appendUint16(sct.extensions.byteLength);
  if (sct.extensions.byteLength > 0) signed.appendView(sct.extensions);
  return [
    { what: 'certificate by the intermediate', hash: hashOf(leaf.signatureAlgorithm), data: leaf.tbsCertificate.toDER(), key: intermediate.keyPair.publicKey, signature: leaf.signatureValue },
    { what: 'SCT', hash: hashOf(sct.algorithm), data: signed.buffer, key: sigstore.ctlog.keyPair.publicKey, signature: sct.signature },
  ];
}

/** The signed entry timestamp: Rekor's signature over JCS{body, integratedTime, logID, logIndex}. */
function setCheck(payload: { body: string; integratedTime: number; logID: string; logIndex: number }, set: string, sigstore: TestSigstore): EcdsaCheck {
  return { what: 'SET', hash: 'sha256', data: Buffer.from(canonicalJson(payload), 'utf8'), key: sigstore.rekor.keyPair.publicKey, signature: Buffer.from(set, 'base64') };
}

/** legacy `.sig`: payload by the leaf key, certificate, SCT, SET. */
export function legacyFloor(minted: MintedImage, sigstore: TestSigstore): EcdsaCheck[] {
  const layer = minted.layer;
  if (layer === undefined) throw new Error('floor: not a legacy image');
  const annotations = layer.annotations;
  const [leafDer] = der.fromPem(annotations[COSIGN_ANNOTATIONS.certificate] ?? '');
  if (leafDer === undefined) throw new Error('floor: no certificate annotation');
  const rekor = JSON.parse(annotations[COSIGN_ANNOTATIONS.bundle] ?? '') as RekorBundleAnnotation;
  return [
    { what: 'payload signature', hash: 'sha256', data: layer.payload, key: new NodeX509Certificate(leafDer).publicKey, signature: Buffer.from(annotations[COSIGN_ANNOTATIONS.signature] ?? '', 'base64') },
    ...certificateChecks(leafDer, sigstore),
    setCheck(rekor.Payload, rekor.SignedEntryTimestamp, sigstore),
  ];
}

/**
 * cosign v3 bundle: payload (DSSE PAE) by the leaf key, certificate, SCT,
 * SET, the checkpoint by the log, and the RFC 3161 timestamp by the TSA.
 */
export function bundleFloor(minted: MintedImage, sigstore: TestSigstore): EcdsaCheck[] {
  const bundle = minted.bundle;
  const envelope = bundle?.dsseEnvelope;
  const entry = bundle?.verificationMaterial.tlogEntries[0];
  const rawLeaf = bundle?.verificationMaterial.certificate?.rawBytes;
  const [timestamp] = bundle?.verificationMaterial.timestampVerificationData.rfc3161Timestamps ?? [];
  const set = entry?.inclusionPromise?.signedEntryTimestamp;
  const checkpoint = entry?.inclusionProof?.checkpoint.envelope;
  if (envelope === undefined || entry === undefined || rawLeaf === undefined || timestamp === undefined || set === undefined || checkpoint === undefined) {
    throw new Error('floor: not a keyless DSSE bundle with SET, checkpoint and timestamp');
  }
  const leafDer = Buffer.from(rawLeaf, 'base64');
  const payload = Buffer.from(envelope.payload, 'base64');
  const setPayload = { body: entry.canonicalizedBody, integratedTime: Number(entry.integratedTime), logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'), logIndex: Number(entry.logIndex) };
  return [
    { what: 'payload signature', hash: 'sha256', data: pae(envelope.payloadType, payload), key: new NodeX509Certificate(leafDer).publicKey, signature: Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64') },
    ...certificateChecks(leafDer, sigstore),
    setCheck(setPayload, set, sigstore),
    checkpointCheck(checkpoint, sigstore),
    timestampCheck(Buffer.from(timestamp.signedTimestamp, 'base64'), sigstore),
  ];
}

/** A C2SP signed note: the note up to the blank line, signed as `— name base64(keyhint(4) ‖ signature)`. */
function checkpointCheck(envelope: string, sigstore: TestSigstore): EcdsaCheck {
  const split = envelope.indexOf('\n\n');
  const line = envelope.slice(split + 2).split('\n')[0] ?? '';
  const signature = Buffer.from(line.split(' ').at(-1) ?? '', 'base64').subarray(4);
  return { what: 'checkpoint', hash: 'sha256', data: Buffer.from(envelope.slice(0, split + 1), 'utf8'), key: sigstore.rekor.keyPair.publicKey, signature };
}

/** RFC 3161 / RFC 5652 §5.4: the signature covers the signed attributes re-tagged as a SET OF. */
function timestampCheck(response: Buffer, sigstore: TestSigstore): EcdsaCheck {
  const tsa = sigstore.tsa;
  if (tsa === undefined) throw new Error('floor: the Sigstore has no TSA');
  const [, token] = der.children(der.readElement(response));
  const signedData = token && der.children(der.children(token)[1] ?? token)[0];
  const signerInfos = signedData && der.children(signedData).at(-1);
  const signerInfo = signerInfos && der.children(signerInfos)[0];
  const fields = signerInfo === undefined ? [] : der.children(signerInfo);
  const attributes = fields.find((field) => field.tag === 0xa0);
  const signature = fields.at(-1);
  if (attributes === undefined || signature === undefined) throw new Error('floor: unexpected timestamp structure');
  const data = Buffer.from(attributes.bytes);
  data[0] = 0x31;
  return { what: 'RFC 3161 timestamp', hash: 'sha256', data, key: tsa.signer.keyPair.publicKey, signature: signature.content };
}
