import { SigverifyError } from '../errors.ts';

/**
 * `verify-attestation --type` aliases, as cosign defines them
 * (cmd/cosign/cli/options/predicate.go); anything else must be a URI.
 */
export const PREDICATE_TYPE_ALIASES: Readonly<Record<string, string>> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

export function predicateTypeOf(type: string): string {
  const alias = PREDICATE_TYPE_ALIASES[type];
  if (alias !== undefined) return alias;
  if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(type)) {
    throw new SigverifyError('USAGE', `--type "${type}" is neither a known alias (${Object.keys(PREDICATE_TYPE_ALIASES).join(', ')}) nor a URI`);
  }
  return type;
}
