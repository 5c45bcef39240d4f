import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_DECISIONS, type AuditEntry, type AuditProblem, AuditLog, GENESIS_PREV, canonicalJson, summarizeAuditLog, verifyAuditLog } from '../../src/audit/index.ts';
import { sealRecord } from '../../src/audit/record.ts';
import { digestArb, hostileText, mutatedJsonText } from './arbitraries.ts';
import { fc, neverThrows, outcomeAsync, runs, titled } from './harness.ts';

/**
 * Audit trails read back (`audit verify`, `audit summary`, and the last line
 * an append chains to): a trail may be damaged or edited by anyone with write
 * access. Verification reports the first problem as a value; it never throws
 * for what is in the file.
 */

const PROBLEMS: readonly AuditProblem[] = ['LINE_TOO_LONG', 'INCOMPLETE_LINE', 'NOT_JSON', 'NOT_A_RECORD', 'HASH_MISMATCH', 'PREV_MISMATCH', 'SEQ_MISMATCH', 'HEAD_NOT_FOUND', 'TOO_FEW_RECORDS'];
/** A smaller line cap, so over-long lines are reached without megabytes of text; deep enough nesting to overflow the stack still fits. */
const LIMITS = { maxAuditLineBytes: 64 * 1024 };

const entryArb: fc.Arbitrary<AuditEntry> = fc.record(
  {
    time: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2040-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    module: fc.string({ maxLength: 12 }),
    reference: fc.string({ unit: 'binary', maxLength: 40 }),
    digest: digestArb,
    decision: fc.constantFrom(...AUDIT_DECISIONS),
    reason: fc.constantFrom('NO_SIGNATURES', 'REGISTRY_TIMEOUT', 'INTERNAL_ERROR' as const),
    signatureReasons: fc.array(fc.constantFrom('IDENTITY_MISMATCH', 'verified'), { maxLength: 3 }),
    cached: fc.boolean(),
    durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
    sigverifyVersion: fc.constant('0.1.0'),
  },
  { requiredKeys: ['time', 'reference', 'decision', 'cached', 'durationMs', 'sigverifyVersion'] },
);

const EXAMPLE_ENTRY: AuditEntry = { time: '2026-01-01T00:00:00.000Z', reference: 'ghcr.io/org/app:1', decision: 'verified', cached: false, durationMs: 1, sigverifyVersion: '0.1.0' };
const NO_CANONICAL_FORM = ['1e999', `${'['.repeat(20_000)}${']'.repeat(20_000)}`].map((raw) => `${sealRecord(EXAMPLE_ENTRY, 1, GENESIS_PREV).line.trimEnd().slice(0, -1)},"extra":${raw}}`);

let dir: string;
let n = 0;
const nextPath = (): string => join(dir, `trail-${n++}.jsonl`);
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigverify-fuzz-audit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A valid trail of the given entries, written the way sigverify writes it. */
async function writeTrail(path: string, entries: readonly AuditEntry[]): Promise<string[]> {
  const log = new AuditLog(path, { fsync: false, limits: LIMITS });
  for (const entry of entries) await log.append(entry);
  return (await readFile(path, 'utf8')).split('\n').slice(0, -1);
}

/** Verification and summary of whatever is in the file: results, never rejections; an append chains to it or refuses with AUDIT_UNAVAILABLE. */
async function readBack(path: string, entry: AuditEntry): Promise<{ ok: boolean; problem?: AuditProblem }> {
  const verified = await outcomeAsync(() => verifyAuditLog(path, { limits: LIMITS }), [], 'audit verify');
  if (!verified.ok) throw new Error('unreachable');
  if (verified.value.problem !== undefined) expect(PROBLEMS).toContain(verified.value.problem.code);
  await outcomeAsync(() => summarizeAuditLog(path, { limits: LIMITS }), [], 'audit summary');
  await outcomeAsync(() => new AuditLog(path, { fsync: false, limits: LIMITS }).append(entry), ['AUDIT_UNAVAILABLE'], 'audit append');
  return { ok: verified.value.ok, ...(verified.value.problem === undefined ? {} : { problem: verified.value.problem.code }) };
}

describe('fuzz: audit trails read back', () => {
  it(titled('arbitrary lines: verify and summary report, never throw; append refuses with AUDIT_UNAVAILABLE', 'auditLinesHostile'), async () => {
    const line = fc.oneof(hostileText(120), fc.constant('x'.repeat(70_000)), fc.constant(''));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 6 }), fc.boolean(), entryArb, async (lines, terminated, entry) => {
        const path = nextPath();
        await writeFile(path, lines.join('\n') + (terminated ? '\n' : ''));
        await readBack(path, entry);
      }),
      // Records whose extra member has no canonical JSON form (Infinity; nesting deeper than the stack).
      { ...runs('auditLinesHostile'), examples: NO_CANONICAL_FORM.map((l) => [[l], true, EXAMPLE_ENTRY] as [string[], boolean, AuditEntry]) },
    );
  });

  it(titled('a valid trail with one record edited: never a throw, and any change of content is detected', 'auditTrailMutated'), async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat(), entryArb, async (entries, which, mutationSeed, extra) => {
        const path = nextPath();
        const lines = await writeTrail(path, entries);
        const index = which % lines.length;
        const original = lines[index] as string;
        // Few mutations at a time, so that one lands on a record that is otherwise intact.
        const [mutated] = fc.sample(mutatedJsonText([JSON.parse(original) as unknown], 2), { seed: mutationSeed, numRuns: 1 });
        if (mutated === undefined) throw new Error('no mutation sampled');
        lines[index] = mutated;
        await writeFile(path, `${lines.join('\n')}\n`);
        const { ok } = await readBack(path, extra);
        if (mutated === original) return;
        // Content is what the hash covers: the canonical JSON (key order and number spelling aside).
        let sameContent = false;
        try {
          sameContent = canonicalJson(JSON.parse(mutated)) === canonicalJson(JSON.parse(original));
        } catch {
          // Not JSON, or no canonical form: different content.
        }
        // Hashes cover content; `prev` covers the bytes of the line before. A reformatted last line is the one change left unseen.
        if (!sameContent || index < lines.length - 1) expect(ok).toBe(false);
      }),
      runs('auditTrailMutated'),
    );
  });

  it(titled('a trail written by AuditLog verifies, anchors to its head and count, and summarises its decisions', 'auditTrailRoundTrip'), async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 12 }), fc.nat(), async (entries, which) => {
        const path = nextPath();
        const lines = await writeTrail(path, entries);
        const hashes = lines.map((l) => (JSON.parse(l) as { hash: string }).hash);
        const verified = await verifyAuditLog(path, { expectHead: hashes[which % hashes.length], expectCount: entries.length, limits: LIMITS });
        expect(verified).toMatchObject({ ok: true, records: entries.length, head: hashes.at(-1), tail: { seq: entries.length } });
        expect((await verifyAuditLog(path, { expectCount: entries.length + 1, limits: LIMITS })).problem?.code).toBe('TOO_FEW_RECORDS');
        const summary = await summarizeAuditLog(path, { limits: LIMITS });
        expect(summary).toMatchObject({ records: entries.length, unreadable: 0, cached: entries.filter((e) => e.cached).length });
        for (const decision of AUDIT_DECISIONS) expect(summary.decisions[decision]).toBe(entries.filter((e) => e.decision === decision).length);
        neverThrows(() => JSON.stringify(summary));
      }),
      runs('auditTrailRoundTrip'),
    );
  });
});
