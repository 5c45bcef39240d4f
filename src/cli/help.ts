/**
 * Every command's `--help`: usage, flags, examples, exit codes. Plain text
 * with no imports, so `sigverify X --help` loads nothing else.
 */

const EXIT_CODES = 'Exit codes: 0 verified, 1 not verified, 2 usage error, 3 could not decide.\n';

const POLICY_FLAGS = `Keyless (an identity flag and an issuer flag are both required):
  --certificate-identity S            exact SAN (URI, email or otherName)
  --certificate-identity-regexp RE    regexp that must match the WHOLE SAN
  --certificate-oidc-issuer S         exact OIDC issuer
  --certificate-oidc-issuer-regexp RE regexp that must match the WHOLE issuer
  --certificate-github-workflow-{repository,ref,sha,trigger,name} S   exact GitHub claims
Key:
  --key FILE                          PEM public key (ECDSA P-256/P-384, RSA); no KMS URIs
Both:
  -a, --annotations k=v               signed annotation that must be present (repeatable)
  --insecure-ignore-tlog              accept signatures without a Rekor entry
  --insecure-ignore-sct               accept certificates without an SCT from a CT log of the trust root
  --trusted-root FILE                 pinned trusted_root.json (fully offline)
  --ca-roots FILE                     PEM root CA(s) of a BYO PKI (replace the trust root's CAs)
  --ca-intermediates FILE             PEM intermediate CA(s) for --ca-roots
  --tuf-cache DIR                     TUF cache (holds the source "trust init" configured; default
                                      $SIGVERIFY_TUF_CACHE, else ~/.cache/sigverify/tuf)
  --allow-expired-trust-metadata-unsafe  run on expired TUF metadata (recorded in the result)
  --allow-http-registry               permit plain HTTP to non-loopback registries
  --signature-repository REPO         read signatures from REPO (also COSIGN_REPOSITORY)
  --platform os/arch[/variant]        multi-arch: run this child, taken from the verified index
                                      (or signed itself); its digest is the reference printed
  --local-image                       IMAGE is an OCI image-layout directory (same as oci:DIR)
  -o, --output text|json              json: the versioned result on stdout

cosign flags that change nothing here are accepted with a note on stderr (--offline, --rekor-url,
--new-bundle-format, --experimental-oci11, --check-claims=true, --max-workers,
--signature-digest-algorithm sha256); cosign flags sigverify cannot honour are refused with the reason.
`;

export const VERIFY_HELP = `sigverify verify: verify the cosign signatures of a container image

Usage:
  sigverify verify IMAGE [flags]
        IMAGE is [registry/]repo[:tag][@sha256:…] or oci:DIR[:tag|@sha256:…]. Prints the digest-pinned
        reference to run on stdout; what was checked goes to stderr.

${POLICY_FLAGS}
Examples:
  sigverify verify ghcr.io/acme/app:v1 \\
    --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1 \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com
  sigverify verify registry.example/app@sha256:… --key cosign.pub --trusted-root trusted_root.json
  sigverify verify oci:./app-layout:v1 --key cosign.pub --insecure-ignore-tlog -o json

${EXIT_CODES}`;

export const VERIFY_ATTESTATION_HELP = `sigverify verify-attestation: verify in-toto attestations of a container image

Usage:
  sigverify verify-attestation IMAGE [--type T] [flags]
        T: a predicate type URI or slsaprovenance, slsaprovenance1, spdx, spdxjson, cyclonedx, vuln,
        openvex, link, custom (the default, as in cosign). Counts attestations of that predicate type
        instead of signatures; with -o json the result carries the verified statements.

  --type T                            the predicate type to require
${POLICY_FLAGS}
Examples:
  sigverify verify-attestation ghcr.io/acme/app:v1 --type slsaprovenance1 \\
    --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1 \\
    --certificate-oidc-issuer https://token.actions.githubusercontent.com -o json
  sigverify verify-attestation oci:./app-layout:v1 --type spdxjson --key cosign.pub

${EXIT_CODES}`;

export const VERIFY_BUNDLE_HELP = `sigverify verify-bundle: a Sigstore bundle against a file or digest (sigstore-conformance protocol)

Usage:
  sigverify verify-bundle --bundle FILE (--certificate-identity S --certificate-oidc-issuer S | --key FILE)
                          [--trusted-root FILE] [--tuf-cache DIR] FILE_OR_DIGEST
        FILE_OR_DIGEST is a file, or sha256:<64 hex> when no such file exists. Pass or fail is the exit
        status; nothing is printed on stdout.

Examples:
  sigverify verify-bundle --bundle artifact.sigstore.json \\
    --certificate-identity someone@example.com --certificate-oidc-issuer https://accounts.google.com artifact.tar
  sigverify verify-bundle --bundle b.json --key key.pub --trusted-root trusted_root.json sha256:…

${EXIT_CODES}`;

