// compareAndSwap on a Db (its default tree) and on a named tree: success, failure with the
// current value and the proposal, undefined as absent (expected) and as delete (proposed).
import { describe, expect, it } from 'vitest'
import type { Tree } from 'sled-node'
import { expectBytes, freshTree, targets } from './helpers/tree-targets.js'

describe.each(targets)('compareAndSwap on $kind', ({ make }) => {
  let tree: Tree
  freshTree(make, (t) => (tree = t))

  it('succeeds with { ok: true } when the expected value matches', () => {
    tree.insert('k', 'v1')
    expect(tree.compareAndSwap('k', 'v1', 'v2')).toEqual({ ok: true })
    expectBytes(tree.get('k'), 'v2')
  })

  it('fails with the current value and the proposal, leaving the value', () => {
    tree.insert('k', 'v1')
    const res = tree.compareAndSwap('k', 'other', 'v3')
    expect(res.ok).toBe(false)
    if (res.ok) return
    expectBytes(res.current, 'v1')
    expectBytes(res.proposed, 'v3')
    expectBytes(tree.get('k'), 'v1')
  })

  it('expected undefined inserts only if absent', () => {
    expect(tree.compareAndSwap('k', undefined, 'first')).toEqual({ ok: true })
    expectBytes(tree.get('k'), 'first')
    const res = tree.compareAndSwap('k', undefined, 'second')
    expect(res.ok).toBe(false)
    if (res.ok) return
    expectBytes(res.current, 'first')
    expectBytes(res.proposed, 'second')
    expectBytes(tree.get('k'), 'first')
  })

  it('reports current undefined when the key is absent but a value was expected', () => {
    const res = tree.compareAndSwap('k', 'v', 'w')
    expect(res).toEqual({ ok: false, current: undefined, proposed: expect.anything() })
    expect(tree.containsKey('k')).toBe(false)
  })

  it('proposed undefined deletes', () => {
    tree.insert('k', 'v')
    expect(tree.compareAndSwap('k', 'v', undefined)).toEqual({ ok: true })
    expect(tree.containsKey('k')).toBe(false)
  })

  it('a failed delete reports proposed undefined and keeps the value', () => {
    tree.insert('k', 'v')
    const res = tree.compareAndSwap('k', 'x', undefined)
    expect(res.ok).toBe(false)
    if (res.ok) return
    expectBytes(res.current, 'v')
    expect(res.proposed).toBeUndefined()
    expectBytes(tree.get('k'), 'v')
  })
})
