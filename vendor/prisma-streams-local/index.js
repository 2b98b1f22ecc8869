// Prisma's CLI loads @prisma/streams-local only for `prisma dev` (a local Prisma Postgres), which
// Gatehouse does not use: it runs its own PostgreSQL. The real package declares Node >= 22, so
// package.json overrides it with this stand-in to keep `npm ci` clean on the Node 20 we support.
throw new Error('@prisma/streams-local is not installed: Gatehouse does not support `prisma dev`');