export const DOCTOR_HELP = `sigverify doctor: what would stop verification on this machine

Usage:
  sigverify doctor [IMAGE] [--module FILE] [--trusted-root FILE] [--tuf-cache DIR] [--allow-http-registry]
                   [-o text|json]
        Checks the runtime, the trust source and its freshness, the clock, and with IMAGE the registry,
        its credentials and its clock; says what to fix. With --module, the module policy's image
        (its docker_tag) must have a signature that policy accepts, through the same gate the
        processor uses (trust: the module's, else --trusted-root or the configured source).

Examples:
  sigverify doctor
  sigverify doctor ghcr.io/acme/app:v1 --output json
  sigverify doctor --module /etc/sigverify/modules/brain-seg.json

Exit codes: 0 nothing fails, 1 a check failed, 2 usage error.
`;

const GATE_FLAGS = `Flags:
  --base-dir DIR                      where relative paths in the policy start (required for "-")
  -o, --output text|json              json: the gate result (check-module) or the table (check-config)
  --audit-log FILE                    append a hash-chained audit record per decision
  --audit-processor NAME              the processor's name, recorded in every record (with the host)
  --audit-checkpoint-key KEY.pem      sign the trail's head with this site key (ECDSA P-256 or Ed25519)
  --audit-checkpoint-every N          ... every N records (default 100)
  --result-cache DIR                  reuse recent decisions (a cache of gate results, not the TUF cache)
  --result-cache-ttl SECONDS          how long a cached decision stands (needs --result-cache)
  --trusted-root FILE                 pinned trusted_root.json for policies that name no trust
  --allow-http-registry               permit plain HTTP to non-loopback registries
  --allow-test-trust-root-unsafe      accept sigverify's own test Sigstore (its private keys are public)
Deprecated spellings, still accepted with a note: --cache-dir (--result-cache), --cache-ttl (--result-cache-ttl).
`;

export const CHECK_MODULE_HELP = `sigverify check-module: gate one module (a JSON module policy)

Usage:
  sigverify check-module FILE|- [flags]
        Prints the pinned reference to run (repo@sha256:…) on stdout, or exits non-zero with the reason
        on stderr. Relative paths in the policy start from its directory, or from --base-dir.

${GATE_FLAGS}
Examples:
  sigverify check-module modules/brain-seg.json --audit-log /var/log/sigverify/audit.jsonl
  cat brain-seg.json | sigverify check-module - --base-dir /etc/processor -o json

Exit codes: 0 may run, 1 refused, 2 usage error or invalid policy, 3 could not decide.
`;

export const CHECK_CONFIG_HELP = `sigverify check-config: gate every module of a processor configuration ({"modules": {…}})

Usage:
  sigverify check-config FILE|- [flags]
        Prints a table (or, with -o json, one document) of every module's decision; exit 0 only if every
        module may run.

${GATE_FLAGS}
Examples:
  sigverify check-config /etc/processor/config.json
  sigverify check-config config.json --result-cache /var/cache/sigverify/results -o json

Exit codes: 0 every module may run, 1 one is refused, 2 usage error or invalid configuration, 3 could not decide.
`;

export const TRUST_HELP = `sigverify trust: where keyless trust comes from, and its freshness

Usage:
  sigverify trust init (--mirror URL | --from-dir DIR | --public-good) [--root ROOT.json] [--tuf-cache DIR]
        Initialise the TUF cache from a private mirror or a repository directory (removable media, a
        "trust export"), starting from ROOT.json, the repository's initial root obtained out of band;
        record it as the source every later "sigverify verify" uses.
  sigverify trust status [--tuf-cache DIR] [-o text|json] [--warn-days N]
        The configured source, the version and expiry of every TUF role, every CA and key with its
        validity window, and warnings N days (default 30) ahead of expiry.
  sigverify trust refresh [--tuf-cache DIR] [--from-dir DIR]
        Fetch newer metadata from the configured repository (or from DIR, a newer copy of the directory).
  sigverify trust export DIR [--tuf-cache DIR]
        Write a verified, self-contained TUF repository to DIR (new or empty) for "trust init --from-dir"
        on an air-gapped machine.

Flags:
  --tuf-cache DIR                         TUF cache (as verify --tuf-cache; default $SIGVERIFY_TUF_CACHE,
                                          else ~/.cache/sigverify/tuf); --cache is a deprecated spelling
  --allow-expired-trust-metadata-unsafe   accept EXPIRED TUF metadata after checking everything else; the
                                          verification result records it. Only for sites that must run on it.

Examples:
  sigverify trust init --mirror https://tuf.example.internal --root root.json
  sigverify trust status --warn-days 14
  sigverify trust export /media/usb/tuf        # online machine
  sigverify trust init --from-dir /media/usb/tuf --root root.json   # air-gapped machine

Exit codes: 0 done, 1 refused, 2 usage error, 3 trust metadata unavailable, expired or invalid.
`;

