import { createHash, createPublicKey } from 'node:crypto';
import { SigverifyError } from '../errors.ts';
import { defaultSleep, isLoopbackHost } from '../http/http.ts';
import { type Limits, resolveLimits } from '../limits.ts';
import { ContentStores, type CredentialSource } from '../registry/index.ts';
import type { TrustRoot, TrustSource } from '../trust-root/index.ts';
import { VERSION } from '../version.ts';
import type { WatchedKey, WatchedSigner } from './entry.ts';
import { type ApprovalSources, type Approvals, collectApprovals, positionKey } from './expected.ts';
import { LogHttp } from './log-http.ts';
import { LOG_MONITOR_REPORT_MEDIA_TYPE, type LogMonitorReport, type LogReport, type MonitorOutcome, type ReportedEntry } from './report.ts';
import { scanRekorV1 } from './rekor-v1.ts';
import { scanRekorV2 } from './rekor-v2.ts';
import { readState, writeState } from './state.ts';
import type { ScanOutput, StoredCheckpoint } from './types.ts';

export interface MonitoredLog {
  /** Rekor v1: the API base URL. Rekor v2: where its checkpoint and tiles are read. */
  readonly url: string;
  readonly version: 1 | 2;
}

export interface LogMonitorOptions {
  readonly logs: readonly MonitoredLog[];
  /** The signers whose entries are audited: exact SAN and exact OIDC issuer. */
  readonly watch: readonly WatchedSigner[];
  /** Signing keys whose entries are audited (PEM public keys: cosign key pairs). */
  readonly watchKeys?: readonly string[];
  /** Log keys and Fulcio CAs: every checkpoint and certificate is verified against it. */
  readonly trust: TrustSource | TrustRoot;
  /** Private directory holding each log's last verified checkpoint. */
  readonly stateDirectory: string;
  /** Report Rekor v1 entries integrated since then (default: since the last run's checkpoint). */
  readonly since?: Date;
  readonly approvals: ApprovalSources;
  /** Plain HTTP to logs and registries beyond loopback. */
  readonly allowHttp?: boolean;
  readonly credentials?: CredentialSource;
  readonly limits?: Partial<Limits>;
  readonly fetch?: typeof fetch;
  /** Injectable clock and back-off for tests. */
  readonly now?: () => Date;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * One monitor run, as in the site's monthly procedure: (1) collect what the
 * site approved; (2) for each log, verify its newest checkpoint with the trust
 * root, prove it consistent with the one verified last time, read the watched
 * signers' entries since then and verify each (inclusion, certificate), and
 * re-check the entries accepted decisions relied on; (3) classify each entry
 * as expected or not; (4) remember each log's checkpoint, unless it failed.
 * Never throws for what a log or registry does: every failure is in the report.
 */
export async function runLogMonitor(options: LogMonitorOptions): Promise<LogMonitorReport> {
  const limits = resolveLimits(options.limits);
  const now = options.now ?? (() => new Date());
  const started = now();
  for (const log of options.logs) checkTransport(log.url, options.allowHttp === true);
  const keys = (options.watchKeys ?? []).map(watchedKeyFrom);
  if (options.watch.length === 0 && keys.length === 0) throw new SigverifyError('USAGE', 'no signer to watch: give --certificate-identity and --certificate-oidc-issuer, or --key');
  const trust = 'trustedRoot' in options.trust ? options.trust : await options.trust.load();
  const stores = new ContentStores({
    limits,
    ...(options.allowHttp === undefined ? {} : { allowHttpRegistry: options.allowHttp }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });

  // 1. What the site approved.
  let approvals: Approvals;
  const errors: LogMonitorReport['errors'][number][] = [];
  try {
    approvals = await collectApprovals(options.approvals, { trust, stores, limits, watch: options.watch, keys });
  } catch (error) {
    if (error instanceof SigverifyError && error.kind === 'usage') throw error;
    errors.push(describe(error));
    approvals = { positions: new Map(), digests: new Map(), audited: [], images: 0 };
  }

  // 2. Each log.
  const logs: LogReport[] = [];
  const expected: ReportedEntry[] = [];
  const unexpected: ReportedEntry[] = [];
  const untrusted: LogMonitorReport['untrusted'][number][] = [];
  for (const log of errors.length > 0 ? [] : options.logs) {
    const t0 = performance.now();
    const http = new LogHttp(log.url, {
      fetch: options.fetch ?? fetch,
      limits,
      allowHttp: options.allowHttp === true,
      userAgent: `sigverify/${VERSION}`,
      signal: AbortSignal.timeout(limits.logMonitorTimeoutMs),
      sleep: options.sleep ?? defaultSleep,
      now: () => now().getTime(),
    });
    const what = `Rekor v${log.version} ${http.base.href}`;
    let previous: StoredCheckpoint | undefined;
    let scan: ScanOutput | undefined;
    let failure: unknown;
    try {
      previous = await readState(options.stateDirectory, log.url);
      const input = { http, root: trust.trustedRoot, watch: options.watch, keys, previous, since: options.since, audited: approvals.audited, limits, what };
      scan = log.version === 1 ? await scanRekorV1(input) : await scanRekorV2(input);
    } catch (error) {
      if (error instanceof SigverifyError && error.code === 'LOCAL_FILE_UNSAFE') throw error;
      failure = error;
    }
    // 3. Expected or not.
    for (const match of scan?.matches ?? []) {
      const logId = scan?.checkpoint.logId as string;
      const approval = approvals.positions.get(positionKey(logId, match.logIndex)) ?? (match.digest === undefined ? undefined : approvals.digests.get(match.digest));
      const entry: ReportedEntry = {
        logUrl: log.url,
        logId,
        logIndex: match.logIndex,
        ...(match.uuid === undefined ? {} : { uuid: match.uuid }),
        integratedTime: match.integratedTime?.toISOString() ?? null,
        identity: match.identity,
        issuer: match.issuer,
        digest: match.digest ?? null,
        digestOf: match.digestOf,
        kind: match.kind,
        ...(match.certificateSerial === undefined ? {} : { certificateSerial: match.certificateSerial }),
        ...(match.publicKeySha256 === undefined ? {} : { publicKeySha256: match.publicKeySha256 }),
        ...(approval?.imageReference === undefined ? {} : { imageReference: approval.imageReference }),
        ...(approval === undefined ? {} : { expectedBecause: approval.because }),
      };
      (approval === undefined ? unexpected : expected).push(entry);
    }
    for (const u of scan?.untrusted ?? []) untrusted.push({ logUrl: log.url, ...u });
    const code = failure instanceof SigverifyError ? failure.code : undefined;
    const consistency = code === 'LOG_FORKED' ? 'forked' : scan === undefined ? 'not-checked' : previous === undefined ? 'first-run' : 'verified';
    logs.push({
      url: log.url,
      version: log.version,
      logId: scan?.checkpoint.logId ?? previous?.logId ?? null,
      origin: scan?.checkpoint.origin ?? previous?.origin ?? null,
      checkpoint: scan === undefined ? null : { treeSize: Number(scan.checkpoint.treeSize), rootHash: scan.checkpoint.rootHash.toString('hex') },
      previous: previous === undefined ? null : { treeSize: Number(previous.treeSize), rootHash: Buffer.from(previous.rootHash, 'base64').toString('hex'), verifiedAt: previous.verifiedAt },
      consistency,
      consistent: (consistency === 'verified' || consistency === 'first-run') && code !== 'LOG_ENTRY_MISSING',
      entriesScanned: scan?.entriesScanned ?? 0,
      matches: scan?.matches.length ?? 0,
      auditedEntriesChecked: scan?.auditedChecked ?? 0,
      requests: http.requests,
      durationMs: Math.round(performance.now() - t0),
      ...(failure === undefined ? {} : { error: describe(failure) }),
    });
    // 4. Remember what was verified; a failed log keeps the checkpoint it had, so a fork stays reported.
    if (scan !== undefined && failure === undefined) await writeState(options.stateDirectory, log.url, scan.checkpoint, now());
  }

  const outcome: MonitorOutcome = logs.some((l) => !l.consistent && l.consistency !== 'not-checked') || logs.some((l) => l.error?.code === 'LOG_ENTRY_MISSING') || errors.some((e) => e.code === 'AUDIT_CHAIN_BROKEN')
    ? 'inconsistent'
    : unexpected.length > 0 ? 'unexpected'
    : errors.length > 0 || logs.some((l) => l.error !== undefined) ? 'undecided'
    : 'clean';
  return {
    mediaType: LOG_MONITOR_REPORT_MEDIA_TYPE,
    generatedAt: started.toISOString(),
    sigverifyVersion: VERSION,
    outcome,
    watch: options.watch.map((w) => ({ identity: w.identity, issuer: w.issuer })),
    watchKeys: keys.map((k) => k.digest),
    since: options.since?.toISOString() ?? null,
    trustRoot: { source: trust.source, digest: trust.digest ?? null },
    approvals: { images: approvals.images, entries: approvals.positions.size, digests: approvals.digests.size, auditedEntries: approvals.audited.length },
    logs,
    unexpected,
    expected,
    expectedCount: expected.length,
    untrusted,
    errors,
  };
}

/** A watched key from its PEM; KEY_INVALID when it is not a public key. */
function watchedKeyFrom(pem: string): WatchedKey {
  let der: Buffer;
  try {
    der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  } catch (cause) {
    throw new SigverifyError('KEY_INVALID', 'a watched key is not a PEM public key', { cause });
  }
  return { pem, der, digest: `sha256:${createHash('sha256').update(der).digest('hex')}` };
}

/** Logs speak plain HTTP only on loopback, unless the operator says so (as registries). */
function checkTransport(url: string, allowHttp: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SigverifyError('USAGE', `log URL ${url} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new SigverifyError('USAGE', `log URL ${url}: only http(s)`);
  if (parsed.username !== '' || parsed.password !== '') throw new SigverifyError('USAGE', `log URL ${parsed.host}: no credentials in URLs`);
  if (parsed.protocol === 'http:' && !allowHttp && !isLoopbackHost(parsed.hostname)) {
    throw new SigverifyError('INSECURE_TRANSPORT', `log URL ${url} is plain http; use https, or --allow-http for a log on a trusted network`);
  }
}

function describe(error: unknown): { code: SigverifyError['code'] | 'INTERNAL_ERROR'; message: string } {
  return error instanceof SigverifyError ? { code: error.code, message: error.message } : { code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) };
}
