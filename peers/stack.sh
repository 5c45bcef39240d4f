#!/usr/bin/env bash
# A private Sigstore on 127.0.0.1: the real services, built by peers/build-tools.sh
# from pinned Go modules, run as plain processes.
#
#   peers/stack.sh start     start everything (fresh keys and logs), wait for readiness,
#                            write the trust files and $STATE/env
#   peers/stack.sh stop      stop every service by the PID recorded at start
#   peers/stack.sh env       print the env file (source it: eval "$(peers/stack.sh env)")
#   peers/stack.sh token [EMAIL]   mint a fresh OIDC ID token from the stack's issuer
#   peers/stack.sh status    list the recorded services and whether they still run
#
# State: ${SIGVERIFY_STACK_DIR:-/tmp/sigverify-stack} (mode 0700): keys, data,
# logs (log/<service>.log), PIDs (pids/<nn>-<service>.pid).
#
# Components and where their flags come from (upstream sources at the pinned tags):
#   MariaDB (Debian)            own datadir, 127.0.0.1:$P_MYSQL, root over the socket only
#   Trillian log server/signer  cmd/trillian_log_server, cmd/trillian_log_signer (google/trillian v1.7.3)
#   OIDC issuer                 discovery + JWKS (OpenID Connect Discovery 1.0), RS256 tokens minted with openssl
#   TesseraCT POSIX (CT log)    cmd/tesseract/posix flags (transparency-dev/tesseract v0.1.1)
#   Fulcio, file CA             cmd/app/serve.go (sigstore/fulcio v1.8.8)
#   Timestamp authority         cmd/timestamp-server/app (sigstore/timestamp-authority v2.1.3)
#   Rekor v1                    cmd/rekor-server/app/root.go (sigstore/rekor v1.5.4), MySQL search index
#   the rotation's next keys    a second Fulcio (file CA) and Rekor v1 (new tree, key, index DB)
#   Rekor v2 (rekor-tiles)      internal/cli/flags.go (sigstore/rekor-tiles v2.3.0)
#   TUF repository              go-tuf v0.7.0 `tuf` CLI
#   olareg                      OCI 1.1 referrers API
#   docker-registry (Debian)    distribution 2.8: no referrers API; plain, htpasswd, and token auth
#   token-server                distribution's contrib/token-server (v2.8.3), bearer tokens for the last one
#
# Pitfalls handled here: the TSA and Rekor v1 both hard-code metrics on :2112 (all
# interfaces). The TSA exits if the port is taken, Rekor v1 ignores the error, so the
# TSA starts first and owns it. Fulcio's metrics port also listens on all interfaces, and
# its legacy gRPC server binds a fixed abstract socket (@fulcio-legacy-grpc-socket): the
# second Fulcio is given another.
# Rekor v2's --hostname is the checkpoint origin and must equal the trusted root's
# baseUrl host (127.0.0.1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=${SIGVERIFY_STACK_DIR:-/tmp/sigverify-stack}
CACHE=${SIGVERIFY_TOOLS_CACHE:-$HOME/.cache/sigverify-tools}
H=127.0.0.1

# Ports (all on 127.0.0.1 unless noted).
P_MYSQL=${P_MYSQL:-3307}
P_TLOG_RPC=8090 P_TLOG_HTTP=8091 P_TSIG_RPC=8092 P_TSIG_HTTP=8093
P_OIDC=8080
P_CT=6962
P_FULCIO=5555 P_FULCIO_GRPC=5554 P_FULCIO_METRICS=2113   # metrics: all interfaces (upstream)
P_TSA=3004                                               # + :2112 metrics, all interfaces (hard-coded)
P_REKOR1=3000                                            # its :2112 metrics bind fails silently
# The rotation (peers/differential.ts, TUF key rotation): a second Fulcio CA and a second
# Rekor v1 log (a new Trillian tree and signing key, as a log shard is rotated upstream),
# which the initial trusted root does not list.
P_FULCIO_NEXT=5556 P_FULCIO_NEXT_GRPC=5557 P_FULCIO_NEXT_METRICS=2115
P_REKOR1_NEXT=3010                                       # its :2112 metrics bind fails silently too
P_REKOR2=3003 P_REKOR2_GRPC=3001 P_REKOR2_METRICS=2114 P_REKOR2_READ=3005
P_TUF=8081
P_OLAREG=5000 P_REG_PLAIN=5002 P_REG_BASIC=5003 P_REG_TOKEN=5004 P_TOKEN=5005

