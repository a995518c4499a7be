// Compiled with tsc --noEmit in the consumer project: the published typings, as an ESM user sees them.
import { type Db, open, openAsync, SledClosedError, SledError, type Tree } from 'sled-node'

const db: Db = open('./db', { cacheCapacity: 1 << 20, flushEveryMs: null })
const previous: Buffer | undefined = db.insert('k', 'v')
const tree: Tree = db.openTree('t')
for (const [key, value] of tree.range({ gte: 'a', limit: 10 })) key.equals(value)
const texts = db.openTree<string, { n: number }>('json', { keyEncoding: 'utf8', valueEncoding: 'json' })
const n: number | undefined = texts.get('x')?.n
db.close()
const later: Promise<Db> = openAsync('./db')
const isClosed = (e: unknown): boolean => e instanceof SledClosedError && e instanceof SledError && e.code === 'SLED_CLOSED'
export { isClosed, later, n, previous }
