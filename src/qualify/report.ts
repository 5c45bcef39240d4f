import { randomBytes } from 'node:crypto';
import type { Digest } from '../reference/index.ts';
import type { Installation, SystemIdentity } from './installation.ts';

/**
 * The qualification report: what was expected of each case, what was
 * observed, and whether they agree; versioned by `mediaType`. Rendered as
 * JSON for machines and as one self-contained HTML page for the QA reviewer.
 */
export const QUALIFICATION_REPORT_MEDIA_TYPE = 'application/vnd.sigverify.qualification-report+json;version=1';

/** `verified`: the gate returned a pinned reference; `refused`: it threw a SigverifyError; `error`: anything else (a bug). */
export type QualificationOutcome = 'verified' | 'refused' | 'error';

export interface QualificationExpectation {
  readonly outcome: 'verified' | 'refused';
  /** For `refused`: the SigverifyError code. */
  readonly code?: string;
  /** For `refused`: the reason every evaluated signature was rejected for (a RejectionCode). */
  readonly reason?: string;
  /** For `verified`: the digest the reference must be pinned to. */
  readonly digest?: Digest;
  /** For `verified`: whether the decision must come from the result cache. */
  readonly cached?: boolean;
}

export interface QualificationObservation {
  readonly outcome: QualificationOutcome;
  /** The error code (`INTERNAL_ERROR` for an error that is no SigverifyError). */
  readonly code?: string;
  /** The reason code of each signature evaluated, in discovery order. */
  readonly reasons?: readonly string[];
  /** The pinned reference the gate returned. */
  readonly reference?: string;
  readonly digest?: Digest;
  /** A verified decision reused from the result cache. */
  readonly cached?: boolean;
  /** For `verified`: the trust root the decision rested on. */
  readonly trustRoot?: { readonly source: string; readonly sha256: string };
  /** For `refused`: the error's kind (`rejected`, `usage`, `unavailable`). */
  readonly kind?: string;
  readonly message: string;
}

/** `passed`/`failed`: the case ran and its observation did or did not match; `not-executed`: the protocol could not run it here (say why in `notExecuted`). */
export type QualificationCaseStatus = 'passed' | 'failed' | 'not-executed';

export interface QualificationCaseResult {
  readonly id: string;
  readonly title: string;
  /** What the case does to the image, signature or trust material. */
  readonly description: string;
  /** What part of the gate the case exercises (`legacy .sig`, `cosign v3 bundle, referrers API`, `key mode`, …). */
  readonly covers?: string;
  readonly expectation: QualificationExpectation;
  /** Absent for a case not executed. */
  readonly observation?: QualificationObservation;
  readonly status: QualificationCaseStatus;
  /** Why the case was not executed (no write access to the scratch repository, …). */
  readonly notExecuted?: string;
  /** `status === 'passed'`. */
  readonly passed: boolean;
  /** The gate call alone, in milliseconds (0 when not executed). */
  readonly durationMs: number;
  /** The audit record of the case's decision, when the protocol keeps an audit trail. */
  readonly audit?: { readonly seq: number; readonly decision: string; readonly hash: string };
}

/** A departure from the protocol as written: each failed or not-executed case, and anything else the protocol had to note. */
export interface QualificationDeviation {
  readonly case?: string;
  readonly text: string;
}

export interface QualificationReport {
  readonly mediaType: typeof QUALIFICATION_REPORT_MEDIA_TYPE;
  /** Unique per run: `OQ-<date>-<8 hex>` (the site protocol: `OQS-…`). */
  readonly reportId: string;
  readonly protocol: {
    readonly name: string;
    readonly version: number;
    /** The document that describes the protocol (in the package and repository). */
    readonly document: string;
  };
  /** What this run qualifies and on what material (test trust root and fixtures, or the site's own configuration). */
  readonly scope: readonly string[];
  /** When the protocol started, RFC 3339. */
  readonly date: string;
  readonly host: string;
  readonly platform: string;
  readonly system: SystemIdentity;
  /** Site, processor and operator, as given on the command line (blank lines on paper when absent). */
  readonly site: { readonly name?: string; readonly processor?: string; readonly operator?: string };
  readonly versions: { readonly sigverify: string; readonly node: string; readonly '@sigstore/verify': string };
  readonly installation: Installation;
  /** The trust root of the cases (for the shipped kit: of every case but the expired-metadata one). */
  readonly trustRoot: { readonly source: string; readonly sha256: string };
  /** The qualification kit (fixtures) or the site file used. */
  readonly kit: string;
  /** The audit trail the protocol's decisions were recorded in, verified after the last case. */
  readonly auditTrail?: { readonly path: string; readonly records: number; readonly intact: boolean; readonly head?: string };
  readonly cases: readonly QualificationCaseResult[];
  readonly deviations: readonly QualificationDeviation[];
  readonly summary: { readonly total: number; readonly passed: number; readonly failed: number; readonly notExecuted: number };
  /** No executed case failed (cases not executed are deviations, listed, never passes). */
  readonly passed: boolean;
}

