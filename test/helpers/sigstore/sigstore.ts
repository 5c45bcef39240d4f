import type { CertificateAuthority, FulcioIssuer, GithubWorkflowClaims, ExtraExtension, NameParts, SubjectAltName, IssuedCertificate } from './ca.ts';
import { CA_VALID_FROM, CA_VALID_UNTIL, certificateAuthorityFromPem, chainPem, createCertificateAuthority, issueLeafCertificate } from './ca.ts';
import type { KeylessSigner, KeySigner } from './cosign-legacy.ts';
import { createCtLog, type CtLog } from './ctlog.ts';
import { generateKeyPair, keyPairFromPem, privateKeyPem, type KeyPair } from './keys.ts';
import { createRekor, type Rekor } from './rekor.ts';
import type { TrustedRootJson } from './trusted-root.ts';
import { buildTrustedRoot, certificateAuthorityEntry, timestampAuthorityEntry, transparencyLogEntry } from './trusted-root.ts';
import { createTimestampAuthority, timestampAuthorityFromPem, type TimestampAuthority } from './tsa.ts';

/**
 * A complete private Sigstore: Fulcio-like CA, CT log, Rekor and (optionally)
 * an RFC 3161 timestamp authority, with the trusted root that names them. The
 * pieces stay reachable so tests can sign with one service and trust another.
 */

export interface SigstoreUrls {
  readonly fulcio: string;
  readonly rekor: string;
  readonly ctlog: string;
  /** Default `https://tsa.sigverify.test`. */
  readonly tsa?: string;
}

const DEFAULT_TSA_URL = 'https://tsa.sigverify.test';

export const TEST_SIGSTORE_URLS: SigstoreUrls = {
  fulcio: 'https://fulcio.sigverify.test',
  rekor: 'https://rekor.sigverify.test',
  ctlog: 'https://ctfe.sigverify.test',
  tsa: DEFAULT_TSA_URL,
};

export interface TestSigstore {
  readonly ca: CertificateAuthority;
  /** Subject names of the CA certificates, as recorded in the trusted root. */
  readonly caSubject: NameParts;
  readonly ctlog: CtLog;
  readonly rekor: Rekor;
  /** Absent for a Sigstore without a TSA (its trusted root has no `timestampAuthorities`). */
  readonly tsa?: TimestampAuthority;
  readonly urls: SigstoreUrls;
}

export interface CreateTestSigstoreOptions {
  readonly urls?: SigstoreUrls;
  /** Subject O of the CA certificates. Default `sigverify.test`. */
  readonly organization?: string;
  /** CN prefix of the CA certificates. Default `sigverify-test`. */
  readonly commonName?: string;
  readonly ca?: CertificateAuthority;
  readonly ctlogKey?: KeyPair;
  readonly rekorKey?: KeyPair;
  readonly firstLogIndex?: number;
  /** The TSA; default a new one; `false`: none. */
  readonly tsa?: TimestampAuthority | false;
}

export function createTestSigstore(options: CreateTestSigstoreOptions = {}): TestSigstore {
  const organization = options.organization ?? 'sigverify.test';
  const commonName = options.commonName ?? 'sigverify-test';
  const urls = options.urls ?? TEST_SIGSTORE_URLS;
  const tsa = options.tsa === false ? undefined : (options.tsa ?? createTimestampAuthority({ organization, commonName: `${commonName}-tsa` }));
  return {
    ca: options.ca ?? createCertificateAuthority({ organization, commonName }),
    caSubject: { organization, commonName },
    ctlog: createCtLog(options.ctlogKey ?? generateKeyPair('P-256')),
    rekor: createRekor({
      url: urls.rekor,
      keyPair: options.rekorKey ?? generateKeyPair('P-256'),
      ...(options.firstLogIndex === undefined ? {} : { firstLogIndex: options.firstLogIndex }),
    }),
    ...(tsa === undefined ? {} : { tsa }),
    urls,
  };
}

/** Everything needed to recreate a TestSigstore, as PEM text (PKCS#8 keys, certificates). */
export interface TestSigstoreMaterial {
  readonly rootKey: string;
  readonly rootCert: string;
  readonly intermediateKey: string;
  readonly intermediateCert: string;
  readonly ctlogKey: string;
  readonly rekorKey: string;
  /** The TSA's root and signing certificate with their keys, when the Sigstore has a TSA. */
  readonly tsa?: TimestampAuthorityMaterial;
}

export interface TimestampAuthorityMaterial {
  readonly rootKey: string;
  readonly rootCert: string;
  readonly signerKey: string;
  readonly signerCert: string;
}

export function testSigstoreMaterial(sigstore: TestSigstore): TestSigstoreMaterial {
  const { tsa } = sigstore;
  return {
    rootKey: privateKeyPem(sigstore.ca.root.keyPair),
    rootCert: sigstore.ca.root.pem,
    intermediateKey: privateKeyPem(sigstore.ca.intermediate.keyPair),
    intermediateCert: sigstore.ca.intermediate.pem,
    ctlogKey: privateKeyPem(sigstore.ctlog.keyPair),
    rekorKey: privateKeyPem(sigstore.rekor.keyPair),
    ...(tsa === undefined
      ? {}
      : {
          tsa: {
            rootKey: privateKeyPem(tsa.root.keyPair),
            rootCert: tsa.root.pem,
            signerKey: privateKeyPem(tsa.signer.keyPair),
            signerCert: tsa.signer.pem,
          },
        }),
  };
}

