import pg from 'pg'

const NAME_OID = 19
const TEXT_OID = 25

/**
 * A pg Pool for Prisma's schema engine. `@prisma/adapter-pg` 6.19 rejects PostgreSQL's
 * `name` type (OID 19), which the catalog queries behind `prisma migrate` return
 * (prisma/prisma#27403, "Column type 'name' could not be deserialized"). A `name` is
 * text on the wire, so relabelling the column as text is exact, not a conversion.
 */
export class CatalogSafePool extends pg.Pool {
  // pg's overloads (callback and promise forms) cannot be re-declared one by one; the
  // schema engine only uses the promise form.
  override query(...args: unknown[]): any {
    const pending = (super.query as (...a: unknown[]) => unknown)(...args)
    if (!(pending instanceof Promise)) return pending
    return pending.then((result: pg.QueryResult) => {
      for (const field of result.fields ?? []) {
        if (field.dataTypeID === NAME_OID) field.dataTypeID = TEXT_OID
      }
      return result
    })
  }
}
