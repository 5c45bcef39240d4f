import { randomBytes } from 'node:crypto';
import {
  OID,
  authorityKeyIdentifierExtension,
  caCertificateFromPem,
  createRootCertificate,
  encodeName,
  extendedKeyUsageExtension,
  keyUsageExtension,
  randomSerial,
  readNameParts,
  rootSettings,
  signCertificate,
  subjectKeyIdentifierExtension,
  type CaCertificate,
  type NameParts,
} from './ca.ts';
import {
  TAG,
  child,
  explicit,
  implicitConstructed,
  integer,
  octetString,
  oid,
  readElement,
  sequence,
  setOf,
  time,
  tlv,
  toPem,
} from './der.ts';
import { ecdsaSign, generateKeyPair, sha256, type KeyPair } from './keys.ts';

/**
 * An RFC 3161 time-stamping authority, like Sigstore's timestamp-authority
 * (`timestamp.sigstore.dev`): a self-signed P-384 root and a P-256 signing
 * certificate with the critical timeStamping EKU (RFC 3161 §2.3). Responses
 * are DER `TimeStampResp`s (RFC 3161 §2.4.2) carrying a CMS SignedData
 * (RFC 5652 §5) over a `TSTInfo`, with the signed attributes sigstore-js
 * (`core/src/rfc3161`) and sigstore-go read: content type, message digest and
 * ESS signingCertificateV2 (RFC 5035). What a bundle's
 * `timestampVerificationData.rfc3161Timestamps[].signedTimestamp` holds, and
 * what cosign's `dev.sigstore.cosign/rfc3161timestamp` annotation wraps.
 */

export const OID_TSA = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha256: '2.16.840.1.101.3.4.2.1',
  /** The policy Sigstore's timestamp-authority answers with. */
  sigstorePolicy: '1.3.6.1.4.1.57264.2',
} as const;

export interface TimestampAuthority {
  readonly root: CaCertificate;
  /** The TSA certificate and its key: what signs the responses. */
  readonly signer: CaCertificate;
  /** The root's subject: the trusted root's `timestampAuthorities[].subject`. */
  readonly subject: NameParts;
  /**
   * A granted `TimeStampResp` (base64 DER) whose message imprint is
   * sha256(`data`). Sigstore timestamps the signature bytes (docs/formats.md
   * §1.5, §2.2).
   */
  timestamp(data: Uint8Array, options?: TimestampOptions): string;
}

export interface TimestampOptions {
  /** TSTInfo genTime, whole seconds; default now. */
  readonly genTime?: Date;
  /** Put the TSA certificate in the SignedData (a request with certReq, as sigstore-go sends). Default true. */
  readonly includeCertificate?: boolean;
}

