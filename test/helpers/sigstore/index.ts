/**
 * A private test Sigstore and legacy cosign signing, for tests and for
 * `scripts/mint-fixtures.ts`. Test-only: nothing here may be imported from src/.
 */
export * from './ca.ts';
export * from './cosign-legacy.ts';
export * from './ctlog.ts';
export * from './bundle-v01.ts';
export * from './fixtures.ts';
export * from './jcs.ts';
export * from './keys.ts';
export * from './oci-layout.ts';
export * from './rekor.ts';
export * from './sigstore.ts';
export * from './trusted-root.ts';
export * as der from './der.ts';
