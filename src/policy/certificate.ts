import { ASN1Obj, X509Certificate } from '@sigstore/core';

/**
 * What a signing certificate says about its signer: every SAN (cosign's legacy
 * path lets any SAN match, sigstore/sigstore `pkg/cryptoutils/sans.go`), the
 * OIDC issuer, and the GitHub workflow claims. sigstore-js sees only the first
 * URI or email SAN and no OtherName (docs/formats.md §5.1), so identity policy
 * runs here, on the parsed certificate.
 */

/** Fulcio OIDs (sigstore/fulcio `docs/oid-info.md`). */
export const OID = {
  issuerV1: '1.3.6.1.4.1.57264.1.1',
  githubWorkflowTrigger: '1.3.6.1.4.1.57264.1.2',
  githubWorkflowSha: '1.3.6.1.4.1.57264.1.3',
  githubWorkflowName: '1.3.6.1.4.1.57264.1.4',
  githubWorkflowRepository: '1.3.6.1.4.1.57264.1.5',
  githubWorkflowRef: '1.3.6.1.4.1.57264.1.6',
  otherNameSan: '1.3.6.1.4.1.57264.1.7',
  issuerV2: '1.3.6.1.4.1.57264.1.8',
} as const;

export type SanKind = 'uri' | 'email' | 'otherName' | 'dns' | 'ip';

export interface SubjectAlternativeName {
  readonly kind: SanKind;
  readonly value: string;
}

export interface GithubWorkflowClaims {
  readonly trigger?: string;
  readonly sha?: string;
  readonly name?: string;
  readonly repository?: string;
  readonly ref?: string;
}

export interface CertificateIdentity {
  readonly sans: readonly SubjectAlternativeName[];
  /** The SAN a person would call "the identity": first URI, else email, else OtherName (sigstore-go `summarize.go`). */
  readonly primarySan: SubjectAlternativeName | undefined;
  /** Issuer from `.1.8` (DER UTF8String), else `.1.1` (raw bytes). */
  readonly issuer: string | undefined;
  /** Both issuer extensions are present and disagree. */
  readonly issuerConflict: boolean;
  readonly githubWorkflow: GithubWorkflowClaims;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function rawString(cert: X509Certificate, oid: string): string | undefined {
  const ext = cert.extension(oid);
  if (ext === undefined) return undefined;
  // `.1.1`–`.1.6` carry the string bytes directly as the extension value.
  return utf8.decode(ext.value);
}

function derString(cert: X509Certificate, oid: string): string | undefined {
  const ext = cert.extension(oid);
  if (ext === undefined) return undefined;
  // `.1.8` onwards wrap the value in a DER UTF8String (universal tag 12).
  const obj = ASN1Obj.parseBuffer(ext.value as Buffer<ArrayBuffer>);
  if (!obj.tag.isUniversal() || obj.tag.number !== UTF8_STRING) throw new Error(`extension ${oid} is not a UTF8String`);
  return utf8.decode(obj.value);
}

const UTF8_STRING = 12;

// GeneralName context tags (RFC 5280 §4.2.1.6).
const GN_OTHER_NAME = 0;
const GN_RFC822 = 1;
const GN_DNS = 2;
const GN_URI = 6;
const GN_IP = 7;

function parseSans(cert: X509Certificate): SubjectAlternativeName[] {
  const ext = cert.extSubjectAltName;
  if (ext === undefined) return [];
  const sans: SubjectAlternativeName[] = [];
  // extnValue is an OCTET STRING wrapping GeneralNames (a SEQUENCE).
  const generalNames = ASN1Obj.parseBuffer(ext.value as Buffer<ArrayBuffer>).subs;
  for (const name of generalNames) {
    if (!name.tag.isContextSpecific()) continue;
    switch (name.tag.number) {
      case GN_RFC822:
        sans.push({ kind: 'email', value: utf8.decode(name.value) });
        break;
      case GN_DNS:
        sans.push({ kind: 'dns', value: utf8.decode(name.value) });
        break;
      case GN_URI:
        sans.push({ kind: 'uri', value: utf8.decode(name.value) });
        break;
      case GN_IP:
        sans.push({ kind: 'ip', value: formatIp(name.value) });
        break;
      case GN_OTHER_NAME: {
        const value = otherNameValue(name);
        if (value !== undefined) sans.push({ kind: 'otherName', value });
        break;
      }
      default:
        break;
    }
  }
  return sans;
}

/** OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }; Fulcio's is a UTF8String under `.1.7`. */
function otherNameValue(name: ASN1Obj): string | undefined {
  const [typeId, explicit] = name.subs;
  if (typeId === undefined || explicit === undefined || typeId.toOID() !== OID.otherNameSan) return undefined;
  const inner = explicit.subs[0];
  if (inner === undefined || !inner.tag.isUniversal() || inner.tag.number !== UTF8_STRING) return undefined;
  return utf8.decode(inner.value);
}

function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

export function certificateIdentity(cert: X509Certificate): CertificateIdentity {
  const sans = parseSans(cert);
  const issuerV2 = derString(cert, OID.issuerV2);
  const issuerV1 = rawString(cert, OID.issuerV1);
  const primarySan = sans.find((s) => s.kind === 'uri') ?? sans.find((s) => s.kind === 'email') ?? sans.find((s) => s.kind === 'otherName');
  return {
    sans,
    primarySan,
    issuer: issuerV2 ?? issuerV1,
    issuerConflict: issuerV1 !== undefined && issuerV2 !== undefined && issuerV1 !== issuerV2,
    githubWorkflow: {
      ...optional('trigger', rawString(cert, OID.githubWorkflowTrigger)),
      ...optional('sha', rawString(cert, OID.githubWorkflowSha)),
      ...optional('name', rawString(cert, OID.githubWorkflowName)),
      ...optional('repository', rawString(cert, OID.githubWorkflowRepository)),
      ...optional('ref', rawString(cert, OID.githubWorkflowRef)),
    },
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

export function parseCertificate(der: Buffer<ArrayBuffer>): X509Certificate {
  return X509Certificate.parse(der);
}