export interface CreateTimestampAuthorityOptions {
  readonly rootKey?: KeyPair;
  readonly signerKey?: KeyPair;
  /** Subject O of both certificates. Default `sigverify.test`. */
  readonly organization?: string;
  /** CN of the root; the signer's is `<commonName> signing`. Default `sigverify-tsa`. */
  readonly commonName?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

export function createTimestampAuthority(options: CreateTimestampAuthorityOptions = {}): TimestampAuthority {
  const settings = rootSettings(options, 'sigverify-tsa');
  const { organization, commonName, notBefore, notAfter, rootKey } = settings;
  const signerKey = options.signerKey ?? generateKeyPair('P-256');

  const root = createRootCertificate(settings, { authorityKeyIdentifier: false });
  const signerSubject = encodeName({ organization, commonName: `${commonName} signing` });
  const signerDer = signCertificate(
    {
      serialNumber: randomSerial(),
      issuer: root.subject,
      subject: signerSubject,
      notBefore,
      notAfter,
      publicKey: signerKey.publicKey,
      extensions: [
        keyUsageExtension(['digitalSignature']),
        extendedKeyUsageExtension([OID.timeStamping], true),
        subjectKeyIdentifierExtension(signerKey.publicKey),
        authorityKeyIdentifierExtension(rootKey.publicKey),
      ],
    },
    rootKey.privateKey,
  );
  return timestampAuthorityFromPem({
    rootCertPem: root.pem,
    rootKey,
    signerCertPem: toPem('CERTIFICATE', signerDer),
    signerKey,
  });
}

/** Rebuilds a TSA from stored certificates and keys; fails if a key does not belong to its certificate. */
export function timestampAuthorityFromPem(stored: {
  readonly rootCertPem: string;
  readonly rootKey: KeyPair;
  readonly signerCertPem: string;
  readonly signerKey: KeyPair;
}): TimestampAuthority {
  const root = caCertificateFromPem(stored.rootCertPem, stored.rootKey, 'TSA root');
  const signer = caCertificateFromPem(stored.signerCertPem, stored.signerKey, 'TSA signer');
  return {
    root,
    signer,
    subject: readNameParts(root.subject),
    timestamp(data, options = {}) {
      return timeStampResponse(signer, sha256(data), options).toString('base64');
    },
  };
}

// ---------------------------------------------------------------------------
// RFC 3161 §2.4.2 TimeStampResp, RFC 5652 SignedData

function algorithm(dotted: string): Buffer {
  return sequence(oid(dotted));
}

function generalizedTime(date: Date): Buffer {
  const digits = date.toISOString().slice(0, 19).replace(/[-:T]/g, '');
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'ascii'));
}

function attribute(type: string, value: Buffer): Buffer {
  return sequence(oid(type), setOf(value));
}

function timeStampResponse(signer: CaCertificate, imprint: Buffer, options: TimestampOptions): Buffer {
  const genTime = new Date(Math.floor((options.genTime ?? new Date()).getTime() / 1000) * 1000);
  // TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, ... }
  const tstInfo = sequence(
    integer(1),
    oid(OID_TSA.sigstorePolicy),
    sequence(algorithm(OID_TSA.sha256), octetString(imprint)),
    integer(randomBytes(16)),
    generalizedTime(genTime),
  );

  const tbs = child(readElement(signer.der), 0, 'tbsCertificate');
  const issuer = child(tbs, 3, 'issuer').bytes;
  const serial = child(tbs, 1, 'serialNumber').bytes;
  // ESS SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 { certHash (sha256, the default), issuerSerial } }
  const essCertId = sequence(octetString(sha256(signer.der)), sequence(sequence(explicit(4, issuer)), serial));
  const signedAttributes = setOf(
    attribute(OID_TSA.contentType, oid(OID_TSA.tstInfo)),
    attribute(OID_TSA.signingTime, time(genTime)),
    attribute(OID_TSA.messageDigest, octetString(sha256(tstInfo))),
    attribute(OID_TSA.signingCertificateV2, sequence(sequence(essCertId))),
  );
  // RFC 5652 §5.4: the signature covers the DER SET OF; the SignerInfo carries it as [0] IMPLICIT.
  const signature = ecdsaSign(signer.keyPair.privateKey, signedAttributes, 'sha256');
  const signerInfo = sequence(
    integer(1),
    sequence(issuer, serial),
    algorithm(OID_TSA.sha256),
    tlv(0xa0, readElement(signedAttributes).content),
    algorithm(OID.ecdsaWithSha256),
    octetString(signature),
  );
  const signedData = sequence(
    integer(3),
    setOf(algorithm(OID_TSA.sha256)),
    sequence(oid(OID_TSA.tstInfo), explicit(0, octetString(tstInfo))),
    ...(options.includeCertificate === false ? [] : [implicitConstructed(0, signer.der)]),
    setOf(signerInfo),
  );
  const token = sequence(oid(OID_TSA.signedData), explicit(0, signedData));
  // PKIStatusInfo { status granted(0) }
  return sequence(sequence(integer(0)), token);
}
