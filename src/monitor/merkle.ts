import { createHash } from 'node:crypto';

/**
 * RFC 9162 Merkle tree arithmetic for the monitor: leaf and node hashes,
 * consistency-proof verification (§2.1.4.2), and proofs computed from a
 * source of node hashes (§2.1.3.1 PATH, §2.1.4.1 SUBPROOF) for logs that
 * publish tiles instead of proofs (Rekor v2, C2SP tlog-tiles).
 */

export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([0])).update(entry).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

/**
 * What a consistency proof shows. `forked`: the proof leads to the new
 * (signed) root, so the hashes in it are the new tree's, and the new tree's
 * first `oldSize` leaves do not hash to the old root: the two checkpoints
 * cannot both belong to one append-only log. `invalid`: the proof does not
 * lead to the new root; it shows nothing either way.
 */
export type ConsistencyVerdict = { readonly kind: 'consistent' } | { readonly kind: 'forked' } | { readonly kind: 'invalid'; readonly reason: string };

/** RFC 9162 §2.1.4.2, verifying that a tree of `oldSize` is a prefix of one of `newSize`. */
export function verifyConsistency(oldSize: bigint, newSize: bigint, oldRoot: Buffer, newRoot: Buffer, proof: readonly Buffer[]): ConsistencyVerdict {
  if (oldSize > newSize) return { kind: 'forked' };
  if (oldSize === newSize) {
    if (proof.length !== 0) return { kind: 'invalid', reason: 'a proof between equal sizes must be empty' };
    return oldRoot.equals(newRoot) ? { kind: 'consistent' } : { kind: 'forked' };
  }
  if (oldSize === 0n) return proof.length === 0 ? { kind: 'consistent' } : { kind: 'invalid', reason: 'a proof from the empty tree must be empty' };
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  const first = path[0];
  if (first === undefined) return { kind: 'invalid', reason: 'empty proof' };
  let fn = oldSize - 1n;
  let sn = newSize - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = first;
  let sr = first;
  for (const c of path.slice(1)) {
    if (sn === 0n) return { kind: 'invalid', reason: 'proof longer than the trees' };
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return { kind: 'invalid', reason: 'proof shorter than the trees' };
  if (!sr.equals(newRoot)) return { kind: 'invalid', reason: 'proof does not lead to the new root' };
  return fr.equals(oldRoot) ? { kind: 'consistent' } : { kind: 'forked' };
}

function isPowerOfTwo(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

/** The hash of the perfect subtree of height `level` whose leftmost leaf is `index * 2^level`. */
export type NodeSource = (level: number, index: number) => Promise<Buffer>;

/** The largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH of leaves [start, start + size): perfect aligned subtrees come from the source, the rest is hashed here. */
async function subtreeHash(start: number, size: number, node: NodeSource): Promise<Buffer> {
  if (Number.isInteger(Math.log2(size)) && start % size === 0) return node(Math.log2(size), start / size);
  const k = split(size);
  return nodeHash(await subtreeHash(start, k, node), await subtreeHash(start + k, size - k, node));
}

/** The root of a tree of `size` leaves (RFC 9162 §2.1.1), from a node source (tests compute fake logs with it). */
export async function treeRoot(size: number, node: NodeSource): Promise<Buffer> {
  if (size === 0) return createHash('sha256').digest();
  return subtreeHash(0, size, node);
}

/** RFC 9162 §2.1.3.1: the audit path of leaf `index` in a tree of `size`, leaf-most first. */
export async function inclusionProof(index: number, size: number, node: NodeSource): Promise<Buffer[]> {
  const walk = async (m: number, start: number, n: number): Promise<Buffer[]> => {
    if (n <= 1) return [];
    const k = split(n);
    return m < k
      ? [...(await walk(m, start, k)), await subtreeHash(start + k, n - k, node)]
      : [...(await walk(m - k, start + k, n - k)), await subtreeHash(start, k, node)];
  };
  return walk(index, 0, size);
}

/** RFC 9162 §2.1.4.1: the consistency proof from a tree of `oldSize` to one of `newSize` (0 < oldSize < newSize). */
export async function consistencyProof(oldSize: number, newSize: number, node: NodeSource): Promise<Buffer[]> {
  const sub = async (m: number, start: number, n: number, complete: boolean): Promise<Buffer[]> => {
    if (m === n) return complete ? [] : [await subtreeHash(start, n, node)];
    const k = split(n);
    return m <= k
      ? [...(await sub(m, start, k, complete)), await subtreeHash(start + k, n - k, node)]
      : [...(await sub(m - k, start + k, n - k, false)), await subtreeHash(start, k, node)];
  };
  return sub(oldSize, 0, newSize, true);
}