/** `OQ-20261124T231302Z-1a2b3c4d`. */
export function newReportId(prefix: string, date: string): string {
  return `${prefix}-${date.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}-${randomBytes(4).toString('hex')}`;
}

/** The summary, the verdict and the automatic deviations of a list of case results. */
export function tally(cases: readonly QualificationCaseResult[]): Pick<QualificationReport, 'summary' | 'passed' | 'deviations'> {
  const count = (s: QualificationCaseStatus): number => cases.filter((c) => c.status === s).length;
  const summary = { total: cases.length, passed: count('passed'), failed: count('failed'), notExecuted: count('not-executed') };
  const deviations = cases.flatMap((c): QualificationDeviation[] => {
    if (c.status === 'not-executed') return [{ case: c.id, text: `not executed: ${c.notExecuted ?? 'no reason given'}` }];
    if (c.status === 'failed') return [{ case: c.id, text: `expected ${describeExpectation(c.expectation)}, observed ${c.observation === undefined ? 'nothing' : describeObservation(c.observation)}` }];
    return [];
  });
  return { summary, passed: summary.failed === 0 && summary.passed > 0, deviations };
}

/** One line for people: `refused NO_MATCHING_SIGNATURE (IDENTITY_MISMATCH)`, `verified sha256:…`. */
export function describeExpectation(e: QualificationExpectation): string {
  if (e.outcome === 'verified') return `verified${e.digest === undefined ? '' : `, pinned to ${e.digest}`}${e.cached === true ? ', from the cache' : ''}`;
  return `refused ${e.code ?? ''}${e.reason === undefined ? '' : ` (${e.reason})`}`;
}

