import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_CERTIFICATE,
  ANNOTATION_REKOR_BUNDLE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  COSIGN_SIGNATURE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  assertCosignSignatureType,
  parseLegacyAnnotations,
  parseRekorBundle,
  parseRfc3161Annotation,
  parseSimpleSigningPayload,
  parseStatement,
  subjectFor,
} from '../../src/cosign/index.ts';
import { base64Arb, digestArb, hex, hostileBytes, hostileJsonValue, hostileText, mutatedJsonBytes, mutatedJsonText, mutatedJsonValue, utf8 } from './arbitraries.ts';
import { fc, outcome, parsed, runs, titled } from './harness.ts';
import { seedsOf } from './seeds.ts';

/** cosign's formats: simple-signing payloads, layer annotations, Rekor bundles, in-toto statements. */

/** Record keys for round trips; `__proto__` is dropped by zod on purpose (see manifest.test.ts). */
const key = fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__');

describe('fuzz: parseSimpleSigningPayload', () => {
  const CODES = ['PAYLOAD_INVALID'] as const;

  it(titled('arbitrary bytes: PAYLOAD_INVALID only', 'payloadHostile'), () => {
    fc.assert(
      fc.property(hostileBytes(), (bytes) => {
        const result = outcome(() => parseSimpleSigningPayload(bytes), CODES);
        if (result.ok) outcome(() => { assertCosignSignatureType(result.value); }, ['PAYLOAD_TYPE_MISMATCH']);
      }),
      runs('payloadHostile'),
    );
  });

  it(titled('mutations of committed and interop payloads: a payload or PAYLOAD_INVALID / PAYLOAD_TYPE_MISMATCH', 'payloadMutated'), () => {
    fc.assert(
      fc.property(mutatedJsonBytes(seedsOf('payloads')), (bytes) => {
        const result = outcome(() => parseSimpleSigningPayload(bytes), CODES);
        if (result.ok) outcome(() => { assertCosignSignatureType(result.value); }, ['PAYLOAD_TYPE_MISMATCH']);
      }),
      runs('payloadMutated'),
    );
  });

  it(titled('a generated payload parses to its digest, reference and optional claims', 'payloadRoundTrip'), () => {
    fc.assert(
      fc.property(
        digestArb,
        fc.option(fc.string({ unit: 'binary', maxLength: 80 }), { nil: undefined }),
        fc.oneof(fc.constant(null), fc.constant(undefined), fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })),
        (digest, dockerReference, optional) => {
          const document = {
            critical: { identity: dockerReference === undefined ? {} : { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type: COSIGN_SIGNATURE_TYPE },
            ...(optional === undefined ? {} : { optional }),
          };
          const payload = parsed(() => parseSimpleSigningPayload(utf8(JSON.stringify(document))));
          expect(payload).toEqual({ dockerReference, imageDigest: digest, type: COSIGN_SIGNATURE_TYPE, optional: JSON.parse(JSON.stringify(optional ?? {})) as unknown });
          parsed(() => { assertCosignSignatureType(payload); });
        },
      ),
      runs('payloadRoundTrip'),
    );
  });
});

describe('fuzz: parseLegacyAnnotations and parseRfc3161Annotation', () => {
  const stringRecord = (value: unknown): Record<string, string> | undefined =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string') ? (value as Record<string, string>) : undefined;

  it(titled('arbitrary annotation maps: ANNOTATION_INVALID only', 'annotationsHostile'), () => {
    const annotationMap = fc.dictionary(
      fc.oneof(fc.constantFrom(ANNOTATION_SIGNATURE, ANNOTATION_CERTIFICATE, ANNOTATION_REKOR_BUNDLE, ANNOTATION_RFC3161, '__proto__'), key),
      hostileText(120),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(annotationMap, fc.constantFrom('signature' as const, 'attestation' as const), hostileJsonValue(), (annotations, kind, value) => {
        outcome(() => parseLegacyAnnotations(annotations, kind), ['ANNOTATION_INVALID']);
        // The manifest schema only lets string maps through, but the parser must not rely on it.
        outcome(() => parseLegacyAnnotations(value as Record<string, string>, kind), ['ANNOTATION_INVALID']);
      }),
      runs('annotationsHostile'),
    );
  });

  it(titled('mutations of real layer annotations: typed errors only', 'annotationsMutated'), () => {
    fc.assert(
      fc.property(mutatedJsonValue(seedsOf('annotations')), fc.constantFrom('signature' as const, 'attestation' as const), (value, kind) => {
        const annotations = stringRecord(value);
        if (annotations === undefined) return;
        const result = outcome(() => parseLegacyAnnotations(annotations, kind), ['ANNOTATION_INVALID']);
        if (result.ok && result.value.rfc3161 !== undefined) outcome(() => parseRfc3161Annotation(result.value.rfc3161 as string), ['ANNOTATION_INVALID']);
      }),
      runs('annotationsMutated'),
    );
  });

  it(titled('generated annotations round-trip (wrapped base64 signatures unwrapped)', 'annotationsRoundTrip'), () => {
    const wrapped = fc.tuple(base64Arb, fc.integer({ min: 1, max: 80 }), fc.constantFrom('\n', '\r\n')).map(([b64, width, eol]) => ({
      b64,
      text: (b64.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol),
    }));
    const optionalText = fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''), { nil: undefined });
    fc.assert(
      fc.property(wrapped, optionalText, optionalText, optionalText, ({ b64, text }, certificatePem, rekorBundle, rfc3161) => {
        const annotations = {
          [ANNOTATION_SIGNATURE]: text,
          ...(certificatePem === undefined ? {} : { [ANNOTATION_CERTIFICATE]: certificatePem }),
          ...(rekorBundle === undefined ? {} : { [ANNOTATION_REKOR_BUNDLE]: rekorBundle }),
          ...(rfc3161 === undefined ? {} : { [ANNOTATION_RFC3161]: rfc3161 }),
        };
        expect(parsed(() => parseLegacyAnnotations(annotations))).toEqual({ signature: b64, certificatePem, rekorBundle, rfc3161 });
        expect(parsed(() => parseLegacyAnnotations(annotations, 'attestation'))).toEqual({ signature: '', certificatePem, rekorBundle, rfc3161 });
      }),
      runs('annotationsRoundTrip'),
    );
  });

  it(titled('arbitrary RFC 3161 annotations: ANNOTATION_INVALID only', 'rfc3161Hostile'), () => {
    fc.assert(
      fc.property(hostileText(), (text) => {
        outcome(() => parseRfc3161Annotation(text), ['ANNOTATION_INVALID']);
      }),
      runs('rfc3161Hostile'),
    );
  });

  it(titled('a generated RFC 3161 annotation yields its timestamp', 'rfc3161RoundTrip'), () => {
    fc.assert(
      fc.property(base64Arb, (b64) => {
        expect(parsed(() => parseRfc3161Annotation(JSON.stringify({ SignedRFC3161Timestamp: b64 })))).toBe(b64);
      }),
      runs('rfc3161RoundTrip'),
    );
  });
});

