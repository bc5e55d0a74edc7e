import t from 'tap'
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { scoreImageVectors } from '../../src/conformance/image-vectors.js'
import { scoreRealCaptures } from '../../src/conformance/real-captures.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'
import { RULES } from '../../src/rules/index.js'
import { FIXTURES } from '../analyzer/fixtures.js'

t.test('image vectors: the kubelet verdict against image-name-invalid and image-tag-latest', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vectors-'))
  const file = join(dir, 'vectors.json')
  const v = (id: string, input: string, valid: boolean, untagged: boolean) => ({ id, input, expected_valid: valid, expected_untagged: untagged })
  writeFileSync(file, JSON.stringify({ vectors: [
    v('a', 'nginx', true, true),
    v('b', 'registry.example.com:5000/team/app:1.2', true, false),
    v('c', 'Nginx:1.0', false, false),
    v('d', 'app@sha256:' + 'a'.repeat(64), true, false),
    v('e', 'app:latest', true, true),
  ] }))
  const policy = await loadDefaultPolicy(RULES)
  const good = await scoreImageVectors(file, policy, RULES)
  t.same(good, { passed: 5, total: 5, failures: [] })
  writeFileSync(file, JSON.stringify({ vectors: [v('x', 'nginx:1.25', true, true), v('y', 'nginx:1.25', false, false), v('z', 'Nginx:1.0', true, false)] }))
  const bad = await scoreImageVectors(file, policy, RULES)
  t.equal(bad.passed, 0, 'a wrong verdict is counted as a failure')
  t.match(bad.failures[0], /image-ref x "nginx:1\.25": untagged \(pulled as :latest\), but image-tag-latest is silent/)
  t.match(bad.failures[1], /image-ref y "nginx:1\.25": invalid for the kubelet \(InvalidImageName\), but image-name-invalid does not deny it/)
  t.match(bad.failures[2], /image-ref z "Nginx:1\.0": valid for the kubelet, but image-name-invalid denies it/)
})

t.test('real captures: cause, mentions and exit code of explain', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'captures-'))
  copyFileSync(join(FIXTURES, 'describe/current-runcontainererror-last-state.txt'), join(dir, 'a.txt'))
  copyFileSync(join(FIXTURES, 'pods/healthy.yaml'), join(dir, 'ok.yaml'))
  const write = (cases: unknown[]) => writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases))
  write([
    { file: 'a.txt', expect_cause: ['command-not-executable'], expect_mention: ['start-engine', '128'], expect_exit: 128 },
    { file: 'ok.yaml', kind: 'control', now: '2024-05-13T10:40:00Z' },
  ])
  t.same(await scoreRealCaptures(dir), { passed: 2, total: 2, failures: [] })
  write([
    { file: 'a.txt', expect_cause: ['app-error'] },
    { file: 'a.txt', expect_cause: ['command-not-executable'], expect_mention: ['wget'], expect_exit: 127 },
  ])
  const bad = await scoreRealCaptures(dir)
  t.equal(bad.passed, 0)
  t.match(bad.failures[0], /expected app-error, got command-not-executable/)
  t.match(bad.failures[1], /"wget" is not mentioned; expected exit code 127, got 128/)
})
