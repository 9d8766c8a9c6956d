# dmarcd container image: one image, every workload (`dmarcd api`, `worker`,
# `smtp`, `imap`, `retention`, `migrate`); the Helm chart in helm/dmarcd picks
# the subcommand per Deployment, Job or CronJob.
#
#   docker build -t dmarcd:0.1.0 .
#   docker run --rm dmarcd:0.1.0 version
#
# Two stages on Debian 12 (bookworm): the build stage has the compilers and
# the -dev packages (the same list as scripts/deps.sh and
# cmake/Dependencies.cmake; tests/helm/check_dockerfile.sh keeps them in
# step); the runtime stage has only the shared libraries the binary loads,
# runs as a fixed non-root user (10001) and needs nothing writable but /tmp.
# Base images are pinned by release name; pin them by digest too in your own
# registry mirror if you need byte-for-byte rebuilds.

FROM debian:bookworm AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libxml2-dev zlib1g-dev libarchive-dev libmariadb-dev libhiredis-dev \
      libgpgme-dev libmicrohttpd-dev libcmocka-dev libjansson-dev \
      libgmime-3.0-dev libsodium-dev libcurl4-openssl-dev libgnutls28-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The whole tree is configured (CMake checks every dependency, cmocka too),
# then installed into /staging/usr, which the runtime stage copies to /usr.
# The dashboard files go to /usr/share/dmarcd/web: taken from the install
# when the build installs them, else copied from web/ as they are (web/ may
# be missing or empty; the directory then exists but is empty).
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" \
 && cmake --install build --prefix /staging/usr \
 && mkdir -p /staging/usr/share/dmarcd/web \
 && if [ -z "$(ls -A /staging/usr/share/dmarcd/web)" ] && [ -d web ]; then \
      cp -a web/. /staging/usr/share/dmarcd/web/; \
    fi \
 && /staging/usr/bin/dmarcd version

FROM debian:bookworm-slim

# Runtime libraries only. gpg is named so that libgpgme11's "gnupg | gpg"
# dependency is met by the small gpg package (GPGME runs it to encrypt
# failure reports to a tenant's OpenPGP key) rather than all of gnupg.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates gpg \
      libxml2 zlib1g libarchive13 libmariadb3 libhiredis0.14 libgpgme11 \
      libmicrohttpd12 libjansson4 libgmime-3.0-0 libsodium23 libcurl4 libgnutls30 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 dmarcd \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin dmarcd

COPY --from=build /staging/usr/ /usr/

# HOME points at /tmp, the one writable place under a read-only root
# filesystem (the chart mounts an emptyDir there), for gpg's key ring.
ENV HOME=/tmp
USER 10001:10001
WORKDIR /tmp
# 8080: `dmarcd api` (DMARCD_API_LISTEN); 2525: `dmarcd smtp`
# (DMARCD_SMTP_LISTEN). Both default to loopback: set them to 0.0.0.0:PORT.
EXPOSE 8080 2525
ENTRYPOINT ["dmarcd"]
CMD ["help"]
