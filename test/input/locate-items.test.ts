/**
 * Locating the items of a long sequence (a `kubectl get -o json` List, a YAML List, a JSON
 * array of objects): every item's position is asked for when the file is read, so the items
 * stepped over to reach them must grow with the items, not with their square (also when each
 * item's findings are located afterwards, in any order); and the positions must stay those of
 * the exact reader, in order, out of order and after a miss.
 */
import t from 'tap'
import { TextLocator } from '../../src/input/locate.js'
import { parseDocuments } from '../../src/input/documents.js'

const N = 2_000

function pod(i: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p-${i}`, namespace: `ns-${i % 7}` },
    spec: { containers: [{ name: 'c', image: `registry.example.com/app:${i}`, args: ['--a', String(i)], ports: [{ containerPort: 8080 }] }] },
  }
}

function yamlList(n: number): string {
  const lines = ['apiVersion: v1', 'kind: List', 'items:']
  for (let i = 0; i < n; i++) {
    lines.push(
      '- apiVersion: v1',
      '  kind: Pod',
      `  metadata: {name: p-${i}, namespace: ns-${i % 7}}`,
      '  spec:',
      '    containers:',
      '    - name: c',
      `      image: registry.example.com/app:${i}`,
      `      args: ["--a", "${i}"]`,
      '      ports:',
      '        - containerPort: 8080',
    )
  }
  return lines.join('\n') + '\n'
}

const texts: [string, string][] = [
  ['a JSON List on one line', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: N }, (_, i) => pod(i)) })],
  ['a JSON List, indented', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: N }, (_, i) => pod(i)) }, null, 2)],
  ['a YAML List', yamlList(N)],
  ['a JSON array of objects', JSON.stringify(Array.from({ length: N }, (_, i) => pod(i)))],
]

for (const [name, text] of texts) {
  t.test(name, async (t) => {
    const top = text.trimStart().startsWith('[') ? [] : ['items']
    const item = (i: number, ...rest: (string | number)[]) => [...top, i, ...rest]

    // Every item asked for in order, as reading the file does: linear in the items.
    const inOrder = new TextLocator(text, 0, text.length)
    const offsets: (number | undefined)[] = []
    for (let i = 0; i < N; i++) offsets.push(inOrder.locate(item(i)))
    t.ok(offsets.every((o) => o !== undefined), 'every item is located')
    t.ok(inOrder.itemsPassed <= N, `items stepped over: ${inOrder.itemsPassed} for ${N} items asked in order (at most ${N})`)
    // Then again, last first, as the findings of each item are located after the whole file was read: nothing stepped over again.
    const before = inOrder.itemsPassed
    // Each item's kind is its first `Pod` (quoted in JSON, where the node starts at the quote).
    const kindAt = (start: number): number => {
      const at = text.indexOf('Pod', start)
      return text.charAt(at - 1) === '"' ? at - 1 : at
    }
    const wrong: number[] = []
    for (let i = N - 1; i >= 0; i--) {
      const start = offsets[i]
      if (start === undefined || inOrder.locate(item(i, 'kind')) !== kindAt(start)) wrong.push(i)
    }
    t.same(wrong, [], "every item's kind located again, last first")
    t.equal(inOrder.itemsPassed, before, 'asking for the items again, last first, steps over none')

    // A field deep in each item, in order, as the findings of each item are located after it.
    const deep = new TextLocator(text, 0, text.length)
    for (let i = 0; i < N; i++) deep.locate(item(i, 'spec', 'containers', 0, 'args', 1))
    t.ok(deep.itemsPassed <= N + 2 * N, `items stepped over for a deep field of each: ${deep.itemsPassed}`)

    // Out of order and after a miss: the same offsets as a locator asked for that item alone.
    const mixed = new TextLocator(text, 0, text.length)
    t.equal(mixed.locate(item(N)), mixed.locate(top), 'an index past the end points at the sequence')
    for (const i of [N - 1, 0, 1500, 3, 1499, 1501, 1999, 1000]) {
      t.equal(mixed.locate(item(i)), new TextLocator(text, 0, text.length).locate(item(i)), `item ${i}`)
      t.equal(mixed.locate(item(i, 'spec', 'containers', 0, 'image')), new TextLocator(text, 0, text.length).locate(item(i, 'spec', 'containers', 0, 'image')), `item ${i}'s image`)
    }

    // Reading the whole file: each item's document and a finding's field at the exact reader's line and column.
    const fast = parseDocuments(text, 'list', {})
    const exact = parseDocuments(text, 'list', { exact: true })
    t.equal(fast.documents.length, N, 'one document per item')
    t.equal(exact.documents.length, N)
    for (const i of [0, 1, 2, 999, 1998, 1999]) {
      const f = fast.documents[i]
      const e = exact.documents[i]
      t.same(f?.source, e?.source, `item ${i}: where the document starts`)
      const path = ['spec', 'containers', 0, 'args', 1]
      t.same(f?.locate(path), e?.locate(path), `item ${i}: spec.containers[0].args[1]`)
    }
  })
}
