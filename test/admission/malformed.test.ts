import t, { type Test } from 'tap'
import { jsonDepth, valueDepth } from '../../src/admission/json-body.js'
import { DEFAULT_BODY_LIMIT } from '../../src/admission/app.js'
import { pod, post, review, testApp } from './helpers.js'

interface ErrorAnswer {
  statusCode: number
  code: string
  error: string
  message: string
}

async function refused(t: Test, payload: string | Buffer, code: string, message: RegExp, headers: Record<string, string> = {}): Promise<void> {
  const { app, metrics } = await testApp()
  const res = await app.inject({ method: 'POST', url: '/validate', payload, headers: { 'content-type': 'application/json', ...headers } })
  t.equal(res.statusCode, 400, `400 for ${code}`)
  const body = JSON.parse(res.body) as ErrorAnswer
  t.equal(body.code, code)
  t.equal(body.statusCode, 400)
  t.match(body.message, message)
  t.equal(metrics.badRequests.value({ code }), 1, 'counted')
  // The process and the app are fine afterwards.
  const ok = await post(app, review(pod()))
  t.equal(ok.allowed, true, 'the next review is answered')
}

t.test('not JSON', (t) => refused(t, '{"apiVersion": "admission.k8s.io/v1", kind: ', 'PP_ADM_NOT_JSON', /^the body is not JSON: /))
t.test('not JSON, as text/plain', (t) => refused(t, 'hello', 'PP_ADM_NOT_JSON', /not JSON/, { 'content-type': 'text/plain' }))
t.test('empty body', (t) => refused(t, '', 'PP_ADM_EMPTY_BODY', /empty/))
t.test('JSON but not an object', (t) => refused(t, '[1,2,3]', 'PP_ADM_NOT_ADMISSION_REVIEW', /must be a JSON object/))
t.test('JSON null is reported as null, not as empty', (t) => refused(t, 'null', 'PP_ADM_NOT_ADMISSION_REVIEW', /^the body is JSON null; POST an AdmissionReview/))
t.test('request that is not an object', async (t) => {
  for (const [value, what] of [[[1], 'an array'], ['x', 'a string'], [7, 'a number'], [true, 'a boolean']] as const) {
    const body = review(pod())
    body['request'] = value
    await t.test(what, (t) => refused(t, JSON.stringify(body), 'PP_ADM_NOT_ADMISSION_REVIEW', new RegExp(`^request must be an object \\(the AdmissionRequest\\), not ${what}$`)))
  }
})
t.test('not JSON: the message quotes a short escaped excerpt, never raw controls', async (t) => {
  const { app } = await testApp()
  const hostile = '{"apiVersion": "admission.k8s.io/v1", \u001b[31mDENY\u0007 ' + 'x'.repeat(5000)
  const res = await app.inject({ method: 'POST', url: '/validate', payload: hostile, headers: { 'content-type': 'application/json' } })
  const body = JSON.parse(res.body) as ErrorAnswer
  t.equal(body.code, 'PP_ADM_NOT_JSON')
  t.notMatch(body.message, /[\u0000-\u001f\u007f]/, 'no raw control character')
  t.match(body.message, /; near ".*\\x1b\[31mDENY\\a x*"$/, 'the excerpt shows where, escaped')
  t.ok(body.message.length < 300, `short (${body.message.length} characters for a 5 kB body)`)
  const trunc = await app.inject({ method: 'POST', url: '/validate', payload: '{"apiVersion": "admission.k8s.io/v1", "kind": ', headers: { 'content-type': 'application/json' } })
  t.match((JSON.parse(trunc.body) as ErrorAnswer).message, /^the body is not JSON: Unexpected end of JSON input; the body ends ".*\\"kind\\": "$/, 'an excerpt of a truncated body')
})
t.test('a UTF-8 byte order mark before the JSON is accepted', async (t) => {
  const { app, metrics } = await testApp()
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(review(pod())))])
  const res = await app.inject({ method: 'POST', url: '/validate', payload: withBom, headers: { 'content-type': 'application/json' } })
  t.equal(res.statusCode, 200)
  t.match(res.body, /"allowed":true/)
  t.equal(metrics.badRequests.value({ code: 'PP_ADM_NOT_JSON' }), 0)
  // A BOM alone is still an empty body; a BOM in the middle is still not JSON.
  await refused(t, Buffer.from([0xef, 0xbb, 0xbf]), 'PP_ADM_EMPTY_BODY', /empty/)
  await refused(t, Buffer.concat([Buffer.from('{"a":'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('1}')]), 'PP_ADM_NOT_JSON', /not JSON/)
})
t.test('another kind', (t) =>
  refused(t, JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), 'PP_ADM_NOT_ADMISSION_REVIEW', /kind must be AdmissionReview, not "Pod"/))
