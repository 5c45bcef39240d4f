import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { SigverifyError } from '../errors.ts';
import type { TrustSource } from './sources.ts';
import type { ExpiredMetadata, TrustRoot } from './trusted-root.ts';
import { isTufTrustSource } from './tuf/source.ts';
import type { RoleState } from './tuf/metadata.ts';

/**
 * `sigverify trust status`: where trust comes from, the version and expiry of
 * every TUF role, every CA and key with its validity window, and warnings
 * ahead of expiry, as a versioned, serialisable document.
 */
export const TRUST_STATUS_MEDIA_TYPE = 'application/vnd.sigverify.trust-status+json;version=1';

/** valid; expiring within the warning window; expired. */
export type Freshness = 'valid' | 'expiring' | 'expired';

export interface RoleStatus extends RoleState {
  readonly state: Freshness;
}

export interface KeyStatus {
  readonly kind: 'certificate-authority' | 'transparency-log' | 'ct-log' | 'timestamp-authority';
  /** The CA or TSA URI, or the log's base URL. */
  readonly name: string;
  /** CAs and TSAs: the root certificate's subject common name, as the trusted root records it. */
  readonly subject?: string;
  /** Logs: the log ID, hex (sha256 of the DER public key). */
  readonly logId?: string;
  readonly validFrom: string | undefined;
  readonly validUntil: string | undefined;
  /** `ended` and `not-yet-valid` are normal for rotated keys: they still verify signatures made in their window. */
  readonly state: 'valid' | 'expiring' | 'ended' | 'not-yet-valid';
}

export interface TrustStatus {
  readonly mediaType: typeof TRUST_STATUS_MEDIA_TYPE;
  readonly source: string;
  readonly checkedAt: string;
  /** TUF sources: the cache and each top-level role. */
  readonly tuf?: { readonly cachePath: string; readonly initialised: boolean; readonly roles: readonly RoleStatus[] };
  /** The loaded trusted_root.json. */
  readonly trustedRoot?: { readonly source: string; readonly digest: string | undefined };
  readonly keys: readonly KeyStatus[];
  /** Expired metadata accepted with the unsafe opt-out. */
  readonly expiredMetadataAccepted: readonly ExpiredMetadata[];
  readonly warnings: readonly string[];
  /** Why the trust root could not be loaded; verification would fail with this code. */
  readonly error?: { readonly code: string; readonly message: string };
}

export interface TrustStatusOptions {
  /** Default now. */
  readonly now?: Date;
  /** Warn about roles and keys that expire within this many days; default 30. */
  readonly warnWithinDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Loads `source` (as verification would) and reports on it; a load failure is reported, not thrown. */
export async function trustStatus(source: TrustSource, options: TrustStatusOptions = {}): Promise<TrustStatus> {
  const now = options.now ?? new Date();
  const horizon = now.getTime() + (options.warnWithinDays ?? 30) * DAY_MS;
  const warnings: string[] = [];
  let root: TrustRoot | undefined;
  let error: TrustStatus['error'];
  try {
    root = await source.load();
  } catch (cause) {
    error = { code: cause instanceof SigverifyError ? cause.code : 'INTERNAL_ERROR', message: cause instanceof Error ? cause.message : String(cause) };
  }

  let tuf: TrustStatus['tuf'];
  if (isTufTrustSource(source)) {
    // After the load, which may have refreshed the cache; verified except for expiry, so an expired cache is still shown.
    const cached = await source.cachedMetadata().catch(() => ({ initialised: false, roles: [], expired: [] }));
    const roles = cached.roles.map((r): RoleStatus => {
      const expires = Date.parse(r.expires);
      const state: Freshness = expires <= now.getTime() ? 'expired' : expires <= horizon ? 'expiring' : 'valid';
      if (state === 'expired') warnings.push(`${r.role} metadata version ${r.version} expired at ${r.expires}`);
      if (state === 'expiring') warnings.push(`${r.role} metadata version ${r.version} expires at ${r.expires} (in ${Math.ceil((expires - now.getTime()) / DAY_MS)} days): refresh before then`);
      return { ...r, state };
    });
    tuf = { cachePath: source.cachePath, initialised: cached.initialised, roles };
  }

  const keys = root === undefined ? [] : keyStatuses(root.trustedRoot, now, horizon);
  for (const key of keys.filter((k) => k.state === 'expiring')) {
    warnings.push(`${key.kind} ${key.name} is valid until ${key.validUntil ?? ''}: signatures made after that will not verify against it`);
  }
  if (root !== undefined) {
    for (const kind of ['certificate-authority', 'transparency-log'] as const) {
      const ofKind = keys.filter((k) => k.kind === kind);
      if (ofKind.length > 0 && !ofKind.some((k) => k.state === 'valid' || k.state === 'expiring')) {
        warnings.push(`no ${kind} is valid now: new signatures cannot verify until the trust root names one`);
      }
    }
    warnings.push(...(root.warnings ?? []));
  }
  return {
    mediaType: TRUST_STATUS_MEDIA_TYPE,
    source: source.description,
    checkedAt: now.toISOString(),
    ...(tuf === undefined ? {} : { tuf }),
    ...(root === undefined ? {} : { trustedRoot: { source: root.source, digest: root.digest } }),
    keys,
    expiredMetadataAccepted: root?.expiredMetadataAccepted ?? [],
    warnings,
    ...(error === undefined ? {} : { error }),
  };
}

function keyStatuses(trustedRoot: TrustedRoot, now: Date, horizon: number): KeyStatus[] {
  const window = (validFor: { start?: Date | undefined; end?: Date | undefined } | undefined) => {
    const start = validFor?.start;
    const end = validFor?.end;
    const state: KeyStatus['state'] = start !== undefined && start.getTime() > now.getTime() ? 'not-yet-valid'
      : end === undefined ? 'valid'
      : end.getTime() <= now.getTime() ? 'ended'
      : end.getTime() <= horizon ? 'expiring'
      : 'valid';
    return { validFrom: start?.toISOString(), validUntil: end?.toISOString(), state };
  };
  const authorities = (kind: 'certificate-authority' | 'timestamp-authority', list: TrustedRoot['certificateAuthorities']): KeyStatus[] =>
    list.map((ca) => ({ kind, name: ca.uri, ...(ca.subject?.commonName === undefined ? {} : { subject: ca.subject.commonName }), ...window(ca.validFor) }));
  const logs = (kind: 'transparency-log' | 'ct-log', list: TrustedRoot['tlogs']): KeyStatus[] =>
    list.map((log) => ({
      kind,
      name: log.baseUrl,
      ...(log.logId === undefined ? {} : { logId: Buffer.from(log.logId.keyId).toString('hex') }),
      ...window(log.publicKey?.validFor),
    }));
  return [
    ...authorities('certificate-authority', trustedRoot.certificateAuthorities),
    ...logs('transparency-log', trustedRoot.tlogs),
    ...logs('ct-log', trustedRoot.ctlogs),
    ...authorities('timestamp-authority', trustedRoot.timestampAuthorities),
  ];
}
