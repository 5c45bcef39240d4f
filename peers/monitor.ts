// The transparency-log monitor (`sigverify log audit`) against the real logs of the
// private Sigstore (peers/stack.sh): Rekor v1 (Trillian, MySQL search index) and
// Rekor v2 (rekor-tiles), entries made by the real cosign v3.
//
//   node peers/monitor.ts          against a running stack (npm run test:peers runs it
//                                  after the differential suite, under the same lock)
//
// 1. A watched signer (its own email, minted by `stack.sh token EMAIL`) and a watched
//    cosign key pair sign approved images with cosign v3 on both logs (Rekor v1; Rekor
//    v2 + TSA), approved through the gate's audit trail (check-module) or the operator
//    list. Among them they plant signatures on digests nobody approved, and another
//    identity signs too (noise the monitor must not report).
// 2. First run: every planted entry must be reported unexpected (F == P per log
//    version), every approved one expected. More planted, second run: only the new
//    ones, and each log's checkpoint proven consistent with the first run's.
// 3. A forked log, served by a proxy in front of the real one with checkpoints signed
//    by the log's own key (the stack's key files): Rekor v2 rewritten (an entry
//    replaced, one appended; the monitor computes the consistency proof from the
//    tiles) and Rekor v1 equivocating (another root for the same size) must both fail
//    with LOG_FORKED; a tile rewritten without a signature must fail with
//    LOG_PROOF_INVALID. Costs (entries/s, requests/entry) are printed per version.
//
// Ends with `monitor: N entries scanned, P planted, F found, C checkpoints verified consistent`;
// exit 1 unless F == P on both versions and every fork is detected; 2 on infrastructure failure.
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError, stackEnv } from './lib/stack-env.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const stack = join(here, 'stack.sh');

