// PGlite with pgvector and pg_trgm served over the PostgreSQL wire protocol, for the PostgreSQL store tests.
// usage: node pglite_server.mjs PORT [DATA_DIR]   (prints "ready PORT" once it listens; memory-only without DATA_DIR)
// PGLITE_NO_TRGM=1 leaves pg_trgm out (a server without the extension). PGLITE_CONNECTIONS=N takes up to N clients at
// once (default 1): their statements share PGlite's one session, queued one at a time, so only clients that do not
// run transactions side by side (photoseek serve's readers beside one edit) should share it.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { vector } from '@electric-sql/pglite-pgvector';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

const port = Number(process.argv[2] || 0);
const dataDir = process.argv[3];
const db = await PGlite.create(dataDir ? `file://${dataDir}` : undefined, {
  extensions: process.env.PGLITE_NO_TRGM ? { vector } : { vector, pg_trgm },
});
const maxConnections = Number(process.env.PGLITE_CONNECTIONS || 1);
const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections });
await server.start();
console.log(`ready ${port}`);
const stop = async () => {
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
