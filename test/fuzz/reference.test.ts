import { describe, expect, it } from 'vitest';
import { formatPlatform, parsePlatform, selectPlatform } from '../../src/oci/index.ts';
import { formatReference, parseReference } from '../../src/reference/index.ts';
import { charOf, digestArb, hostileText, referenceArb, tagArb } from './arbitraries.ts';
import { fc, neverThrows, outcome, parsed, runs, titled } from './harness.ts';

/** Image references (`parseReference`) and platforms (`parsePlatform`): CLI arguments, policy files, `docker-reference` claims. */

describe('fuzz: parseReference', () => {
  it(titled('arbitrary text: a reference or REFERENCE_INVALID, never anything else', 'referenceHostile'), () => {
    fc.assert(
      fc.property(fc.oneof(hostileText(300), fc.string({ unit: 'grapheme-ascii', minLength: 4000, maxLength: 4200 })), (input) => {
        const result = outcome(() => parseReference(input), ['REFERENCE_INVALID']);
        // What parses formats back to something that parses to the same value.
        if (result.ok) expect(parseReference(formatReference(result.value))).toEqual(result.value);
      }),
      runs('referenceHostile'),
    );
  });

  it(titled('mutations of valid references: typed errors only', 'referenceMutated'), () => {
    const mutation = fc.tuple(fc.nat(), charOf('/:@.-_ A[]\0\n'), fc.constantFrom('insert', 'replace', 'delete'));
    fc.assert(
      fc.property(referenceArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (ref, mutations) => {
        let text = ref.text;
        for (const [at, char, op] of mutations) {
          const i = at % (text.length + 1);
          text = op === 'insert' ? text.slice(0, i) + char + text.slice(i) : op === 'replace' ? text.slice(0, i) + char + text.slice(i + 1) : text.slice(0, i) + text.slice(i + 1);
        }
        const mutated = text;
        outcome(() => parseReference(mutated), ['REFERENCE_INVALID']);
        outcome(() => parseReference(`oci:${mutated}`), ['REFERENCE_INVALID']);
      }),
      runs('referenceMutated'),
    );
  });

  it(titled('a generated valid reference parses to its normalised parts and formats back', 'referenceRoundTrip'), () => {
    fc.assert(
      fc.property(referenceArb, (ref) => {
        const value = parsed(() => parseReference(ref.text));
        const { text: _text, ...expected } = ref;
        expect(value).toEqual({ kind: 'registry', ...expected });
        const formatted = formatReference(value);
        expect(parseReference(formatted)).toEqual(value);
        // The formatted form is the normalised one: formatting is idempotent.
        expect(formatReference(parseReference(formatted))).toBe(formatted);
      }),
      runs('referenceRoundTrip'),
    );
  });

  it(titled('oci: layout references round-trip', 'layoutRoundTrip'), () => {
    // No ':' or '@' in the path: `oci:DIR:x` reads x as a tag, and '@' starts a digest.
    const pathArb = fc.string({ unit: charOf('abc/._-0 é'), minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(pathArb, fc.option(tagArb, { nil: undefined }), fc.option(digestArb, { nil: undefined }), (path, tag, digest) => {
        const value = parsed(() => parseReference(`oci:${path}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`));
        expect(value).toEqual({ kind: 'layout', path, ...(tag === undefined && digest === undefined ? { tag: 'latest' } : tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) });
        expect(parseReference(formatReference(value))).toEqual(value);
      }),
      runs('layoutRoundTrip'),
    );
  });
});

describe('fuzz: parsePlatform', () => {
  it(titled('arbitrary text: a platform or USAGE; selection from an index is PLATFORM_NOT_FOUND or a descriptor', 'platformHostile'), () => {
    fc.assert(
      fc.property(hostileText(60), (input) => {
        const result = outcome(() => parsePlatform(input), ['USAGE']);
        if (!result.ok) return;
        const index = { kind: 'index' as const, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
        outcome(() => selectPlatform(index, result.value, 'index'), ['PLATFORM_NOT_FOUND']);
        neverThrows(() => formatPlatform(result.value));
      }),
      runs('platformHostile'),
    );
  });

  it(titled('os/arch[/variant] round-trips', 'platformRoundTrip'), () => {
    const part = fc.string({ unit: charOf('abz09_.-'), minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(part, part, fc.option(part, { nil: undefined }), (os, architecture, variant) => {
        const text = `${os}/${architecture}${variant === undefined ? '' : `/${variant}`}`;
        const value = parsed(() => parsePlatform(text));
        expect(value).toEqual({ os, architecture, ...(variant === undefined ? {} : { variant }) });
        expect(formatPlatform(value)).toBe(text);
      }),
      runs('platformRoundTrip'),
    );
  });
});
