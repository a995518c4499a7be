// updateAndFetch and fetchAndUpdate on a Db (its default tree) and on a named tree: the old
// value in, the new one out, undefined deletes, a throwing function changes nothing.
import { describe, expect, it } from 'vitest'
import type { Tree } from 'sled-node'
import { caught } from './helpers/caught.js'
import { b, expectBytes, freshTree, targets } from './helpers/tree-targets.js'

describe.each(targets)('updateAndFetch / fetchAndUpdate on $kind', ({ make }) => {
  let tree: Tree
  freshTree(make, (t) => (tree = t))

  it('updateAndFetch passes the old value and returns the new one', () => {
    const seen: unknown[] = []
    const first = tree.updateAndFetch('n', (old) => {
      seen.push(old)
      return '1'
    })
    expectBytes(first, '1')
    const second = tree.updateAndFetch('n', (old) => {
      seen.push(old)
      return b(String(Number(old?.toString()) + 1))
    })
    expectBytes(second, '2')
    expect(seen[0]).toBeUndefined()
    expectBytes(seen[1], '1')
    expectBytes(tree.get('n'), '2')
  })

  it('fetchAndUpdate returns the value before the update', () => {
    expect(tree.fetchAndUpdate('n', () => 'a')).toBeUndefined()
    expectBytes(tree.fetchAndUpdate('n', () => 'b'), 'a')
    expectBytes(tree.get('n'), 'b')
  })

  it('a function returning undefined deletes the key', () => {
    tree.insert('k', 'v')
    expect(tree.updateAndFetch('k', () => undefined)).toBeUndefined()
    expect(tree.containsKey('k')).toBe(false)
    tree.insert('k', 'v')
    expectBytes(tree.fetchAndUpdate('k', () => undefined), 'v')
    expect(tree.containsKey('k')).toBe(false)
  })

  it('undefined on an absent key leaves it absent', () => {
    expect(tree.updateAndFetch('k', () => undefined)).toBeUndefined()
    expect(tree.containsKey('k')).toBe(false)
  })

  it.each([
    ['updateAndFetch', new Error('boom')],
    ['fetchAndUpdate', new Error('boom')],
    ['updateAndFetch', { not: 'an error' }],
    ['fetchAndUpdate', 'a string'],
  ] as const)('%s rethrows what fn throws (%s) unchanged and keeps the value', (method, thrown) => {
    tree.insert('k', 'v')
    const err = caught(() =>
      tree[method]('k', () => {
        throw thrown
      }),
    )
    expect(err).toBe(thrown)
    expectBytes(tree.get('k'), 'v')
  })

  it('a throwing fn on an absent key creates nothing', () => {
    const err = new RangeError('no')
    expect(
      caught(() =>
        tree.updateAndFetch('k', () => {
          throw err
        }),
      ),
    ).toBe(err)
    expect(tree.containsKey('k')).toBe(false)
  })
})