interface Run { code: number; out: string; stdout: string }
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}`, stdout: r.stdout };
}
async function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // The proxy serves from this process: the CLI must run without blocking the event loop.
  const { spawn } = await import('node:child_process');
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => { done({ code: code ?? -1, out: `${stdout}${stderr}`, stdout }); });
  });
}
function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = run(cmd, args, env);
  if (r.code !== 0) throw new InfraError(`${[cmd, ...args].join(' ')} (exit ${r.code})\n${r.out}`);
  return r.stdout;
}

const { need } = stackEnv();
const cosign3 = need('STACK_COSIGN3');
const crane = need('STACK_CRANE');
const TR = need('STACK_TRUSTED_ROOT');
const ISS = need('STACK_OIDC_ISSUER');
const OLAREG = need('STACK_REG_OLAREG');
const SC1 = need('STACK_SIGNING_CONFIG_REKOR1');
const SC2 = need('STACK_SIGNING_CONFIG_REKOR2');
const REKOR1 = need('STACK_REKOR1_URL');
const REKOR2 = need('STACK_REKOR2_URL');
const REKOR2_READ = need('STACK_REKOR2_READ_URL');
const stateDir = need('SIGVERIFY_STACK_DIR');
const OTHER = need('STACK_IDENTITY');
const WATCHED = 'watched-release@sigverify.test';
const work = join(stateDir, 'monitor');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true, mode: 0o700 });
const cosignEnv = { TUF_ROOT: join(stateDir, 'tuf-cache'), COSIGN_YES: 'true' };
const nodeBin = join(repo, 'node_modules', '.bin', 'node');
const sigverify = join(repo, 'dist', 'cli', 'bin.js');
const token = (email: string): string => must(stack, ['token', email]).trim();

let imageCount = 0;
function mkimage(tag: string): string {
  imageCount += 1;
  const d = join(work, `img-${imageCount}`);
  mkdirSync(d);
  writeFileSync(join(d, 'hello.txt'), `sigverify monitor ${tag} ${Date.now()}\n`);
  must('tar', ['-C', d, '--owner=0', '--group=0', '--mtime=@0', '-cf', join(d, 'layer.tar'), 'hello.txt']);
  const ref = `${OLAREG}/monitor/app:${tag}`;
  must(crane, ['append', '--oci-empty-base', '-f', join(d, 'layer.tar'), '-t', ref]);
  return `${OLAREG}/monitor/app@${must(crane, ['digest', ref]).trim()}`;
}
type Version = 1 | 2;
function sign(image: string, email: string, version: Version): void {
  must(cosign3, ['sign', '--identity-token', token(email), '--signing-config', version === 1 ? SC1 : SC2, '--trusted-root', TR, image], cosignEnv);
}

// ---- 1. the real logs fill up --------------------------------------------------------------
const t0 = Date.now();
const planted: Record<Version, number> = { 1: 0, 2: 0 };
const approvedA = mkimage('approved-a'); // approved through the gate's audit trail
const approvedB = mkimage('approved-b'); // approved through the operator list
const approvedC = mkimage('approved-c'); // Rekor v2 only, approved through the audit trail
sign(approvedC, WATCHED, 2);
// A watched cosign key pair: an approved image signed with it on both logs, and a stray.
must(cosign3, ['generate-key-pair', '--output-key-prefix', join(work, 'watched')], { ...cosignEnv, COSIGN_PASSWORD: '' });
const watchedKey = join(work, 'watched.pub');
function signWithKey(image: string, version: Version): void {
  must(cosign3, ['sign', '--key', join(work, 'watched.key'), '--signing-config', version === 1 ? SC1 : SC2, '--trusted-root', TR, image], { ...cosignEnv, COSIGN_PASSWORD: '' });
}
const approvedD = mkimage('approved-d'); // key-signed, approved through the operator list
for (const v of [1, 2] as const) {
  sign(approvedA, WATCHED, v);
  sign(approvedB, WATCHED, v);
  signWithKey(approvedD, v);
  const stray = mkimage(`planted-${v}-1`);
  sign(stray, WATCHED, v); planted[v] += 1;
  signWithKey(stray, v); planted[v] += 1;
  sign(stray, OTHER, v); // another identity's signature: not watched, never reported
  sign(approvedA, OTHER, v);
}
// Bulk: blobs the watched signer signs (cosign sign-blob: the entry records the blob's sha256),
// approved by digest in the operator list, so the scans have something to measure.
const BULK = Number(process.env.MONITOR_BULK ?? '24');
const blobDigests: string[] = [];
const jobs: (() => Promise<Run>)[] = [];
for (const v of [1, 2] as const) {
  for (let i = 0; i < BULK; i++) {
    const blob = join(work, `blob-${v}-${i}.txt`);
    writeFileSync(blob, `approved artifact ${v}/${i} ${Date.now()}\n`);
    blobDigests.push(`sha256:${createHash('sha256').update(readFileSync(blob)).digest('hex')}`);
    const t = token(WATCHED);
    jobs.push(() => runAsync(cosign3, ['sign-blob', '--identity-token', t, '--signing-config', v === 1 ? SC1 : SC2, '--trusted-root', TR, '--bundle', `${blob}.sigstore.json`, blob], cosignEnv));
  }
}
const results = await Promise.all(Array.from({ length: 6 }, async () => {
  const out: Run[] = [];
  for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) out.push(await job());
  return out;
}));
const failed = results.flat().filter((r) => r.code !== 0);
if (failed.length > 0) throw new InfraError(`cosign sign-blob failed ${failed.length} times:\n${failed[0]?.out ?? ''}`);
const trail = join(work, 'audit.jsonl');
for (const [name, image] of [['approved-a', approvedA], ['approved-c', approvedC]] as const) {
  const modulePolicy = join(work, `module-${name}.json`);
  writeFileSync(modulePolicy, JSON.stringify({ module_name: name, docker_tag: image, signature_certificate_identity: WATCHED, signature_certificate_oidc_issuer: ISS }));
  must(nodeBin, [sigverify, 'check-module', modulePolicy, '--trusted-root', TR, '--audit-log', trail]);
}
const approvedList = join(work, 'approved.txt');
writeFileSync(approvedList, `# images the site approved\n${approvedB}\n${approvedD}\n# artifacts (sha256 of each blob)\n${blobDigests.join('\n')}\n`, { mode: 0o600 });
console.log(`monitor: ${imageCount} images and ${blobDigests.length} blobs signed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

interface Report {
  outcome: string;
  logs: { url: string; version: Version; consistency: string; consistent: boolean; entriesScanned: number; auditedEntriesChecked: number; requests: number; durationMs: number; checkpoint: { treeSize: number } | null; error?: { code: string; message: string } }[];
  unexpected: { logUrl: string; logIndex: number; digest: string }[];
  expected: { logUrl: string; imageReference?: string }[];
}
const monitorState = join(work, 'state');
function args(rekor1: string, rekor2: string, state = monitorState): string[] {
  return [sigverify, 'log', 'audit', '--rekor-url', rekor1, '--rekor-v2-url', rekor2, '--certificate-identity', WATCHED, '--certificate-oidc-issuer', ISS,
    '--key', watchedKey, '--trusted-root', TR, '--audit-log', trail, '--approved', approvedList, '--state-dir', state, '-o', 'json'];
}
async function audit(label: string, rekor1 = REKOR1, rekor2 = REKOR2_READ, state = monitorState): Promise<{ code: number; report: Report; text: string }> {
  const r = await runAsync(nodeBin, args(rekor1, rekor2, state));
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new InfraError(`${label}: no JSON report (exit ${r.code})\n${r.out}`);
  }
  return { code: r.code, report, text: r.out.slice(r.stdout.length) };
}

let scanned = 0;
let found = 0;
let plantedTotal = 0;
let consistentCount = 0;
let failures = 0;
const check = (ok: boolean, what: string): void => {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
};
const urlOf = (v: Version): string => (v === 1 ? REKOR1 : REKOR2_READ);
const cost: Record<Version, { entries: number; ms: number; requests: number }> = { 1: { entries: 0, ms: 0, requests: 0 }, 2: { entries: 0, ms: 0, requests: 0 } };
function tally(label: string, r: { code: number; report: Report }, plantedNow: Record<Version, number>, expectConsistency: string): void {
  for (const v of [1, 2] as const) {
    const log = r.report.logs.find((l) => l.version === v);
    const f = r.report.unexpected.filter((u) => u.logUrl === urlOf(v)).length;
    scanned += log?.entriesScanned ?? 0;
    found += f;
    plantedTotal += plantedNow[v];
    if (log?.consistency === 'verified') consistentCount += 1;
    cost[v].entries += log?.entriesScanned ?? 0;
    cost[v].ms += log?.durationMs ?? 0;
    cost[v].requests += log?.requests ?? 0;
    check(f === plantedNow[v], `${label}: Rekor v${v}: ${f} unexpected found, ${plantedNow[v]} planted`);
    check(log?.consistency === expectConsistency && log.error === undefined, `${label}: Rekor v${v}: consistency ${log?.consistency ?? 'none'}${log?.error === undefined ? '' : ` [${log.error.code}] ${log.error.message}`}`);
  }
  check(r.code === 1 && r.report.outcome === 'unexpected', `${label}: exit ${r.code}, outcome ${r.report.outcome}`);
}

// ---- 2. first and second run ------------------------------------------------------------
const first = await audit('first run');
console.log('monitor: first run, human report:');
console.log(first.text.replace(/^/gm, '  | '));
tally('first run', first, planted, 'first-run');
check([approvedA, approvedB, approvedC, approvedD].every((image) => first.report.expected.some((e) => e.imageReference === image)), 'first run: the approved images\' entries are expected');
check(first.report.logs.every((l) => l.auditedEntriesChecked >= 1), `first run: entries of accepted decisions re-checked in each log (${first.report.logs.map((l) => l.auditedEntriesChecked).join(', ')})`);

const plantedAgain: Record<Version, number> = { 1: 0, 2: 0 };
for (const v of [1, 2] as const) {
  const stray = mkimage(`planted-${v}-2`);
  sign(stray, WATCHED, v); plantedAgain[v] += 1;
  sign(stray, WATCHED, v); plantedAgain[v] += 1; // signed twice: two entries
  sign(approvedB, WATCHED, v); // approved: a re-signature is expected
}
const second = await audit('second run');
tally('second run', second, plantedAgain, 'verified');
const clean = await audit('third run, nothing new');
check(clean.code === 0 && clean.report.outcome === 'clean', `third run (nothing new): exit ${clean.code}, outcome ${clean.report.outcome}`);
for (const v of [1, 2] as const) if (clean.report.logs.find((l) => l.version === v)?.consistency === 'verified') consistentCount += 1;

// ---- 3. forked and rewritten logs, behind a proxy ----------------------------------------------
const root = JSON.parse(readFileSync(TR, 'utf8')) as { tlogs: { baseUrl: string; logId: { keyId: string } }[] };
const keyId = (base: string): Buffer => {
  const t = root.tlogs.find((l) => l.baseUrl === base);
  if (t === undefined) throw new InfraError(`no tlog ${base} in the trusted root`);
  return Buffer.from(t.logId.keyId, 'base64');
};
const rekor2Key = createPrivateKey(readFileSync(join(stateDir, 'keys', 'rekor2.key')));
const rekor1Key = createPrivateKey({ key: readFileSync(join(stateDir, 'keys', 'rekor1.key')), passphrase: 'stackpw' });
function signNote(body: string, origin: string, version: Version): string {
  const signature = version === 2 ? cryptoSign(null, Buffer.from(body), rekor2Key) : cryptoSign('sha256', Buffer.from(body), rekor1Key);
  const hint = keyId(version === 2 ? REKOR2 : REKOR1).subarray(0, 4);
  return `${body}\n\u2014 ${origin} ${Buffer.concat([hint, signature]).toString('base64')}\n`;
}
const sha = (...parts: Buffer[]): Buffer => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const leaf = (e: Buffer): Buffer => sha(Buffer.from([0]), e);
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Buffer.from([1]), mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
async function get(url: string): Promise<Buffer> {
  const r = await fetch(url);
  if (!r.ok) throw new InfraError(`GET ${url}: HTTP ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}
