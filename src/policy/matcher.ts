import { SigverifyError } from '../errors.ts';
import { oneLine, quote } from '../text/quote.ts';

/**
 * String matchers for identities and issuers. Exact by default; a regular
 * expression only when asked for, and then it must match the whole value.
 * cosign (Go `regexp.MatchString`) and sigstore-js (`String#match`) both
 * match unanchored, so `…@refs/heads/main` also accepts
 * `…@refs/heads/main-evil` (cosign-formats §4.6, pitfall 6). We never do.
 */
export type Matcher =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'regexp'; readonly source: string; readonly regexp: RegExp };

export function exactMatcher(value: string): Matcher {
  return { kind: 'exact', value };
}

/**
 * Compiles `source` as a JavaScript regular expression that must match the
 * entire value. The source is first compiled on its own: only a well-formed
 * expression is wrapped, so `a)|(b` cannot escape the anchors.
 */
export function regexpMatcher(source: string, field: string): Matcher {
  let regexp: RegExp;
  try {
    new RegExp(source, 'u');
    regexp = new RegExp(`^(?:${source})$`, 'u');
    // V8 compiles a pattern on its first match (once per subject encoding), and
    // only then refuses one that is too large, as a SyntaxError. Found by the
    // fuzz suite (test/fuzz/policy.test.ts): a 100 KB source escaped from
    // `matches` as a SyntaxError. Compile it for both encodings here.
    regexp.test('');
    regexp.test('\u0100');
  } catch (cause) {
    throw new SigverifyError('POLICY_INVALID', `${field}: "${source}" is not a valid regular expression`, { cause });
  }
  return { kind: 'regexp', source, regexp };
}

export function matches(matcher: Matcher, value: string | undefined): boolean {
  if (value === undefined) return false;
  return matcher.kind === 'exact' ? matcher.value === value : matcher.regexp.test(value);
}

export function describeMatcher(matcher: Matcher): string {
  return matcher.kind === 'exact' ? quote(matcher.value) : `/^(?:${oneLine(matcher.source, 200)})$/`;
}
