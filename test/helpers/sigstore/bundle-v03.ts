import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial, type Signer, type VerificationPolicy } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import { isKeylessSigner, signerPublicKeyPem, type LegacySigner } from './cosign-legacy.ts';
import { fromPem } from './der.ts';
import { IN_TOTO_PAYLOAD_TYPE, dsseRekorBody, signDsse, type DsseEnvelope } from './dsse.ts';
import { sha256, spkiDer } from './keys.ts';
import type { Rekor, TransparencyLogEntryJson } from './rekor.ts';
import type { TrustedRootJson } from './trusted-root.ts';
import type { TimestampAuthority } from './tsa.ts';

/**
 * Sigstore bundles v0.3 (protobuf-specs `dev.sigstore.bundle.v1.Bundle`, JSON
 * form) as cosign v3 `sign`/`attest` and actions/attest produce them
 * (docs/formats.md §2.2, §2.5), and the bare-sigstore-js check the fixture
 * self-check runs on them.
 */

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface MessageSignatureJson {
  readonly messageDigest: { readonly algorithm: 'SHA2_256'; readonly digest: string };
  readonly signature: string;
}

export interface SigstoreBundleJson {
  readonly mediaType: string;
  readonly verificationMaterial: {
    readonly certificate?: { readonly rawBytes: string };
    readonly publicKey?: { readonly hint: string };
    readonly tlogEntries: readonly TransparencyLogEntryJson[];
    readonly timestampVerificationData: { readonly rfc3161Timestamps: ReadonlyArray<{ readonly signedTimestamp: string }> };
  };
  readonly dsseEnvelope?: DsseEnvelope;
  readonly messageSignature?: MessageSignatureJson;
}

/** Key-mode `publicKey.hint` as cosign/sigstore-go write it: base64(sha256(DER SPKI)). */
export function publicKeyHint(publicKey: KeyObject): string {
  return sha256(spkiDer(publicKey)).toString('base64');
}

export type BundleContent = { readonly dsse: DsseEnvelope } | { readonly messageSignature: MessageSignatureJson };

export type SigstoreBundleV03Options = BundleContent & {
  /** Keyless: `certificate.rawBytes` = the leaf only (v0.3 style). Key: `publicKey.hint` (see {@link publicKeyHint}). */
  readonly signer: LegacySigner;
  readonly tlogEntries?: readonly TransparencyLogEntryJson[];
  /** base64 DER TimeStampResps (`TimestampAuthority.timestamp`). */
  readonly timestamps?: readonly string[];
};

/** Assembles a v0.3 bundle; field order as sigstore-go's protojson writes it. */
export function sigstoreBundleV03(options: SigstoreBundleV03Options): SigstoreBundleJson {
  const { signer } = options;
  let key: Pick<SigstoreBundleJson['verificationMaterial'], 'certificate' | 'publicKey'>;
  if (isKeylessSigner(signer)) {
    const [leaf] = fromPem(signer.certPem);
    if (!leaf) throw new Error('signer certificate PEM holds no certificate');
    key = { certificate: { rawBytes: leaf.toString('base64') } };
  } else {
    key = { publicKey: { hint: publicKeyHint(signer.publicKey) } };
  }
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      ...key,
      tlogEntries: [...(options.tlogEntries ?? [])],
      timestampVerificationData: { rfc3161Timestamps: (options.timestamps ?? []).map((signedTimestamp) => ({ signedTimestamp })) },
    },
    ...('dsse' in options ? { dsseEnvelope: options.dsse } : { messageSignature: options.messageSignature }),
  };
}

export interface SignDsseBundleOptions {
  /** The DSSE payload, usually an in-toto statement (see `inTotoStatement`). */
  readonly payload: Uint8Array;
  /** Default `application/vnd.in-toto+json`. */
  readonly payloadType?: string;
  readonly signer: LegacySigner;
  /** When given: a Rekor v1 `dsse` 0.0.1 entry with inclusion promise, proof and checkpoint. */
  readonly rekor?: Rekor;
  /** When given: an RFC 3161 timestamp over the signature bytes. */
  readonly tsa?: TimestampAuthority;
  /** Rekor integrated time, seconds; default now. */
  readonly integratedTime?: number;
  /** TSA genTime; default the integrated time. */
  readonly timestampTime?: Date;
}

/** Signs a DSSE bundle the way sigstore-go `pkg/sign` does for cosign v3 (Rekor v1 + TSA). */
export function signDsseBundle(options: SignDsseBundleOptions): SigstoreBundleJson {
  const envelope = signDsse(options.payload, options.payloadType ?? IN_TOTO_PAYLOAD_TYPE, options.signer);
  const integratedTime = options.integratedTime ?? Math.floor(Date.now() / 1000);
  const signature = Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64');
  return sigstoreBundleV03({
    dsse: envelope,
    signer: options.signer,
    tlogEntries: options.rekor
      ? [options.rekor.logTransparencyEntry(dsseRekorBody(envelope, signerPublicKeyPem(options.signer)), integratedTime)]
      : [],
    timestamps: options.tsa ? [options.tsa.timestamp(signature, { genTime: options.timestampTime ?? new Date(integratedTime * 1000) })] : [],
  });
}

export function bundleBytes(bundle: SigstoreBundleJson): Buffer {
  return Buffer.from(JSON.stringify(bundle), 'utf8');
}

/** The leaf certificate (DER) of a bundle, if it has one. */
export function bundleCertificate(bundle: SigstoreBundleJson): Buffer | undefined {
  const rawBytes = bundle.verificationMaterial.certificate?.rawBytes;
  return rawBytes === undefined ? undefined : Buffer.from(rawBytes, 'base64');
}

export interface VerifyBundleOptions {
  /** Key mode: the trusted public key, returned for whatever hint the bundle names. */
  readonly publicKey?: KeyObject;
  /** Message signatures need the artifact bytes (docs/formats.md pitfall 12); ignored for DSSE. */
  readonly artifact?: Uint8Array;
  readonly policy?: VerificationPolicy;
}

/**
 * Verifies a bundle with bare @sigstore/verify against a trusted root:
 * `bundleFromJSON` → `toSignedEntity` → `Verifier` with default thresholds
 * (one tlog entry, one SCT, one timestamp). Throws what sigstore-js throws.
 */
export function verifyBundleWithSigstoreJs(
  bundle: SigstoreBundleJson | Record<string, unknown>,
  trustedRoot: TrustedRootJson,
  options: VerifyBundleOptions = {},
): Signer {
  const { publicKey } = options;
  const keyFinder = publicKey === undefined ? undefined : () => ({ publicKey, validFor: () => true });
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(trustedRoot), keyFinder));
  const artifact = options.artifact === undefined ? undefined : Buffer.from(options.artifact);
  return verifier.verify(toSignedEntity(bundleFromJSON(bundle), artifact), options.policy);
}
