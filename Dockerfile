# SealGuard 封板卫士: multi-stage build on the same Node major the project runs on (20).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build.mjs ./scripts/
COPY bin ./bin
COPY src ./src
# Production dependencies only; "prepare" bundles src/ into dist/ with esbuild.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/app/data \
    TZ=Asia/Shanghai
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/dist ./dist
COPY package.json package-lock.json ./
COPY bin ./bin
COPY data/demo ./data/demo
# Runtime state (settings, orders, pending confirms, event history) lives in the volume.
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
VOLUME ["/app/data"]
# WeCom callbacks and the PTrade relay listen on HTTP_PORT when configured.
EXPOSE 8080
# Same as `npm start` (with its V8 young-generation cap, see bin/sealguard.js), without npm in
# the signal path so SIGTERM reaches the process.
CMD ["node", "--max-semi-space-size=2", "--v8-pool-size=1", "bin/sealguard.js", "start"]
