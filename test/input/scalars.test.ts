/**
 * Plain scalars read as kubectl reads them (go-yaml v2's resolve table, through
 * sigs.k8s.io/yaml), by both readers; quoted and block scalars stay strings.
 */
import t from 'tap'
import { plainIsText, resolvePlain } from '../../src/input/scalars.js'
import { parseDocuments } from '../../src/input/documents.js'
import { runCheck } from '../../src/cli/run-check.js'
import { RULES } from '../../src/rules/index.js'
import { loadDefaultPolicy } from '../../src/policy/policy.js'

const TABLE: [string, unknown][] = [
  // booleans: every spelling go-yaml v2 accepts, and near misses that stay strings
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s): [string, unknown] => [s, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s): [string, unknown] => [s, false]),
  ['yEs', 'yEs'],
  ['tRUE', 'tRUE'],
  ['oN', 'oN'],
  ['yes please', 'yes please'],
  // null
  ['', null],
  ['~', null],
  ['null', null],
  ['Null', null],
  ['NULL', null],
  ['nULL', 'nULL'],
  // integers: decimal, octal with 0 and 0o, hex, binary, signs, underscores
  ['0', 0],
  ['12', 12],
  ['+12', 12],
  ['-12', -12],
  ['0755', 493],
  ['0o17', 15],
  ['0O17', 15],
  ['0x1F', 31],
  ['0X1f', 31],
  ['-0x1F', -31],
  ['0b101', 5],
  ['-0b101', -5],
  ['1_000', 1000],
  ['0_755', 493],
  ['00', 0],
  // the short-decimal path and its edges: 15 digits, then 16 and more through BigInt
  ['8080', 8080],
  ['123456789012345', 123456789012345],
  ['1234567890123456', 1234567890123456],
  ['9007199254740993', 9007199254740992],
  ['80a', '80a'],
  ['8 0', '8 0'],
  // floats
  ['1.5', 1.5],
  ['.5', 0.5],
  ['-.5', -0.5],
  ['1e3', 1000],
  ['1E3', 1000],
  ['12.', 12],
  ['089', 89],
  ['08.5', 8.5],
  ['1_0.5', 10.5],
  ['99999999999999999999', 1e20],
  // strings: base 60, timestamps, out of range, not numbers
  ['1:30', '1:30'],
  ['2001-12-14', '2001-12-14'],
  ['2001-12-14t21:59:43.10-05:00', '2001-12-14t21:59:43.10-05:00'],
  ['1e400', '1e400'],
  ['0o', '0o'],
  ['5e', '5e'],
  ['_1', '_1'],
  ['.', '.'],
  ['250m', '250m'],
  ['1Gi', '1Gi'],
  ['nginx', 'nginx'],
]

t.test('the resolve table', async (t) => {
  for (const [s, want] of TABLE) t.same(resolvePlain(s), want, JSON.stringify(s))
  t.ok(Number.isNaN(resolvePlain('.nan')))
  t.equal(resolvePlain('-.inf'), Number.NEGATIVE_INFINITY)
})

t.test('both readers resolve plain scalars alike, and quoted or block scalars stay strings', async (t) => {
  const text = `${TABLE.filter(([s]) => s !== '').map(([s], i) => `k${i}: ${s}`).join('\n')}\nq1: "yes"\nq2: 'on'\nq3: |\n  yes\nq4: !!str no\nq5:\n`
  const fast = parseDocuments(text, 'a.yaml')
  const exact = parseDocuments(text, 'a.yaml', { exact: true })
  t.same(fast.errors, [])
  t.same(exact.errors, [])
  const v = fast.documents[0]?.value as Record<string, unknown>
  t.same(v, exact.documents[0]?.value)
  TABLE.filter(([s]) => s !== '').forEach(([s, want], i) => t.same(v[`k${i}`], want, JSON.stringify(s)))
  t.same([v['q1'], v['q2'], v['q3'], v['q4'], v['q5']], ['yes', 'on', 'yes\n', 'no', null])
})

t.test('.nan and .inf are refused with the line, as kubectl cannot turn them into JSON', async (t) => {
  for (const exact of [false, true]) {
    const r = parseDocuments('a: 1\nb: .inf\n', 'n.yaml', { exact })
    t.equal(r.documents.length, 0)
    t.equal(r.errors[0]?.line, 2)
    t.match(r.errors[0]?.message ?? '', /\.inf is infinity to kubectl.*quote it/)
  }
})

t.test('an env value kubectl reads as a boolean or a number is an input error with the fix', async (t) => {
  const policy = await loadDefaultPolicy(RULES)
  const text = `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: app
      image: nginx:1.27
      resources: { limits: { memory: 64Mi } }
      env:
        - name: A
          value: yes
        - { name: B, value: Off }
        - name: C
          value: "yes"
        - name: D
          value: 0755
`
  for (const exact of [false, true]) {
    const r = parseDocuments(text, 'p.yaml', { exact })
    const report = runCheck(r.documents, r.errors, { policy, rules: RULES, namespace: 'default', files: 1 })
    const errors = report.errors.map((e) => `${e.line}:${e.column} ${e.message}`)
    t.same(errors, [
      '11:18 spec.containers[0].env[0].value must be a string, got a boolean: kubectl reads the unquoted yes as true (YAML 1.1), and the API server refuses the object; quote it: "yes"',
      '12:29 spec.containers[0].env[1].value must be a string, got a boolean: kubectl reads the unquoted Off as false (YAML 1.1), and the API server refuses the object; quote it: "Off"',
      '16:18 spec.containers[0].env[3].value must be a string, got a number: kubectl reads the unquoted 0755 as 493 (YAML 1.1), and the API server refuses the object; quote it: "0755"',
    ], exact ? 'exact reader' : 'fast reader')
  }
})

t.test('plainIsText: a scalar it calls text is text to resolvePlain, whatever follows its first character', async (t) => {
  const firsts = ['a', 'n', 'N', 'y', 'o', 'O', 't', 'f', 'F', '~', '.', '+', '-', '0', '9', '_', 'x', 'é', ' ']
  const rests = ['', 'o', 'ull', 'ULL', 'es', 'n', 'ff', 'rue', 'alse', 'inf', 'nan', '.inf', 'x1F', '_000', '1', 'ame', 'amespace', 'odeSelector', 'olerations', 'emplate', 'ully-qualified']
  let text = 0
  let notText = 0
  for (const f of firsts) {
    for (const r of rests) {
      const s = f + r
      if (plainIsText(s.charCodeAt(0), s.length)) {
        text++
        t.equal(resolvePlain(s), s, `${JSON.stringify(s)} is text`)
      } else notText++
    }
  }
  t.ok(text > 100 && notText > 50, `both answers given (${text} text, ${notText} looked at whole)`)
  for (const word of ['yes', 'No', 'TRUE', 'off', 'null', '~', '.nan', '-.Inf', '']) t.notOk(plainIsText(word.charCodeAt(0), word.length), `${JSON.stringify(word)} is looked at whole`)
})