export const AUDIT_HELP = `sigverify audit: check and summarise the gate's audit trail

Usage:
  sigverify audit verify FILE [--expect-head HASH] [--expect-count N] [--continues-from SEQ:SHA256]
                              [--checkpoint-key PUB.pem [--checkpoint-every N]] [-o text|json]
        Check the hash chain: any edited, removed, inserted or reordered record is reported with its
        line; records cut from the end are detected only against a head or count noted earlier.
        --continues-from: FILE is a segment after rotation; it must continue from the previous
        segment's last line (its verify output and "audit rotate" print SEQ:SHA256).
        --checkpoint-key: every checkpoint signed with the site key must verify (a rewritten history
        fails), and at most N records (default 100) may follow the last one.
  sigverify audit rotate FILE --to SEGMENT [--checkpoint-key KEY.pem] [--processor NAME] [-o text|json]
        Under the trail's lock: FILE becomes SEGMENT (never overwritten), and a new FILE starts with a
        checkpoint chained to SEGMENT's last line (signed with KEY.pem, ECDSA P-256 or Ed25519).
        Prints SEQ:SHA256 for --continues-from. See docs/qualification.md for a logrotate setup.
  sigverify audit summary FILE [--since ISO-8601] [-o text|json]
        Decisions per module, cache hits, p50/p95 durations.

Examples:
  sigverify audit verify /var/log/sigverify/audit.jsonl --expect-count 1200
  sigverify audit summary /var/log/sigverify/audit.jsonl --since 2026-01-01T00:00:00Z -o json
  sigverify audit rotate /var/log/sigverify/audit.jsonl --to /var/log/sigverify/audit-2026-11.jsonl \\
      --checkpoint-key /etc/sigverify/audit-checkpoint.key
  sigverify audit verify /var/log/sigverify/audit.jsonl --continues-from 1200:<sha256> \\
      --checkpoint-key /etc/sigverify/audit-checkpoint.pub

Exit codes: 0 intact (verify) or done, 1 broken chain, 2 usage error, 3 the file cannot be read.
`;

export const LOG_HELP = `sigverify log: monitor transparency logs (the site's Rekor audit)

Usage:
  sigverify log audit (--rekor-url URL | --rekor-v2-url URL)... (--certificate-identity S
                      --certificate-oidc-issuer S | --key FILE)... [approvals] [flags]
        For each log: verify its newest checkpoint with the trust root's log key, prove it consistent
        with the checkpoint verified last time (kept in --state-dir), find every entry the watched
        signers made since then (Rekor v1: its search index, by SAN or key; Rekor v2: every entry of the
        tiles), verify each (inclusion in the signed tree, certificate from the trusted Fulcio CA),
        and re-check that every log entry an accepted gate decision relied on is still included.
        An entry is expected when it is the log entry of a verified signature on an approved image;
        everything else a watched signer made is reported as unexpected.

Logs:
  --rekor-url URL                     a Rekor v1 log (repeatable)
  --rekor-v2-url URL                  a Rekor v2 log: where its checkpoint and tiles are served (repeatable)
  --certificate-identity S            watched signer: exact SAN (repeatable)
  --certificate-oidc-issuer S         its OIDC issuer: one for all identities, or one per identity
  --key FILE                          watched signing key (PEM public key of a cosign key pair; repeatable)
  --since ISO-8601                    Rekor v1: only entries integrated since then (default: since the
                                      last run's checkpoint; all entries on the first run)
Approvals:
  --audit-log FILE                    the gate's audit trail: its accepted decisions (images and log
                                      entries, re-checked in the log); this run's record is appended
  --audit-segment FILE                a segment rotated out of that trail (audit rotate), oldest first
                                      (repeatable): its decisions approve too; the chain is verified
                                      across the segments into --audit-log
  --module FILE                       a module policy: its tag, resolved now (repeatable)
  --approved FILE                     approved images (repo@sha256:…) and artifact digests (sha256:…),
                                      one a line, # comments
Flags:
  --state-dir DIR                     last verified checkpoints (default $SIGVERIFY_LOG_STATE, else
                                      $XDG_STATE_HOME/sigverify/log-monitor)
  --trusted-root FILE                 pinned trusted_root.json (log keys, Fulcio CA); offline
  --tuf-cache DIR                     TUF cache, as for verify
  --report FILE                       write the JSON report (schemas/log-monitor-report.v1.json)
  --allow-http                        plain HTTP to logs and registries beyond loopback
  -o, --output text|json              json: the report on stdout; the summary is on stderr either way

Examples:
  sigverify log audit --rekor-url https://rekor.example.internal \\
    --certificate-identity release@example.org --certificate-oidc-issuer https://idp.example.org \\
    --audit-log /var/log/sigverify/audit.jsonl --report /var/lib/sigverify/rekor-$(date +%F).json
  sigverify log audit --rekor-v2-url https://log2025-1.rekor.sigstore.dev --certificate-identity … \\
    --certificate-oidc-issuer … --approved approved.txt -o json

Exit codes: 0 clean, 1 unexpected entries or an inconsistent log (fork, rewrite, dropped entry),
2 usage error, 3 could not decide (log unreachable, proofs that do not verify).
`;