ISS=http://$H:$P_OIDC
IDENTITY=${SIGVERIFY_STACK_IDENTITY:-ci@sigverify.test}
PW=stackpw   # passphrase of the throw-away CA/log keys in the state dir

die() { echo "stack: $*" >&2; exit 1; }
log() { echo "stack: $*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

tool_dir() { # name -> cache dir of the built tool
  local ver
  ver=$(awk -v n="$1" '$1==n {print $3}' "$HERE/tools.list")
  [ -n "$ver" ] || die "unknown tool $1"
  echo "$CACHE/$1-$ver/bin"
}
bin() { # name binary
  local p
  p=$(tool_dir "$1")/$2
  [ -x "$p" ] || die "missing $p: run peers/build-tools.sh"
  echo "$p"
}

port_busy() { (exec 3<>"/dev/tcp/$H/$1") 2>/dev/null; }
wait_port() { # port service
  local i
  for i in $(seq 240); do port_busy "$1" && return 0; check_alive "$2"; sleep 0.25; done
  die "$2: port $1 not open after 60 s (see $S/log/$2.log)"
}
wait_url() { # url service  (any 2xx)
  local i
  for i in $(seq 240); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    check_alive "$2"; sleep 0.25
  done
  die "$2: $1 not ready after 60 s (see $S/log/$2.log)"
}
check_alive() {
  local f pid
  f=$(ls "$S"/pids/*-"$1".pid 2>/dev/null | head -1) || true
  [ -n "$f" ] || return 0
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || { tail -n 20 "$S/log/$1.log" >&2 || true; die "$1 exited (log: $S/log/$1.log)"; }
}

SEQ=0
run() { # service cmd args...   (background; PID recorded)
  local name=$1; shift
  SEQ=$((SEQ + 1))
  "$@" >"$S/log/$name.log" 2>&1 </dev/null &
  local pid=$!
  printf '%s\n' "$pid" > "$S/pids/$(printf '%02d' $SEQ)-$name.pid"
  printf '%s\n' "$1" > "$S/pids/$(printf '%02d' $SEQ)-$name.exe"
  log "started $name (pid $pid)"
}

stop_all() {
  [ -d "$S/pids" ] || { log "nothing to stop ($S/pids absent)"; return 0; }
  local f pid name exe i t0 alive
  local -a pids=() names=()
  t0=$(now)
  # TERM every recorded process (reverse start order), then wait for all of them
  # together; KILL what is left after 15 s. Only processes we started are signalled:
  # the recorded executable must still be the PID's command (guards against PID reuse).
  for f in $(ls -r "$S"/pids/*.pid 2>/dev/null); do
    pid=$(cat "$f"); name=$(basename "$f" .pid); exe=$(cat "${f%.pid}.exe" 2>/dev/null || true)
    if kill -0 "$pid" 2>/dev/null; then
      if [ -n "$exe" ] && ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(basename "$exe")"; then
        log "skip $name: pid $pid is no longer $exe"
      else
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid"); names+=("$name")
      fi
    fi
    rm -f "$f" "${f%.pid}.exe"
  done
  for i in $(seq 60); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.25
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      kill -KILL "${pids[$i]}" 2>/dev/null || true; log "killed ${names[$i]} (${pids[$i]}) after 15 s"
    fi
  done
  log "stopped ${#pids[@]} services in $(secs "$t0" "$(now)") s"
}

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
mint() { # email -> RS256 ID token for the stack's issuer (aud "sigstore", 1 h)
  local sub=${1:-$IDENTITY} t h p s
  t=$(date +%s)
  h=$(printf '{"alg":"RS256","kid":"k1","typ":"JWT"}' | b64url)
  p=$(printf '{"iss":"%s","sub":"%s","aud":"sigstore","email":"%s","email_verified":true,"iat":%d,"nbf":%d,"exp":%d}' \
      "$ISS" "$sub" "$sub" "$t" "$t" $((t + 3600)) | b64url)
  s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$S/keys/oidc.key" -binary | b64url)
  echo "$h.$p.$s"
}

need_cmds() {
  local c missing=()
  for c in openssl curl jq python3 mariadbd mariadb-install-db mariadb htpasswd docker-registry; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (run peers/install-deps.sh)"
}

start() {
  need_cmds
  if [ -d "$S/pids" ] && ls "$S"/pids/*.pid >/dev/null 2>&1; then
    die "a stack seems to run already ($S/pids); run '$0 stop' first"
  fi
  local p
  for p in $P_MYSQL $P_TLOG_RPC $P_TLOG_HTTP $P_TSIG_RPC $P_TSIG_HTTP $P_OIDC $P_CT $P_FULCIO $P_FULCIO_GRPC \
           $P_FULCIO_METRICS $P_FULCIO_NEXT $P_FULCIO_NEXT_GRPC $P_FULCIO_NEXT_METRICS 2112 $P_TSA $P_REKOR1 $P_REKOR1_NEXT $P_REKOR2 $P_REKOR2_GRPC $P_REKOR2_METRICS $P_REKOR2_READ \
           $P_TUF $P_OLAREG $P_REG_PLAIN $P_REG_BASIC $P_REG_TOKEN $P_TOKEN; do
    port_busy "$p" && die "port $p is already in use on $H"
  done
  # Resolve every binary before touching anything.
  local MYSQLD TLS TSIG CTREE CT FULCIO TSA REKOR1 REKOR2 OLAREG TOKENSRV TUF C3
  TLS=$(bin trillian trillian_log_server); TSIG=$(bin trillian trillian_log_signer); CTREE=$(bin trillian createtree)
  CT=$(bin tesseract posix); FULCIO=$(bin fulcio fulcio); TSA=$(bin tsa timestamp-server)
  REKOR1=$(bin rekor rekor-server); REKOR2=$(bin rekor-tiles posix); OLAREG=$(bin olareg olareg)
  TOKENSRV=$(bin token-server token-server); TUF=$(bin tuf tuf); C3=$(bin cosign3 cosign)
  MYSQLD=$(command -v mariadbd)

  local T0; T0=$(now)
  rm -rf "$S"; mkdir -p "$S"; chmod 700 "$S"
  mkdir -p "$S"/{log,pids,keys,bin,oidc/.well-known,data/ct,data/rekor2,data/olareg,data/reg-plain,data/reg-basic,data/reg-token,auth,docker,docker-helper,mysql}
  STARTED=0
  trap 'if [ $STARTED = 0 ]; then echo "stack: start failed; stopping what was started" >&2; stop_all; fi' EXIT

  # ---- keys (openssl) --------------------------------------------------------
  local K=$S/keys
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -aes256 -pass "pass:$PW" -out "$K/fulcio.key" 2>/dev/null
  printf '%s\n' '[req]' 'distinguished_name = dn' 'x509_extensions = v3_ca' 'prompt = no' '[dn]' 'O = sigverify-test' \
    'CN = sigverify-test-fulcio-root' '[v3_ca]' 'basicConstraints = critical,CA:TRUE,pathlen:1' \
    'keyUsage = critical,keyCertSign,cRLSign' 'subjectKeyIdentifier = hash' > "$K/ca.cnf"
  openssl req -x509 -new -config "$K/ca.cnf" -key "$K/fulcio.key" -passin "pass:$PW" -sha384 -days 3650 -out "$K/fulcio-root.pem"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -aes256 -pass "pass:$PW" -out "$K/fulcio-next.key" 2>/dev/null
  sed 's/fulcio-root$/fulcio-root-next/' "$K/ca.cnf" > "$K/ca-next.cnf"
  openssl req -x509 -new -config "$K/ca-next.cnf" -key "$K/fulcio-next.key" -passin "pass:$PW" -sha384 -days 3650 -out "$K/fulcio-next-root.pem"
  # The CT log accepts precertificates from either CA.
  cat "$K/fulcio-root.pem" "$K/fulcio-next-root.pem" > "$K/ct-roots.pem"
  openssl ecparam -name prime256v1 -genkey -noout -out "$K/ct.key"          # SEC1, as TesseraCT wants
  openssl ec -in "$K/ct.key" -pubout -out "$K/ct.pub" 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass "pass:$PW" -out "$K/rekor1.key" 2>/dev/null
  openssl pkey -in "$K/rekor1.key" -passin "pass:$PW" -pubout -out "$K/rekor1.pub"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass "pass:$PW" -out "$K/rekor1-next.key" 2>/dev/null
  openssl pkey -in "$K/rekor1-next.key" -passin "pass:$PW" -pubout -out "$K/rekor1-next.pub"
  openssl genpkey -algorithm ed25519 -out "$K/rekor2.key" && openssl pkey -in "$K/rekor2.key" -pubout -out "$K/rekor2.pub"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/oidc.key" 2>/dev/null
  # token-server: libtrust loads a PEM EC key; the registry trusts the key of a certificate in its rootcertbundle.
  openssl ecparam -name prime256v1 -genkey -noout -out "$K/token.key"
  openssl req -x509 -new -key "$K/token.key" -subj /CN=sigverify-token-server -days 3650 -out "$K/token.crt" 2>/dev/null

  # ---- MariaDB (own datadir; not the system instance) -----------------------
  mariadb-install-db --no-defaults --datadir="$S/mysql" --user=root \
    --skip-test-db >"$S/log/mariadb-install.log" 2>&1
  run mariadb "$MYSQLD" --no-defaults --datadir="$S/mysql" --socket="$S/mysql.sock" --pid-file="$S/mysql.pid" \
    --port=$P_MYSQL --bind-address=$H --user=root --skip-name-resolve --skip-log-bin --log-error="$S/log/mariadb.err"
  local i
  for i in $(seq 120); do mariadb --no-defaults --socket="$S/mysql.sock" -uroot -e 'select 1' >/dev/null 2>&1 && break; check_alive mariadb; sleep 0.5; done
  local DBPW; DBPW=$(openssl rand -hex 12)
  mariadb --no-defaults --socket="$S/mysql.sock" -uroot <<SQL
CREATE DATABASE trillian; CREATE DATABASE rekor; CREATE DATABASE rekor_next;
CREATE USER 'sigstore'@'127.0.0.1' IDENTIFIED BY '$DBPW';
GRANT ALL ON trillian.* TO 'sigstore'@'127.0.0.1'; GRANT ALL ON rekor.* TO 'sigstore'@'127.0.0.1';
GRANT ALL ON rekor_next.* TO 'sigstore'@'127.0.0.1';
SQL
  local TRILLIAN_DIR
  TRILLIAN_DIR=$(cd "$HERE/tools/trillian" && GOFLAGS= GOWORK=off GOTOOLCHAIN=local go mod download -json github.com/google/trillian | jq -r .Dir)
  mariadb --no-defaults --socket="$S/mysql.sock" -uroot trillian < "$TRILLIAN_DIR/storage/mysql/schema/storage.sql"
  local DSN="sigstore:$DBPW@tcp($H:$P_MYSQL)/trillian?parseTime=true&interpolateParams=true"
  local RDSN="sigstore:$DBPW@tcp($H:$P_MYSQL)/rekor?parseTime=true"
  local RDSN_NEXT="sigstore:$DBPW@tcp($H:$P_MYSQL)/rekor_next?parseTime=true"

  # ---- Trillian ---------------------------------------------------------------
  run trillian-server "$TLS" --storage_system=mysql --quota_system=noop --mysql_uri="$DSN" \
    --rpc_endpoint=$H:$P_TLOG_RPC --http_endpoint=$H:$P_TLOG_HTTP
  run trillian-signer "$TSIG" --storage_system=mysql --quota_system=noop --mysql_uri="$DSN" --force_master \
    --sequencer_interval=100ms --rpc_endpoint=$H:$P_TSIG_RPC --http_endpoint=$H:$P_TSIG_HTTP
  wait_port $P_TLOG_RPC trillian-server; wait_port $P_TSIG_RPC trillian-signer
  local TREE TREE_NEXT
  TREE=$("$CTREE" --admin_server=$H:$P_TLOG_RPC 2>"$S/log/createtree.log")
  [ -n "$TREE" ] || die "createtree printed no tree id (log/createtree.log)"
  TREE_NEXT=$("$CTREE" --admin_server=$H:$P_TLOG_RPC 2>>"$S/log/createtree.log")
  [ -n "$TREE_NEXT" ] || die "createtree printed no tree id for the next log (log/createtree.log)"

  # ---- OIDC issuer ------------------------------------------------------------
  local n
  n=$(openssl rsa -in "$K/oidc.key" -noout -modulus | cut -d= -f2 | python3 -c \
    'import sys,base64,binascii;print(base64.urlsafe_b64encode(binascii.unhexlify(sys.stdin.read().strip())).rstrip(b"=").decode())')
  printf '{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":"k1","n":"%s","e":"AQAB"}]}\n' "$n" > "$S/oidc/keys"
  printf '{"issuer":"%s","jwks_uri":"%s/keys","id_token_signing_alg_values_supported":["RS256"],"response_types_supported":["id_token"],"subject_types_supported":["public"]}\n' \
    "$ISS" "$ISS" > "$S/oidc/.well-known/openid-configuration"
  run oidc python3 "$HERE/lib/static_server.py" --bind $H --port $P_OIDC --dir "$S/oidc"
  wait_url "$ISS/.well-known/openid-configuration" oidc

  # ---- CT log: TesseraCT POSIX --------------------------------------------------
  GOMEMLIMIT=1GiB run ct "$CT" --http_endpoint=$H:$P_CT --storage_dir="$S/data/ct" --private_key="$K/ct.key" \
    --origin=$H --roots_pem_file="$K/ct-roots.pem" --ext_key_usages=CodeSigning
  wait_url "http://$H:$P_CT/ct/v1/get-roots" ct

  # ---- Fulcio (file CA) ------------------------------------------------------------
  printf '{"OIDCIssuers":{"%s":{"IssuerURL":"%s","ClientID":"sigstore","Type":"email"}}}\n' "$ISS" "$ISS" > "$S/fulcio.json"
  run fulcio "$FULCIO" serve --host=$H --port=$P_FULCIO --grpc-host=$H --grpc-port=$P_FULCIO_GRPC \
    --metrics-port=$P_FULCIO_METRICS --config-path="$S/fulcio.json" --ca=fileca --fileca-cert="$K/fulcio-root.pem" \
    --fileca-key="$K/fulcio.key" --fileca-key-passwd=$PW --ct-log-url=http://$H:$P_CT --ct-log-public-key-path="$K/ct.pub"
  run fulcio-next "$FULCIO" serve --host=$H --port=$P_FULCIO_NEXT --grpc-host=$H --grpc-port=$P_FULCIO_NEXT_GRPC \
    --metrics-port=$P_FULCIO_NEXT_METRICS --legacy-unix-domain-socket=@sigverify-fulcio-next-legacy-grpc \
    --config-path="$S/fulcio.json" --ca=fileca --fileca-cert="$K/fulcio-next-root.pem" \
    --fileca-key="$K/fulcio-next.key" --fileca-key-passwd=$PW --ct-log-url=http://$H:$P_CT --ct-log-public-key-path="$K/ct.pub"
  wait_url "http://$H:$P_FULCIO/api/v1/rootCert" fulcio
  wait_url "http://$H:$P_FULCIO_NEXT/api/v1/rootCert" fulcio-next

  # ---- TSA, before Rekor v1 (both hard-code :2112) ------------------------------
  run tsa "$TSA" serve --host=$H --port=$P_TSA --timestamp-signer=memory --disable-ntp-monitoring
  wait_url "http://$H:$P_TSA/ping" tsa
  curl -fsS "http://$H:$P_TSA/api/v1/timestamp/certchain" > "$K/tsa-chain.pem"

  # ---- Rekor v1 ---------------------------------------------------------------------
  run rekor1 "$REKOR1" serve --rekor_server.address=$H --port=$P_REKOR1 --rekor_server.hostname=$H \
    --trillian_log_server.address=$H --trillian_log_server.port=$P_TLOG_RPC --trillian_log_server.tlog_id="$TREE" \
    --rekor_server.signer="$K/rekor1.key" --rekor_server.signer-passwd=$PW \
    --search_index.storage_provider=mysql --search_index.mysql.dsn="$RDSN"
  run rekor1-next "$REKOR1" serve --rekor_server.address=$H --port=$P_REKOR1_NEXT --rekor_server.hostname=$H \
    --trillian_log_server.address=$H --trillian_log_server.port=$P_TLOG_RPC --trillian_log_server.tlog_id="$TREE_NEXT" \
    --rekor_server.signer="$K/rekor1-next.key" --rekor_server.signer-passwd=$PW \
    --search_index.storage_provider=mysql --search_index.mysql.dsn="$RDSN_NEXT"
  wait_url "http://$H:$P_REKOR1/api/v1/log" rekor1
  wait_url "http://$H:$P_REKOR1_NEXT/api/v1/log" rekor1-next

  # ---- Rekor v2 (rekor-tiles POSIX) + its read path -----------------------------------
  run rekor2 "$REKOR2" serve --http-address=$H --http-port=$P_REKOR2 --grpc-address=$H --grpc-port=$P_REKOR2_GRPC \
    --http-metrics-port=$P_REKOR2_METRICS --hostname=$H --storage-dir="$S/data/rekor2" \
    --signer-filepath="$K/rekor2.key" --checkpoint-interval=1s
  wait_url "http://$H:$P_REKOR2/healthz" rekor2
  run rekor2-read python3 "$HERE/lib/static_server.py" --bind $H --port $P_REKOR2_READ --dir "$S/data/rekor2" \
    --proxy /api/=http://$H:$P_REKOR2 --proxy /healthz=http://$H:$P_REKOR2
  wait_url "http://$H:$P_REKOR2_READ/healthz" rekor2-read

  # ---- registries -----------------------------------------------------------------------
  run olareg "$OLAREG" serve --addr $H --port $P_OLAREG --dir "$S/data/olareg"
  local REGUSER=alice REGPW; REGPW=$(openssl rand -hex 12)
  htpasswd -Bbn "$REGUSER" "$REGPW" > "$S/auth/htpasswd" 2>/dev/null
  regcfg() { # name port storage-dir [auth yaml]
    cat > "$S/auth/$1.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $3
  delete:
    enabled: true
http:
  addr: $H:$2
  secret: $(openssl rand -hex 16)
$4
YML
  }
  regcfg reg-plain $P_REG_PLAIN "$S/data/reg-plain" ""
  regcfg reg-basic $P_REG_BASIC "$S/data/reg-basic" "auth:
  htpasswd:
    realm: sigverify-basic
    path: $S/auth/htpasswd"
  regcfg reg-token $P_REG_TOKEN "$S/data/reg-token" "auth:
  token:
    realm: http://localhost:$P_TOKEN/token/
    service: sigverify-registry
    issuer: sigverify-token-server
    rootcertbundle: $K/token.crt"
  run reg-plain docker-registry serve "$S/auth/reg-plain.yml"
  run reg-basic docker-registry serve "$S/auth/reg-basic.yml"
  run reg-token docker-registry serve "$S/auth/reg-token.yml"
  run token-server "$TOKENSRV" -addr $H:$P_TOKEN -key "$K/token.key" -passwd "$S/auth/htpasswd" \
    -realm sigverify-basic -issuer sigverify-token-server
  wait_url "http://$H:$P_OLAREG/v2/" olareg
  wait_url "http://$H:$P_REG_PLAIN/v2/" reg-plain
  wait_port $P_REG_BASIC reg-basic; wait_port $P_REG_TOKEN reg-token; wait_port $P_TOKEN token-server

  # Docker config with inline credentials, and a credential-helper variant.
  local AUTH; AUTH=$(printf '%s:%s' "$REGUSER" "$REGPW" | base64 -w0)
  jq -n --arg a "$AUTH" --arg b "$H:$P_REG_BASIC" --arg t "$H:$P_REG_TOKEN" \
    '{auths: {($b): {auth: $a}, ($t): {auth: $a}}}' > "$S/docker/config.json"
  jq -n --arg b "$H:$P_REG_BASIC" --arg t "$H:$P_REG_TOKEN" \
    '{credHelpers: {($b): "sigverify-stack", ($t): "sigverify-stack"}}' > "$S/docker-helper/config.json"
  cat > "$S/bin/docker-credential-sigverify-stack" <<HELPER
#!/bin/sh
# docker-credential-helpers protocol: "get" reads the server URL on stdin.
[ "\$1" = get ] || { echo "unsupported: \$1" >&2; exit 1; }
read -r server
case "\$server" in
  $H:$P_REG_BASIC|$H:$P_REG_TOKEN|http://$H:$P_REG_BASIC|http://$H:$P_REG_TOKEN)
    printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "\$server" "$REGUSER" "$REGPW" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
HELPER
  chmod 700 "$S/bin/docker-credential-sigverify-stack"
  # A token fetch proves the token server and the registry agree.
  curl -fsS -u "$REGUSER:$REGPW" "http://$H:$P_TOKEN/token/?service=sigverify-registry&scope=repository:$REGUSER/probe:pull,push" \
    | jq -e .access_token >/dev/null || die "token-server did not issue a token"

  # ---- trust files ---------------------------------------------------------------------
  export TUF_ROOT=$S/tuf-cache
  "$C3" trusted-root create --out "$S/trusted_root.json" \
    --fulcio "url=http://$H:$P_FULCIO,certificate-chain=$K/fulcio-root.pem" \
    --ctfe "url=http://$H:$P_CT,public-key=$K/ct.pub,start-time=2020-01-01T00:00:00Z" \
    --rekor "url=http://$H:$P_REKOR1,public-key=$K/rekor1.pub,start-time=2020-01-01T00:00:00Z" \
    --rekor "url=http://$H:$P_REKOR2,public-key=$K/rekor2.pub,start-time=2020-01-01T00:00:00Z,origin=$H" \
    --tsa "url=http://$H:$P_TSA/api/v1/timestamp,certificate-chain=$K/tsa-chain.pem" >"$S/log/trusted-root.log" 2>&1
  sc() { # rekor url, rekor major version, with TSA (0/1)
    jq -n --arg iss "$ISS" --arg fulcio "http://$H:$P_FULCIO" --arg rekor "$1" --argjson v "$2" \
      --arg tsa "http://$H:$P_TSA/api/v1/timestamp" --argjson withtsa "$3" '
      def svc(u; v): {url: u, majorApiVersion: v, validFor: {start: "2020-01-01T00:00:00Z"}, operator: "sigverify-stack"};
      {mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
       caUrls: [svc($fulcio; 1)], oidcUrls: [svc($iss; 1)], rekorTlogUrls: [svc($rekor; $v)],
       tsaUrls: (if $withtsa == 1 then [svc($tsa; 1)] else [] end),
       rekorTlogConfig: {selector: "ANY"}, tsaConfig: {selector: "ANY"}}'
  }
  sc http://$H:$P_REKOR1 1 0 > "$S/signing_config.rekor1.json"
  sc http://$H:$P_REKOR1 1 1 > "$S/signing_config.rekor1-tsa.json"
  sc http://$H:$P_REKOR2 2 1 > "$S/signing_config.rekor2.json"
  for v in rekor1 rekor2; do
    jq -n --slurpfile tr "$S/trusted_root.json" --slurpfile sc "$S/signing_config.$v.json" \
      '{mediaType: "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json", trustedRoot: $tr[0], signingConfig: $sc[0]}' \
      > "$S/trust_config.$v.json"
  done

  # ---- TUF repository (go-tuf v0.7.0) ---------------------------------------------------
  mkdir -p "$S/tuf/staged/targets"
  cp "$S/trusted_root.json" "$S/tuf/staged/targets/trusted_root.json"
  cp "$S/signing_config.rekor1.json" "$S/tuf/staged/targets/signing_config.v0.2.json"
  (
    cd "$S/tuf"
    "$TUF" --insecure-plaintext init
    for r in root targets snapshot timestamp; do "$TUF" --insecure-plaintext gen-key --expires=365 $r; done
    "$TUF" --insecure-plaintext add --expires=365 trusted_root.json signing_config.v0.2.json
    "$TUF" --insecure-plaintext snapshot --expires=365
    "$TUF" --insecure-plaintext timestamp --expires=365
    "$TUF" --insecure-plaintext commit
  ) >"$S/log/tuf-init.log" 2>&1
  cp "$S/tuf/repository/root.json" "$S/tuf-root.json"
  run tuf python3 "$HERE/lib/static_server.py" --bind $H --port $P_TUF --dir "$S/tuf/repository"
  wait_url "http://$H:$P_TUF/timestamp.json" tuf

  # ---- env ---------------------------------------------------------------------------------
  cat > "$S/env" <<ENV
# written by peers/stack.sh start; source it
export SIGVERIFY_STACK_DIR=$S
export STACK_OIDC_ISSUER=$ISS
export STACK_IDENTITY=$IDENTITY
export STACK_FULCIO_URL=http://$H:$P_FULCIO
export STACK_CT_URL=http://$H:$P_CT
export STACK_REKOR1_URL=http://$H:$P_REKOR1
export STACK_REKOR2_URL=http://$H:$P_REKOR2
export STACK_REKOR2_READ_URL=http://$H:$P_REKOR2_READ
export STACK_TSA_URL=http://$H:$P_TSA/api/v1/timestamp
export STACK_TUF_URL=http://$H:$P_TUF
export STACK_TUF_DIR=$S/tuf/repository
export STACK_TUF_ROOT=$S/tuf-root.json
export STACK_TRUSTED_ROOT=$S/trusted_root.json
export STACK_SIGNING_CONFIG_REKOR1=$S/signing_config.rekor1.json
export STACK_SIGNING_CONFIG_REKOR1_TSA=$S/signing_config.rekor1-tsa.json
export STACK_SIGNING_CONFIG_REKOR2=$S/signing_config.rekor2.json
export STACK_TRUST_CONFIG_REKOR1=$S/trust_config.rekor1.json
export STACK_TRUST_CONFIG_REKOR2=$S/trust_config.rekor2.json
export STACK_FULCIO_ROOT=$K/fulcio-root.pem
export STACK_FULCIO_NEXT_URL=http://$H:$P_FULCIO_NEXT
export STACK_FULCIO_NEXT_ROOT=$K/fulcio-next-root.pem
export STACK_REKOR1_NEXT_URL=http://$H:$P_REKOR1_NEXT
export STACK_REKOR1_NEXT_PUB=$K/rekor1-next.pub
export STACK_CT_PUB=$K/ct.pub
export STACK_REKOR1_PUB=$K/rekor1.pub
export STACK_REKOR2_PUB=$K/rekor2.pub
export STACK_TSA_CHAIN=$K/tsa-chain.pem
export STACK_REG_OLAREG=$H:$P_OLAREG
export STACK_REG_PLAIN=$H:$P_REG_PLAIN
export STACK_REG_BASIC=$H:$P_REG_BASIC
export STACK_REG_TOKEN=$H:$P_REG_TOKEN
export STACK_TOKEN_URL=http://$H:$P_TOKEN/token/
export STACK_REG_USER=$REGUSER
export STACK_REG_PASSWORD=$REGPW
export STACK_DOCKER_CONFIG=$S/docker
export STACK_DOCKER_CONFIG_HELPER=$S/docker-helper
export STACK_HELPER_PATH=$S/bin
export STACK_MYSQL_SOCKET=$S/mysql.sock
export STACK_TRILLIAN_TREE=$TREE
export STACK_TRILLIAN_TREE_NEXT=$TREE_NEXT
export STACK_TOOLS=$CACHE
export STACK_COSIGN3=$C3
export STACK_COSIGN2=$(tool_dir cosign2)/cosign
export STACK_CRANE=$(tool_dir crane)/crane
export STACK_TUF_CLI=$TUF
export STACK_REKOR_CLI=$(tool_dir rekor)/rekor-cli
export STACK_SGO_VERIFY=$(tool_dir sigstore-go)/sigstore-go-verification
export STACK_SIGSTORE_PY=$CACHE/venv/bin/sigstore
ENV
  chmod 600 "$S/env"
  STARTED=1
  log "ready in $(secs "$T0" "$(now)") s; env: $S/env"
}

case "${1:-}" in
  start) start ;;
  stop) stop_all ;;
  env) [ -f "$S/env" ] && cat "$S/env" || die "no $S/env: start the stack first" ;;
  token) [ -f "$S/keys/oidc.key" ] || die "stack not started"; mint "${2:-}" ;;
  status)
    for f in "$S"/pids/*.pid; do
      [ -e "$f" ] || continue
      pid=$(cat "$f"); if kill -0 "$pid" 2>/dev/null; then st=running; else st=exited; fi
      printf '%-20s %-8s %s\n' "$(basename "$f" .pid)" "$pid" "$st"
    done ;;
  *) echo "usage: $0 start|stop|env|token [EMAIL]|status" >&2; exit 2 ;;
esac
