# syntax=docker/dockerfile:1
# The image the Deployment in manifests/ runs: the webhook (`pod-preflight serve`), and the CLI.
#
#   docker build -t ghcr.io/pod-preflight/pod-preflight:0.1.0 .
#
# Three stages: build the TypeScript, install the production dependencies, and copy both onto
# a distroless Node.js runtime (no shell, no package manager, user 65532).
#
# Base images run Node.js 22 (an LTS line; 20 is past end of life) and are pinned by digest, so a
# build today and a rebuild next month get the same bytes. The tag stays beside each digest for
# readers; the digest is what is pulled. To move to newer patch releases, resolve the tags again
# and replace the two digests (both build stages use the first):
#
#   docker buildx imagetools inspect node:22-bookworm-slim --format '{{json .Manifest.Digest}}'
#   docker buildx imagetools inspect gcr.io/distroless/nodejs22-debian12:nonroot --format '{{json .Manifest.Digest}}'
#
# (or `crane digest IMAGE`). The digests are of the multi-architecture index, so amd64 and arm64
# builds both work. The code itself still runs on Node.js 20 (package.json engines: >=20).

ARG BUILD_IMAGE=node:22-bookworm-slim@sha256:f32b81066cde10a75dbac96646099533316d94bac4150c55da1636e1f0ffdc46
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot@sha256:13593b7570658e8477de39e2f4a1dd25db2f836d68a0ba771251572d23bb4f8e

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Every script `npm run build` runs; the validators step reads the shipped policies.
COPY scripts/copy-data.mjs scripts/patch-js-yaml.mjs scripts/build-validators.mjs scripts/build-info.mjs scripts/bundle-cli.mjs ./scripts/
COPY policies ./policies
RUN npm run build

FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
# The heap cap the Deployment ships (README, "Bounded work and memory"); the manifests set the same through NODE_OPTIONS.
ENV NODE_OPTIONS=--max-old-space-size=96
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY policies ./policies
USER 65532:65532
EXPOSE 8443
# The same entry point the end-to-end tests start: node dist/cli/bin.js serve ...
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/bin.js"]
CMD ["serve", "--host=0.0.0.0", "--port=8443", "--tls-cert=/etc/pod-preflight/tls/tls.crt", "--tls-key=/etc/pod-preflight/tls/tls.key"]
