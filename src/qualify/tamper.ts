import * as z from 'zod';
import { ANNOTATION_REKOR_BUNDLE } from '../cosign/constants.ts';
import { SigverifyError } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { parseManifest } from '../oci/index.ts';
import { type Digest, sha256Digest } from '../reference/index.ts';

/**
 * The attacks of the qualification protocol, as pure functions of fixture
 * bytes: each changes as little as possible, and only through a textual
 * replacement of the original bytes, so the object served differs from the
 * fixture in exactly the place named and nowhere else.
 */

const kitError = (reason: string, cause?: unknown): SigverifyError =>
  new SigverifyError('QUALIFICATION_KIT_INVALID', `the qualification kit's fixtures cannot be modified as the protocol needs: ${reason}`, cause === undefined ? {} : { cause });

/** Replaces the one occurrence of `from` in `bytes` by `to`; anything but exactly one occurrence is a damaged kit. */
function replaceOnce(bytes: Uint8Array, from: string, to: string, what: string): Buffer {
  const text = Buffer.from(bytes).toString('utf8');
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw kitError(`${what} does not occur exactly once`);
  return Buffer.from(text.slice(0, at) + to + text.slice(at + from.length), 'utf8');
}

function flipLastByte(bytes: Uint8Array): Buffer {
  const copy = Buffer.from(bytes);
  if (copy.length === 0) throw kitError('nothing to modify in an empty value');
  copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 0x01;
  return copy;
}

export interface ModifiedImage {
  /** The image manifest as served, referencing `layer` instead of the signed layer. */
  readonly manifest: Buffer;
  /** The layer with its last byte changed. */
  readonly layer: Buffer;
}

/**
 * A modified image: one byte of the signed image's layer `layerDigest`
 * changed. The manifest differs from the signed one only in that layer's
 * digest, so it hashes to another digest, for which no signature exists.
 */
export function modifyImage(manifestBytes: Uint8Array, layerDigest: Digest, layerBytes: Uint8Array): ModifiedImage {
  const layer = flipLastByte(layerBytes);
  const manifest = replaceOnce(manifestBytes, layerDigest, sha256Digest(layer), `layer digest ${layerDigest}`);
  return { manifest, layer };
}

const RekorBundleAnnotation = z.looseObject({ SignedEntryTimestamp: z.base64().min(1) });

/**
 * A tampered log entry: the `.sig` manifest with one byte of the first
 * layer's Rekor signed entry timestamp (`dev.sigstore.cosign/bundle`,
 * `SignedEntryTimestamp`) changed. The SET is an ECDSA signature in DER; its
 * last byte is the end of `s`, so the DER stays well-formed and only the
 * signature check can fail.
 */
export function tamperSignedEntryTimestamp(signatureManifest: Uint8Array): Buffer {
  const manifest = parseManifest(signatureManifest, 'the signature manifest');
  const annotation = manifest.kind === 'manifest' ? manifest.layers[0]?.annotations?.[ANNOTATION_REKOR_BUNDLE] : undefined;
  if (annotation === undefined) throw kitError(`the signature manifest's first layer has no ${ANNOTATION_REKOR_BUNDLE} annotation`);
  const set = parseJson(RekorBundleAnnotation, annotation, (reason, cause) => kitError(`${ANNOTATION_REKOR_BUNDLE}: ${reason}`, cause)).SignedEntryTimestamp;
  const tampered = flipLastByte(Buffer.from(set, 'base64')).toString('base64');
  return replaceOnce(signatureManifest, set, tampered, 'the signed entry timestamp');
}
