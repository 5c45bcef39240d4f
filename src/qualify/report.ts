import type { Digest } from '../reference/index.ts';

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
  readonly message: string;
}

export interface QualificationCaseResult {
  readonly id: string;
  readonly title: string;
  /** What the case does to the image, signature or trust material. */
  readonly description: string;
  readonly expectation: QualificationExpectation;
  readonly observation: QualificationObservation;
  readonly passed: boolean;
  /** The gate call alone, in milliseconds. */
  readonly durationMs: number;
}

export interface QualificationReport {
  readonly mediaType: typeof QUALIFICATION_REPORT_MEDIA_TYPE;
  readonly protocol: { readonly name: string; readonly version: number };
  /** When the protocol started, RFC 3339. */
  readonly date: string;
  readonly host: string;
  readonly platform: string;
  readonly versions: { readonly sigverify: string; readonly node: string; readonly '@sigstore/verify': string };
  /** The trust root of every case but the expired-metadata one. */
  readonly trustRoot: { readonly source: string; readonly sha256: string };
  /** The qualification kit (fixtures) used. */
  readonly kit: string;
  readonly cases: readonly QualificationCaseResult[];
  readonly summary: { readonly total: number; readonly passed: number; readonly failed: number };
  /** Every case's observation matched its expectation. */
  readonly passed: boolean;
}

/** One line for people: `refused NO_MATCHING_SIGNATURE (IDENTITY_MISMATCH)`, `verified sha256:…`. */
export function describeExpectation(e: QualificationExpectation): string {
  if (e.outcome === 'verified') return `verified${e.digest === undefined ? '' : `, pinned to ${e.digest}`}`;
  return `refused ${e.code ?? ''}${e.reason === undefined ? '' : ` (${e.reason})`}`;
}

export function describeObservation(o: QualificationObservation): string {
  if (o.outcome === 'verified') return `verified${o.digest === undefined ? '' : `, pinned to ${o.digest}`}`;
  const reasons = o.reasons === undefined || o.reasons.length === 0 ? '' : ` (${o.reasons.join(', ')})`;
  return `${o.outcome} ${o.code ?? ''}${reasons}`;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML character data or attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:2rem;max-width:80rem}
h1{font-size:1.5rem;margin:0 0 .25rem}
.verdict{font-size:1.15rem;font-weight:600;margin:.5rem 0 1rem}
.pass{color:#0a6b2d}.fail{color:#b00020}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0 0 1.5rem}
dt{font-weight:600}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #999;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}
td.result{font-weight:700;text-align:center;white-space:nowrap}
td.duration{text-align:right;white-space:nowrap}
.message{color:#444;font-size:.85em;word-break:break-word;margin-top:.25rem}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
footer{margin-top:2rem;font-size:.85em;color:#444}
.sign{display:grid;grid-template-columns:1fr 1fr;gap:2rem;margin-top:2.5rem}
.sign div{border-top:1px solid #111;padding-top:.25rem}
@media print{body{margin:0;max-width:none;font-size:11px}th{background:#eee!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}tr{break-inside:avoid}}
`;

/**
 * The report as one HTML page: inline CSS, no scripts, no external resources,
 * every text escaped. Prints on A4/Letter as it is shown.
 */
export function renderQualificationHtml(report: QualificationReport): string {
  const e = escapeHtml;
  const verdict = report.passed ? 'PASSED' : 'FAILED';
  const header: [string, string][] = [
    ['Date', report.date],
    ['Host', report.host],
    ['Platform', report.platform],
    ['sigverify', report.versions.sigverify],
    ['Node.js', report.versions.node],
    ['@sigstore/verify', report.versions['@sigstore/verify']],
    ['Trust root', report.trustRoot.source],
    ['Trust root sha256', report.trustRoot.sha256],
    ['Qualification kit', report.kit],
    ['Protocol', `${report.protocol.name}, version ${report.protocol.version}`],
    ['Report format', report.mediaType],
  ];
  const rows = report.cases.map((c) => {
    const result = c.passed ? 'PASS' : 'FAIL';
    return `<tr>
<td><code>${e(c.id)}</code></td>
<td><strong>${e(c.title)}</strong><div class="message">${e(c.description)}</div></td>
<td>${e(describeExpectation(c.expectation))}</td>
<td>${e(describeObservation(c.observation))}<div class="message">${e(c.observation.message)}</div></td>
<td class="duration">${e(c.durationMs.toFixed(1))}&nbsp;ms</td>
<td class="result ${c.passed ? 'pass' : 'fail'}">${result}</td>
</tr>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`sigverify operational qualification ${verdict}: ${report.host}, ${report.date}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>sigverify operational qualification</h1>
<p class="verdict ${report.passed ? 'pass' : 'fail'}">${verdict}: ${report.summary.passed} of ${report.summary.total} cases passed${report.summary.failed === 0 ? '' : `, ${report.summary.failed} failed`}</p>
<dl>
${header.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('\n')}
</dl>
<table>
<thead><tr><th>Case</th><th>Title</th><th>Expectation</th><th>Observation</th><th>Duration</th><th>Result</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<div class="sign"><div>Executed by (name, signature, date)</div><div>Reviewed by (name, signature, date)</div></div>
<footer>Every case ran through sigverify's module gate over HTTP against an in-process registry on 127.0.0.1, serving the signed fixture images of the qualification kit; no other network was used. A case passes when the observed outcome, error code and per-signature reason equal the expectation.</footer>
</body>
</html>
`;
}
