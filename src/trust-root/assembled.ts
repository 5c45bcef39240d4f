import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { resolve } from 'node:path';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { pemBlocks } from '../bundle/pem.ts';
import { SigverifyError } from '../errors.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { type TrustSource, sourceKey } from './sources.ts';
import { type TrustRoot, parseTrustedRoot } from './trusted-root.ts';
import { readOwnedCapped } from '../io/local-files.ts';

/**
 * Trust assembled from individual files instead of a trusted_root.json, for
 * small private deployments without TUF and for cosign's BYO-PKI flags. The
 * result is an ordinary TrustRoot (through `parseTrustedRoot`, so the same
 * schema checks apply), which every verification path treats the same.
 */

const MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/** cosign's `--ca-roots` / `--ca-intermediates` (docs/formats.md §4.1). */
export interface CertificateAuthorityFiles {
  /** PEM file of one or more self-signed root certificates. */
  readonly rootsPath: string;
  /** PEM file of intermediate certificates, any order. */
  readonly intermediatesPath?: string;
  /** Where transparency-log, CT and TSA keys come from, if anywhere. */
  readonly base?: TrustSource;
}

/** When a key or CA may be used: `validFor` of the trusted root. RFC 3339; `start` is required (an open start would mean "since the epoch"). */
export interface ValidityWindow {
  readonly start: string;
  readonly end?: string;
}

/**
 * A whole trust root from files. Log IDs are sha256(DER SPKI), as Rekor and
 * CT logs define them. Field names are those of `TrustConfig` `assembled`.
 */
export interface AssembledTrustFiles {
  /** Fulcio CAs: each PEM file holds one self-signed root and the intermediates below it (any order). */
  readonly fulcio?: readonly { readonly certChain: string; readonly uri?: string; readonly validFor: ValidityWindow }[];
  /** Rekor (transparency log) public keys, PEM SPKI, with the log's base URL (the checkpoint origin's host must occur in it). */
  readonly rekor?: readonly { readonly publicKey: string; readonly baseUrl: string; readonly validFor: ValidityWindow }[];
  /** Certificate Transparency log public keys, PEM SPKI. */
  readonly ctlogs?: readonly { readonly publicKey: string; readonly baseUrl?: string; readonly validFor: ValidityWindow }[];
  /** RFC 3161 timestamp authorities: each PEM file holds the TSA certificate, any intermediates and the root. */
  readonly tsa?: readonly { readonly certChain: string; readonly uri?: string; readonly validFor: ValidityWindow }[];
}

function certificates(pem: string, path: string): X509Certificate[] {
  const blocks = pemBlocks(pem).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) throw new SigverifyError('TRUST_ROOT_INVALID', `${path} holds no PEM certificate`);
  try {
    return blocks.map((b) => new X509Certificate(b.der));
  } catch (cause) {
    throw new SigverifyError('TRUST_ROOT_INVALID', `${path} holds a certificate that cannot be parsed`, { cause });
  }
}

