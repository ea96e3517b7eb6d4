# syntax=docker/dockerfile:1
#
# extend-event-rules: AGS Extend Event Handler image.
#   docker build -t extend-event-rules .          (or: make image)
# The build fails if rules.yaml is invalid. test/packaging/ runs these stages
# without Docker (same COPY sources, same RUN steps): keep the two in step.

# ---- build: compile TypeScript, then check the rules file baked into the image
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
COPY actions ./actions
COPY rules.yaml rules.schema.json ./
# compiles src/ and the custom actions of actions/ (a type error stops the build here)
RUN npm run build
# = `extend-event-rules validate rules.yaml` (with the custom actions): an invalid rules file stops the build here,
# with file:line:col problems. Without AB_CLIENT_ID/AB_CLIENT_SECRET the demo values
# of AB_NAMESPACE and ITEM_ID_TO_GRANT apply, as in a dry run.
RUN node dist/cli/index.js validate rules.yaml

# ---- runtime: production dependencies, compiled code, protos and rules; non-root
FROM node:24-bookworm-slim AS runtime
# tini as PID 1: forwards SIGTERM to Node (graceful shutdown) and reaps zombies
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# the npm cache lives in a BuildKit cache mount, not in the image
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY actions ./actions
COPY rules.yaml rules.schema.json ./
# code stays root-owned (read-only to the app); the app may create files in /app
# (dead-letters.jsonl, DEAD_LETTER_FILE)
RUN chown node:node /app
USER node
# 6565: gRPC (events from the Extend sidecar, health, reflection); 8080: Prometheus /metrics
EXPOSE 6565 8080
ENTRYPOINT ["tini", "--"]
CMD ["node", "dist/main.js"]
