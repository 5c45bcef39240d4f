/**
 * Every size, count, redirect and time cap sigverify enforces, in one table.
 * Nothing a server claims (Content-Length, descriptor sizes) raises a cap; caps
 * are enforced on the bytes actually received, while streaming.
 *
 * Sources for the defaults: cosign reads at most 1000 signature layers
 * (pkg/oci/remote/signatures.go) and caps attachments at 128 MiB
 * (COSIGN_MAX_ATTACHMENT_SIZE); the OCI distribution spec recommends
 * registries accept manifests of at least 4 MiB. A referrers listing is one
 * image index however many pages it is served in, so its total entries are
 * bounded by `maxIndexManifests` as well.
 */
export interface Limits {
  /** Largest manifest or index accepted, in bytes. */
  readonly maxManifestBytes: number;
  /** Largest signature payload blob (a `.sig` layer), in bytes. */
  readonly maxSignatureBlobBytes: number;
  /** Largest Sigstore bundle or DSSE envelope blob (attestations carry whole provenance documents), in bytes. */
  readonly maxBundleBytes: number;
  /** Largest JSON document from a token endpoint or credential helper, in bytes. */
  readonly maxAuthResponseBytes: number;
  /** Largest trusted_root.json, CA or PEM trust file read (also the TUF target trusted_root.json), in bytes. */
  readonly maxTrustFileBytes: number;
  /** Largest TUF root.json, each version of a rotation walk, in bytes (tuf-js `rootMaxLength`). */
  readonly maxTufRootBytes: number;
  /** Largest TUF timestamp.json, in bytes (tuf-js `timestampMaxLength`). */
  readonly maxTufTimestampBytes: number;
  /** Largest TUF snapshot.json when the timestamp does not record its length, in bytes (tuf-js `snapshotMaxLength`). */
  readonly maxTufSnapshotBytes: number;
  /** Largest TUF targets.json when the snapshot does not record its length, in bytes (tuf-js `targetsMaxLength`). */
  readonly maxTufTargetsBytes: number;
  /** Most TUF root versions walked in one update (TUF spec §5.3.3; tuf-js `maxRootRotations`). */
  readonly maxTufRootRotations: number;
  /** Largest local configuration file read (Docker config.json, a PEM public key), in bytes. */
  readonly maxConfigFileBytes: number;
  /** Largest artifact file hashed by `verify-bundle`, in bytes. */
  readonly maxArtifactBytes: number;
  /** Largest error body read from a registry (for the message only), in bytes. */
  readonly maxErrorBodyBytes: number;
  /** Most layers read from one signature manifest; more is an error, not a truncation. */
  readonly maxSignatureLayers: number;
  /** Most entries accepted in an image index. */
  readonly maxIndexManifests: number;
  /** Most annotation bytes (keys + values) on one descriptor. */
  readonly maxAnnotationBytes: number;
  /** Most pages of one referrers listing followed through `Link: <…>; rel="next"`; more is an error. */
  readonly maxReferrerPages: number;
  /** Most Sigstore bundle referrers accepted for one image; more is an error, not a truncation. */
  readonly maxReferrers: number;
  /** Most HTTP redirects followed for one request. */
  readonly maxRedirects: number;
  /** Most retries of one request on 429/5xx/network failure. */
  readonly maxRetries: number;
  /** Longest Retry-After honoured, in ms; longer waits fail the request. */
  readonly maxRetryAfterMs: number;
  /** First back-off delay, in ms (doubles per retry). */
  readonly retryBaseDelayMs: number;
  /** Deadline for one HTTP request, headers and body, in ms. */
  readonly requestTimeoutMs: number;
  /** Deadline for one credential helper run, in ms. */
  readonly credentialHelperTimeoutMs: number;
  /**
   * Most bytes one verification receives, summed over every manifest and blob
   * it fetches (signatures, bundles, referrer manifests): what a registry
   * serving many large unsigned candidates can cost at most.
   */
  readonly maxVerificationBytes: number;
  /** Deadline for one whole image verification, in ms. */
  readonly verificationTimeoutMs: number;
  /** Largest result-cache entry read from disk (a result with its attestation statements), in bytes. */
  readonly maxCacheEntryBytes: number;
  /** Most results held by the in-memory result cache; the least recently used goes first. */
  readonly maxCacheEntries: number;
  /** Longest audit-trail line written or read, in bytes; a longer line is a damaged trail. */
  readonly maxAuditLineBytes: number;
  /** Longest wait for the audit trail's lock file, in ms. */
  readonly auditLockTimeoutMs: number;
  /** Largest transparency-log response (checkpoint, proof, search result, batch of entries, tile), in bytes. */
  readonly maxLogResponseBytes: number;
  /** Most entry positions one Rekor v1 search may return for one watched signer; more is an error, not a truncation. */
  readonly maxLogSearchResults: number;
  /** Most log entries one monitor run reads from one log (Rekor v2 tiles from the last checkpoint); more is an error. */
  readonly maxLogScanEntries: number;
  /** Most HTTP requests one monitor run makes to one log. */
  readonly maxLogRequests: number;
  /** Deadline for monitoring one log (scan, proofs, re-checks), in ms. */
  readonly logMonitorTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxManifestBytes: 4 * 1024 * 1024,
  maxSignatureBlobBytes: 1024 * 1024,
  maxBundleBytes: 16 * 1024 * 1024,
  maxAuthResponseBytes: 256 * 1024,
  maxTrustFileBytes: 4 * 1024 * 1024,
  maxTufRootBytes: 512 * 1024,
  maxTufTimestampBytes: 16 * 1024,
  maxTufSnapshotBytes: 2 * 1024 * 1024,
  maxTufTargetsBytes: 5 * 1024 * 1024,
  maxTufRootRotations: 256,
  maxConfigFileBytes: 1024 * 1024,
  maxArtifactBytes: 1024 * 1024 * 1024,
  maxErrorBodyBytes: 4 * 1024,
  maxSignatureLayers: 1000,
  maxIndexManifests: 1000,
  maxAnnotationBytes: 512 * 1024,
  maxReferrerPages: 10,
  maxReferrers: 100,
  maxRedirects: 5,
  maxRetries: 3,
  maxRetryAfterMs: 10_000,
  retryBaseDelayMs: 200,
  requestTimeoutMs: 30_000,
  credentialHelperTimeoutMs: 10_000,
  verificationTimeoutMs: 120_000,
  maxVerificationBytes: 64 * 1024 * 1024,
  maxCacheEntryBytes: 32 * 1024 * 1024,
  maxCacheEntries: 1000,
  maxAuditLineBytes: 1024 * 1024,
  auditLockTimeoutMs: 10_000,
  maxLogResponseBytes: 8 * 1024 * 1024,
  maxLogSearchResults: 100_000,
  maxLogScanEntries: 20_000_000,
  maxLogRequests: 1_000_000,
  logMonitorTimeoutMs: 4 * 60 * 60 * 1000,
});

export function resolveLimits(overrides: Partial<Limits> | undefined): Limits {
  return overrides === undefined ? DEFAULT_LIMITS : Object.freeze({ ...DEFAULT_LIMITS, ...overrides });
}
