import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import {
  bitString,
  boolean,
  child,
  children,
  decodeOid,
  explicit,
  fromPem,
  implicitConstructed,
  implicitPrimitive,
  integer,
  nullValue,
  octetString,
  oid,
  printableString,
  readElement,
  sequence,
  setOf,
  time,
  toPem,
  utf8String,
} from './der.ts';
import { OID_CT_POISON, OID_CT_SCT_LIST, logPrecertificate, sctListExtensionValue, type CtLog } from './ctlog.ts';
import { curveOf, ecdsaSign, generateKeyPair, spkiDer, type KeyPair } from './keys.ts';

/**
 * A Fulcio-like certificate authority: an ECDSA P-384 root, a P-384
 * intermediate, and 10-minute ECDSA P-256 leaf certificates shaped like
 * Fulcio's (sigstore/fulcio `pkg/ca/common.go`, `docs/oid-info.md`): empty
 * subject, critical SAN, KeyUsage digitalSignature, EKU codeSigning, the
 * `1.3.6.1.4.1.57264.1.*` extensions, and an SCT embedded through the
 * precertificate flow (RFC 6962 §3.1).
 */

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  /** id-kp-timeStamping: the only EKU of an RFC 3161 TSA certificate (RFC 3161 §2.3, critical). */
  timeStamping: '1.3.6.1.5.5.7.3.8',
  /** Fulcio issuer (deprecated): raw string bytes, no DER wrapping. */
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  githubWorkflowTrigger: '1.3.6.1.4.1.57264.1.2',
  githubWorkflowSha: '1.3.6.1.4.1.57264.1.3',
  githubWorkflowName: '1.3.6.1.4.1.57264.1.4',
  githubWorkflowRepository: '1.3.6.1.4.1.57264.1.5',
  githubWorkflowRef: '1.3.6.1.4.1.57264.1.6',
  /** OtherName SAN type-id for username identities (a SAN, not an extension). */
  otherNameSan: '1.3.6.1.4.1.57264.1.7',
  /** Fulcio issuer (V2): DER UTF8String. */
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
} as const;

export const CA_VALID_FROM = new Date('2026-01-01T00:00:00Z');
export const CA_VALID_UNTIL = new Date('2036-01-01T00:00:00Z');
/** Fulcio leaf lifetime. */
export const LEAF_VALIDITY_MS = 10 * 60 * 1000;

export interface CaCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly keyPair: KeyPair;
  /** DER Name of the certificate's subject (the issuer name of what it signs). */
  readonly subject: Buffer;
}

export interface CertificateAuthority {
  readonly root: CaCertificate;
  readonly intermediate: CaCertificate;
}

export interface NameParts {
  readonly organization?: string;
  readonly commonName?: string;
}

