import { describe, expect, it } from 'vitest';
import { consistencyProof, inclusionProof, treeRoot, verifyConsistency } from '../../src/monitor/merkle.ts';
import { tileIndexPath } from '../../src/monitor/rekor-v2.ts';
import { rootFromInclusionProof } from '../../src/verify/checkpoint.ts';
import { leaf, mth, path, proof } from './fake-logs.ts';

/**
 * The monitor's RFC 9162 arithmetic against the definitions (fake-logs.ts
 * computes them by the letter of §2.1): every size up to 40, every index and
 * every old size.
 */
const leaves = Array.from({ length: 40 }, (_, i) => leaf(Buffer.from(`entry ${i}`)));
const source = (all: readonly Buffer[]) => (height: number, index: number): Promise<Buffer> => Promise.resolve(mth(all.slice(index * 2 ** height, (index + 1) * 2 ** height)));

describe('Merkle proofs (RFC 9162 §2.1)', () => {
  it('roots, inclusion and consistency proofs computed from node hashes equal the definitions, and verify', async () => {
    for (let n = 1; n <= leaves.length; n++) {
      const tree = leaves.slice(0, n);
      expect(await treeRoot(n, source(tree))).toEqual(mth(tree));
      for (let m = 0; m < n; m++) {
        const audit = await inclusionProof(m, n, source(tree));
        expect(audit).toEqual(path(m, tree));
        expect(rootFromInclusionProof(BigInt(m), BigInt(n), tree[m] as Buffer, audit)).toEqual(mth(tree));
        if (m === 0) continue;
        const consistency = await consistencyProof(m, n, source(tree));
        expect(consistency).toEqual(proof(m, tree));
        expect(verifyConsistency(BigInt(m), BigInt(n), mth(tree.slice(0, m)), mth(tree), consistency)).toEqual({ kind: 'consistent' });
      }
    }
  });

  it('a proof that leads to the new root but not the old one shows a fork; one that leads nowhere shows nothing', () => {
    const old = leaves.slice(0, 5);
    const rewritten = [leaf(Buffer.from('rewritten')), ...leaves.slice(1, 9)];
    expect(verifyConsistency(5n, 9n, mth(old), mth(rewritten), proof(5, rewritten))).toEqual({ kind: 'forked' });
    expect(verifyConsistency(5n, 9n, mth(old), mth(leaves.slice(0, 9)), proof(5, rewritten)).kind).toBe('invalid');
    expect(verifyConsistency(5n, 9n, mth(old), mth(leaves.slice(0, 9)), proof(5, leaves.slice(0, 9)).slice(1)).kind).toBe('invalid');
    expect(verifyConsistency(9n, 5n, mth(old), mth(old), [])).toEqual({ kind: 'forked' });
    expect(verifyConsistency(5n, 5n, mth(old), mth(leaves.slice(0, 5)), [])).toEqual({ kind: 'consistent' });
    expect(verifyConsistency(5n, 5n, mth(old), mth(rewritten.slice(0, 5)), [])).toEqual({ kind: 'forked' });
  });

  it('C2SP tlog-tiles index paths', () => {
    expect(tileIndexPath(0)).toBe('000');
    expect(tileIndexPath(7)).toBe('007');
    expect(tileIndexPath(1234)).toBe('x001/234');
    expect(tileIndexPath(1234067)).toBe('x001/x234/067');
  });
});
