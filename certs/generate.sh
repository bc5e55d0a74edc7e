#!/usr/bin/env bash
# Creates a certificate authority and a TLS serving certificate for the pod-preflight webhook,
# and prints the caBundle (the CA certificate, base64 on one line) on stdout.
#
#   certs/generate.sh                      # for the in-cluster Service (namespace pod-preflight)
#   certs/generate.sh --namespace tools    # another namespace
#   certs/generate.sh --dev                # for a webhook on this machine (localhost, 127.0.0.1)
#
# Files (in --out DIR, default: the directory of this script):
#   ca.crt, ca.key     the CA; keep ca.key private (it is only needed to sign again)
#   tls.crt, tls.key   the serving certificate and key (the key names of a kubernetes.io/tls Secret)
#
# Options:
#   --namespace NS     namespace of the webhook Service (default pod-preflight)
#   --service NAME     name of the webhook Service (default pod-preflight)
#   --dns NAME         one more DNS name in the certificate (repeatable)
#   --ip ADDRESS       one more IP address in the certificate (repeatable)
#   --dev              names for a webhook on this machine: localhost, 127.0.0.1, ::1
#   --out DIR          where to write the files
#   --days N           validity of the serving certificate (default 365; the CA gets 10 years)
#   --if-missing       do nothing when tls.crt and tls.key already exist (still prints the caBundle)
#   --force            replace existing files, including the CA
#
# An existing CA in DIR is reused (the caBundle registered in the cluster stays valid) unless
# --force is given. Needs openssl.
set -euo pipefail

namespace=pod-preflight
service=pod-preflight
out="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
days=365
dev=false
if_missing=false
force=false
extra_dns=()
extra_ips=()

die() { printf 'certs/generate.sh: %s\n' "$*" >&2; exit 2; }
say() { printf '%s\n' "$*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --namespace) namespace="${2:?--namespace needs a value}"; shift 2 ;;
    --service) service="${2:?--service needs a value}"; shift 2 ;;
    --dns) extra_dns+=("${2:?--dns needs a value}"); shift 2 ;;
    --ip) extra_ips+=("${2:?--ip needs a value}"); shift 2 ;;
    --dev) dev=true; shift ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --days) days="${2:?--days needs a value}"; shift 2 ;;
    --if-missing) if_missing=true; shift ;;
    --force) force=true; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

command -v openssl >/dev/null 2>&1 || die "openssl is needed (apt-get install openssl)"
[[ "$days" =~ ^[0-9]+$ ]] || die "--days must be a whole number"
[[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "--namespace '$namespace' is not a valid namespace name"
[[ "$service" =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] || die "--service '$service' is not a valid Service name"

mkdir -p "$out"
ca_crt="$out/ca.crt" ca_key="$out/ca.key" tls_crt="$out/tls.crt" tls_key="$out/tls.key"

ca_bundle() { base64 < "$ca_crt" | tr -d '\n'; echo; }

if $if_missing && ! $force && [[ -s "$tls_crt" && -s "$tls_key" ]]; then
  say "certs/generate.sh: $tls_crt exists; leaving it (use --force to replace)"
  [[ -s "$ca_crt" ]] && ca_bundle
  exit 0
fi

if $dev; then
  dns=(localhost)
  ips=(127.0.0.1 ::1)
else
  dns=("$service" "$service.$namespace" "$service.$namespace.svc" "$service.$namespace.svc.cluster.local")
  ips=()
fi
dns+=("${extra_dns[@]+"${extra_dns[@]}"}")
ips+=("${extra_ips[@]+"${extra_ips[@]}"}")

san=""
for d in "${dns[@]}"; do [[ -n "$d" ]] && san+="${san:+,}DNS:$d"; done
for i in "${ips[@]}"; do [[ -n "$i" ]] && san+="${san:+,}IP:$i"; done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
umask 077

cat > "$tmp/req.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
cat > "$tmp/leaf.cnf" <<EOF
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

if $force || [[ ! -s "$ca_crt" || ! -s "$ca_key" ]]; then
  cn="pod-preflight webhook CA"
  $dev && cn="pod-preflight development CA"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" -days 3650 -sha256 \
    -subj "/CN=$cn" -config "$tmp/req.cnf" -extensions v3_ca 2>"$tmp/err" || { cat "$tmp/err" >&2; die "cannot create the CA"; }
  mv "$tmp/ca.key" "$ca_key"
  mv "$tmp/ca.crt" "$ca_crt"
  say "created CA $ca_crt"
else
  say "reusing CA $ca_crt"
fi

first="${dns[0]:-${ips[0]:-pod-preflight}}"
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout "$tmp/tls.key" -out "$tmp/tls.csr" -subj "/CN=$first" -config "$tmp/req.cnf" 2>"$tmp/err" \
  || { cat "$tmp/err" >&2; die "cannot create the serving key"; }
serial="0x$(openssl rand -hex 16)"
openssl x509 -req -in "$tmp/tls.csr" -CA "$ca_crt" -CAkey "$ca_key" -set_serial "$serial" \
  -days "$days" -sha256 -extfile "$tmp/leaf.cnf" -extensions leaf -out "$tmp/tls.crt" 2>"$tmp/err" \
  || { cat "$tmp/err" >&2; die "cannot sign the serving certificate"; }
openssl verify -CAfile "$ca_crt" "$tmp/tls.crt" >/dev/null || die "the new certificate does not verify against $ca_crt"

# Key first, then certificate: a server polling the files never pairs a new certificate with an old key for long.
mv "$tmp/tls.key" "$tls_key"
mv "$tmp/tls.crt" "$tls_crt"
chmod 600 "$ca_key" "$tls_key"
chmod 644 "$ca_crt" "$tls_crt"
say "created serving certificate $tls_crt for $san (valid $days days)"

if ! $dev; then
  say ""
  say "Next:"
  say "  kubectl -n $namespace create secret tls pod-preflight-tls --cert=$tls_crt --key=$tls_key"
  say "  put the caBundle below into manifests/webhook.yaml (clientConfig.caBundle)"
  say "caBundle:"
fi
# Only the value on stdout: with --dev (npm start sends stdout away) no label is left dangling.
ca_bundle