describe('fuzz: parseRekorBundle', () => {
  const CODES = ['TLOG_ENTRY_INVALID'] as const;

  it(titled('arbitrary text: TLOG_ENTRY_INVALID only', 'rekorHostile'), () => {
    fc.assert(
      fc.property(hostileText(), (text) => {
        outcome(() => parseRekorBundle(text), CODES);
      }),
      runs('rekorHostile'),
    );
  });

  it(titled('mutations of real Rekor bundle annotations: typed errors only', 'rekorMutated'), () => {
    const seeds = seedsOf('rekorBundles').map((s) => JSON.parse(s) as unknown);
    fc.assert(
      fc.property(mutatedJsonText(seeds), (text) => {
        outcome(() => parseRekorBundle(text), CODES);
      }),
      runs('rekorMutated'),
    );
  });

  it(titled('a generated Rekor bundle round-trips', 'rekorRoundTrip'), () => {
    const time = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    fc.assert(
      fc.property(base64Arb, base64Arb, time, time, hex(64), (set, body, integratedTime, logIndex, logID) => {
        const annotation = JSON.stringify({ SignedEntryTimestamp: set, Payload: { body, integratedTime, logIndex, logID } });
        expect(parsed(() => parseRekorBundle(annotation))).toEqual({ signedEntryTimestamp: set, body, integratedTime, logIndex, logIdHex: logID });
      }),
      runs('rekorRoundTrip'),
    );
  });
});

describe('fuzz: parseStatement', () => {
  const CODES = ['PAYLOAD_INVALID', 'PAYLOAD_TYPE_MISMATCH'] as const;

  it(titled('arbitrary payload types and bytes: typed errors only', 'statementHostile'), () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(IN_TOTO_PAYLOAD_TYPE), hostileText(80)), hostileBytes(), (payloadType, bytes) => {
        outcome(() => parseStatement(payloadType, bytes), CODES);
      }),
      runs('statementHostile'),
    );
  });

  it(titled('mutations of real statements: a statement or typed errors; subject lookup too', 'statementMutated'), () => {
    fc.assert(
      fc.property(mutatedJsonBytes(seedsOf('statements')), digestArb, (bytes, digest) => {
        const result = outcome(() => parseStatement(IN_TOTO_PAYLOAD_TYPE, bytes), CODES);
        if (result.ok) outcome(() => subjectFor(result.value, digest), ['PAYLOAD_DIGEST_MISMATCH']);
      }),
      runs('statementMutated'),
    );
  });

  it(titled('a generated statement round-trips and its subject is found by digest', 'statementRoundTrip'), () => {
    const subject = fc.record({ name: fc.string({ maxLength: 20 }), digest: fc.record({ sha256: hex(64) }) }, { requiredKeys: ['digest'] });
    fc.assert(
      fc.property(
        fc.constantFrom('https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'),
        fc.array(subject, { minLength: 1, maxLength: 4 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.jsonValue({ maxDepth: 3 }),
        fc.nat(),
        (type, subjects, predicateType, predicate, which) => {
          const statement = { _type: type, subject: subjects, predicateType, predicate };
          const value = parsed(() => parseStatement(IN_TOTO_PAYLOAD_TYPE, utf8(JSON.stringify(statement))));
          expect(value).toEqual(JSON.parse(JSON.stringify(statement)));
          const wanted = subjects[which % subjects.length]?.digest.sha256 ?? '';
          expect(parsed(() => subjectFor(value, `sha256:${wanted}`)).digest['sha256']).toBe(wanted);
        },
      ),
      runs('statementRoundTrip'),
    );
  });
});
