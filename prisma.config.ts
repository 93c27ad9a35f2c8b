import { PrismaPg } from '@prisma/adapter-pg'
import { defineConfig } from 'prisma/config'
import { CatalogSafePool } from './src/db/catalog-safe-pool.ts'

// Prisma 6.19's native schema engine is downloaded on first use, and this project must
// work offline; the JavaScript engine (through the pg adapter) needs no download.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  experimental: { adapter: true },
  engine: 'js',
  async adapter() {
    return new PrismaPg(new CatalogSafePool({ connectionString: process.env.DATABASE_URL }))
  },
})
