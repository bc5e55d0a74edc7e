#!/usr/bin/env bash
# Builds a real kube-apiserver (Kubernetes 1.20) from Debian's `kubernetes`
# source package, for the end-to-end tests. Idempotent: when the binary is
# already cached and runs, it exits at once.
#
#   bash test/e2e/kube/build.sh
#
# Cache:  ${POD_PREFLIGHT_KUBE_DIR:-$HOME/.cache/pod-preflight/kube}
# Result: $DIR/bin/kube-apiserver (and $DIR/bin/kubectl when no kubectl is on PATH)
#         $DIR/bin/recipe: what the binaries were built with (this script's
#         sha256, the Go version, the reflect2 version); a binary built by
#         another recipe is rebuilt, and the test harness refuses it.
#
# Only Debian packages are used: golang-go, dpkg-dev, etcd-server and
# golang-github-modern-go-reflect2-dev are installed when missing, and the
# source comes from `apt-get source kubernetes` through a private deb-src
# configuration (nothing under /etc/apt is changed).
#
# The tree vendors github.com/modern-go/reflect2 1.0.1, whose map iteration is
# wrong for Go >= 1.18 (it calls reflect.mapiterinit with the pre-1.18
# signature): built with Debian's Go 1.19, the API server dies with a SIGSEGV in
# mapiterinit on the first pretty-printed JSON or YAML answer holding a map
# (`GET .../configmaps/x?pretty=true` of a labelled object). Debian's
# golang-github-modern-go-reflect2-dev (1.0.2) has the fix and replaces it.
set -euo pipefail

DIR="${POD_PREFLIGHT_KUBE_DIR:-$HOME/.cache/pod-preflight/kube}"
BIN_DIR="$DIR/bin"
APISERVER="$BIN_DIR/kube-apiserver"
KUBECTL_FALLBACK="$BIN_DIR/kubectl"
RECIPE_STAMP="$BIN_DIR/recipe"
REFLECT2_PKG=golang-github-modern-go-reflect2-dev
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
SCRIPT_SHA=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
WORK="$DIR/work"                        # apt configuration, downloads, tools
GOPATH_DIR="$DIR/gopath"                # GOPATH; the source tree lives in it
KROOT="$GOPATH_DIR/src/k8s.io/kubernetes"
SRC_STAMP="$KROOT/.pod-preflight-source-complete"
OPENAPI_STAMP="$KROOT/.pod-preflight-openapi-complete"

