/**
 * A private test Sigstore, legacy cosign signing and attesting, Sigstore
 * bundles v0.3 stored as OCI referrers, for tests and for
 * `scripts/mint-fixtures.ts`. Test-only: nothing here may be imported from src/.
 */
export * from './ca.ts';
export * from './cosign-legacy.ts';
export * from './ctlog.ts';
export * from './bundle-v01.ts';
export * from './bundle-v03.ts';
export * from './dsse.ts';
export * from './fixtures.ts';
export * from './jcs.ts';
export * from './keys.ts';
export * from './oci-layout.ts';
export * from './oci-referrers.ts';
export * from './rekor.ts';
export * from './sigstore.ts';
export * from './trusted-root.ts';
export * from './tsa.ts';
export * as der from './der.ts';
