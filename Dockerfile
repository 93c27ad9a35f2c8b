FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# The whole tree first: npm ci's postinstall generates the Prisma client from prisma/.
COPY . .
RUN npm ci --omit=dev --no-audit --no-fund
USER node
EXPOSE 3000
# Exec form: SIGTERM from `docker stop` reaches node, which finishes in-flight sends.
# The heap flags are npm start's (see package.json and README "Performance").
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=256", "--import", "tsx", "src/main.ts"]