t.test('wrong apiVersion (v1beta1)', (t) => {
  const body = review(pod())
  body['apiVersion'] = 'admission.k8s.io/v1beta1'
  return refused(t, JSON.stringify(body), 'PP_ADM_WRONG_API_VERSION', /admission\.k8s\.io\/v1beta1" is not served; .*admissionReviewVersions: \["v1"\]/)
})
t.test('missing request', (t) => {
  const body = review(pod())
  delete body['request']
  return refused(t, JSON.stringify(body), 'PP_ADM_NO_REQUEST', /has no request/)
})
t.test('missing uid', (t) => {
  const body = review(pod())
  delete (body['request'] as Record<string, unknown>)['uid']
  return refused(t, JSON.stringify(body), 'PP_ADM_BAD_REQUEST_FIELD', /^request\.uid is missing/)
})
t.test('bad operation', (t) => {
  const body = review(pod())
  ;(body['request'] as Record<string, unknown>)['operation'] = 'PATCH'
  return refused(t, JSON.stringify(body), 'PP_ADM_BAD_REQUEST_FIELD', /^request\.operation must be one of/)
})
t.test('missing object on CREATE', (t) => {
  const body = review(pod())
  delete (body['request'] as Record<string, unknown>)['object']
  return refused(t, JSON.stringify(body), 'PP_ADM_NO_OBJECT', /request\.object is missing; a CREATE review must carry the object/)
})
t.test('object is not an object', (t) => {
  const body = review(pod())
  ;(body['request'] as Record<string, unknown>)['object'] = 'a pod'
  return refused(t, JSON.stringify(body), 'PP_ADM_BAD_REQUEST_FIELD', /object must be a JSON object/)
})
t.test('a 10 MB body', (t) => {
  const body = review(pod())
  ;((body['request'] as Record<string, unknown>)['object'] as Record<string, unknown>)['padding'] = 'x'.repeat(10 * 1024 * 1024)
  return refused(t, JSON.stringify(body), 'PP_ADM_BODY_TOO_LARGE', new RegExp(`larger than ${DEFAULT_BODY_LIMIT} bytes`))
})
t.test('deeply nested JSON', (t) => {
  const deep = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":${'['.repeat(200_000)}${']'.repeat(200_000)}}`
  return refused(t, deep, 'PP_ADM_TOO_DEEP', /nested deeper than 100 levels/)
})
t.test('deep nesting hidden in an unclosed document', (t) => refused(t, '['.repeat(5_000_000), 'PP_ADM_TOO_DEEP', /nested deeper/))

t.test('the depth of the parsed value is the depth of its text', async (t) => {
  const texts = ['{}', '[]', '1', '"[[["', 'null', '[[],[[]]]', '{"a":[{"b":{}}],"c":[1,[2,[3]]]}', '{"a":"[[[[","b":[{"c":"{{{"}]}', '[{"__proto__":[[]]}]', '{"a":{"a":{"a":{}}},"b":[]}']
  for (const text of texts) t.equal(valueDepth(JSON.parse(text), 100), jsonDepth(Buffer.from(text), 100), text)
  const nested = (n: number): string => `${'['.repeat(n - 1)}{"a":1}${']'.repeat(n - 1)}`
  t.equal(valueDepth(JSON.parse(nested(100)), 100), 100, 'a hundred levels')
  t.equal(valueDepth(JSON.parse(nested(101)), 100), 101, 'stops just past the limit')
  t.equal(valueDepth(JSON.parse(nested(50_000)), 100), 101, 'a deep value is not walked to its end')
  // Through the app: the limit holds on the parsed value as it did on the text.
  const at = (n: number): string => {
    const body = JSON.stringify(review(pod()))
    return `${body.slice(0, -1)},"extra":${nested(n - 1)}}`
  }
  const { app } = await testApp()
  const ok = await app.inject({ method: 'POST', url: '/validate', payload: at(100), headers: { 'content-type': 'application/json' } })
  t.equal(ok.statusCode, 200, 'a body 100 levels deep is read')
  await refused(t, at(101), 'PP_ADM_TOO_DEEP', /nested deeper than 100 levels/)
})
t.test('a body of only white space is empty', (t) => refused(t, ' \n\t\r\n', 'PP_ADM_EMPTY_BODY', /empty/))

t.test('brackets inside strings do not count as nesting', async (t) => {
  const depth = (s: string): number => jsonDepth(Buffer.from(s), 10)
  t.equal(depth('{"a":"[[[[[[{{{{\\"[[["}'), 1)
  t.equal(depth('[[],[[]]]'), 3)
  t.equal(depth('"\\\\"[['), 2, 'an escaped backslash ends the escape')
  t.equal(depth('["a\\\\\\"[[[["]'), 1, 'three backslashes escape the quote')
  t.equal(depth('"unterminated [[['), 0)
  const { app } = await testApp()
  const p = pod()
  ;(p['metadata'] as Record<string, unknown>)['annotations'] = { note: '['.repeat(10_000) }
  t.equal((await post(app, review(p))).allowed, true)
})

t.test('a real pod with managedFields is well within the depth limit', async (t) => {
  const { app } = await testApp()
  const p = pod()
  let fields: Record<string, unknown> = {}
  const root = fields
  for (let i = 0; i < 30; i++) {
    const next: Record<string, unknown> = {}
    fields[`f:level${i}`] = next
    fields = next
  }
  ;(p['metadata'] as Record<string, unknown>)['managedFields'] = [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: root }]
  t.equal((await post(app, review(p))).allowed, true)
})

t.test('other routes and methods', async (t) => {
  const { app } = await testApp()
  const res = await app.inject({ method: 'GET', url: '/validate' })
  t.equal(res.statusCode, 404)
  t.equal((JSON.parse(res.body) as ErrorAnswer).code, 'PP_ADM_NOT_FOUND')
  const nf = await app.inject({ method: 'POST', url: '/nope', payload: '{}', headers: { 'content-type': 'application/json' } })
  t.equal(nf.statusCode, 404)
})

t.test('a review without a Content-Type is still read', async (t) => {
  const { app } = await testApp()
  const res = await app.inject({ method: 'POST', url: '/validate', payload: JSON.stringify(review(pod())), headers: { 'content-type': '' } })
  t.equal(res.statusCode, 200, res.body)
})

t.test('no policy loaded yet: 503, so the API server applies the failurePolicy', async (t) => {
  const { app } = await testApp({}, null)
  const res = await app.inject({ method: 'POST', url: '/validate', payload: JSON.stringify(review(pod())), headers: { 'content-type': 'application/json' } })
  t.equal(res.statusCode, 503)
  t.equal((JSON.parse(res.body) as ErrorAnswer).code, 'PP_ADM_NOT_READY')
})