/**
 * Recreates a stored Sigstore. Stored TSA material wins over `options.tsa`;
 * without it, `options.tsa` decides (default: a new TSA, which the caller
 * must then store to keep it).
 */
export function testSigstoreFromMaterial(
  material: TestSigstoreMaterial,
  options: Omit<CreateTestSigstoreOptions, 'ca' | 'ctlogKey' | 'rekorKey'> = {},
): TestSigstore {
  const ca = certificateAuthorityFromPem({
    rootCertPem: material.rootCert,
    rootKey: keyPairFromPem(material.rootKey),
    intermediateCertPem: material.intermediateCert,
    intermediateKey: keyPairFromPem(material.intermediateKey),
  });
  return createTestSigstore({
    ...options,
    ca,
    ctlogKey: keyPairFromPem(material.ctlogKey),
    rekorKey: keyPairFromPem(material.rekorKey),
    ...(material.tsa === undefined
      ? {}
      : {
          tsa: timestampAuthorityFromPem({
            rootCertPem: material.tsa.rootCert,
            rootKey: keyPairFromPem(material.tsa.rootKey),
            signerCertPem: material.tsa.signerCert,
            signerKey: keyPairFromPem(material.tsa.signerKey),
          }),
        }),
  });
}

export interface TrustedRootOptions {
  /** Start of every validity window; default 2026-01-01T00:00:00Z. */
  readonly validFrom?: Date;
  /** End of the CA's validity; default 2036-01-01T00:00:00Z. */
  readonly caValidUntil?: Date;
  /** End of the Rekor key's validity; default open. */
  readonly tlogValidUntil?: Date;
  /** End of the CT log key's validity; default open. */
  readonly ctlogValidUntil?: Date;
  /** End of the TSA's validity; default open. */
  readonly tsaValidUntil?: Date;
}

/** The trusted root naming this Sigstore's CA, Rekor, CT log and TSA. */
export function trustedRootFor(sigstore: TestSigstore, options: TrustedRootOptions = {}): TrustedRootJson {
  const start = options.validFrom ?? CA_VALID_FROM;
  const open = (end: Date | undefined) => (end === undefined ? { start } : { start, end });
  return buildTrustedRoot({
    tlogs: [transparencyLogEntry(sigstore.rekor, { baseUrl: sigstore.urls.rekor, validFor: open(options.tlogValidUntil) })],
    certificateAuthorities: [
      certificateAuthorityEntry(sigstore.ca, {
        uri: sigstore.urls.fulcio,
        subject: sigstore.caSubject,
        validFor: { start, end: options.caValidUntil ?? CA_VALID_UNTIL },
      }),
    ],
    ctlogs: [transparencyLogEntry(sigstore.ctlog, { baseUrl: sigstore.urls.ctlog, validFor: open(options.ctlogValidUntil) })],
    timestampAuthorities:
      sigstore.tsa === undefined
        ? []
        : [timestampAuthorityEntry(sigstore.tsa, { uri: sigstore.urls.tsa ?? DEFAULT_TSA_URL, validFor: open(options.tsaValidUntil) })],
  });
}

export interface KeylessIdentity {
  readonly san: SubjectAltName | readonly SubjectAltName[];
  readonly issuer?: string | FulcioIssuer;
  readonly github?: GithubWorkflowClaims;
  readonly extensions?: readonly ExtraExtension[];
}

export interface KeylessSignerOptions {
  /** Certificate notBefore (= signing time); default now. */
  readonly notBefore?: Date;
  /** The ephemeral key; default a fresh P-256 key. */
  readonly keyPair?: KeyPair;
  /** Embed an SCT from the Sigstore's CT log; default true. */
  readonly sct?: boolean;
  /** Chain annotation: default intermediate + root PEM; `null` leaves it out. */
  readonly chainPem?: string | null;
}

/** A keyless signer: a fresh key and a Fulcio-style certificate for `identity`, as `cosign sign` obtains them. */
export function keylessSigner(
  sigstore: TestSigstore,
  identity: KeylessIdentity,
  options: KeylessSignerOptions = {},
): KeylessSigner & { readonly keyPair: KeyPair; readonly certificate: IssuedCertificate } {
  const keyPair = options.keyPair ?? generateKeyPair('P-256');
  const certificate = issueLeafCertificate(sigstore.ca, {
    ...identity,
    publicKey: keyPair.publicKey,
    ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
    ...(options.sct === false ? {} : { ctlog: sigstore.ctlog }),
  });
  const chain = options.chainPem === undefined ? chainPem(sigstore.ca) : options.chainPem;
  return {
    privateKey: keyPair.privateKey,
    certPem: certificate.pem,
    ...(chain === null ? {} : { chainPem: chain }),
    keyPair,
    certificate,
  };
}

export function keySigner(keyPair: KeyPair): KeySigner {
  return { privateKey: keyPair.privateKey, publicKey: keyPair.publicKey };
}
