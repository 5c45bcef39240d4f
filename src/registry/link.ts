/**
 * The `rel="next"` target of an HTTP `Link` header (RFC 8288 §3), as the
 * distribution spec uses it to paginate tag and referrers listings
 * ("Listing Referrers": `Link: <url>; rel="next"`).
 *
 *   Link       = #link-value
 *   link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
 *   link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
 *
 * The result is the raw URI reference, unresolved: the caller resolves it and
 * decides where it may go. A header we cannot parse, or one naming two
 * different next pages, is `invalid`: silently ignoring it would truncate the
 * listing.
 */
export type NextLink = { readonly next: string | undefined } | { readonly invalid: string };

// RFC 9110 §5.6.2 tchar.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const WHITESPACE = /^[ \t]*/;

export function nextLink(header: string | null): NextLink {
  if (header === null) return { next: undefined };
  let rest = header;
  const skipSpace = (): void => {
    rest = rest.replace(WHITESPACE, '');
  };
  const targets = new Set<string>();
  for (;;) {
    // `#rule` lists allow empty elements: `, ,<a>; rel=next`.
    rest = rest.replace(/^[ \t,]*/, '');
    if (rest === '') break;
    if (!rest.startsWith('<')) return { invalid: 'a link value does not start with "<"' };
    const end = rest.indexOf('>');
    if (end < 0) return { invalid: 'a link target has no closing ">"' };
    const target = rest.slice(1, end);
    rest = rest.slice(end + 1);
    let next = false;
    for (;;) {
      skipSpace();
      if (!rest.startsWith(';')) break;
      rest = rest.slice(1);
      skipSpace();
      const name = TOKEN.exec(rest)?.[0];
      if (name === undefined) return { invalid: 'a link parameter has no name' };
      rest = rest.slice(name.length);
      skipSpace();
      let value = '';
      if (rest.startsWith('=')) {
        rest = rest.slice(1);
        skipSpace();
        const parsed = parameterValue(rest);
        if (parsed === undefined) return { invalid: `link parameter ${name} has no valid value` };
        [value, rest] = parsed;
      }
      // rel is a space-separated list of case-insensitive relation types (RFC 8288 §3.3).
      if (name.toLowerCase() === 'rel' && value.toLowerCase().split(/[ \t]+/).includes('next')) next = true;
    }
    skipSpace();
    if (rest !== '' && !rest.startsWith(',')) return { invalid: 'unexpected characters after a link value' };
    if (next) targets.add(target);
  }
  if (targets.size > 1) return { invalid: 'more than one rel="next" link' };
  return { next: [...targets][0] };
}

/** A token or quoted-string (RFC 9110 §5.6.4) at the start of `input`: [value, rest], or undefined. */
function parameterValue(input: string): [string, string] | undefined {
  if (!input.startsWith('"')) {
    const token = TOKEN.exec(input)?.[0];
    return token === undefined ? undefined : [token, input.slice(token.length)];
  }
  let value = '';
  for (let i = 1; i < input.length; i++) {
    const char = input[i];
    if (char === '"') return [value, input.slice(i + 1)];
    if (char === '\\') {
      i++;
      if (i >= input.length) return undefined;
    }
    value += input[i] ?? '';
  }
  return undefined;
}
