import { X509Certificate } from 'node:crypto';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import * as z from 'zod';
import { tlogVerifier } from '../bundle/tlog-body.ts';
import { parseJson } from '../json/parse.ts';
import { certificateIdentity, parseCertificate } from '../policy/index.ts';
import { verifyChainAt, verifyEmbeddedSct } from '../verify/chain.ts';

/**
 * What one log entry says about its signer and what was signed, read from
 * its canonicalized body (docs/formats.md §7). The log holds no payload: for
 * hashedrekord the digest is the sha256 of the signed bytes (for cosign v2 the
 * simple-signing payload, for Rekor v2 DSSE signatures the DSSE PAE), for
 * dsse and intoto the sha256 of the DSSE payload (for cosign v3 an in-toto
 * statement naming the image). Which image that is, the log cannot say.
 */
export interface WatchedSigner {
  readonly identity: string;
  readonly issuer: string;
}

/** A watched signing key (cosign key pairs): its DER SubjectPublicKeyInfo, and its sha256 as audit records name it. */
export interface WatchedKey {
  readonly pem: string;
  readonly der: Buffer;
  /** `sha256:<hex>` of `der`. */
  readonly digest: string;
}

export interface EntrySigner {
  readonly kind: string;
  /** `sha256:<hex>` (or sha384/sha512) of the signed artifact as the entry records it; undefined for kinds without one. */
  readonly digest: string | undefined;
  /** What `digest` is the hash of, in words, for the report. */
  readonly digestOf: string;
  readonly identity: string | undefined;
  readonly sans: readonly string[];
  readonly issuer: string | undefined;
  readonly certificateDer: Buffer | undefined;
  /** DER SubjectPublicKeyInfo, when the entry names a bare key instead of a certificate. */
  readonly publicKeyDer: Buffer | undefined;
}

const Hash = z.looseObject({ algorithm: z.enum(['sha256', 'sha384', 'sha512']), value: z.string().regex(/^[0-9a-f]{64,128}$/) });
const V2Hash = z.looseObject({ algorithm: z.enum(['SHA2_256', 'SHA2_384', 'SHA2_512']), digest: z.base64() });
const Body = z.looseObject({
  kind: z.string(),
  apiVersion: z.string(),
  spec: z.looseObject({
    data: z.looseObject({ hash: Hash.optional() }).optional(),
    payloadHash: Hash.optional(),
    content: z.looseObject({ payloadHash: Hash.optional() }).optional(),
    hashedRekordV002: z.looseObject({ data: V2Hash }).optional(),
    dsseV002: z.looseObject({ payloadHash: V2Hash }).optional(),
  }),
});

const V2_ALGORITHMS = { SHA2_256: 'sha256', SHA2_384: 'sha384', SHA2_512: 'sha512' } as const;

function digestOf(body: z.output<typeof Body>): { digest: string | undefined; digestOf: string } {
  const { spec } = body;
  const v2 = spec.hashedRekordV002?.data ?? spec.dsseV002?.payloadHash;
  if (v2 !== undefined) {
    return {
      digest: `${V2_ALGORITHMS[v2.algorithm]}:${Buffer.from(v2.digest, 'base64').toString('hex')}`,
      digestOf: spec.dsseV002 !== undefined ? 'the DSSE payload' : 'the signed bytes (for a DSSE signature: its PAE)',
    };
  }
  const hash = spec.data?.hash;
  if (hash !== undefined) return { digest: `${hash.algorithm}:${hash.value}`, digestOf: 'the signed payload' };
  const payload = spec.payloadHash ?? spec.content?.payloadHash;
  if (payload !== undefined) return { digest: `${payload.algorithm}:${payload.value}`, digestOf: 'the DSSE payload' };
  return { digest: undefined, digestOf: 'nothing this entry kind records' };
}

/**
 * The signer an entry names, unverified; throws (any error) for a body that
 * cannot be read. With `only`, undefined for a certificate that cannot name
 * any of those identities: an exact SAN match needs the identity's bytes in
 * the DER (SANs are IA5String or UTF8String), and most entries of a log are
 * someone else's, so most certificates need not be parsed at all.
 */
export function readEntry(body: Buffer, only?: { readonly identities: readonly string[]; readonly keys: readonly WatchedKey[] }): EntrySigner | undefined {
  const verifier = tlogVerifier(body.toString('base64'));
  const der = verifier.certificateDer;
  const key = verifier.publicKeyDer;
  if (only !== undefined) {
    const named = der !== undefined ? only.identities.some((identity) => der.includes(identity)) : key !== undefined && only.keys.some((k) => k.der.equals(key));
    if (!named) return undefined;
  }
  const parsed = parseJson(Body, body, (reason) => new Error(reason));
  const { digest, digestOf: what } = digestOf(parsed);
  if (der === undefined) {
    return { kind: `${parsed.kind}/${parsed.apiVersion}`, digest, digestOf: what, identity: undefined, sans: [], issuer: undefined, certificateDer: undefined, publicKeyDer: key };
  }
  const id = certificateIdentity(parseCertificate(Buffer.from(der)));
  return {
    kind: `${parsed.kind}/${parsed.apiVersion}`,
    digest,
    digestOf: what,
    identity: id.primarySan?.value,
    sans: id.sans.map((s) => s.value),
    issuer: id.issuerConflict ? undefined : id.issuer,
    certificateDer: der,
    publicKeyDer: undefined,
  };
}

/** The watched key this entry names, if any. */
export function watchedKey(signer: EntrySigner, keys: readonly WatchedKey[]): WatchedKey | undefined {
  const der = signer.publicKeyDer;
  return der === undefined ? undefined : keys.find((k) => k.der.equals(der));
}

/** The watched signer this entry's certificate names (any SAN, exact; issuer exact), if any. */
export function watchedBy(signer: EntrySigner, watch: readonly WatchedSigner[]): WatchedSigner | undefined {
  return watch.find((w) => signer.issuer === w.issuer && signer.sans.includes(w.identity));
}

/**
 * Whether the trust root's Fulcio issued this certificate: the chain (at the
 * integrated time when the log signed one, else at the certificate's own
 * start) and an SCT from a CT log of the trust root when it has any. A
 * certificate that fails this is not the watched identity's, whatever it says.
 * Returns the serial number (hex) or the reason it is not trusted.
 */
export function checkCertificate(der: Buffer, root: TrustedRoot, integratedTime: Date | undefined): { serial: string } | { untrusted: string } {
  try {
    const cert = new X509Certificate(der);
    const at = integratedTime ?? new Date(cert.validFrom);
    const issuer = verifyChainAt(der, root, at);
    if (root.ctlogs.length > 0) verifyEmbeddedSct(der, issuer, root);
    return { serial: cert.serialNumber.toLowerCase() };
  } catch (error) {
    return { untrusted: error instanceof Error ? error.message : String(error) };
  }
}
