import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as root from '../../src/index.ts';
import * as monitor from '../../src/monitor/index.ts';
import * as qualify from '../../src/qualify/index.ts';
import * as trust from '../../src/trust.ts';
import { REPO_ROOT } from '../helpers/fixtures.ts';

/**
 * The public API, pinned: a runtime name added to or removed from an entry
 * point is a decision, made here on purpose (package.json "exports" maps
 * `sigverify`, `sigverify/trust`, `sigverify/qualify`, `sigverify/monitor` to these files).
 */
describe('the public API', () => {
  it('the root entry: what an integrator needs, at most 40 runtime names', () => {
    expect(Object.keys(root).sort()).toEqual([
      'AUDIT_DECISIONS', 'AUDIT_RECORD_MEDIA_TYPE', 'AuditLog', 'BaseError', 'CompiledModule', 'ContentStores', 'DEFAULT_CACHE_TTL_MS',
      'DEFAULT_LIMITS', 'ERROR_CODES', 'GATE_RESULT_MEDIA_TYPE', 'ImageVerifier', 'ModuleGate', 'REJECTION_CODES', 'RESULT_MEDIA_TYPE',
      'ResultCache', 'SigverifyError', 'VERSION', 'checkProcessorConfig', 'compileModulePolicy', 'configuredTrustSource',
      'dockerConfigCredentials', 'gateModule', 'isSigverifyError', 'loadModulePolicyFile', 'loadProcessorConfigFile', 'manifestReference', 'parseModulePolicy',
      'parseReference', 'parseTrustConfig', 'pinnedReference', 'quote', 'readPolicyFile', 'resolveReference', 'staticCredentials',
      'summarizeAuditLog', 'trustSourceFrom', 'trustedRootFile', 'verifyAuditLog', 'verifyBundleFile', 'verifyImage',
    ]);
    expect(Object.keys(root).length).toBeLessThanOrEqual(40);
  });

  it('sigverify/monitor: one run, its report and audit record', () => {
    expect(Object.keys(monitor).sort()).toEqual(['LOG_MONITOR_REPORT_MEDIA_TYPE', 'formatReport', 'monitorAuditEntry', 'runLogMonitor']);
  });

  it('sigverify/trust and sigverify/qualify', () => {
    expect(Object.keys(trust).sort()).toEqual([
      'LiveTrustRoot', 'PUBLIC_GOOD_MIRROR', 'TEST_TRUST_ROOT_WARNING', 'TRUST_CONFIG_MEDIA_TYPE', 'TRUST_STATUS_MEDIA_TYPE', 'assembledTrust', 'certificateAuthorityTrust',
      'defaultTufCachePath', 'isTestTrustRoot', 'isTufConfig', 'isTufTrustSource', 'readTrustConfig', 'recordTrustConfig', 'resolveConfiguredTrust',
      'trustSourceFromCache', 'trustStatus', 'tufTrustSource',
    ]);
    expect(Object.keys(qualify).sort()).toEqual([
      'AUDIT_CHECKPOINT_MEDIA_TYPE', 'DEFAULT_CHECKPOINT_EVERY', 'DEFAULT_KIT_DIRECTORY', 'PQ_DURATION_LIMIT_MS', 'PQ_REPORT_MEDIA_TYPE', 'PROTOCOL',
      'QUALIFICATION_REPORT_MEDIA_TYPE', 'SITE_PROTOCOL', 'checkpointSigner', 'checkpointVerifier', 'defaultReportDirectory', 'describeExpectation',
      'describeObservation', 'renderPqHtml', 'renderQualificationHtml', 'rotateAuditLog', 'runPerformanceQualification', 'runQualification',
      'runSiteQualification', 'writePqReport', 'writeQualificationReport',
    ]);
  });

  it('no zod schema is exported, and package.json maps exactly these entry points', () => {
    for (const entry of [root, trust, qualify, monitor]) expect(Object.keys(entry).filter((name) => name.endsWith('Schema'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
    expect(Object.fromEntries(Object.entries(manifest.exports).map(([k, v]) => [k, v.default]))).toEqual({
      '.': './dist/index.js',
      './trust': './dist/trust.js',
      './qualify': './dist/qualify/index.js',
      './monitor': './dist/monitor/index.js',
    });
  });

  it('nothing @internal in the source of the published types', () => {
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    expect(walk(join(REPO_ROOT, 'src')).filter((f) => readFileSync(f, 'utf8').includes('@internal'))).toEqual([]);
  });
});
