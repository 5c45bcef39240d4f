/**
 * Mints fixtures/qualify/: the TUF repository `sigverify qualify` uses for its
 * "expired trust metadata" case (see fixtures/README.md). A private TUF
 * repository (test/helpers/tuf/: Ed25519 test keys, consistent snapshots)
 * whose one target is the committed fixtures/trust/trusted_root.json, and
 * whose timestamp expired on 2026-01-02; root, snapshot and targets are valid
 * until 2100. Everything else is correctly signed, so a verifier that loads it
 * must fail on the expiry alone (TUF spec §5.4.4, TRUST_METADATA_EXPIRED).
 *
 * Writes `tuf-expired/` (the published repository) and `tuf-expired-root.json`
 * (its initial root, as an administrator receives it out of band). The
 * signing keys are thrown away: the repository is expired on purpose and is
 * never published again. Re-running replaces both with a new repository (new
 * keys); nothing else under fixtures/ is touched.
 *
 *   node scripts/mint-qualify-tuf.ts
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestTufRepository } from '../test/helpers/tuf/repository.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const OUT = join(FIXTURES, 'qualify');
const REPOSITORY = join(OUT, 'tuf-expired');
const INITIAL_ROOT = join(OUT, 'tuf-expired-root.json');
/** In the past for anyone running the qualification; after the fixture CA's start (2026-01-01). */
const TIMESTAMP_EXPIRES = new Date('2026-01-02T00:00:00Z');

const repository = new TestTufRepository();
repository.setTarget('trusted_root.json', await readFile(join(FIXTURES, 'trust', 'trusted_root.json')));
repository.publish({ expires: { timestamp: TIMESTAMP_EXPIRES } });

await rm(REPOSITORY, { recursive: true, force: true });
await repository.writeTo(REPOSITORY);
await writeFile(INITIAL_ROOT, repository.rootJson());
process.stdout.write(`wrote ${REPOSITORY}/ (${repository.files().size} files; timestamp expires ${TIMESTAMP_EXPIRES.toISOString()}) and ${INITIAL_ROOT}\n`);
