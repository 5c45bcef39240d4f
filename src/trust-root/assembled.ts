import { X509Certificate } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { pemBlocks } from '../bundle/pem.ts';
import { SigverifyError } from '../errors.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { readCapped } from '../io/read-capped.ts';
import type { TrustSource } from './sources.ts';
import { type TrustRoot, parseTrustedRoot } from './trusted-root.ts';

/**
 * Trust assembled from PEM files instead of a trusted_root.json: cosign's
 * `--ca-roots` / `--ca-intermediates` (a BYO PKI, cosign-formats §4.1). The
 * result is an ordinary TrustRoot, so every verification path treats it the
 * same; the CAs replace those of the base source (whose Rekor, CT and TSA keys
 * are kept), or stand alone when there is no base.
 */
export interface CertificateAuthorityFiles {
  /** PEM file of one or more self-signed root certificates. */
  readonly rootsPath: string;
  /** PEM file of intermediate certificates, any order. */
  readonly intermediatesPath?: string;
  /** Where transparency-log, CT and TSA keys come from, if anywhere. */
  readonly base?: TrustSource;
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
    return (await readCapped(path, DEFAULT_LIMITS.maxTrustFileBytes)).toString('utf8');
  } catch (cause) {
    if (cause instanceof SigverifyError) throw cause;
    throw new SigverifyError('TRUST_ROOT_UNAVAILABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Orders the intermediates that lead to `root` leafmost first: each chain is [intermediates…, root]. */
function chainFor(root: X509Certificate, intermediates: readonly X509Certificate[]): X509Certificate[] {
  const chain = [root];
  for (let issuer = root; ;) {
    const child = intermediates.find((c) => !chain.includes(c) && c.ca && c.checkIssued(issuer) && c.verify(issuer.publicKey));
    if (child === undefined) return chain;
    chain.unshift(child);
    issuer = child;
  }
}

export function certificateAuthorityTrust(files: CertificateAuthorityFiles): TrustSource {
  const description = `CA roots ${files.rootsPath}${files.intermediatesPath === undefined ? '' : ` + intermediates ${files.intermediatesPath}`}`;
  return {
    description: files.base === undefined ? description : `${description} with ${files.base.description}`,
    async load(): Promise<TrustRoot> {
      const roots = certificates(await readPem(files.rootsPath), files.rootsPath);
      for (const root of roots) {
        if (!root.ca || !root.checkIssued(root) || !root.verify(root.publicKey)) {
          throw new SigverifyError('TRUST_ROOT_INVALID', `${files.rootsPath}: ${root.subject.replace(/\n/g, ', ')} is not a self-signed CA certificate`);
        }
      }
      const intermediates = files.intermediatesPath === undefined ? [] : certificates(await readPem(files.intermediatesPath), files.intermediatesPath);
      const base = files.base === undefined ? undefined : TrustedRoot.toJSON((await files.base.load()).trustedRoot) as Record<string, unknown>;
      const json = {
        mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
        tlogs: [],
        ctlogs: [],
        timestampAuthorities: [],
        ...base,
        certificateAuthorities: roots.map((root) => ({
          subject: { commonName: root.subject },
          certChain: { certificates: chainFor(root, intermediates).map((c) => ({ rawBytes: c.raw.toString('base64') })) },
          validFor: { start: new Date(root.validFrom).toISOString(), end: new Date(root.validTo).toISOString() },
        })),
      };
      return parseTrustedRoot(Buffer.from(JSON.stringify(json)), description);
    },
  };
}
