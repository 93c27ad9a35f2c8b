# Build: every dependency, the generated Prisma client, then dist/ (npm ci runs prepare).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund

# Run: compiled JavaScript and production dependencies only. --ignore-scripts: prepare
# would build again, and dist/ (with the generated Prisma client compiled in) is copied.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY prisma ./prisma
COPY templates ./templates
USER node
EXPOSE 3000
# Exec form: SIGTERM from `docker stop` reaches node, which finishes in-flight sends.
# The heap and compiler flags are npm start's (see docs/performance.md, "Heap and compiler flags").
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=256", "--no-allocation-site-pretenuring", "--liftoff-only", "dist/main.js"]
