# syntax=docker/dockerfile:1
# netpol-guard image: the webhook (`serve`, the default) and the sweeper (`sweep`) in one image.
# Certificates and config are mounted at run time; nothing secret is baked in.

# ---- build: full dependency set, compile TypeScript to dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- production dependencies only ----
FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# V8 does not size its heap from the container's memory limit. 160 MiB is the webhook's heap budget
# at its default caps (see the arithmetic in manifests/deployment.yaml, which sets the same value
# for the webhook and 96 MiB for the sweeper); this default covers `docker run` outside Kubernetes.
ENV NODE_OPTIONS=--max-old-space-size=160
WORKDIR /app
# package.json is needed at run time: its "type": "module" is what makes Node load dist/ as ESM.
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The numeric uid/gid the manifests' runAsUser/runAsGroup name; numeric so runAsNonRoot can verify
# it without an /etc/passwd lookup.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
