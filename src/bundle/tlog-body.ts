import * as z from 'zod';
import { SignatureRejected } from '../errors.ts';
import { parseJson } from '../json/parse.ts';
import { pemBlocks } from './pem.ts';
import { quote } from '../text/quote.ts';

/**
 * Who a transparency-log entry says signed: the certificate or public key
 * recorded in its canonicalized body (docs/formats.md §7). sigstore-js checks
 * that an entry's signature and digest match the bundle, but not its key
 * (docs/formats.md pitfall 7: hashedrekord; the dsse and intoto checks likewise), so a
 * genuine entry for the same bytes signed by someone else would pass.
 * cosign's `comparePublicKey` and sigstore-go compare it; so do we.
 */
export interface TlogVerifier {
  readonly kind: string;
  readonly apiVersion: string;
  /** DER of the recorded certificate, when the entry holds one. */
  readonly certificateDer?: Buffer;
  /** DER SubjectPublicKeyInfo, when the entry holds a bare public key. */
  readonly publicKeyDer?: Buffer;
  /** base64 signatures the entry records. */
  readonly signatures: readonly string[];
}

const b64 = z.base64();
const Kind = z.looseObject({ apiVersion: z.string(), kind: z.string() });

// hashedrekord 0.0.1 (sigstore/rekor pkg/types/hashedrekord/v0.0.1).
const HashedRekordV001 = z.looseObject({
  spec: z.looseObject({ signature: z.looseObject({ content: b64, publicKey: z.looseObject({ content: b64 }) }) }),
});
// dsse 0.0.1 (pkg/types/dsse/v0.0.1): verifier is base64 PEM.
const DsseV001 = z.looseObject({
  spec: z.looseObject({ signatures: z.array(z.looseObject({ signature: b64, verifier: b64 })).min(1) }),
});
// intoto 0.0.2: publicKey is base64 PEM, sig is base64 of base64 (docs/formats.md §7 quirk).
const IntotoV002 = z.looseObject({
  spec: z.looseObject({
    content: z.looseObject({ envelope: z.looseObject({ signatures: z.array(z.looseObject({ sig: b64, publicKey: b64 })).min(1) }) }),
  }),
});
// Rekor v2 (protobuf JSON): verifier holds DER, as a certificate or a public key.
const V2Verifier = z.looseObject({
  x509Certificate: z.looseObject({ rawBytes: b64 }).optional(),
  publicKey: z.looseObject({ rawBytes: b64 }).optional(),
});
const HashedRekordV002 = z.looseObject({
  spec: z.looseObject({ hashedRekordV002: z.looseObject({ signature: z.looseObject({ content: b64, verifier: V2Verifier }) }) }),
});
const DsseV002 = z.looseObject({
  spec: z.looseObject({ dsseV002: z.looseObject({ signatures: z.array(z.looseObject({ content: b64, verifier: V2Verifier })).min(1) }) }),
});

function invalid(reason: string, cause?: unknown): SignatureRejected {
  return new SignatureRejected('TLOG_ENTRY_INVALID', `transparency-log entry body is malformed: ${reason}`, { cause });
}

function fromPem(base64Pem: string): { certificateDer?: Buffer; publicKeyDer?: Buffer } {
  const block = pemBlocks(Buffer.from(base64Pem, 'base64').toString('utf8'))[0];
  if (block?.label === 'CERTIFICATE') return { certificateDer: block.der };
  if (block?.label === 'PUBLIC KEY') return { publicKeyDer: block.der };
  throw invalid('verifier is neither a PEM certificate nor a PEM public key');
}

function fromV2(verifier: z.output<typeof V2Verifier>): { certificateDer?: Buffer; publicKeyDer?: Buffer } {
  if (verifier.x509Certificate !== undefined) return { certificateDer: Buffer.from(verifier.x509Certificate.rawBytes, 'base64') };
  if (verifier.publicKey !== undefined) return { publicKeyDer: Buffer.from(verifier.publicKey.rawBytes, 'base64') };
  throw invalid('verifier holds neither a certificate nor a public key');
}

/** Parses the canonicalized body (base64) of a tlog entry into its signer material. */
export function tlogVerifier(bodyBase64: string): TlogVerifier {
  // Bundle JSON may omit the body (protobuf JSON leaves out empty bytes, and
  // bundleFromJSON accepts that), or hold a non-string there. Found by the fuzz
  // suite (test/fuzz/bundle.test.ts): Buffer.from(undefined) threw a TypeError.
  if (typeof bodyBase64 !== 'string') throw invalid('canonicalized body is not a base64 string');
  const bytes = Buffer.from(bodyBase64, 'base64');
  const { kind, apiVersion } = parseJson(Kind, bytes, invalid);
  const head = { kind, apiVersion };
  switch (`${kind}/${apiVersion}`) {
    case 'hashedrekord/0.0.1': {
      const { signature } = parseJson(HashedRekordV001, bytes, invalid).spec;
      return { ...head, ...fromPem(signature.publicKey.content), signatures: [signature.content] };
    }
    case 'dsse/0.0.1': {
      const { signatures } = parseJson(DsseV001, bytes, invalid).spec;
      return { ...head, ...sameVerifier(signatures.map((s) => fromPem(s.verifier))), signatures: signatures.map((s) => s.signature) };
    }
    case 'intoto/0.0.2': {
      const { signatures } = parseJson(IntotoV002, bytes, invalid).spec.content.envelope;
      return {
        ...head,
        ...sameVerifier(signatures.map((s) => fromPem(s.publicKey))),
        signatures: signatures.map((s) => Buffer.from(s.sig, 'base64').toString('utf8')),
      };
    }
    case 'hashedrekord/0.0.2': {
      const { signature } = parseJson(HashedRekordV002, bytes, invalid).spec.hashedRekordV002;
      return { ...head, ...fromV2(signature.verifier), signatures: [signature.content] };
    }
    case 'dsse/0.0.2': {
      const { signatures } = parseJson(DsseV002, bytes, invalid).spec.dsseV002;
      return { ...head, ...sameVerifier(signatures.map((s) => fromV2(s.verifier))), signatures: signatures.map((s) => s.content) };
    }
    default:
      throw new SignatureRejected('TLOG_ENTRY_INVALID', `transparency-log entry kind ${quote(kind, 64)} ${quote(apiVersion, 64)} is not supported`);
  }
}

/** A bundle's DSSE envelope holds exactly one signature; an entry naming several signers is refused. */
function sameVerifier(verifiers: { certificateDer?: Buffer; publicKeyDer?: Buffer }[]): { certificateDer?: Buffer; publicKeyDer?: Buffer } {
  if (verifiers.length !== 1) throw invalid(`entry records ${verifiers.length} signatures; a bundle carries exactly one`);
  return verifiers[0] as { certificateDer?: Buffer; publicKeyDer?: Buffer };
}