export function describeObservation(o: QualificationObservation): string {
  if (o.outcome === 'verified') return `verified${o.digest === undefined ? '' : `, pinned to ${o.digest}`}${o.cached === true ? ', from the cache' : ''}`;
  const reasons = o.reasons === undefined || o.reasons.length === 0 ? '' : ` (${o.reasons.join(', ')})`;
  return `${o.outcome} ${o.code ?? ''}${reasons}`;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML character data or attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A CSS string literal (the report ID in the page margin): only characters our IDs are made of pass. */
function cssString(text: string): string {
  return `"${text.replace(/[^A-Za-z0-9 ._:-]/g, '')}"`;
}

/** The print style of sigverify's reports: A4 portrait, `header` (the report ID) at the top of every page, "Page X of Y" at the bottom. */
function pageStyle(header: string): string {
  return `
@page{size:A4 portrait;margin:16mm 12mm 18mm 12mm;
 @top-left{content:${cssString(header)};font:8pt system-ui,sans-serif;color:#444}
 @bottom-left{content:"Quality record. A printed copy is controlled only when signed in its approval block.";font:7pt system-ui,sans-serif;color:#666}
 @bottom-right{content:"Page " counter(page) " of " counter(pages);font:8pt system-ui,sans-serif}}
*{box-sizing:border-box}
body{font:10pt/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:1.5rem auto;max-width:186mm}
h1{font-size:15pt;margin:0 0 .2rem}
h2{font-size:11.5pt;margin:1.1rem 0 .4rem;border-bottom:1px solid #999;padding-bottom:.1rem;break-after:avoid}
.verdict{font-size:12pt;font-weight:700;margin:.3rem 0 .6rem}
.pass{color:#0a6b2d}.fail{color:#b00020}.skip{color:#8a5a00}
table{border-collapse:collapse;width:100%;table-layout:fixed}
th,td{border:1px solid #888;padding:2pt 4pt;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{background:#eee;font-size:8.5pt}
table.auto{table-layout:auto}
table.auto td{font-size:8.5pt}
table.fields th{width:34%;background:#f4f4f4;font-weight:600}
table.fields td{font-size:8.5pt}
td.verdict-cell{font-weight:700;text-align:center;font-size:9pt}
td.num{text-align:right;white-space:nowrap;font-size:8.5pt}
.cases td{font-size:8pt}
.cases .small{font-size:7pt}
.small{color:#444;font-size:7.5pt;margin-top:2pt}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}
.blank{display:inline-block;min-width:60mm;border-bottom:1px solid #111}
ul.scope{margin:.2rem 0 .4rem 1.1rem;padding:0}
table.sign td{height:16mm}
table.sign th{width:22%}
tr,tbody.case{break-inside:avoid}
tr.evidence td{border-top:none;padding-top:0}
tbody.case tr:first-child td{border-bottom:none}
thead{display:table-header-group}
@media print{body{margin:0;max-width:none}th{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
`;
}

const VERDICT: Readonly<Record<QualificationCaseStatus, { text: string; class: string }>> = {
  passed: { text: 'PASS', class: 'pass' },
  failed: { text: 'FAIL', class: 'fail' },
  'not-executed': { text: 'NOT EXECUTED', class: 'skip' },
};

/**
 * The report as one HTML page for A4 portrait: inline CSS, no scripts, no
 * external resources, every text escaped. Each case's verdict is its second
 * column, so it is on paper whatever else wraps; long values (digests,
 * paths) wrap inside their cells. The page margins carry the report ID and
 * "Page X of Y" (CSS paged media, printed by Chromium). `jsonSha256` is the
 * SHA-256 of report.json, the record this page renders: the signed paper
 * names the exact electronic record it approves.
 */
/** The start of a printable report: its title, and the page style with the running header every page carries. */
export function documentHead(title: string, header: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${pageStyle(header)}</style>
</head>
<body>`;
}

/**
 * The blank the signed paper needs: further deviations a reviewer adds by
 * hand, then one signature row per role (name, signature, date).
 */
export function signatureBlock(deviationsPrompt: string, roles: readonly string[]): string {
  return `<p>${escapeHtml(deviationsPrompt)}</p>
<table class="sign"><tbody><tr><td>&nbsp;</td></tr></tbody></table>
<h2>Approval</h2>
<table class="sign"><thead><tr><th>Role</th><th>Name</th><th>Signature</th><th style="width:18%">Date</th></tr></thead><tbody>
${roles.map((role) => `<tr><th>${escapeHtml(role)}</th><td></td><td></td><td></td></tr>`).join('\n')}
</tbody></table>`;
}

export function renderQualificationHtml(report: QualificationReport, jsonSha256?: string): string {
  const e = escapeHtml;
  const { summary } = report;
  const verdict = report.passed ? (summary.notExecuted === 0 ? 'PASSED' : 'PASSED WITH DEVIATIONS') : 'FAILED';
  const blank = (value: string | undefined): string => (value === undefined || value === '' ? '<span class="blank">&nbsp;</span>' : e(value));
  const field = (k: string, v: string): string => `<tr><th>${e(k)}</th><td>${v}</td></tr>`;
  const code = (v: string): string => `<code>${e(v)}</code>`;
  const inst = report.installation;
  const fields = [
    field('Report ID', `<strong>${code(report.reportId)}</strong>`),
    field('SHA-256 of report.json', jsonSha256 === undefined ? 'not yet written' : code(jsonSha256)),
    field('Protocol', `${e(report.protocol.name)}, version ${report.protocol.version} (${e(report.protocol.document)})`),
    field('Date (UTC)', e(report.date)),
    field('Site', blank(report.site.name)),
    field('Processor', blank(report.site.processor)),
    field('Operator', blank(report.site.operator)),
    field('Host', e(report.host)),
    field('Operating system and kernel', `${e(report.system.os)} (${e(report.system.arch)})<div class="small">${e(report.system.kernel)}</div>`),
    field('sigverify / Node.js / @sigstore/verify', `${e(report.versions.sigverify)} / ${e(report.versions.node)} / ${e(report.versions['@sigstore/verify'])}`),
    field('Executable (SHA-256)', `${code(inst.executable.path)}<div class="small">${code(inst.executable.sha256)}</div>`),
    field('Installed package (SHA-256 of manifest)', inst.package === undefined ? 'inside the executable (covered by its hash)' : `${code(inst.package.path)} (${e(inst.package.entries.join(', '))}; ${inst.package.files} files)<div class="small">${code(inst.package.sha256)}</div>`),
    field('Qualification kit (SHA-256 of manifest)', inst.kit === undefined ? `${code(report.kit)}${inst.package === undefined ? ' (inside the executable)' : ''}` : `${code(inst.kit.path)} (${inst.kit.files} files)<div class="small">${code(inst.kit.sha256)}</div>`),
    field('Trust root (SHA-256)', `${e(report.trustRoot.source)}<div class="small">${code(report.trustRoot.sha256)}</div>`),
    ...(report.auditTrail === undefined ? [] : [field('Audit trail', `${code(report.auditTrail.path)}: ${report.auditTrail.records} records, ${report.auditTrail.intact ? 'chain intact' : '<strong class="fail">chain BROKEN</strong>'}${report.auditTrail.head === undefined ? '' : `<div class="small">head ${code(report.auditTrail.head)}</div>`}`)]),
    field('Report format', e(report.mediaType)),
  ];
  // Two rows per case, kept on one page: the verdict line, then the evidence across the full width.
  const rows = report.cases.map((c) => {
    const v = VERDICT[c.status];
    const observed = c.observation === undefined ? 'not executed' : describeObservation(c.observation);
    const evidence = c.observation === undefined ? `Not executed: ${c.notExecuted ?? 'no reason given'}` : `Observed: ${c.observation.message}`;
    return `<tbody class="case">
<tr>
<td><code>${e(c.id)}</code></td>
<td class="verdict-cell ${v.class}">${v.text}</td>
<td><strong>${e(c.title)}</strong>${c.covers === undefined ? '' : `<div class="small">Covers: ${e(c.covers)}</div>`}</td>
<td>${e(describeExpectation(c.expectation))}</td>
<td>${e(observed)}${c.audit === undefined ? '' : `<div class="small">audit record ${c.audit.seq}: ${e(c.audit.decision)}</div>`}</td>
<td class="num">${c.status === 'not-executed' ? '-' : `${e(c.durationMs.toFixed(1))}&nbsp;ms`}</td>
</tr>
<tr class="evidence"><td></td><td colspan="5"><div class="small">${e(c.description)}</div><div class="small">${e(evidence)}</div></td></tr>
</tbody>`;
  });
  const deviations = report.deviations.length === 0
    ? '<p>None recorded by the protocol.</p>'
    : `<table><colgroup><col style="width:14%"><col></colgroup><thead><tr><th>Case</th><th>Deviation</th></tr></thead><tbody>${report.deviations.map((d) => `<tr><td>${d.case === undefined ? '' : code(d.case)}</td><td>${e(d.text)}</td></tr>`).join('')}</tbody></table>`;
  return `${documentHead(`${report.reportId}: ${report.protocol.name} ${verdict}`, `sigverify qualification report ${report.reportId}`)}
<h1>${e(report.protocol.name)}</h1>
<p class="verdict ${report.passed ? (summary.notExecuted === 0 ? 'pass' : 'skip') : 'fail'}">${verdict}: ${summary.passed} of ${summary.total} cases passed${summary.failed === 0 ? '' : `, ${summary.failed} failed`}${summary.notExecuted === 0 ? '' : `, ${summary.notExecuted} not executed`}</p>
<h2>Scope</h2>
<ul class="scope">${report.scope.map((s) => `<li>${e(s)}</li>`).join('')}</ul>
<h2>Record</h2>
<table class="fields"><tbody>
${fields.join('\n')}
</tbody></table>
<h2>Cases</h2>
<table class="cases">
<colgroup><col style="width:8%"><col style="width:10%"><col style="width:26%"><col style="width:23%"><col style="width:24%"><col style="width:9%"></colgroup>
<thead><tr><th>Case</th><th>Verdict</th><th>Test</th><th>Expected</th><th>Observed</th><th>Time</th></tr></thead>
${rows.join('\n')}
</table>
<p class="small">A case passes when the observed outcome, error code and per-signature reason equal the expectation. A case not executed is neither passed nor failed: it is a deviation.</p>
<h2>Deviations</h2>
${deviations}
${signatureBlock('Further deviations (number, description, impact, disposition):', ['Executed by', 'Reviewed by', 'Approved by (QA)'])}
<p class="small">The SHA-256 above is that of report.json, the electronic record this page renders (sha256sum report.json prints it): the signatures approve exactly that record. Manifest hashes are recomputed with: cd DIR &amp;&amp; find ENTRIES -type f | LC_ALL=C sort | xargs sha256sum | sha256sum.</p>
</body>
</html>
`;
}
