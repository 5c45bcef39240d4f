import type { Digest } from '../../src/reference/index.ts';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER } from '../helpers/fixtures.ts';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  type KeylessIdentity,
  type OciObject,
  type SignatureLayer,
  type SigstoreBundleJson,
  type TestSigstore,
  bundleBytes,
  descriptorOf,
  inTotoStatement,
  keylessSigner,
  loadFixtureSigstore,
  makeImage,
  makeReferrerManifest,
  makeReferrersIndex,
  makeSignatureManifest,
  referrersTag,
  signDsseBundle,
  signLegacyLayer,
  signatureTag,
  simpleSigningPayload,
} from '../helpers/sigstore/index.ts';
import type { HostileRegistry } from './hostile-registry.ts';

/**
 * Signatures minted at run time by the fixture Sigstore (its CA, CT log,
 * Rekor and TSA are the ones `fixtures/trust/trusted_root.json` trusts), for
 * attacks that start from a valid signature and change one thing.
 */
export const IDENTITY: KeylessIdentity = { san: { kind: 'uri', value: FIXTURE_IDENTITY }, issuer: FIXTURE_ISSUER };

export async function fixtureSigstore(firstLogIndex: number): Promise<TestSigstore> {
  return loadFixtureSigstore('test', { firstLogIndex });
}

export function payloadFor(digest: string, extra: { type?: string; optional?: Record<string, string> } = {}): Buffer {
  return simpleSigningPayload({ dockerReference: 'registry.sigverify.test/adversarial', digest, ...extra });
}

/** A valid keyless `.sig` layer for `digest`, logged in Rekor. */
export function validLayer(sigstore: TestSigstore, digest: string, identity: KeylessIdentity = IDENTITY): SignatureLayer {
  return signLegacyLayer({ payload: payloadFor(digest), signer: keylessSigner(sigstore, identity), rekor: sigstore.rekor });
}

/** A layer signing these exact payload bytes (for payloads the helpers would not write). */
export function layerOver(sigstore: TestSigstore, payload: Uint8Array, identity: KeylessIdentity = IDENTITY): SignatureLayer {
  return signLegacyLayer({ payload, signer: keylessSigner(sigstore, identity), rekor: sigstore.rekor });
}

/** A fresh image under `tag`, with the `.sig` manifest `sign` builds from its digest. */
export function publishSigned(registry: HostileRegistry, tag: string, sign: (digest: Digest) => SignatureLayer[]): OciObject {
  const image = makeImage(`adversarial-${tag}`);
  registry.putObject(image, tag);
  registry.putObject(makeSignatureManifest(sign(image.digest)), signatureTag(image.digest));
  return image;
}

/** A cosign v3 `sign` bundle (DSSE, sign/v1 statement, Rekor entry and TSA timestamp) over `statement`. */
export function dsseBundle(sigstore: TestSigstore, statement: Uint8Array, options: { identity?: KeylessIdentity; payloadType?: string; notBefore?: Date; integratedTime?: number; tsa?: boolean } = {}): SigstoreBundleJson {
  const signer = keylessSigner(sigstore, options.identity ?? IDENTITY, options.notBefore === undefined ? {} : { notBefore: options.notBefore });
  return signDsseBundle({
    payload: statement,
    ...(options.payloadType === undefined ? {} : { payloadType: options.payloadType }),
    signer,
    rekor: sigstore.rekor,
    ...(options.tsa === false || sigstore.tsa === undefined ? {} : { tsa: sigstore.tsa }),
    ...(options.integratedTime === undefined ? {} : { integratedTime: options.integratedTime }),
  });
}

export function signStatement(digest: string, predicateType = COSIGN_SIGN_PREDICATE_TYPE): Buffer {
  return inTotoStatement({ subjectDigest: digest, predicateType, subjectAnnotations: {}, format: 'protojson' });
}

/**
 * Attaches bundles to `image` as OCI 1.1 referrers: each in a referrer
 * manifest whose subject is `image` (or `subject`), listed by the
 * `sha256-<hex>` fallback index.
 */
export function attachBundles(registry: HostileRegistry, image: OciObject, bundles: readonly (SigstoreBundleJson | Buffer)[], subject: OciObject = image): OciObject[] {
  const referrers = bundles.map((bundle, i) =>
    makeReferrerManifest({
      bundleBytes: Buffer.isBuffer(bundle) ? bundle : bundleBytes(bundle),
      subject: descriptorOf(subject),
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      style: 'cosign',
      created: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    }),
  );
  for (const referrer of referrers) registry.putObject(referrer);
  registry.putObject(makeReferrersIndex(referrers, { withAnnotations: false }), referrersTag(image.digest));
  return referrers;
}

/** A fresh image under `tag` whose referrers are the bundles `sign` builds from its digest. */
export function publishBundled(registry: HostileRegistry, tag: string, sign: (digest: Digest) => (SigstoreBundleJson | Buffer)[]): OciObject {
  const image = makeImage(`adversarial-${tag}`);
  registry.putObject(image, tag);
  attachBundles(registry, image, sign(image.digest));
  return image;
}
