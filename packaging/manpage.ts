/**
 * sigverify(1), generated from the CLI's own help text (`sigverify --help`),
 * so the manual never says other than the program. The help is kept as it
 * is, in a no-fill block; roff needs only its escape character and
 * line-initial control characters guarded (groff_man(7), "Portability").
 */
export interface ManPageInput {
  readonly version: string;
  /** `sigverify --help`, verbatim. */
  readonly help: string;
  /** YYYY-MM-DD. */
  readonly date: string;
}

function roffLine(line: string): string {
  const escaped = line.replaceAll('\\', '\\e');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

export function manPage({ version, help, date }: ManPageInput): string {
  const [first = '', ...rest] = help.trimEnd().split('\n');
  const summary = first.replace(/^sigverify:\s*/, '');
  return [
    `.TH SIGVERIFY 1 "${date}" "sigverify ${version}" "User Commands"`,
    '.SH NAME',
    `sigverify \\- ${roffLine(summary)}`,
    '.SH SYNOPSIS',
    '.B sigverify',
    '.I command',
    '[\\fIflags\\fR]',
    '.SH DESCRIPTION',
    'The text below is the output of',
    '.BR "sigverify \\-\\-help" .',
    '.PP',
    '.nf',
    ...rest.map(roffLine),
    '.fi',
    '.SH SYSTEMD',
    'The package ships',
    '.B sigverify\\-trust\\-refresh.timer',
    'disabled. It runs',
    '.B sigverify trust refresh',
    'daily against',
    '.IR /var/cache/sigverify/tuf ,',
    'which must first be initialised with',
    '.BR "sigverify trust init" ;',
    'give processors the same cache with',
    '.BR SIGVERIFY_TUF_CACHE=/var/cache/sigverify/tuf .',
    'Enable it with',
    '.BR "systemctl enable \\-\\-now sigverify\\-trust\\-refresh.timer" .',
    'It also ships',
    '.B sigverify\\-log\\-audit.timer',
    'disabled: a monthly',
    '.B sigverify log audit',
    'with the arguments in',
    '.IR /etc/sigverify/log\\-audit.env',
    '(SIGVERIFY_LOG_AUDIT_ARGS), its state and reports in',
    '.IR /var/lib/sigverify/log\\-monitor .',
    '.SH FILES',
    '.TP',
    '.I ~/.cache/sigverify/tuf',
    'the default TUF cache ($SIGVERIFY_TUF_CACHE, else $XDG_CACHE_HOME/sigverify/tuf)',
    '.TP',
    '.I /usr/share/doc/sigverify/',
    'copyright and changelog',
    '',
  ].join('\n');
}