function tilePath(kind: string, n: number): string {
  return `tile/${kind}/000${n === 256 ? '' : `.p/${n}`}`;
}
async function serve(handler: (path: string, res: ServerResponse) => Promise<boolean>, upstream: string): Promise<{ url: string; close: () => void }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const path = req.url ?? '/';
      if (await handler(path, res)) return;
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const r = await fetch(`${upstream}${path}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}) });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(Buffer.from(await r.arrayBuffer()));
    })().catch((e: unknown) => { res.writeHead(500); res.end(String(e)); });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new InfraError('proxy did not listen');
  return { url: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}
// Each fork case starts from a copy of the state the real runs left (the real log's last checkpoint).
function stateCopy(name: string): string {
  const dir = join(work, `state-${name}`);
  cpSync(monitorState, dir, { recursive: true });
  return dir;
}
/** The forked run must fail with `code` on `version`'s log (the other log is the real one). */
async function forkCase(label: string, version: Version, proxyUrl: string, code: string, exit: number, fresh = false): Promise<void> {
  // The state file is keyed by URL: copy the real log's file under the proxy's URL (or start afresh: a first run reads every tile).
  const state = stateCopy(label);
  const key = (url: string): string => `log-${createHash('sha256').update(url).digest('hex').slice(0, 16)}.json`;
  const stored = JSON.parse(readFileSync(join(state, key(urlOf(version))), 'utf8')) as { url: string };
  stored.url = proxyUrl;
  if (!fresh) writeFileSync(join(state, key(proxyUrl)), JSON.stringify(stored), { mode: 0o600 });
  const r = await audit(label, version === 1 ? proxyUrl : REKOR1, version === 2 ? proxyUrl : REKOR2_READ, state);
  const log = r.report.logs.find((l) => l.version === version);
  check(r.code === exit && log?.error?.code === code, `${label}: exit ${r.code}, Rekor v${version} [${log?.error?.code ?? 'no error'}] ${log?.error?.message.slice(0, 160) ?? ''}`);
}

// Rekor v2 rewritten: entry 0 replaced by a copy of entry 1, one entry appended, re-signed with the log key.
const realCheckpoint = (await get(`${REKOR2_READ}/checkpoint`)).toString();
const [origin2, size2text] = realCheckpoint.split('\n');
const size2 = Number(size2text);
if (size2 < 2 || size2 >= 255) throw new InfraError(`Rekor v2 holds ${size2} entries; the forgery here handles 2 to 254 (MONITOR_BULK smaller)`);
const bundle = await get(`${REKOR2_READ}/${tilePath('entries', size2)}`);
const entries: Buffer[] = [];
for (let at = 0; at < bundle.length; at += 2 + bundle.readUInt16BE(at)) entries.push(bundle.subarray(at + 2, at + 2 + bundle.readUInt16BE(at)));
const forged = [entries[1] as Buffer, ...entries.slice(1), entries.at(-1) as Buffer];
const frame = (es: Buffer[]): Buffer => Buffer.concat(es.flatMap((e) => { const l = Buffer.alloc(2); l.writeUInt16BE(e.length); return [l, e]; }));
const forgedCheckpoint = signNote(`${origin2}\n${forged.length}\n${mth(forged.map(leaf)).toString('base64')}\n`, origin2 as string, 2);
const v2fork = await serve((path, res) => {
  const body = path === '/checkpoint' ? Buffer.from(forgedCheckpoint)
    : path === `/${tilePath('entries', forged.length)}` ? frame(forged)
    : path === `/${tilePath('0', forged.length)}` ? Buffer.concat(forged.map(leaf))
    : undefined;
  if (body === undefined) return Promise.resolve(false);
  res.writeHead(200); res.end(body);
  return Promise.resolve(true);
}, REKOR2_READ);
await forkCase('fork-rekor2-rewritten', 2, v2fork.url, 'LOG_FORKED', 1);
v2fork.close();

// Rekor v2, one hash tile rewritten without a new signature: the tiles no longer hash to the signed root.
const v2tile = await serve(async (path, res) => {
  if (path !== `/${tilePath('0', size2)}`) return false;
  const tile = Buffer.from(await get(`${REKOR2_READ}${path}`));
  tile[0] = (tile[0] as number) ^ 0xff;
  res.writeHead(200); res.end(tile);
  return true;
}, REKOR2_READ);
await forkCase('rewritten-tile-rekor2', 2, v2tile.url, 'LOG_PROOF_INVALID', 3, true);
v2tile.close();

// Rekor v1 equivocating: a signed tree head for the same size with another root.
const info = JSON.parse((await get(`${REKOR1}/api/v1/log`)).toString()) as { signedTreeHead: string; treeSize: number; rootHash: string };
const [origin1, size1, , ...rest1] = info.signedTreeHead.split('\n\n')[0]?.split('\n') ?? [];
const otherRoot = sha(Buffer.from('a different tree'));
const equivocation = signNote([origin1, size1, otherRoot.toString('base64'), ...rest1].join('\n') + '\n', (origin1 ?? '').split(' ')[0] ?? '', 1);
const v1fork = await serve((path, res) => {
  if (path !== '/api/v1/log') return Promise.resolve(false);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ...info, rootHash: otherRoot.toString('hex'), signedTreeHead: equivocation }));
  return Promise.resolve(true);
}, REKOR1);
await forkCase('fork-rekor1-equivocation', 1, v1fork.url, 'LOG_FORKED', 1);
v1fork.close();

// ---- cost and the closing line --------------------------------------------------------------------
for (const v of [1, 2] as const) {
  const c = cost[v];
  console.log(`monitor: cost Rekor v${v}: ${c.entries} entries in ${(c.ms / 1000).toFixed(2)} s over the three real runs = ${(c.entries / Math.max(c.ms / 1000, 0.001)).toFixed(1)} entries/s, ${c.requests} requests = ${(c.requests / Math.max(c.entries, 1)).toFixed(2)} requests/entry`);
}
console.log(`monitor: ${scanned} entries scanned, ${plantedTotal} planted, ${found} found, ${consistentCount} checkpoints verified consistent`);
process.exit(failures === 0 && found === plantedTotal ? 0 : 1);
