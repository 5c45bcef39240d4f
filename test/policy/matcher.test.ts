import { describe, expect, it } from 'vitest';
import { exactMatcher, matches, regexpMatcher } from '../../src/policy/index.ts';

const WORKFLOW = 'https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main';

describe('exact matching (the default)', () => {
  it('matches only the identical string', () => {
    const m = exactMatcher('a@b.com');
    expect(matches(m, 'a@b.com')).toBe(true);
    // sigstore-js's unanchored regexp would accept both (docs/formats.md pitfall 6).
    expect(matches(m, 'xa@bXcom.evil')).toBe(false);
    expect(matches(m, 'a@b.com.evil')).toBe(false);
    expect(matches(m, undefined)).toBe(false);
  });
});

describe('regexp matching is anchored to the whole value', () => {
  it('refuses the attacker-branch and query-string bypasses of unanchored matchers', () => {
    const m = regexpMatcher('https://github\\.com/org/repo/\\.github/workflows/release\\.yml@refs/heads/main', 'identity');
    expect(matches(m, WORKFLOW)).toBe(true);
    expect(matches(m, `${WORKFLOW}-evil`)).toBe(false);
    expect(matches(m, `https://evil.example/?u=${WORKFLOW}`)).toBe(false);
  });

  it('keeps alternations inside the anchors', () => {
    const m = regexpMatcher('a|b', 'identity');
    expect(matches(m, 'a')).toBe(true);
    expect(matches(m, 'xa')).toBe(false);
    expect(matches(m, 'bx')).toBe(false);
  });

  it('cannot be escaped by unbalanced groups', () => {
    expect(() => regexpMatcher('a)|(b', 'identity')).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }));
    expect(() => regexpMatcher('[', 'identity')).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }));
  });

  it('does not treat a newline before the end as the end', () => {
    expect(matches(regexpMatcher('abc', 'identity'), 'abc\n')).toBe(false);
  });
});
