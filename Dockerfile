# extend-event-rules: AGS Extend Event Handler image.
#   docker build -t extend-event-rules .          (or: make image)
# The build fails if rules.yaml is invalid. test/packaging/ runs these stages
# without Docker (same COPY sources, same RUN steps): keep the two in step.
# Plain Dockerfile syntax: builds with or without BuildKit (Debian's docker.io
# 20.10 and docker-compose 1.29 use the classic builder); no RUN --mount, no
# heredocs, no COPY --link/--chmod (scripts/lint-dockerfile.mjs checks it).

# ---- build: compile TypeScript, then check the rules file baked into the image
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
COPY actions ./actions
COPY rules.yaml rules.schema.json ./
# the typed topics' schemas (topics/NAME.schema.json): validate checks the rules against them
COPY topics ./topics
# compiles src/ and the custom actions of actions/ (a type error stops the build here)
RUN npm run build
# = `extend-event-rules validate rules.yaml` (with the custom actions): an invalid rules file stops the build here,
# with file:line:col problems. Without AB_CLIENT_ID/AB_CLIENT_SECRET the demo values
# of AB_NAMESPACE and ITEM_ID_TO_GRANT apply, as in a dry run.
RUN node dist/cli/index.js validate rules.yaml

# ---- deps: production dependencies only (the npm cache stays in this stage)
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies, compiled code, protos and rules; non-root
FROM node:24-bookworm-slim AS runtime
# tini as PID 1: forwards SIGTERM to Node (graceful shutdown) and reaps zombies
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY actions ./actions
COPY rules.yaml rules.schema.json ./
COPY topics ./topics
# code stays root-owned (read-only to the app); the app may create files in /app
# (dead-letters.jsonl, DEAD_LETTER_FILE)
RUN chown node:node /app
USER node
# 6565: gRPC (events from the Extend sidecar, health, reflection); 8080: Prometheus /metrics
EXPOSE 6565 8080
ENTRYPOINT ["tini", "--"]
CMD ["node", "dist/main.js"]