async function readPem(path: string): Promise<string> {
  try {
    return (await readOwnedCapped(path, DEFAULT_LIMITS.maxTrustFileBytes, 'trust file')).toString('utf8');
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

const describeName = (cert: X509Certificate): string => cert.subject.replace(/\n/g, ', ');
const isSelfSignedCa = (cert: X509Certificate): boolean => cert.ca && cert.checkIssued(cert) && cert.verify(cert.publicKey);

/**
 * Orders the certificates that lead down from `root`, leafmost first: each
 * chain is [leaf?, intermediates…, root]. Only CA certificates continue a
 * chain; with `leaf`, one non-CA certificate (a TSA's) may end it.
 */
function chainFor(root: X509Certificate, candidates: readonly X509Certificate[], leaf = false): X509Certificate[] {
  const chain = [root];
  for (let issuer = root; issuer.ca;) {
    const child = candidates.find((c) => !chain.includes(c) && (c.ca || leaf) && c.checkIssued(issuer) && c.verify(issuer.publicKey));
    if (child === undefined) return chain;
    chain.unshift(child);
    issuer = child;
  }
  return chain;
}

function authorityJson(chain: readonly X509Certificate[], validFor: ValidityWindow, uri: string | undefined) {
  const root = chain.at(-1) as X509Certificate;
  return {
    subject: { commonName: root.subject },
    ...(uri === undefined ? {} : { uri }),
    certChain: { certificates: chain.map((c) => ({ rawBytes: c.raw.toString('base64') })) },
    validFor,
  };
}

/** One PEM file's certificates as one chain from a single self-signed root; no stray certificates. */
async function chainFromFile(path: string, leaf: boolean): Promise<X509Certificate[]> {
  const certs = certificates(await readPem(path), path);
  const roots = certs.filter(isSelfSignedCa);
  if (roots.length !== 1) throw new SigverifyError('TRUST_ROOT_INVALID', `${path} must hold exactly one self-signed root CA certificate, not ${roots.length}`);
  const chain = chainFor(roots[0] as X509Certificate, certs, leaf);
  const stray = certs.filter((c) => !chain.includes(c));
  if (stray.length > 0) throw new SigverifyError('TRUST_ROOT_INVALID', `${path}: ${describeName(stray[0] as X509Certificate)} is not on the chain below ${describeName(roots[0] as X509Certificate)}`);
  if (leaf && (chain.length < 2 || (chain[0] as X509Certificate).ca)) {
    throw new SigverifyError('TRUST_ROOT_INVALID', `${path} must hold the timestamp authority's own certificate (not a CA) below its root`);
  }
  return chain;
}

/** A log key entry: key details from the key itself, log ID sha256(DER SPKI). */
async function logKeyJson(path: string, baseUrl: string, validFor: ValidityWindow) {
  // Exactly one PUBLIC KEY block: a certificate or private key here is a mistake, not a key to guess from.
  const blocks = pemBlocks(await readPem(path));
  const block = blocks[0];
  if (blocks.length !== 1 || block?.label !== 'PUBLIC KEY') throw new SigverifyError('TRUST_ROOT_INVALID', `${path} must hold exactly one PEM PUBLIC KEY`);
  let der: Buffer;
  let details: string;
  try {
    const key = createPublicKey({ key: Buffer.from(block.der), format: 'der', type: 'spki' });
    der = key.export({ type: 'spki', format: 'der' });
    details = keyDetails(key.asymmetricKeyType, key.asymmetricKeyDetails);
  } catch (cause) {
    if (cause instanceof SigverifyError) throw new SigverifyError(cause.code, `${path}: ${cause.message}`, { cause });
    throw new SigverifyError('TRUST_ROOT_INVALID', `${path} holds no usable PEM public key`, { cause });
  }
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: der.toString('base64'), keyDetails: details, validFor },
    logId: { keyId: createHash('sha256').update(der).digest('base64') },
  };
}

// protobuf-specs PublicKeyDetails for the key types Sigstore logs use.
function keyDetails(type: string | undefined, details: { namedCurve?: string; modulusLength?: number } | undefined): string {
  if (type === 'ed25519') return 'PKIX_ED25519';
  if (type === 'ec') {
    const curve = { prime256v1: 'PKIX_ECDSA_P256_SHA_256', secp384r1: 'PKIX_ECDSA_P384_SHA_384', secp521r1: 'PKIX_ECDSA_P521_SHA_512' }[details?.namedCurve ?? ''];
    if (curve !== undefined) return curve;
  }
  if (type === 'rsa') {
    const size = { 2048: 'PKIX_RSA_PKCS1V15_2048_SHA256', 3072: 'PKIX_RSA_PKCS1V15_3072_SHA256', 4096: 'PKIX_RSA_PKCS1V15_4096_SHA256' }[details?.modulusLength ?? 0];
    if (size !== undefined) return size;
  }
  throw new SigverifyError('TRUST_ROOT_INVALID', `unsupported log key type ${type ?? 'unknown'}${details?.namedCurve === undefined ? '' : ` (${details.namedCurve})`}`);
}

function window(validFor: ValidityWindow, what: string): ValidityWindow {
  const start = Date.parse(validFor.start);
  const end = validFor.end === undefined ? undefined : Date.parse(validFor.end);
  if (Number.isNaN(start) || (end !== undefined && Number.isNaN(end))) throw new SigverifyError('TRUST_CONFIG_INVALID', `${what}: validFor dates must be RFC 3339`);
  if (end !== undefined && end <= start) throw new SigverifyError('TRUST_CONFIG_INVALID', `${what}: validFor ends (${validFor.end}) before it starts (${validFor.start})`);
  return { start: new Date(start).toISOString(), ...(end === undefined ? {} : { end: new Date(end).toISOString() }) };
}

