/**
 * CPU profiles of the two paths the issue-16 targets compare, and a summary
 * of where the time goes: `npm run bench:profile`.
 *
 *   memory    whole-image verifications with every object already in memory
 *             (the in-memory store of bench/run.ts section 2)
 *   registry  the same number of distinct images from the loopback
 *             docker-registry, 8 in flight (one verifier, the default stores)
 *   layout    the same images, each in its own OCI layout on tmpfs, 8 in flight
 *
 * Each runs in its own `node --cpu-prof` process against the build (dist/),
 * after a warm-up, so the profile holds the steady state only as far as
 * V8's sampling allows (the warm-up's samples are in it too, and small).
 * Writes bench/results/profiles/{memory,registry,layout}.cpuprofile (open them in
 * Chrome DevTools) and prints self time by package/file and the top
 * functions of each.
 *
 *   node bench/profile.ts [--images=N]     (default 400 per format)
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { FIXTURE_IDENTITY, FIXTURE_ISSUER, REPO_ROOT, TEST_TRUSTED_ROOT } from '../test/helpers/fixtures.ts';
import { startRegistry } from '../test/helpers/registry/docker-registry.ts';
import { progress } from './lib/measure.ts';
import { BENCH_REPOSITORY, FORMATS, createMinter, pushImages, type MintedImage } from './lib/mint.ts';
import { writeOciLayout } from '../test/helpers/sigstore/index.ts';

const images = Number(process.argv.slice(2).find((a) => a.startsWith('--images='))?.slice('--images='.length) ?? 400);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives: the npm package, else the project file, else the Node internal. */
function ownerOf(url: string): string {
  if (url === '') return '(native / V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const [a = '', b = ''] = url.slice(nm + 'node_modules/'.length).split('/');
    return a.startsWith('@') ? `${a}/${b}` : a;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\/.*\//, '');
}

/** Self time by owner and by function, in % of all samples. */
export function summarize(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const owner = ownerOf(url);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const name = `${functionName || '(anonymous)'} ${owner}${url === '' ? '' : `:${lineNumber + 1}`}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `  ${(total / 1000).toFixed(0)} ms sampled`,
    '  self time by owner:',
    ...sorted(owners).slice(0, 15).map(([k, us]) => `    ${pct(us)}  ${k}`),
    '  top functions (self):',
    ...sorted(functions).slice(0, top).map(([k, us]) => `    ${pct(us)}  ${k}`),
  ].join('\n');
}

const DRIVER = `
import { ImageVerifier, trustedRootFile } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'index.js')).href)};
const [refs, inFlight, warmup] = [JSON.parse(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const stores = process.argv[5] === undefined ? undefined : await import(process.argv[5]).then((m) => m.stores());
const verifier = await ImageVerifier.create({ certificateIdentity: process.env.ID, certificateOidcIssuer: process.env.ISS }, { trust: trustedRootFile(process.env.TR), ...(stores === undefined ? {} : { stores }) });
let next = 0;
const run = async (list) => { for (let i = next++; i < list.length; i = next++) { const r = await verifier.verify(list[i]); if (!r.verified) throw new Error(list[i]); } };
const warm = refs.slice(0, warmup); next = 0; await Promise.all(Array.from({ length: inFlight }, () => run(warm)));
const rest = refs.slice(warmup); next = 0;
const start = process.cpuUsage(); const t = performance.now();
await Promise.all(Array.from({ length: inFlight }, () => run(rest)));
const cpu = process.cpuUsage(start);
process.stdout.write(JSON.stringify({ n: rest.length, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / rest.length, wallMs: performance.now() - t }));
`;

async function main(): Promise<void> {
  const out = join(REPO_ROOT, 'bench', 'results', 'profiles');
  await mkdir(out, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'sigverify-profile-'));
  const registry = await startRegistry();
  try {
    const minter = await createMinter(`${registry.host}/${BENCH_REPOSITORY}`);
    const all: MintedImage[] = [];
    for (let i = 0; i < images; i++) for (const format of FORMATS) all.push(minter.mint(format, i));
    progress(`pushing ${all.length} images`);
    await pushImages(registry.url, all, 16);
    // The memory store, as plain JavaScript over the minted objects (serialised, then served from a Map).
    const objects: Record<string, { bytes: string; mediaType: string }> = {};
    const blobs: Record<string, string> = {};
    const add = (object: MintedImage['image'], tag: string | undefined): void => {
      const entry = { bytes: object.manifestBytes.toString('base64'), mediaType: object.mediaType };
      objects[object.digest] = entry;
      if (tag !== undefined) objects[tag] = entry;
      for (const [digest, bytes] of object.blobs) blobs[digest] = bytes.toString('base64');
      for (const child of object.manifests) add(child, undefined);
    };
    for (const m of all) {
      add(m.image, m.tag);
      for (const e of m.entries) add(e.object, e.tag);
    }
    await writeFile(join(work, 'content.json'), JSON.stringify({ objects, blobs }));
    await writeFile(
      join(work, 'memory-store.mjs'),
      `import { readFileSync } from 'node:fs'; import { createHash } from 'node:crypto';
const { objects, blobs } = JSON.parse(readFileSync(${JSON.stringify(join(work, 'content.json'))}, 'utf8'));
const manifests = new Map(Object.entries(objects).map(([k, v]) => [k, { bytes: Buffer.from(v.bytes, 'base64'), contentType: v.mediaType }]));
const blobMap = new Map(Object.entries(blobs).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const store = { description: 'memory', getManifest: async (r) => { const m = manifests.get(r); return m && { digest: sha(m.bytes), contentType: m.contentType, bytes: m.bytes }; },
  getBlob: async (d, size) => { const b = blobMap.get(d); if (!b || b.length !== size || sha(b) !== d) throw new Error('no blob ' + d); return b; },
  getReferrers: async () => ({ kind: 'unsupported' }) };
export const stores = () => ({ open: () => store });`,
    );
    await writeFile(join(work, 'driver.mjs'), DRIVER);
    const layouts = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sigverify-profile-layouts-'));
    for (const m of all) await writeOciLayout(join(layouts, m.tag), [{ object: m.image, tag: m.tag }, ...m.entries]);
    const env = { ...process.env, ID: FIXTURE_IDENTITY, ISS: FIXTURE_ISSUER, TR: TEST_TRUSTED_ROOT };
    const warmup = Math.min(100, Math.floor(all.length / 4));
    for (const [name, refs, extra] of [
      ['memory', all.map((m) => `${registry.host}/${BENCH_REPOSITORY}@${m.digest}`), [pathToFileURL(join(work, 'memory-store.mjs')).href]],
      ['registry', all.map((m) => `${registry.host}/${BENCH_REPOSITORY}:${m.tag}`), []],
      ['layout', all.map((m) => `oci:${join(layouts, m.tag)}:${m.tag}`), []],
    ] as const) {
      const dir = join(work, name);
      const { stdout } = await promisify(execFile)(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200', join(work, 'driver.mjs'), JSON.stringify(refs), '8', String(warmup), ...extra], { env, maxBuffer: 1 << 26 });
      const [file] = readdirSync(dir);
      const profile = JSON.parse(await readFile(join(dir, file ?? ''), 'utf8')) as CpuProfile;
      await writeFile(join(out, `${name}.cpuprofile`), JSON.stringify(profile));
      process.stdout.write(`\n== ${name}: ${stdout}\n${summarize(profile)}\n`);
    }
    await rm(layouts, { recursive: true, force: true });
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
