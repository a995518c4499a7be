// The generic types follow the encodings (docs/api.md): checked by `tsc -p test/tsconfig.json`
// (expectTypeOf is a compile-time assertion), and at run time against what comes back.
import { Buffer } from 'node:buffer'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { type Codec, type Db, type Encoding, open, openAsync, type OpenOptions, transaction, type TransactionalTree, type Tree } from 'sled-node'
import { dbPath } from './helpers/tmp.js'

const u32: Codec<number> = {
  encode: (n) => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  },
  decode: (b) => Buffer.from(b).readUInt32BE(0),
}

describe('types inferred from the encodings', () => {
  it('open() without encodings is Db<Buffer, Buffer>', () => {
    const db = open(dbPath())
    expectTypeOf(db).toEqualTypeOf<Db<Buffer, Buffer>>()
    db.insert('k', 'v')
    expectTypeOf(db.get('k')).toEqualTypeOf<Buffer | undefined>()
    expect(Buffer.isBuffer(db.get('k'))).toBe(true)
    db.close()
  })

  it('the async reads resolve to the value type: getAsync one, getManyAsync an array', async () => {
    const db = open(dbPath(), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    db.insert('k', 'v')
    const one = db.getAsync('k')
    const many = db.getManyAsync(['k', 'none'])
    expectTypeOf(one).toEqualTypeOf<Promise<string | undefined>>()
    expectTypeOf(many).toEqualTypeOf<Promise<(string | undefined)[]>>()
    expect(await one).toBe('v')
    expect(await many).toEqual(['v', undefined])
    db.close()
  })

  it("'utf8', 'view', 'json' and codecs give string, Uint8Array, unknown and the codec's type", () => {
    const db = open(dbPath(), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    expectTypeOf(db).toEqualTypeOf<Db<string, string>>()
    db.insert('k', 'v')
    const text = db.get('k')
    expectTypeOf(text).toEqualTypeOf<string | undefined>()
    expect(text).toBe('v')

    const views = db.openTree('views', { valueEncoding: 'view' })
    // the key encoding is inherited from the Db handle, in types as at run time
    expectTypeOf(views).toEqualTypeOf<Tree<string, Uint8Array>>()
    views.insert('k', 'v')
    const view = views.get('k')
    expect(view instanceof Uint8Array && !Buffer.isBuffer(view)).toBe(true)

    const json = db.openTree('json', { valueEncoding: 'json' })
    expectTypeOf(json).toEqualTypeOf<Tree<string, unknown>>()
    json.insert('k', { n: 1 })
    expect(json.get('k')).toEqual({ n: 1 })

    const numbers = db.openTree('numbers', { keyEncoding: u32, valueEncoding: 'buffer' })
    expectTypeOf(numbers).toEqualTypeOf<Tree<number, Buffer>>()
    numbers.insert(7, 'seven')
    const entries = numbers.iter().toArray()
    expectTypeOf(entries).toEqualTypeOf<[key: number, value: Buffer][]>()
    expect(entries).toEqual([[7, Buffer.from('seven')]])

    // a tree opened without options takes the Db's types
    expectTypeOf(db.openTree('plain')).toEqualTypeOf<Tree<string, string>>()

    // transaction() over trees of different types types each TransactionalTree apart
    const result = transaction([db, numbers], ([texts, nums]) => {
      expectTypeOf(texts).toEqualTypeOf<TransactionalTree<string, string>>()
      expectTypeOf(nums).toEqualTypeOf<TransactionalTree<number, Buffer>>()
      return [texts.get('k'), nums.get(7)] as const
    })
    expect(result[0]).toBe('v')
    expect(result[1]).toEqual(Buffer.from('seven'))
    db.close()
  })

  it('generic code and variables typed with the option types keep their K and V', () => {
    // a helper generic over K and V, and options held in variables of the option types
    function openWith<K, V>(path: string, options: OpenOptions<K, V>): Db<K, V> {
      return open(path, options)
    }
    const options: OpenOptions<string, string> = { keyEncoding: 'utf8', valueEncoding: 'utf8' }
    const db = openWith(dbPath(), options)
    expectTypeOf(db).toEqualTypeOf<Db<string, string>>()
    expectTypeOf(open(dbPath(), options)).toEqualTypeOf<Db<string, string>>()
    const encoding: Encoding<string> = 'utf8'
    const tree = db.openTree('t', { valueEncoding: encoding })
    expectTypeOf(tree).toEqualTypeOf<Tree<string, string>>()
    tree.insert('k', 'v')
    expect(tree.get('k')).toBe('v')
    // the three-type-argument form of transaction() still applies
    const got = transaction<string, string, string | undefined>([tree], ([tx]) => tx!.get('k'))
    expect(got).toBe('v')
    db.close()
  })

  it('explicit type arguments still win (for json, name the type)', async () => {
    interface User {
      name: string
    }
    const db = await openAsync<string, User>(dbPath(), { keyEncoding: 'utf8', valueEncoding: 'json' })
    expectTypeOf(db).toEqualTypeOf<Db<string, User>>()
    db.insert('u', { name: 'Ada' })
    expect(db.get('u')?.name).toBe('Ada')
    const users = db.openTree<string, User>('users')
    expectTypeOf(users.get('u')).toEqualTypeOf<User | undefined>()
    const inferred = await openAsync(dbPath(), { valueEncoding: 'utf8' })
    expectTypeOf(inferred).toEqualTypeOf<Db<Buffer, string>>()
    inferred.close()
    db.close()
  })
})
