import type { CertificateAuthority, NameParts } from './ca.ts';
import { CA_VALID_FROM, CA_VALID_UNTIL } from './ca.ts';
import type { TimestampAuthority } from './tsa.ts';

/**
 * `trusted_root.json` in the protobuf-specs JSON form
 * (`dev.sigstore.trustroot.v1.TrustedRoot`), built from the test services.
 * Each entry builder is separate so tests can compose variants (a tlog key
 * whose validity ended, a CA without its intermediate, two CAs, …).
 */

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

export interface ValidityJson {
  readonly start: string;
  readonly end?: string;
}

export interface TransparencyLogJson {
  readonly baseUrl: string;
  readonly hashAlgorithm: 'SHA2_256';
  readonly publicKey: {
    readonly rawBytes: string;
    readonly keyDetails: 'PKIX_ECDSA_P256_SHA_256';
    readonly validFor: ValidityJson;
  };
  readonly logId: { readonly keyId: string };
}

export interface CertificateAuthorityJson {
  readonly subject: { readonly organization?: string; readonly commonName?: string };
  readonly uri: string;
  readonly certChain: { readonly certificates: ReadonlyArray<{ readonly rawBytes: string }> };
  readonly validFor: ValidityJson;
}

export interface TrustedRootJson {
  readonly mediaType: string;
  readonly tlogs: readonly TransparencyLogJson[];
  readonly certificateAuthorities: readonly CertificateAuthorityJson[];
  readonly ctlogs: readonly TransparencyLogJson[];
  readonly timestampAuthorities: readonly CertificateAuthorityJson[];
}

export interface Validity {
  readonly start: Date;
  readonly end?: Date;
}

/** RFC 3339 UTC, without a fractional part when it is zero. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

function validityJson(validity: Validity): ValidityJson {
  return validity.end === undefined
    ? { start: rfc3339(validity.start) }
    : { start: rfc3339(validity.start), end: rfc3339(validity.end) };
}

/** A `tlogs[]` / `ctlogs[]` entry for an ECDSA P-256 log key. */
export function transparencyLogEntry(
  log: { readonly spkiDer: Uint8Array; readonly logId: Uint8Array },
  options: { readonly baseUrl: string; readonly validFor?: Validity },
): TransparencyLogJson {
  return {
    baseUrl: options.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: Buffer.from(log.spkiDer).toString('base64'),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: validityJson(options.validFor ?? { start: CA_VALID_FROM }),
    },
    logId: { keyId: Buffer.from(log.logId).toString('base64') },
  };
}

/** A `certificateAuthorities[]` entry: chain intermediate first, then root. */
export function certificateAuthorityEntry(
  ca: CertificateAuthority,
  options: { readonly uri: string; readonly subject: NameParts; readonly validFor?: Validity; readonly includeIntermediate?: boolean },
): CertificateAuthorityJson {
  const chain = options.includeIntermediate === false ? [ca.root] : [ca.intermediate, ca.root];
  return {
    subject: { ...options.subject },
    uri: options.uri,
    certChain: { certificates: chain.map((cert) => ({ rawBytes: cert.der.toString('base64') })) },
    validFor: validityJson(options.validFor ?? { start: CA_VALID_FROM, end: CA_VALID_UNTIL }),
  };
}

/**
 * A `timestampAuthorities[]` entry: chain signing certificate first, then the
 * root (sigstore-js verifies `certChain[0]` as the TSA certificate and the
 * rest as its trust anchors); validity default open from 2026-01-01.
 */
export function timestampAuthorityEntry(
  tsa: TimestampAuthority,
  options: { readonly uri: string; readonly validFor?: Validity },
): CertificateAuthorityJson {
  return {
    subject: { ...tsa.subject },
    uri: options.uri,
    certChain: { certificates: [tsa.signer, tsa.root].map((cert) => ({ rawBytes: cert.der.toString('base64') })) },
    validFor: validityJson(options.validFor ?? { start: CA_VALID_FROM }),
  };
}

export function buildTrustedRoot(parts: {
  readonly tlogs: readonly TransparencyLogJson[];
  readonly certificateAuthorities: readonly CertificateAuthorityJson[];
  readonly ctlogs: readonly TransparencyLogJson[];
  readonly timestampAuthorities?: readonly CertificateAuthorityJson[];
}): TrustedRootJson {
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: parts.tlogs,
    certificateAuthorities: parts.certificateAuthorities,
    ctlogs: parts.ctlogs,
    timestampAuthorities: parts.timestampAuthorities ?? [],
  };
}