log() { printf '[kube-build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

runs_ok() { [[ -x "$1" ]] && "$1" "${@:2}" >/dev/null 2>&1; }

# What a build depends on besides the cached source: this script, the Go
# toolchain and the reflect2 package. Empty fields when a tool is missing, so
# that the recipe differs and a build (which installs them) runs.
recipe() {
  local go_version reflect2_version
  go_version=$( (command -v go >/dev/null 2>&1 && go version) || (/usr/lib/go/bin/go version 2>/dev/null) || true)
  reflect2_version=$(dpkg-query -W -f='${Version}' "$REFLECT2_PKG" 2>/dev/null || true)
  printf 'script %s\ngo %s\nreflect2 %s\n' "$SCRIPT_SHA" "$go_version" "$reflect2_version"
}

built_by_this_recipe() { [[ -f "$RECIPE_STAMP" && "$(cat "$RECIPE_STAMP")" == "$(recipe)" ]]; }

need_kubectl_build() {
  ! command -v kubectl >/dev/null 2>&1 && ! runs_ok "$KUBECTL_FALLBACK" version --client
}

all_done() {
  runs_ok "$APISERVER" --version && built_by_this_recipe && ! need_kubectl_build
}

if all_done; then
  log "kube-apiserver is cached: $APISERVER ($("$APISERVER" --version 2>/dev/null))"
  exit 0
fi

mkdir -p "$DIR" "$BIN_DIR" "$WORK"

# One build at a time per cache directory (tests may start in parallel).
exec 9>"$DIR/.build.lock"
if command -v flock >/dev/null 2>&1; then
  if ! flock -n 9; then
    log "another build holds $DIR/.build.lock: waiting for it"
    flock 9
  fi
  if all_done; then
    log "kube-apiserver was built meanwhile: $APISERVER"
    exit 0
  fi
fi

start_s=$SECONDS
# Leftovers of an interrupted run (we hold the lock, so nobody else is writing them).
rm -rf "$WORK"/source.* "$BIN_DIR"/*.tmp.*

# --- Debian packages -------------------------------------------------------
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo env DEBIAN_FRONTEND=noninteractive); fi
fi
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update -qq >&2
    APT_UPDATED=1
  fi
}

missing=()
for pkg in golang-go dpkg-dev etcd-server "$REFLECT2_PKG"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
    die "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
  fi
  apt_update_once
  log "apt-get install ${missing[*]}"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

GO=$(command -v go || true)
[[ -n "$GO" ]] || GO=/usr/lib/go/bin/go
[[ -x "$GO" ]] || die "no Go toolchain found (Debian package golang-go)"
log "using $("$GO" version)"

# --- Source -----------------------------------------------------------------
fetch_source() {
  local apt_dir="$WORK/apt" tmp
  rm -rf "$apt_dir"
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial"

  # deb-src copies of the machine's Debian entries. deb822 files: every stanza
  # whose Suites name this release; one-line files: every "deb" line of it.
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  local f n=0
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk -v cn="$codename" 'BEGIN { RS = ""; ORS = "\n\n" }
      {
        if ($0 !~ ("(^|\n)Suites:[^\n]*" cn)) next
        if ($0 ~ /(^|\n)Enabled:[ \t]*no/) next
        sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src")
        print
      }' "$f" >"$apt_dir/sources.list.d/src-$n.sources"
    n=$((n + 1))
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    grep -E "^[[:space:]]*deb[[:space:]].*[[:space:]]$codename([-/][^[:space:]]*)?[[:space:]]" "$f" \
      | sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /' >"$apt_dir/sources.list.d/src-$n.list" || true
    n=$((n + 1))
  done
  grep -qs 'deb-src' "$apt_dir"/sources.list.d/* \
    || die "found no Debian '$codename' entry in /etc/apt/sources.list{,.d} to derive deb-src from"

  # A private lists directory and no package caches: the system's apt state is left alone.
  local apt_opts=(
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"
  )
  log "apt-get update (deb-src, private lists in $apt_dir)"
  apt-get "${apt_opts[@]}" update -qq >&2

  tmp=$(mktemp -d "$WORK/source.XXXXXX")
  log "apt-get source kubernetes (about 35 MB)"
  (cd "$tmp" && apt-get "${apt_opts[@]}" source -qq kubernetes >&2)
  local tree
  tree=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
  [[ -n "$tree" && -f "$tree/cmd/kube-apiserver/apiserver.go" ]] \
    || die "apt-get source did not unpack a kubernetes tree in $tmp"
  touch "$tree/.pod-preflight-source-complete"
  rm -rf "$KROOT"
  mkdir -p "$(dirname "$KROOT")"
  mv "$tree" "$KROOT"
  rm -rf "$tmp"
}

if [[ ! -f "$SRC_STAMP" ]]; then
  fetch_source
else
  log "source tree is cached: $KROOT"
fi

# --- Go environment (GOPATH mode, everything vendored, no network) ----------
export GOPATH="$GOPATH_DIR"
export GOCACHE="$DIR/go-build-cache"
export GO111MODULE=off
export GOFLAGS=
export GOPROXY=off
export CGO_ENABLED=0
unset GOROOT GOBIN GOOS GOARCH 2>/dev/null || true
mkdir -p "$GOCACHE"
cd "$KROOT"

# --- reflect2 from Debian (see the top of this file) ---------------------------
[[ -f "$REFLECT2_SRC/reflect2.go" ]] || die "$REFLECT2_PKG is not installed at $REFLECT2_SRC"
if ! diff -rq "$REFLECT2_SRC" vendor/github.com/modern-go/reflect2 >/dev/null 2>&1; then
  log "vendor/github.com/modern-go/reflect2: replaced by Debian's $(dpkg-query -W -f='${Version}' "$REFLECT2_PKG")"
  rm -rf vendor/github.com/modern-go/reflect2
  cp -r "$REFLECT2_SRC" vendor/github.com/modern-go/reflect2
fi

# --- OpenAPI definitions (generated code the tarball lacks) -----------------
if [[ ! -f "$OPENAPI_STAMP" ]]; then
  log "building openapi-gen"
  "$GO" build -o "$WORK/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen

  # Same selection as build/root/Makefile.generated_files: files carrying a
  # `// +k8s:` tag outside vendor/, staging named as vendor/, that ask for
  # openapi-gen; without code-generator and sample-apiserver.
  # (grep exits 1 for a batch without a match: the list is checked below instead.)
  dirs=$( { find . \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune -o -type f -name '*.go' -print0 \
    | xargs -0 grep -l --null '^// *+k8s:' \
    | xargs -0 grep -l '+k8s:openapi-gen=' \
    | sed -e 's|/[^/]*$||' -e 's|^\./||' -e 's|^staging/src/|vendor/|' \
    | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
    | LC_ALL=C sort -u \
    | sed 's|^|k8s.io/kubernetes/|' \
    | paste -sd, - ; } || true)
  [[ -n "$dirs" ]] || die "found no package with a +k8s:openapi-gen tag"
  log "generating pkg/generated/openapi/zz_generated.openapi.go ($(tr ',' '\n' <<<"$dirs" | wc -l) packages)"
  rm -f pkg/generated/openapi/zz_generated.openapi.go
  "$WORK/openapi-gen" \
    --logtostderr \
    -o "$GOPATH/src" \
    -i "$dirs" \
    -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$WORK/openapi-violations.report" 2>"$WORK/openapi-gen.log" \
    || { tail -n 30 "$WORK/openapi-gen.log" >&2; die "openapi-gen failed (log: $WORK/openapi-gen.log)"; }
  [[ -s pkg/generated/openapi/zz_generated.openapi.go ]] || die "openapi-gen wrote no output"
  touch "$OPENAPI_STAMP"
else
  log "openapi definitions are cached"
fi

# --- Version ldflags ----------------------------------------------------------
# Debian version 1.20.5+really1.20.2-1.1+deb12u1 -> upstream 1.20.2
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null || true)
kube_version=${deb_version%%-*}          # drop the Debian revision
kube_version=${kube_version##*really}    # "1.20.5+really1.20.2" -> "1.20.2"
if [[ ! "$kube_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  kube_version=1.20.2
fi
git_major=${kube_version%%.*}
git_minor=${kube_version#*.}; git_minor=${git_minor%%.*}
build_epoch=$(dpkg-parsechangelog -l debian/changelog -S Timestamp 2>/dev/null || echo 0)
build_date=$(date -u -d "@$build_epoch" +'%Y-%m-%dT%H:%M:%SZ')
ldflags="-s -w"
for pkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  ldflags+=" -X '$pkg.gitVersion=v$kube_version'"
  ldflags+=" -X '$pkg.gitMajor=$git_major'"
  ldflags+=" -X '$pkg.gitMinor=$git_minor'"
  ldflags+=" -X '$pkg.gitTreeState=clean'"
  ldflags+=" -X '$pkg.buildDate=$build_date'"
done

build_cmd() { # build_cmd <package> <destination>
  local pkg=$1 dest=$2 tmp
  tmp="$dest.tmp.$$"
  log "go build $pkg (v$kube_version; the first build takes several minutes)"
  local t0=$SECONDS
  "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg" || { rm -f "$tmp"; die "go build $pkg failed"; }
  "$tmp" --version >/dev/null 2>&1 || "$tmp" version --client >/dev/null 2>&1 \
    || { rm -f "$tmp"; die "the freshly built $pkg does not run"; }
  mv -f "$tmp" "$dest"
  log "installed $dest ($((SECONDS - t0)) s)"
}

stale=0
if ! built_by_this_recipe; then
  stale=1
  if [[ -f "$RECIPE_STAMP" ]]; then log "the cached binaries were built by another recipe: rebuilding"; fi
fi
rm -f "$RECIPE_STAMP"
if [[ $stale -eq 1 ]] || ! runs_ok "$APISERVER" --version; then
  build_cmd ./cmd/kube-apiserver "$APISERVER"
fi
if need_kubectl_build || [[ $stale -eq 1 && -e "$KUBECTL_FALLBACK" ]]; then
  log "no kubectl on PATH: building it from the same tree"
  build_cmd ./cmd/kubectl "$KUBECTL_FALLBACK"
fi
recipe >"$RECIPE_STAMP.tmp.$$"
mv -f "$RECIPE_STAMP.tmp.$$" "$RECIPE_STAMP"

log "done in $((SECONDS - start_s)) s: $("$APISERVER" --version)"
