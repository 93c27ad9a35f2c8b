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
    // The outbox's own schema: the CLI (`prisma migrate status`, studio) finds its history,
    // sms_outbox._prisma_migrations, through search_path. Only this tool's connection sets it;
    // the service's pools do not, and their SQL names sms_outbox.<table>.
    return new PrismaPg(new CatalogSafePool({ connectionString: process.env.DATABASE_URL, options: '-c search_path=sms_outbox' }), { schema: 'sms_outbox' })
  },
})
