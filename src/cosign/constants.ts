/** Media types and annotation keys of cosign's legacy storage format (docs/formats.md §1). */

/** Layer media type of a signature (sigstore/cosign `pkg/types/media.go`). */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** `critical.type` of a cosign image signature payload (sigstore/sigstore `pkg/signature/payload`). */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** Layer annotations (sigstore/cosign `pkg/oci/static/signature.go`). */
export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain';
export const ANNOTATION_REKOR_BUNDLE = 'dev.sigstore.cosign/bundle';
export const ANNOTATION_RFC3161 = 'dev.sigstore.cosign/rfc3161timestamp';

/** Tag suffixes of the legacy signature and attestation images (`sha256-<hex>.sig`, cosign `pkg/oci/remote/remote.go`). */
export const SIGNATURE_TAG_SUFFIX = '.sig';
export const ATTESTATION_TAG_SUFFIX = '.att';

/** Layer media type of a legacy attestation: a DSSE envelope (docs/formats.md §3). */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
