# syntax=docker/dockerfile:1
# The jetbox CLI (@jetbox/events' `jetbox` bin): `jetbox relay` by default, and the image the
# migration/streams job runs. Build from the repository root:
#   docker build -f deploy/docker/relay.Dockerfile -t jetbox/relay .
#
# deploy/test/dockerRecipe.int.test.ts executes this file's COPY and RUN steps without Docker
# and starts the result, so every RUN stays relative to its WORKDIR and every COPY to the
# context or an earlier stage. Keep the three Dockerfiles in this folder alike.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS prune
WORKDIR /repo
COPY . .
RUN npx --yes turbo@2.11.9 prune @jetbox/events --docker --out-dir=out

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=prune /repo/out/json/ ./
RUN npm ci --no-audit --no-fund
COPY --from=prune /repo/out/full/ ./
# turbo prune keeps only package.json and turbo.json at the root: the packages' tsconfig files
# extend tsconfig.base.json, and the schemas codegen formats its output with .prettierrc.json.
COPY tsconfig.base.json .prettierrc.json ./
RUN npx turbo run build --filter=@jetbox/events
RUN npm prune --omit=dev --no-audit --no-fund && rm -rf .turbo node_modules/.cache

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# `jetbox <command>` for operators who exec into the container.
ENV PATH=/app/node_modules/.bin:$PATH
COPY --from=build /app ./
COPY deploy/docker/relay-liveness.mjs ./relay-liveness.mjs
USER node
# The standalone relay serves no HTTP; this checks that the outbox drains (see the script).
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 CMD ["node", "/app/relay-liveness.mjs", "300"]
ENTRYPOINT ["node", "/app/node_modules/@jetbox/events/bin/jetbox.js"]
CMD ["relay"]