export const QUALIFY_HELP = `sigverify qualify: operational qualification on this machine

Usage:
  sigverify qualify [--site-name NAME] [--processor NAME] [--operator NAME] [--output-dir DIR] [-o text|json]
        Runs the shipped OQ protocol offline (17 cases: signed fixture images served on 127.0.0.1,
        a private TEST Sigstore) and writes report.json and report.html (A4, signable) to DIR
        (default ./sigverify-qualification-<report id>/).
  sigverify qualify --site FILE [--operator NAME] [--allow-test-trust-root-unsafe] [--output-dir DIR] [-o text|json]
        Runs the site protocol against the site's own registry, trust configuration, module policy
        and audit trail, as the site file names them (docs/qualification.md): the signed test image
        passes; an unsigned image, another identity, another issuer fail; with write access to the
        site's scratch repository, a modified image and a copied signature fail. Cases the site's
        setup does not allow are NOT EXECUTED (deviations), never passed: exit 3 when any is, and
        none failed.
  sigverify qualify pq --audit-log FILE [--audit-log FILE…] --from TIME --to TIME
                       [--monitor-report FILE…] [--site-name NAME] [--processor NAME] [--operator NAME]
                       [--output-dir DIR] [-o text|json]
        Performance qualification over a period: audit trail segments (oldest first, each verified
        and chained to the one before), decisions per module, refusals with reasons, verification
        time p50/p95/max against the 60-second limit, trust roots and versions in use, and the log
        monitor's findings. Writes pq-report.json and pq-report.html; exit 0 when accepted.

Examples:
  sigverify qualify --site-name "St. Example Radiology" --operator "A. Engineer"
  sigverify qualify --site /etc/sigverify/qualification-site.json --output-dir /srv/validation/oq-$(date +%F)
  sigverify qualify pq --audit-log /var/log/sigverify/audit-2026-10.jsonl --audit-log /var/log/sigverify/audit.jsonl \\
      --from 2026-10-01 --to 2026-11-01 --monitor-report /var/lib/sigverify/monitor/2026-10-31.json

Exit codes: 0 no case failed, 1 a case failed, 2 usage error, 3 the protocol could not run.
`;

/** `sigverify help`: the commands, one line each. */
export const HELP = `sigverify: verify cosign / Sigstore container image signatures

Usage:
  sigverify verify IMAGE [flags]                 cosign signatures of an image; prints the pinned reference
  sigverify verify-attestation IMAGE --type T    in-toto attestations of an image
  sigverify verify-bundle --bundle FILE …        a Sigstore bundle against a file or digest
  sigverify trust init|status|refresh|export     the TUF trust source and its freshness
  sigverify check-module FILE|-                  gate one module policy (processor)
  sigverify check-config FILE|-                  gate every module of a processor configuration
  sigverify audit verify|summary FILE            the gate's audit trail
  sigverify log audit --rekor-url URL …          transparency-log audit: unexpected entries, forks
  sigverify qualify                              operational qualification (offline)
  sigverify doctor [IMAGE]                       what would stop verification here
  sigverify version

Run "sigverify COMMAND --help" (or "sigverify help COMMAND") for one command's flags and examples;
all of them follow.

${EXIT_CODES}`;

/** Help by command name; `undefined` for a name that is not a command. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  verify: VERIFY_HELP,
  'verify-attestation': VERIFY_ATTESTATION_HELP,
  'verify-bundle': VERIFY_BUNDLE_HELP,
  trust: TRUST_HELP,
  'check-module': CHECK_MODULE_HELP,
  'check-config': CHECK_CONFIG_HELP,
  audit: AUDIT_HELP,
  log: LOG_HELP,
  qualify: QUALIFY_HELP,
  doctor: DOCTOR_HELP,
};

/** `sigverify help` / `--help`: the overview, then every command's help (sigverify(1) is made from it). */
export const FULL_HELP = [HELP, ...Object.values(COMMAND_HELP)].join('\n');
