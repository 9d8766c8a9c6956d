#!/usr/bin/env bash
# check_dockerfile.sh SOURCE_ROOT [DMARCD] - checks the Dockerfile by
# inspection (ctest lint.dockerfile), since images cannot be built here:
#
#   - two stages on pinned Debian 12 images (a tag naming bookworm, never
#     `latest` or no tag), the runtime on bookworm-slim, no ADD from a URL,
#     no `curl | sh`;
#   - the build stage installs the -dev package of every dependency that
#     cmake/Dependencies.cmake asks for, and builds and installs with CMake;
#   - the runtime stage installs no compiler or -dev package, every package
#     it names exists in Debian 12 (apt-cache; skipped when this machine is
#     not Debian 12 or has no package lists), and, given the built DMARCD,
#     every shared library the binary loads comes from one of those
#     packages or their direct dependencies;
#   - it runs as a fixed non-root UID, the same the Helm chart runs as;
#     ENTRYPOINT ["dmarcd"]; the web files land in /usr/share/dmarcd/web;
#   - .dockerignore keeps .git, build trees and run/ out of the context.
# shellcheck disable=SC2015 # `test && ok || bad`: ok always succeeds
set -euo pipefail
root=${1:?usage: check_dockerfile.sh SOURCE_ROOT [DMARCD]}
dmarcd=${2:-}
dockerfile=$root/Dockerfile
fail=0
checks=0
bad() {
    echo "dockerfile: FAIL: $*"
    fail=$((fail + 1))
}
ok() { checks=$((checks + 1)); }
note() { echo "dockerfile: note: $*"; }
# contains WORD LIST...: no pipes, so no SIGPIPE under pipefail.
contains() {
    local x=$1 e
    shift
    for e in "$@"; do [[ $e == "$x" ]] && return 0; done
    return 1
}

[[ -f $dockerfile ]] || {
    echo "dockerfile: FAIL: $dockerfile missing"
    exit 1
}