export interface CreateCaOptions {
  readonly rootKey?: KeyPair;
  readonly intermediateKey?: KeyPair;
  /** Subject O of both CA certificates. Default `sigverify.test`. */
  readonly organization?: string;
  /** Prefix of the subjects' CN (`<prefix>` and `<prefix>-intermediate`). Default `sigverify-test`. */
  readonly commonName?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** The root subject, validity and key of a CA or TSA, defaults applied. */
export interface RootSettings {
  readonly organization: string;
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly rootKey: KeyPair;
}

/**
 * Applies the defaults shared by CA and TSA builders: O `sigverify.test`, the
 * CA validity period, a fresh P-384 root key; `defaultCommonName` when no CN.
 */
export function rootSettings(
  options: Pick<CreateCaOptions, 'rootKey' | 'organization' | 'commonName' | 'notBefore' | 'notAfter'>,
  defaultCommonName: string,
): RootSettings {
  return {
    organization: options.organization ?? 'sigverify.test',
    commonName: options.commonName ?? defaultCommonName,
    notBefore: options.notBefore ?? CA_VALID_FROM,
    notAfter: options.notAfter ?? CA_VALID_UNTIL,
    rootKey: options.rootKey ?? generateKeyPair('P-384'),
  };
}

/**
 * A self-signed root (subject O and CN from `settings`): critical KeyUsage
 * keyCertSign and cRLSign, critical CA basicConstraints without a path
 * length, a subjectKeyIdentifier, and an authorityKeyIdentifier when asked.
 */
export function createRootCertificate(
  settings: RootSettings,
  options: { readonly authorityKeyIdentifier: boolean },
): CaCertificate {
  const { organization, commonName, notBefore, notAfter, rootKey } = settings;
  const subject = encodeName({ organization, commonName });
  const der = signCertificate(
    {
      issuer: subject,
      subject,
      notBefore,
      notAfter,
      publicKey: rootKey.publicKey,
      extensions: [
        keyUsageExtension(['keyCertSign', 'cRLSign']),
        basicConstraintsExtension({}),
        subjectKeyIdentifierExtension(rootKey.publicKey),
        ...(options.authorityKeyIdentifier ? [authorityKeyIdentifierExtension(rootKey.publicKey)] : []),
      ],
    },
    rootKey.privateKey,
  );
  return { der, pem: toPem('CERTIFICATE', der), keyPair: rootKey, subject };
}

export function createCertificateAuthority(options: CreateCaOptions = {}): CertificateAuthority {
  const settings = rootSettings(options, 'sigverify-test');
  const { organization, commonName, notBefore, notAfter, rootKey } = settings;
  const intermediateKey = options.intermediateKey ?? generateKeyPair('P-384');

  const root = createRootCertificate(settings, { authorityKeyIdentifier: true });

  const intermediateSubject = encodeName({ organization, commonName: `${commonName}-intermediate` });
  const intermediateDer = signCertificate(
    {
      issuer: root.subject,
      subject: intermediateSubject,
      notBefore,
      notAfter,
      publicKey: intermediateKey.publicKey,
      extensions: [
        keyUsageExtension(['keyCertSign', 'cRLSign']),
        extendedKeyUsageExtension([OID.codeSigning]),
        basicConstraintsExtension({ pathLength: 0 }),
        subjectKeyIdentifierExtension(intermediateKey.publicKey),
        authorityKeyIdentifierExtension(rootKey.publicKey),
      ],
    },
    rootKey.privateKey,
  );
  const intermediate: CaCertificate = {
    der: intermediateDer,
    pem: toPem('CERTIFICATE', intermediateDer),
    keyPair: intermediateKey,
    subject: intermediateSubject,
  };
  return { root, intermediate };
}

/** Rebuilds a CA from stored certificates and keys; fails if a key does not belong to its certificate. */
export function certificateAuthorityFromPem(stored: {
  readonly rootCertPem: string;
  readonly rootKey: KeyPair;
  readonly intermediateCertPem: string;
  readonly intermediateKey: KeyPair;
}): CertificateAuthority {
  return {
    root: caCertificateFromPem(stored.rootCertPem, stored.rootKey, 'root'),
    intermediate: caCertificateFromPem(stored.intermediateCertPem, stored.intermediateKey, 'intermediate'),
  };
}

/** A stored certificate with its key; fails if the key does not belong to the certificate. */
export function caCertificateFromPem(pem: string, keyPair: KeyPair, what: string): CaCertificate {
  const [der] = fromPem(pem);
  if (!der) throw new Error(`${what}: no certificate in PEM`);
  const tbs = child(readElement(der), 0, 'tbsCertificate');
  if (!child(tbs, 6, 'subjectPublicKeyInfo').bytes.equals(spkiDer(keyPair.publicKey))) {
    throw new Error(`${what}: private key does not match the certificate`);
  }
  return { der, pem: toPem('CERTIFICATE', der), keyPair, subject: child(tbs, 5, 'subject').bytes };
}

/** The cosign `dev.sigstore.cosign/chain` form: intermediate first, root last. */
export function chainPem(ca: CertificateAuthority): string {
  return ca.intermediate.pem + ca.root.pem;
}

// ---------------------------------------------------------------------------
// Leaf certificates

export type SubjectAltName =
  | { readonly kind: 'uri'; readonly value: string }
  | { readonly kind: 'email'; readonly value: string }
  | { readonly kind: 'otherName'; readonly value: string }
  | { readonly kind: 'dns'; readonly value: string };

/**
 * The OIDC issuer extensions. `v1` is `.1.1` (raw bytes), `v2` is `.1.8` (DER
 * UTF8String); either may be left out, and they may differ (ambiguity tests).
 */
export interface FulcioIssuer {
  readonly v1?: string;
  readonly v2?: string;
}

/** The deprecated GitHub claims `.1.2`–`.1.6`, raw string bytes. */
export interface GithubWorkflowClaims {
  readonly trigger?: string;
  readonly sha?: string;
  readonly name?: string;
  readonly repository?: string;
  readonly ref?: string;
}

export interface ExtraExtension {
  readonly oid: string;
  /** A string is encoded as DER UTF8String (Fulcio `.1.8`+); bytes are used as the raw extnValue. */
  readonly value: string | Uint8Array;
  readonly critical?: boolean;
}

export interface LeafOptions {
  readonly publicKey: KeyObject;
  /** One SAN (Fulcio) or several (BYO-PKI style). */
  readonly san: SubjectAltName | readonly SubjectAltName[];
  /** A string sets `.1.1` and `.1.8` to the same value. Omitted: no issuer extension. */
  readonly issuer?: string | FulcioIssuer;
  readonly github?: GithubWorkflowClaims;
  /** Appended after the Fulcio extensions, e.g. `.1.9`–`.1.23`. */
  readonly extensions?: readonly ExtraExtension[];
  /** Default now, truncated to whole seconds (X.509 time precision). */
  readonly notBefore?: Date;
  /** Default notBefore + 10 minutes. */
  readonly notAfter?: Date;
  /** Default [codeSigning]; `[]` leaves the EKU extension out. */
  readonly extendedKeyUsage?: readonly string[];
  /** When given, the certificate carries an SCT from this log (precertificate flow). */
  readonly ctlog?: CtLog;
  /** SCT timestamp; default notBefore. */
  readonly sctTimestamp?: Date;
}

export interface IssuedCertificate {
  readonly der: Buffer;
  readonly pem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Issues a Fulcio-style leaf from the intermediate. */
export function issueLeafCertificate(ca: CertificateAuthority, options: LeafOptions): IssuedCertificate {
  const notBefore = new Date(Math.floor((options.notBefore ?? new Date()).getTime() / 1000) * 1000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + LEAF_VALIDITY_MS);
  const issuerCert = ca.intermediate;
  const sans = Array.isArray(options.san) ? options.san : [options.san as SubjectAltName];
  const eku = options.extendedKeyUsage ?? [OID.codeSigning];

  const extensions: Buffer[] = [
    keyUsageExtension(['digitalSignature']),
    ...(eku.length > 0 ? [extendedKeyUsageExtension(eku)] : []),
    subjectKeyIdentifierExtension(options.publicKey),
    authorityKeyIdentifierExtension(issuerCert.keyPair.publicKey),
    extension(OID.subjectAltName, encodeGeneralNames(sans), true),
    ...fulcioExtensions(options),
  ];
  const template: CertificateTemplate = {
    issuer: issuerCert.subject,
    subject: sequence(), // Fulcio leaves have an empty subject; the SAN is critical.
    notBefore,
    notAfter,
    publicKey: options.publicKey,
    extensions,
  };

  let der: Buffer;
  if (options.ctlog) {
    const serialNumber = randomSerial();
    const precertificate = signCertificate(
      { ...template, serialNumber, extensions: [...extensions, extension(OID_CT_POISON, nullValue(), true)] },
      issuerCert.keyPair.privateKey,
    );
    const sct = logPrecertificate(options.ctlog, {
      precertificate,
      issuerSpki: spkiDer(issuerCert.keyPair.publicKey),
      timestamp: options.sctTimestamp ?? notBefore,
    });
    der = signCertificate(
      { ...template, serialNumber, extensions: [...extensions, extension(OID_CT_SCT_LIST, sctListExtensionValue([sct]))] },
      issuerCert.keyPair.privateKey,
    );
  } else {
    der = signCertificate(template, issuerCert.keyPair.privateKey);
  }
  return { der, pem: toPem('CERTIFICATE', der), notBefore, notAfter };
}

function fulcioExtensions(options: LeafOptions): Buffer[] {
  const issuer: FulcioIssuer =
    typeof options.issuer === 'string' ? { v1: options.issuer, v2: options.issuer } : (options.issuer ?? {});
  const raw = (id: string, value: string | undefined): Buffer[] =>
    value === undefined ? [] : [extension(id, Buffer.from(value, 'utf8'))];
  const github = options.github ?? {};
  return [
    ...raw(OID.fulcioIssuerV1, issuer.v1),
    ...raw(OID.githubWorkflowTrigger, github.trigger),
    ...raw(OID.githubWorkflowSha, github.sha),
    ...raw(OID.githubWorkflowName, github.name),
    ...raw(OID.githubWorkflowRepository, github.repository),
    ...raw(OID.githubWorkflowRef, github.ref),
    ...(issuer.v2 === undefined ? [] : [extension(OID.fulcioIssuerV2, utf8String(issuer.v2))]),
    ...(options.extensions ?? []).map((extra) =>
      extension(extra.oid, typeof extra.value === 'string' ? utf8String(extra.value) : extra.value, extra.critical),
    ),
  ];
}

// ---------------------------------------------------------------------------
// Certificate assembly (RFC 5280 §4.1)

export interface CertificateTemplate {
  /** Unsigned big-endian; default 20 random bytes, like Fulcio. */
  readonly serialNumber?: Uint8Array;
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: KeyObject;
  /** DER `Extension`s, in order. */
  readonly extensions: readonly Buffer[];
}

/** Builds and signs a v3 certificate; the signature hash follows the signing key's curve. */
export function signCertificate(template: CertificateTemplate, signingKey: KeyObject): Buffer {
  const algorithm = sequence(oid(curveOf(signingKey) === 'P-384' ? OID.ecdsaWithSha384 : OID.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(template.serialNumber ?? randomSerial()),
    algorithm,
    template.issuer,
    sequence(time(template.notBefore), time(template.notAfter)),
    template.subject,
    spkiDer(template.publicKey),
    ...(template.extensions.length > 0 ? [explicit(3, sequence(...template.extensions))] : []),
  );
  return sequence(tbs, algorithm, bitString(ecdsaSign(signingKey, tbs)));
}

export function encodeName(parts: NameParts): Buffer {
  const rdns: Buffer[] = [];
  if (parts.organization !== undefined) rdns.push(setOf(sequence(oid(OID.organization), printableString(parts.organization))));
  if (parts.commonName !== undefined) rdns.push(setOf(sequence(oid(OID.commonName), printableString(parts.commonName))));
  return sequence(...rdns);
}

/** The O and CN of a DER Name (the first of each). */
export function readNameParts(nameDer: Uint8Array): NameParts {
  const parts: { organization?: string; commonName?: string } = {};
  for (const rdn of children(readElement(nameDer))) {
    for (const attribute of children(rdn)) {
      const type = decodeOid(child(attribute, 0, 'AttributeType').content);
      const value = child(attribute, 1, 'AttributeValue').content.toString('utf8');
      if (type === OID.organization) parts.organization ??= value;
      if (type === OID.commonName) parts.commonName ??= value;
    }
  }
  return parts;
}

/** A DER `Extension`; `value` is the content of extnValue. */
export function extension(extensionOid: string, value: Uint8Array, critical = false): Buffer {
  return sequence(oid(extensionOid), ...(critical ? [boolean(true)] : []), octetString(value));
}

export function encodeGeneralNames(names: readonly SubjectAltName[]): Buffer {
  return sequence(
    ...names.map((name) => {
      switch (name.kind) {
        case 'email':
          return implicitPrimitive(1, Buffer.from(name.value, 'ascii'));
        case 'dns':
          return implicitPrimitive(2, Buffer.from(name.value, 'ascii'));
        case 'uri':
          return implicitPrimitive(6, Buffer.from(name.value, 'ascii'));
        case 'otherName':
          // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (RFC 5280 §4.2.1.6)
          return implicitConstructed(0, oid(OID.otherNameSan), explicit(0, utf8String(name.value)));
      }
    }),
  );
}

const KEY_USAGE_BITS = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

export function keyUsageExtension(usages: ReadonlyArray<keyof typeof KEY_USAGE_BITS>): Buffer {
  let byte = 0;
  for (const usage of usages) byte |= 0x80 >> KEY_USAGE_BITS[usage];
  let unused = 0;
  while (unused < 7 && (byte & (1 << unused)) === 0) unused++;
  return extension(OID.keyUsage, bitString(Buffer.from([byte]), unused), true);
}

export function extendedKeyUsageExtension(purposes: readonly string[], critical = false): Buffer {
  return extension(OID.extendedKeyUsage, sequence(...purposes.map((purpose) => oid(purpose))), critical);
}

export function basicConstraintsExtension(options: { readonly pathLength?: number }): Buffer {
  const pathLength = options.pathLength === undefined ? [] : [integer(options.pathLength)];
  return extension(OID.basicConstraints, sequence(boolean(true), ...pathLength), true);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const bits = child(readElement(spkiDer(publicKey)), 1, 'subjectPublicKey').content.subarray(1);
  return createHash('sha1').update(bits).digest();
}

export function subjectKeyIdentifierExtension(publicKey: KeyObject): Buffer {
  return extension(OID.subjectKeyIdentifier, octetString(keyIdentifier(publicKey)));
}

export function authorityKeyIdentifierExtension(issuerPublicKey: KeyObject): Buffer {
  return extension(OID.authorityKeyIdentifier, sequence(implicitPrimitive(0, keyIdentifier(issuerPublicKey))));
}

/** 20 random bytes, positive: Fulcio's serial number form. */
export function randomSerial(): Buffer {
  const serial = randomBytes(20);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  return serial;
}

/** The SANs of a certificate (URI, email, DNS, `.1.7` OtherName), in order; other kinds are skipped. */
export function readSubjectAltNames(certificateDer: Uint8Array): SubjectAltName[] {
  const tbs = child(readElement(certificateDer), 0, 'tbsCertificate');
  const extensionsField = children(tbs).find((field) => field.tag === 0xa3);
  if (!extensionsField) return [];
  const sanExtension = children(child(extensionsField, 0, 'extensions')).find(
    (ext) => decodeOid(child(ext, 0, 'extnID').content) === OID.subjectAltName,
  );
  if (!sanExtension) return [];
  const extnValue = children(sanExtension).at(-1);
  if (!extnValue) return [];
  const names: SubjectAltName[] = [];
  for (const name of children(readElement(extnValue.content))) {
    const text = name.content.toString('utf8');
    if (name.tag === 0x81) names.push({ kind: 'email', value: text });
    else if (name.tag === 0x82) names.push({ kind: 'dns', value: text });
    else if (name.tag === 0x86) names.push({ kind: 'uri', value: text });
    else if (name.tag === 0xa0) {
      const typeId = decodeOid(child(name, 0, 'type-id').content);
      const value = child(child(name, 1, 'value'), 0, 'UTF8String');
      if (typeId === OID.otherNameSan) names.push({ kind: 'otherName', value: value.content.toString('utf8') });
    }
  }
  return names;
}
