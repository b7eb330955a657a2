# syntax=docker/dockerfile:1
# match-service. Build from the repository root (the context must be the whole workspace):
#   docker build -f deploy/docker/match-service.Dockerfile -t jetbox/match-service .
#
# deploy/test/dockerRecipe.int.test.ts executes this file's COPY and RUN steps without Docker
# and starts the result, so every RUN stays relative to its WORKDIR and every COPY to the
# context or an earlier stage. Keep the three Dockerfiles in this folder alike.
ARG NODE_IMAGE=node:24-bookworm-slim

# Only the workspaces match-service needs, with a lockfile cut down to them; the package.json
# files (json/) come apart from the sources (full/) so the install layer survives code edits.
FROM ${NODE_IMAGE} AS prune
WORKDIR /repo
COPY . .
RUN npx --yes turbo@2.11.9 prune @jetbox/match-service --docker --out-dir=out

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=prune /repo/out/json/ ./
RUN npm ci --no-audit --no-fund
COPY --from=prune /repo/out/full/ ./
# turbo prune keeps only package.json and turbo.json at the root: the packages' tsconfig files
# extend tsconfig.base.json, and the schemas codegen formats its output with .prettierrc.json.
COPY tsconfig.base.json .prettierrc.json ./
RUN npx turbo run build --filter=@jetbox/match-service
# Development dependencies (TypeScript, the test and lint tools) stay in this stage.
RUN npm prune --omit=dev --no-audit --no-fund && rm -rf .turbo node_modules/.cache

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and only readable by the service's user: the process cannot rewrite its code.
COPY --from=build /app ./
COPY deploy/docker/healthcheck.mjs ./healthcheck.mjs
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.mjs", "/healthz", "3000"]
CMD ["node", "/app/packages/match-service/dist/main.js"]
