import { TrustedRoot } from '@sigstore/protobuf-specs';
import * as z from 'zod';
import { SigverifyError } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { type Digest, sha256Digest } from '../reference/index.ts';

/**
 * A loaded trust root: the parsed protobuf-specs TrustedRoot plus where it came
 * from and the sha256 of its exact bytes, which every result records.
 */
/** Where a trust root came from, for programs (`source` says it for people). */
export interface TrustOrigin {
  readonly kind: 'trusted-root' | 'tuf' | 'assembled' | 'ca-roots' | 'none';
  /** The file, the TUF repository (URL or directory), or the files it was assembled from. */
  readonly location: string;
}

export interface TrustRoot {
  /** Where the material came from, for people: a file path or a TUF mirror. */
  readonly source: string;
  /** The same, for programs. */
  readonly origin: TrustOrigin;
  /** sha256 of the trusted_root.json bytes (absent for the empty root of key-only mode). */
  readonly digest: Digest | undefined;
  readonly trustedRoot: TrustedRoot;
  /**
   * TUF metadata accepted although it had expired, only ever with
   * `allowExpiredMetadataUnsafe`. A verification result that used this root
   * must record it; absent or empty when all metadata was fresh.
   */
  readonly expiredMetadataAccepted?: readonly ExpiredMetadata[];
  /** Things a person should know about this root (metadata accepted expired, roles about to expire), for results and logs. */
  readonly warnings?: readonly string[];
}

/** The four top-level TUF roles (TUF spec §2.1). */
export type TufRole = 'root' | 'timestamp' | 'snapshot' | 'targets';

/** One TUF role's metadata that was past its `expires` when it was used. */
export interface ExpiredMetadata {
  readonly role: TufRole;
  readonly version: number;
  /** The role's `expires`, RFC 3339. */
  readonly expires: string;
}

/**
 * Our own schema check before sigstore-js sees the root. sigstore-js treats a
 * missing `validFor.start` as the beginning of time (docs/formats.md pitfall 14,
 * conformance case `trust-root-tlog-missing-validity-start_fail`); a key with
 * no start is malformed, so it is refused here.
 */
// protobuf JSON may write an absent `end` as null.
const ValidFor = z.looseObject({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }).nullable().optional() });
const LogKey = z.looseObject({
  baseUrl: z.string(),
  publicKey: z.looseObject({ rawBytes: z.base64().min(1), keyDetails: z.string(), validFor: ValidFor }),
  logId: z.looseObject({ keyId: z.base64().min(1) }),
});
const Authority = z.looseObject({
  certChain: z.looseObject({ certificates: z.array(z.looseObject({ rawBytes: z.base64().min(1) })).min(1) }),
  validFor: ValidFor,
});
const TrustedRootSchema = z.looseObject({
  mediaType: z.string().startsWith('application/vnd.dev.sigstore.trustedroot'),
  tlogs: z.array(LogKey).default([]),
  ctlogs: z.array(LogKey).default([]),
  certificateAuthorities: z.array(Authority).default([]),
  timestampAuthorities: z.array(Authority).default([]),
});

export function parseTrustedRoot(bytes: Uint8Array, source: string, origin: TrustOrigin = { kind: 'trusted-root', location: source }): TrustRoot {
  const fail = (reason: string, cause?: unknown): SigverifyError =>
    new SigverifyError('TRUST_ROOT_INVALID', `trusted root from ${source} is invalid: ${reason}`, { cause, details: { source } });
  parseJson(TrustedRootSchema, bytes, fail);
  let trustedRoot: TrustedRoot;
  try {
    trustedRoot = TrustedRoot.fromJSON(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (cause) {
    throw fail('not a TrustedRoot document', cause);
  }
  return { source, origin, digest: sha256Digest(bytes), trustedRoot };
}

/**
 * Key mode with the transparency log ignored needs no Sigstore trust at all
 * (cosign#4550): the caller's key is the whole trust. An empty root makes that
 * explicit instead of loading (and depending on) a TUF repository.
 */
export function emptyTrustRoot(): TrustRoot {
  return {
    source: 'none (public key only)',
    origin: { kind: 'none', location: '' },
    digest: undefined,
    trustedRoot: TrustedRoot.fromJSON({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    }),
  };
}
