import { describe, expect, it } from 'vitest';
import { MEDIA_TYPE, parseManifest, selectPlatform } from '../../src/oci/index.ts';
import { digestArb, hostileBytes, mutatedJsonBytes, reformattedJson, utf8 } from './arbitraries.ts';
import { fc, outcome, outcomeSummary, parsed, runs, titled } from './harness.ts';
import { seedsOf } from './seeds.ts';

/** Manifests and indexes (`parseManifest`): whatever a registry serves, and referrers listings. */

const CODES = ['MANIFEST_INVALID', 'LIMIT_EXCEEDED'] as const;
const manifests = seedsOf('manifests');

/**
 * Annotation keys for round trips. Not `__proto__`: zod drops that key from
 * every record on purpose (so it can never become a prototype), hence it
 * cannot round-trip. Dropping it is fail-safe: no cosign or OCI annotation has
 * that name, and policy lookups of a missing key refuse.
 */
const annotationKey = fc
  .oneof(fc.string({ maxLength: 12 }), fc.constantFrom('org.opencontainers.image.ref.name', 'dev.cosignproject.cosign/signature', 'constructor', 'toString'))
  .filter((key) => key !== '__proto__');
const annotations = fc.dictionary(annotationKey, fc.string({ unit: 'binary', maxLength: 40 }), { maxKeys: 4 });
const descriptorArb = fc.record(
  {
    mediaType: fc.string({ maxLength: 60 }),
    digest: digestArb,
    size: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    annotations,
    artifactType: fc.string({ maxLength: 60 }),
    platform: fc.record({ os: fc.constantFrom('linux', 'windows', ''), architecture: fc.constantFrom('amd64', 'arm64', 's390x'), variant: fc.constantFrom('v7', 'v8') }, { requiredKeys: ['os', 'architecture'] }),
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
);

describe('fuzz: parseManifest', () => {
  it(titled('arbitrary bytes: MANIFEST_INVALID, never another error', 'manifestHostile'), () => {
    fc.assert(
      fc.property(hostileBytes(), (bytes) => {
        outcome(() => parseManifest(bytes, 'fuzz'), CODES);
      }),
      runs('manifestHostile'),
    );
  });

  it(titled('mutations of committed and interop manifests: a manifest or a typed error; a parsed index selects platforms with typed errors', 'manifestMutated'), () => {
    fc.assert(
      fc.property(mutatedJsonBytes(manifests), (bytes) => {
        const result = outcome(() => parseManifest(bytes, 'fuzz'), CODES);
        if (result.ok && result.value.kind === 'index') {
          const index = result.value;
          outcome(() => selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'fuzz'), ['PLATFORM_NOT_FOUND']);
        }
      }),
      runs('manifestMutated'),
    );
  });

  it(titled('a generated manifest or index parses to the same descriptors', 'manifestRoundTrip'), () => {
    const body = fc.oneof(
      fc.record({
        kind: fc.constant('manifest' as const),
        mediaType: fc.constantFrom(MEDIA_TYPE.ociManifest, MEDIA_TYPE.dockerManifest, undefined),
        config: descriptorArb,
        layers: fc.array(descriptorArb, { maxLength: 6 }),
        subject: fc.option(descriptorArb, { nil: undefined }),
      }),
      fc.record({
        kind: fc.constant('index' as const),
        mediaType: fc.constantFrom(MEDIA_TYPE.ociIndex, MEDIA_TYPE.dockerManifestList, undefined),
        manifests: fc.array(descriptorArb, { maxLength: 6 }),
        subject: fc.option(descriptorArb, { nil: undefined }),
      }),
    );
    fc.assert(
      fc.property(body, fc.option(annotations, { nil: undefined }), (generated, topAnnotations) => {
        const { kind, mediaType, ...rest } = generated;
        const document = { schemaVersion: 2, ...(mediaType === undefined ? {} : { mediaType }), ...rest, ...(topAnnotations === undefined ? {} : { annotations: topAnnotations }) };
        const value = parsed(() => parseManifest(utf8(JSON.stringify(document)), 'fuzz'));
        const defaultType = kind === 'index' ? MEDIA_TYPE.ociIndex : MEDIA_TYPE.ociManifest;
        expect(value).toEqual({ ...JSON.parse(JSON.stringify(document)), kind, mediaType: mediaType ?? defaultType });
      }),
      runs('manifestRoundTrip'),
    );
  });

  it(titled('a committed manifest parses the same whatever its key order and whitespace', 'manifestReformatted'), () => {
    const values = manifests.map((m) => JSON.parse(m.toString('utf8')) as unknown);
    fc.assert(
      fc.property(reformattedJson(values), ({ seed, text }) => {
        const expected = outcome(() => parseManifest(utf8(JSON.stringify(seed)), 'fuzz'), CODES);
        expect(outcomeSummary(outcome(() => parseManifest(utf8(text), 'fuzz'), CODES))).toEqual(outcomeSummary(expected));
      }),
      runs('manifestReformatted'),
    );
  });
});
