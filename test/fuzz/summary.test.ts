import { readFileSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUNS, SEED, TOTAL_RUNS } from './harness.ts';

/**
 * The fuzz suite's budget, as reported for issue 7: every property runs its
 * `RUNS` entry with the fixed `SEED`. This checks that the table is the whole
 * truth: each entry is used by exactly one property, and no property runs
 * outside it.
 */
describe(`fuzz suite: ${TOTAL_RUNS} generated runs over ${Object.keys(RUNS).length} properties, seed ${SEED}`, () => {
  it('every entry of the run table is used by exactly one property, and every property uses the table', () => {
    const dir = dirname(fileURLToPath(import.meta.url));
    const sources = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => readFileSync(`${dir}/${f}`, 'utf8')).join('\n');
    const used = [...sources.matchAll(/\bruns\('(\w+)'\)/g)].map((m) => m[1]);
    expect([...used].sort()).toEqual(Object.keys(RUNS).sort());
    const asserted = sources.match(/\bfc\.assert\(/g)?.length ?? 0;
    expect(asserted).toBe(Object.keys(RUNS).length);
  });
});
