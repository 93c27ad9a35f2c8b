FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY prisma ./prisma
COPY src ./src
COPY tsconfig.json prisma.config.ts ./
USER node
EXPOSE 3000
# Exec form: SIGTERM from `docker stop` reaches node, which finishes in-flight sends.
CMD ["node", "--import", "tsx", "src/main.ts"]
