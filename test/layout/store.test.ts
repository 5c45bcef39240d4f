import { describe, expect, it } from 'vitest';
import { LayoutStore } from '../../src/layout/store.ts';
import { sha256Digest } from '../../src/reference/index.ts';

describe('LayoutStore.getReferrers', () => {
  // image-spec `image-layout.md` has no referrers API; discovery falls back to the `sha256-<hex>` tag.
  it('reports "unsupported" without reading the layout', async () => {
    const store = new LayoutStore('/nonexistent/layout');
    expect(await store.getReferrers(sha256Digest(new Uint8Array()))).toEqual({ kind: 'unsupported' });
  });
});
