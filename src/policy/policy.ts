import { createPublicKey, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { parseValue } from '../json/parse.ts';
import type { GithubWorkflowClaims } from './certificate.ts';
import { type Matcher, exactMatcher, regexpMatcher } from './matcher.ts';

/**
 * What the caller requires of a signature, the equivalent of `cosign verify`'s
 * flags. Exactly one of keyless (identity + issuer) or key mode; like cosign
 * (`cmd/cosign/cli/options/certificate.go`) a keyless policy needs both an
 * identity and an issuer, and key mode excludes identity flags.
 */
export interface PolicyInput {
  readonly certificateIdentity?: string;
  readonly certificateIdentityRegexp?: string;
  readonly certificateOidcIssuer?: string;
  readonly certificateOidcIssuerRegexp?: string;
  readonly githubWorkflowTrigger?: string;
  readonly githubWorkflowSha?: string;
  readonly githubWorkflowName?: string;
  readonly githubWorkflowRepository?: string;
  readonly githubWorkflowRef?: string;
  /** PEM public key (`--key`). */
  readonly publicKey?: string;
  /** `-a key=value`: each must equal the signed payload's `optional[key]`. */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * Accept signatures without a transparency-log entry (`--insecure-ignore-tlog`).
   * Entries that are present are still verified.
   */
  readonly ignoreTlogUnsafe?: boolean;
  /**
   * Accept certificates without a signed certificate timestamp from a CT log
   * of the trust root (cosign `--insecure-ignore-sct`). Without it, an SCT is
   * required whenever the trust root lists CT logs.
   */
  readonly ignoreSctUnsafe?: boolean;
}

const PolicyInputSchema = z.strictObject({
  certificateIdentity: z.string().min(1).optional(),
  certificateIdentityRegexp: z.string().min(1).optional(),
  certificateOidcIssuer: z.string().min(1).optional(),
  certificateOidcIssuerRegexp: z.string().min(1).optional(),
  githubWorkflowTrigger: z.string().min(1).optional(),
  githubWorkflowSha: z.string().min(1).optional(),
  githubWorkflowName: z.string().min(1).optional(),
  githubWorkflowRepository: z.string().min(1).optional(),
  githubWorkflowRef: z.string().min(1).optional(),
  publicKey: z.string().min(1).optional(),
  annotations: z.record(z.string().min(1), z.string()).optional(),
  ignoreTlogUnsafe: z.boolean().optional(),
  ignoreSctUnsafe: z.boolean().optional(),
});

export interface KeylessPolicy {
  readonly mode: 'keyless';
  readonly identity: Matcher;
  readonly issuer: Matcher;
  readonly githubWorkflow: GithubWorkflowClaims;
  readonly annotations: Readonly<Record<string, string>>;
  readonly requireTlog: boolean;
  /** An SCT from a CT log of the trust root, when it lists any (false only with `ignoreSctUnsafe`). */
  readonly requireSct: boolean;
}

export interface KeyPolicy {
  readonly mode: 'key';
  readonly publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo, for byte comparison with Rekor bodies and certificates. */
  readonly publicKeyDer: Buffer;
  readonly annotations: Readonly<Record<string, string>>;
  readonly requireTlog: boolean;
}

export type Policy = KeylessPolicy | KeyPolicy;

function usage(message: string): SigverifyError {
  return new SigverifyError('POLICY_INVALID', message);
}

/** Validates and compiles a policy; contradictory or incomplete input is refused, never guessed at. */
export function compilePolicy(input: PolicyInput): Policy {
  const p = parseValue(PolicyInputSchema, input, (reason, cause) => new SigverifyError('POLICY_INVALID', `invalid policy: ${reason}`, { cause }));
  const annotations = p.annotations ?? {};
  const requireTlog = p.ignoreTlogUnsafe !== true;
  const identityGiven = [p.certificateIdentity, p.certificateIdentityRegexp].filter((v) => v !== undefined).length;
  const issuerGiven = [p.certificateOidcIssuer, p.certificateOidcIssuerRegexp].filter((v) => v !== undefined).length;
  const claimsGiven = [p.githubWorkflowTrigger, p.githubWorkflowSha, p.githubWorkflowName, p.githubWorkflowRepository, p.githubWorkflowRef].some((v) => v !== undefined);

  if (p.publicKey !== undefined) {
    if (identityGiven + issuerGiven > 0 || claimsGiven) {
      throw usage('a public key and certificate identity/issuer/claims are mutually exclusive: use --key, or identity and issuer');
    }
    const publicKey = parsePublicKey(p.publicKey);
    return { mode: 'key', publicKey, publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }), annotations, requireTlog };
  }
  if (identityGiven !== 1) {
    throw usage(identityGiven === 0
      ? 'keyless verification needs --certificate-identity or --certificate-identity-regexp (or use --key)'
      : '--certificate-identity and --certificate-identity-regexp are mutually exclusive');
  }
  if (issuerGiven !== 1) {
    throw usage(issuerGiven === 0
      ? 'keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp'
      : '--certificate-oidc-issuer and --certificate-oidc-issuer-regexp are mutually exclusive');
  }
  return {
    mode: 'keyless',
    identity: p.certificateIdentity !== undefined
      ? exactMatcher(p.certificateIdentity)
      : regexpMatcher(p.certificateIdentityRegexp as string, 'certificate identity regexp'),
    issuer: p.certificateOidcIssuer !== undefined
      ? exactMatcher(p.certificateOidcIssuer)
      : regexpMatcher(p.certificateOidcIssuerRegexp as string, 'certificate OIDC issuer regexp'),
    githubWorkflow: {
      ...(p.githubWorkflowTrigger === undefined ? {} : { trigger: p.githubWorkflowTrigger }),
      ...(p.githubWorkflowSha === undefined ? {} : { sha: p.githubWorkflowSha }),
      ...(p.githubWorkflowName === undefined ? {} : { name: p.githubWorkflowName }),
      ...(p.githubWorkflowRepository === undefined ? {} : { repository: p.githubWorkflowRepository }),
      ...(p.githubWorkflowRef === undefined ? {} : { ref: p.githubWorkflowRef }),
    },
    annotations,
    requireTlog,
    requireSct: p.ignoreSctUnsafe !== true,
  };
}

/**
 * A PEM public key: ECDSA P-256/P-384 or RSA (what @sigstore/verify can check
 * for message signatures; Ed25519 keys are refused because sigstore-js always
 * passes a hash algorithm, docs/formats.md pitfall 13).
 */
export function parsePublicKey(pem: string): KeyObject {
  // node derives a public key from a private one without a word: refuse it, so
  // signing keys (cosign.key, any PKCS#8 or SEC1 key) do not end up on processors.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    throw new SigverifyError('KEY_INVALID', 'this is a private key; pass the public key (cosign public-key --key cosign.key prints it)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new SigverifyError('KEY_INVALID', 'the public key is not a PEM-encoded public key', { cause });
  }
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'secp384r1') {
      throw new SigverifyError('KEY_INVALID', `ECDSA curve ${curve ?? 'unknown'} is not supported (use P-256 or P-384)`);
    }
  } else if (type === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new SigverifyError('KEY_INVALID', 'RSA keys shorter than 2048 bits are refused');
    }
  } else {
    throw new SigverifyError('KEY_INVALID', `public key type ${type ?? 'unknown'} is not supported for image signatures (ECDSA P-256/P-384 or RSA)`);
  }
  return key;
}