# Logical instructions: continuation lines joined, comments and blanks dropped.
mapfile -t lines < <(awk '
    /^[ \t]*#/ && cont == "" { next }
    {
        line = cont $0
        if (line ~ /\\[ \t]*$/) { sub(/\\[ \t]*$/, " ", line); cont = line; next }
        cont = ""
        if (line ~ /^[ \t]*$/) next
        print line
    }' "$dockerfile")

# Split into stages; remember each stage's base image and instructions.
stage=-1
declare -a stage_from stage_body
for l in "${lines[@]}"; do
    instr=$(awk '{print toupper($1)}' <<<"$l")
    if [[ $instr == FROM ]]; then
        stage=$((stage + 1))
        stage_from[stage]=$l
        stage_body[stage]=""
        continue
    fi
    if ((stage < 0)); then
        [[ $instr == ARG ]] || bad "instruction before the first FROM: $l"
        continue
    fi
    stage_body[stage]+="$l"$'\n'
done
nstages=$((stage + 1))
final=${stage_body[stage]:-}

((nstages >= 2)) && ok || bad "not multi-stage ($nstages FROM)"
for ((i = 0; i < nstages; i++)); do
    image=$(awk '{for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; exit }}' <<<"${stage_from[i]}")
    if [[ $image != *:* && $image != *@sha256:* ]]; then
        bad "stage $i: image $image has no tag"
    elif [[ $image == *:latest* ]]; then
        bad "stage $i: image $image uses latest"
    elif [[ $image != debian:bookworm* ]]; then
        bad "stage $i: image $image is not Debian 12 (bookworm)"
    else
        ok
    fi
done
final_image=$(awk '{print $2}' <<<"${stage_from[nstages - 1]}")
[[ $final_image == debian:bookworm-slim* ]] && ok || bad "runtime stage is $final_image, not debian:bookworm-slim"
grep -qiE '^[ \t]*FROM .* AS build' "$dockerfile" && ok || bad "no build stage named build"
grep -qE '^COPY --from=build ' <<<"$final" && ok || bad "runtime stage copies nothing from the build stage"

if grep -qiE '^ADD[ \t]+(--[^ ]+[ \t]+)*(https?|git|ftp)://' < <(printf '%s\n' "${lines[@]}"); then
    bad "ADD from a URL (fetch in a RUN with a checksum, or better not at all)"
else ok; fi
if grep -qiE '(curl|wget)[^|]*\|[ \t]*(ba|da)?sh' < <(printf '%s\n' "${lines[@]}"); then
    bad "a download piped into a shell"
else ok; fi

# Packages named by `apt-get install` in one stage's instructions.
apt_packages() {
    grep -oE 'apt-get install[^&;]*' <<<"$1" | sed 's/apt-get install//' | tr ' ' '\n' |
        grep -vE '^(-.*|)$' | sort -u
}
mapfile -t build_pkgs < <(apt_packages "${stage_body[0]}")
mapfile -t run_pkgs < <(apt_packages "$final")
((${#build_pkgs[@]} > 0)) && ok || bad "the build stage installs no packages"
((${#run_pkgs[@]} > 0)) && ok || bad "the runtime stage installs no packages"
for body_i in $(seq 0 $((nstages - 1))); do
    if grep -q 'apt-get install' <<<"${stage_body[body_i]}"; then
        grep -q 'apt-get install[^&;]*--no-install-recommends' <<<"${stage_body[body_i]}" && ok ||
            bad "stage $body_i: apt-get install without --no-install-recommends"
        grep -q 'rm -rf /var/lib/apt/lists' <<<"${stage_body[body_i]}" && ok ||
            bad "stage $body_i: apt lists left in the layer"
    fi
done

# Every dependency of the build, from the one list CMake uses.
mapfile -t dev_pkgs < <(sed -nE 's/^dmarcd_dependency\([^ ]+ +[^ ]+ +([^ )]+)\).*/\1/p' "$root/cmake/Dependencies.cmake")
((${#dev_pkgs[@]} > 0)) || bad "no dmarcd_dependency() lines found in cmake/Dependencies.cmake"
for p in "${dev_pkgs[@]}"; do
    contains "$p" "${build_pkgs[@]}" && ok || bad "build stage lacks $p (cmake/Dependencies.cmake needs it)"
done
for p in cmake pkg-config; do
    contains "$p" "${build_pkgs[@]}" && ok || bad "build stage lacks $p"
done
grep -qE 'cmake -S \. -B build' <<<"${stage_body[0]}" && grep -qE 'cmake --install build' <<<"${stage_body[0]}" && ok ||
    bad "build stage does not configure, build and install with CMake"
grep -q 'install(TARGETS dmarcd' "$root/cmd/CMakeLists.txt" && ok ||
    bad "cmd/CMakeLists.txt has no install(TARGETS dmarcd ...): cmake --install would not install the binary"

for p in "${run_pkgs[@]}"; do
    if [[ $p == *-dev || $p =~ ^(build-essential|cmake|gcc|clang|make|pkg-config|git)$ ]]; then
        bad "runtime stage installs build tool or -dev package $p"
    fi
done
ok

# Non-root, the same UID as the chart.
last_user=$(grep -E '^USER ' <<<"$final" | tail -n 1 | awk '{print $2}')
uid=${last_user%%:*}
if [[ -z $last_user ]]; then
    bad "runtime stage has no USER: it would run as root"
elif [[ ! $uid =~ ^[0-9]+$ ]]; then
    bad "USER $last_user: use a numeric UID so Kubernetes can check runAsNonRoot"
elif ((uid == 0)); then
    bad "USER $last_user is root"
else
    ok
    chart_uid=$(sed -nE 's/^  runAsUser: ([0-9]+)$/\1/p' "$root/helm/dmarcd/values.yaml" | sort -u)
    [[ $chart_uid == "$uid" ]] && ok || bad "image runs as UID $uid, the chart as ${chart_uid:-?}"
fi
grep -qxE 'ENTRYPOINT \["dmarcd"\][ \t]*' <<<"$final" && ok || bad 'runtime ENTRYPOINT is not ["dmarcd"]'
grep -q '/usr/share/dmarcd/web' "$dockerfile" && ok || bad "the web files are not put in /usr/share/dmarcd/web"

ignore=$root/.dockerignore
if [[ -f $ignore ]]; then
    for pat in .git build run; do
        grep -qxF "$pat" "$ignore" && ok || bad ".dockerignore does not exclude $pat"
    done
else
    bad ".dockerignore missing: .git, build trees and run/ would enter the build context"
fi

# Against Debian 12's package lists, when this machine has them.
# shellcheck source=/dev/null
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || codename=""
if [[ $codename != bookworm ]] || ! command -v apt-cache >/dev/null 2>&1; then
    note "not Debian 12 (${codename:-unknown}): package names not checked against the archive"
elif ! apt-cache show --no-all-versions libc6 >/dev/null 2>&1; then
    note "no apt package lists (run apt-get update): package names not checked"
else
    # One apt-cache call for every package (each call reads the whole cache).
    declare -A depends_of=()
    while IFS=$'\t' read -r p deps; do
        depends_of[$p]=$deps
    done < <(apt-cache show --no-all-versions "${run_pkgs[@]}" "${build_pkgs[@]}" 2>/dev/null | awk '
        /^Package: / { pkg = $2 }
        /^Depends: / { deps = substr($0, 10) }
        /^$/ { if (pkg != "") print pkg "\t" deps; pkg = ""; deps = "" }
        END { if (pkg != "") print pkg "\t" deps }' |
        sed -E 's/\([^)]*\)//g; s/:any//g; s/[|,]/ /g; s/  +/ /g')
    for p in "${run_pkgs[@]}" "${build_pkgs[@]}"; do
        if [[ -v depends_of[$p] ]]; then
            ok
        else
            bad "package $p does not exist in Debian 12"
        fi
    done
    if [[ -n $dmarcd ]]; then
        if ! command -v readelf >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
            note "readelf or dpkg missing: the binary's libraries are not checked"
        else
            ldcache=$(ldconfig -p)
            allowed=" libc6 ${run_pkgs[*]} "
            for p in "${run_pkgs[@]}"; do allowed+="${depends_of[$p]:-} "; done
            while read -r soname; do
                if [[ $soname =~ ^lib(asan|ubsan|lsan|tsan|clang_rt) ]]; then
                    note "$soname is a sanitizer runtime: this DMARCD is not a release build"
                    continue
                fi
                file=$(awk -v s="$soname" '$1 == s && f == "" { f = $NF } END { print f }' <<<"$ldcache")
                [[ -n $file ]] || {
                    bad "the binary needs $soname, which this machine cannot resolve"
                    continue
                }
                pkg=$(dpkg -S "$(readlink -f "$file")" 2>/dev/null) || pkg=$(dpkg -S "$file" 2>/dev/null) || pkg=""
                pkg=$(awk -F: 'NR == 1 { print $1 }' <<<"$pkg")
                if [[ -z $pkg ]]; then
                    note "$soname ($file) belongs to no Debian package: not checked"
                elif [[ $allowed == *" $pkg "* ]]; then
                    ok
                else
                    bad "the binary needs $soname from package $pkg, which the runtime stage does not install"
                fi
            done < <(readelf -d "$dmarcd" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
        fi
    fi
fi

echo "dockerfile: $checks checks passed, $fail failed"
((fail == 0))
