// docs/api.md covers every export of the package's three entry points, and every public
// member of the exported classes: the names come from the TypeScript sources, so a new
// export or method without documentation fails here.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const entryPoints = { 'sled-node': 'index.ts', 'sled-node/level': 'src/adapters/level.ts', 'sled-node/keyv': 'src/adapters/keyv.ts' }
const docs = readFileSync(`${root}docs/api.md`, 'utf8')

interface Exported {
  entry: string
  name: string
  members: string[]
}

/** Every export of each entry point, with the public, non-internal members of classes. */
function exportsOfEntryPoints(): Exported[] {
  const files = Object.values(entryPoints).map((f) => root + f)
  const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext })
  const checker = program.getTypeChecker()
  const out: Exported[] = []
  for (const [entry, file] of Object.entries(entryPoints)) {
    const source = program.getSourceFile(root + file)
    const module = source && checker.getSymbolAtLocation(source)
    if (!module) throw new Error(`cannot read the exports of ${file}`)
    for (const symbol of checker.getExportsOfModule(module)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
      const members = new Set<string>()
      if (target.flags & ts.SymbolFlags.Class) {
        for (const declaration of target.declarations ?? []) {
          if (!ts.isClassDeclaration(declaration)) continue
          for (const member of declaration.members) {
            if (!member.name || !ts.isIdentifier(member.name) || member.name.text.startsWith('_')) continue
            if (ts.isConstructorDeclaration(member)) continue
            if (ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue
            if (ts.getJSDocTags(member).some((tag) => tag.tagName.text === 'internal')) continue
            members.add(member.name.text)
          }
        }
      }
      out.push({ entry, name: symbol.name, members: [...members] })
    }
  }
  return out
}

const exported = exportsOfEntryPoints()

describe('docs/api.md', () => {
  it('reads the exports (sanity: the main classes are found)', () => {
    const names = exported.map((e) => e.name)
    expect(names).toEqual(expect.arrayContaining(['open', 'Db', 'Tree', 'SledError', 'SledLevel', 'KeyvSled']))
    expect(exported.find((e) => e.name === 'Tree')?.members).toEqual(expect.arrayContaining(['get', 'range', 'watchPrefix']))
  })

  it.each(exported)('names the export $name of $entry', ({ name }) => {
    expect(docs).toMatch(new RegExp(`\`[^\`]*\\b${name}\\b`))
  })

  it.each(exported.filter((e) => e.members.length > 0))('documents every public member of $name', ({ name, members }) => {
    // as `x.member` in a heading, signature or example, or as `member` in code
    const missing = members.filter((member) => !new RegExp(`\\.${member}\\b|\`${member}[\`(:]`).test(docs))
    expect(missing, `${name} members not in docs/api.md`).toEqual([])
  })
})
