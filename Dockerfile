# syntax=docker/dockerfile:1
# The image the Deployment in manifests/ runs: the webhook (`pod-preflight serve`), and the CLI.
#
#   docker build -t ghcr.io/pod-preflight/pod-preflight:0.1.0 .
#
# Three stages: build the TypeScript, install the production dependencies, and copy both onto
# a distroless Node.js runtime (no shell, no package manager, user 65532).

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
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