export function assembledTrust(files: AssembledTrustFiles): TrustSource {
  const parts = [
    ...(files.fulcio ?? []).map((f) => `Fulcio CA ${f.certChain}`),
    ...(files.rekor ?? []).map((r) => `Rekor key ${r.publicKey}`),
    ...(files.ctlogs ?? []).map((c) => `CT log key ${c.publicKey}`),
    ...(files.tsa ?? []).map((t) => `TSA ${t.certChain}`),
  ];
  // The same, with absolute paths: where the root came from, for the audit trail.
  const locations = [
    ...(files.fulcio ?? []).map((f) => `Fulcio CA ${resolve(f.certChain)}`),
    ...(files.rekor ?? []).map((r) => `Rekor key ${resolve(r.publicKey)}`),
    ...(files.ctlogs ?? []).map((c) => `CT log key ${resolve(c.publicKey)}`),
    ...(files.tsa ?? []).map((t) => `TSA ${resolve(t.certChain)}`),
  ];
  const description = `trust assembled from ${parts.join(', ') || 'nothing'}`;
  return {
    description,
    key: sourceKey({ source: 'assembled', files }),
    async load(): Promise<TrustRoot> {
      const json = {
        mediaType: MEDIA_TYPE,
        certificateAuthorities: await Promise.all((files.fulcio ?? []).map(async (f) => authorityJson(await chainFromFile(f.certChain, false), window(f.validFor, f.certChain), f.uri))),
        tlogs: await Promise.all((files.rekor ?? []).map((r) => logKeyJson(r.publicKey, r.baseUrl, window(r.validFor, r.publicKey)))),
        ctlogs: await Promise.all((files.ctlogs ?? []).map((c) => logKeyJson(c.publicKey, c.baseUrl ?? '', window(c.validFor, c.publicKey)))),
        timestampAuthorities: await Promise.all((files.tsa ?? []).map(async (t) => authorityJson(await chainFromFile(t.certChain, true), window(t.validFor, t.certChain), t.uri))),
      };
      return parseTrustedRoot(Buffer.from(JSON.stringify(json)), description, { kind: 'assembled', location: locations.join(', ') });
    },
  };
}

/**
 * cosign `--ca-roots`: the CAs replace those of the base source (whose Rekor,
 * CT and TSA keys are kept), or stand alone when there is no base. Each CA is
 * valid for its root certificate's own validity.
 */
export function certificateAuthorityTrust(files: CertificateAuthorityFiles): TrustSource {
  const description = `CA roots ${files.rootsPath}${files.intermediatesPath === undefined ? '' : ` + intermediates ${files.intermediatesPath}`}`;
  return {
    description: files.base === undefined ? description : `${description} with ${files.base.description}`,
    key: sourceKey({ source: 'ca-roots', rootsPath: resolve(files.rootsPath), intermediatesPath: files.intermediatesPath === undefined ? undefined : resolve(files.intermediatesPath), base: files.base?.key }),
    async load(): Promise<TrustRoot> {
      const roots = certificates(await readPem(files.rootsPath), files.rootsPath);
      for (const root of roots) {
        if (!isSelfSignedCa(root)) {
          throw new SigverifyError('TRUST_ROOT_INVALID', `${files.rootsPath}: ${describeName(root)} is not a self-signed CA certificate`);
        }
      }
      const intermediates = files.intermediatesPath === undefined ? [] : certificates(await readPem(files.intermediatesPath), files.intermediatesPath);
      const base = files.base === undefined ? undefined : TrustedRoot.toJSON((await files.base.load()).trustedRoot) as Record<string, unknown>;
      const json = {
        mediaType: MEDIA_TYPE,
        tlogs: [],
        ctlogs: [],
        timestampAuthorities: [],
        ...base,
        certificateAuthorities: roots.map((root) =>
          authorityJson(chainFor(root, intermediates), { start: new Date(root.validFrom).toISOString(), end: new Date(root.validTo).toISOString() }, undefined),
        ),
      };
      return parseTrustedRoot(Buffer.from(JSON.stringify(json)), description, { kind: 'ca-roots', location: resolve(files.rootsPath) });
    },
  };
}
