import t, { type Test } from 'tap'
import { effectiveTag, imageRef, isHostLike, matchRegistry, parseImageRef, registryOf, REGISTRY_ENTRY_PATTERN, type ImageRef } from '../../src/engine/image-ref.js'

const hex64 = 'b'.repeat(32) + '0123456789abcdef'.repeat(2)

function ok(t: Test, input: string): ImageRef {
  const r = parseImageRef(input)
  if (!r.ok) {
    t.fail(`${JSON.stringify(input)} should parse, got: ${r.error.message}`)
    throw new Error('unparsed')
  }
  return r.ref
}

t.test('valid references normalise as docker and containerd do', async (t) => {
  const cases: Array<[string, string, string, string | undefined, string | undefined]> = [
    // input, domain, path, tag, digest
    ['nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined],
    ['library/nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['bitnami/redis:7.2', 'docker.io', 'bitnami/redis', '7.2', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['index.docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['index.docker.io/team/app', 'docker.io', 'team/app', undefined, undefined],
    // a port is part of the registry, not a tag
    ['registry.example.com:5000/team/app:1.2', 'registry.example.com:5000', 'team/app', '1.2', undefined],
    ['localhost:5000/app', 'localhost:5000', 'app', undefined, undefined],
    ['registry:5000/app', 'registry:5000', 'app', undefined, undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    // alone, "registry:5000" is docker.io/library/registry with tag 5000
    ['registry:5000', 'docker.io', 'library/registry', '5000', undefined],
    ['localhost', 'docker.io', 'library/localhost', undefined, undefined],
    ['192.168.0.1:8/debian', '192.168.0.1:8', 'debian', undefined, undefined],
    ['[fc00::1]:5000/team/app', '[fc00::1]:5000', 'team/app', undefined, undefined],
    ['[fc00:1:2:3:4:5:6:7]/app:v1', '[fc00:1:2:3:4:5:6:7]', 'app', 'v1', undefined],
    // an upper-case first part is taken for a registry host
    ['Docker/docker', 'Docker', 'docker', undefined, undefined],
    ['LOCALDOMAIN/team/app', 'LOCALDOMAIN', 'team/app', undefined, undefined],
    ['Registry.Example.com/team/app', 'Registry.Example.com', 'team/app', undefined, undefined],
    // separators
    ['a/b__c/d---e/f_g.h', 'docker.io', 'a/b__c/d---e/f_g.h', undefined, undefined],
    ['my_org/app', 'docker.io', 'my_org/app', undefined, undefined],
    // the grammar takes the whole name as a path when the first part is not a valid host; the runtime still contacts that host
    ['my_registry.local/app', 'my_registry.local', 'app', undefined, undefined],
    // tags: upper case allowed, '_' may lead, 128 characters
    ['nginx:Latest', 'docker.io', 'library/nginx', 'Latest', undefined],
    ['quay.io/org/app:_v1.0-RC.1', 'quay.io', 'org/app', '_v1.0-RC.1', undefined],
    [`app:${'x'.repeat(128)}`, 'docker.io', 'library/app', 'x'.repeat(128), undefined],
    // digests
    [`app@sha256:${hex64}`, 'docker.io', 'library/app', undefined, `sha256:${hex64}`],
    [`app:latest@sha256:${hex64}`, 'docker.io', 'library/app', 'latest', `sha256:${hex64}`],
    [`ghcr.io/o/app@sha384:${'c'.repeat(96)}`, 'ghcr.io', 'o/app', undefined, `sha384:${'c'.repeat(96)}`],
    [`ghcr.io/o/app@sha512:${'d'.repeat(128)}`, 'ghcr.io', 'o/app', undefined, `sha512:${'d'.repeat(128)}`],
    // 64 hex characters are an ID only when they are the whole reference
    [`${hex64}:1`, 'docker.io', `library/${hex64}`, '1', undefined],
    [`docker.io/${hex64}`, 'docker.io', `library/${hex64}`, undefined, undefined],
    // path limit: 255 characters counting library/
    ['a'.repeat(247), 'docker.io', `library/${'a'.repeat(247)}`, undefined, undefined],
    [`r.io/${'a'.repeat(255)}`, 'r.io', 'a'.repeat(255), undefined, undefined],
  ]
  for (const [input, domain, path, tag, digest] of cases) {
    const r = ok(t, input)
    t.same({ domain: r.domain, path: r.path, tag: r.tag, digest: r.digest }, { domain, path, tag, digest }, input)
    t.equal(r.name, `${domain}/${path}`)
    t.equal(r.normalized, `${domain}/${path}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`)
  }
  t.equal(ok(t, 'registry:5000/app').repository, 'registry:5000/app', 'the name as written, for messages')
  t.equal(ok(t, `nginx:1@sha256:${hex64}`).repository, 'nginx')
})

t.test('invalid references say what is wrong and at which character', async (t) => {
  const cases: Array<[string, string, number]> = [
    // input, message fragment, 0-based index
    ['Nginx:1.25', 'repository name must be lowercase', 0],
    ['BUSYBOX', 'must be lowercase', 0],
    ['docker/Docker', 'must be lowercase', 7],
    ['registry.example.com/Team/app:1', "must be lowercase ('T' at character 22)", 21],
    ['localhost:5000/App', 'must be lowercase', 15],
    ['nginx ', 'ends with whitespace', 5],
    [' nginx', 'starts with whitespace', 0],
    ['nginx:1.27\n', 'ends with whitespace (a line break', 10],
    ['my app:1', 'contains whitespace (a space at character 3)', 2],
    ['nginx:1.2 ', 'ends with whitespace', 9],
    [`app:${'x'.repeat(129)}`, 'tag longer than 128 characters (it has 129)', 132],
    ['app:-rc1', "tag must start with a letter, digit or '_'", 4],
    ['app:.1', "tag must start with a letter, digit or '_'", 4],
    ['app:v1+build', "'+' at character 7 is not allowed in a tag", 6],
    ['app:1:2', "':' at character 6 is not allowed in a tag", 5],
    ['app:', "tag after ':' (character 4) is empty", 4],
    [`app@sha256:${hex64.slice(1)}`, 'invalid digest: sha256 needs 64 hex characters, got 63', 74],
    [`app@sha256:${hex64}0`, 'sha256 needs 64 hex characters, got 65', 75],
    [`app@sha256:${hex64.toUpperCase()}`, 'hex digits must be lower case', 11],
    [`app@sha256:${'g'.repeat(64)}`, "'g' at character 12 is not a hex digit", 11],
    [`app@md5:${'a'.repeat(32)}`, "unsupported algorithm 'md5'", 4],
    [`app@SHA256:${hex64}`, "unsupported algorithm 'SHA256'", 4],
    [`app@sha256+b64:${hex64}`, "unsupported algorithm 'sha256+b64'", 4],
    ['app@sha256', 'needs the form algorithm:hex', 4],
    ['app@', "nothing after '@'", 4],
    [`app@sha256:${hex64}@x`, "'@' at character 76 is not a hex digit", 75],
    ['a//b', 'empty component', 2],
    ['/app', 'empty component', 0],
    ['team/', "ends with '/'", 5],
    ['registry.example.com/', "ends with '/'", 21],
    ['-app', "must start with a lower-case letter or digit, not '-'", 0],
    ['app-/x', "must end with a lower-case letter or digit, not '-'", 3],
    ['a..b', "separator '..'", 1],
    ['a___b', "separator '___'", 1],
    ['a._b', "separator '._'", 1],
    ['a-_b', "separator '-_'", 1],
    ['docker.io/foo:bar/baz', 'a tag can only follow the last path component', 13],
    ['app/b$c', "'$' at character 6 is not allowed", 5],
    ['r_x.io:5000/a', "'_' at character 2 is not allowed in registry host", 1],
    ['-r.io/a', "must not start with '-'", 0],
    ['r-.io/a', "must not end with '-'", 1],
    ['r..io/a', 'empty label', 2],
    ['r.io:/a', "port after ':' (character 5) is empty", 5],
    ['r.io:5x/a', 'port must be digits only', 6],
    ['r.io:5000:1/a', 'port must be digits only', 9],
    ['[fe80::1%eth0]:5000/a', "'%' at character 9 is not allowed in an IPv6", 8],
    ['[::1/a', "never closes it", 4],
    ['[::1]x/a', "only ':port' may follow ']'", 5],
    ['fc00::1:5000/debian', 'an IPv6 registry address goes in brackets', 5],
    ['https://registry.example.com/app:1', "no URL scheme: drop 'https://'", 0],
    ['registry.example.com/app:{{ .Values.tag }}', "'{{' at character 26 is a placeholder", 25],
    ['app:$(TAG)', 'Kubernetes never substitutes variables in image', 4],
    ['app:${TAG}', 'placeholder', 4],
    [hex64, '64-character hex string is an image ID', 0],
    ['a'.repeat(248), 'longer than 255 characters (256, counting the implied library/ prefix)', 247],
    [`r.io/${'a'.repeat(256)}`, 'longer than 255 characters (256)', 260],
    ['', 'image is empty', 0],
  ]
  for (const [input, fragment, index] of cases) {
    const r = parseImageRef(input)
    const label = JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)
    if (r.ok) {
      t.fail(`${label} must be invalid`)
      continue
    }
    t.ok(r.error.message.includes(fragment), `${label}: "${r.error.message}" says "${fragment}"`)
    t.equal(r.error.index, index, `${label}: index`)
  }
})

t.test('errors carry a code naming the faulty part', async (t) => {
  const codes: Array<[string, string]> = [
    ['', 'empty'],
    ['nginx ', 'whitespace'],
    ['https://r.io/app', 'scheme'],
    ['app:{{ .Values.tag }}', 'placeholder'],
    [hex64, 'identifier'],
    ['Nginx', 'uppercase'],
    ['r_x.io:5000/a', 'domain'],
    ['a//b', 'path'],
    ['a'.repeat(248), 'name-length'],
    ['app:-1', 'tag'],
    [`app:${'x'.repeat(129)}`, 'tag-length'],
    ['app@sha256:abc', 'digest'],
  ]
  for (const [input, code] of codes) {
    const r = parseImageRef(input)
    t.equal(r.ok ? 'ok' : r.error.code, code, JSON.stringify(input.slice(0, 30)))
  }
})

t.test('the reference library test names: valid and invalid', async (t) => {
  const valid = ['docker/docker', 'library/debian', 'debian', 'localhost/library/debian', 'localhost/debian', 'LOCALDOMAIN/library/debian', 'docker.io/docker/docker', 'index.docker.io/library/debian', '127.0.0.1:5000/docker/docker', '127.0.0.1:5000/debian', '192.168.0.1', '192.168.0.1:80', '192.168.0.2:25000/debian', '[fc00::1]:5000/docker', 'docker-rules/docker', 'docker---rules/docker', 'd/docker', 'jess/t', 'dock__er/docker', 'DOCKER/docker']
  const invalid = ['https://github.com/docker/docker', 'docker/Docker', '-docker', '-docker/docker', '-docker.io/docker/docker', 'docker///docker', 'docker.io/docker/Docker', 'docker.io/docker///docker', '[fc00::1]', '[fc00::1]:5000', 'fc00::1:5000/debian', '[fe80::1%eth0]:5000/debian', '[2001:db8:3:4::192.0.2.33]:5000/debian', 'docker-/docker', '-docker-/docker', '____/____', '_docker/_docker', 'dock..er/docker', 'dock_.er/docker', 'dock-.er/docker', 'docker/', `${'namespace_'.repeat(26)}/docker`]
  for (const s of valid) t.ok(parseImageRef(s).ok, `${s} is valid`)
  for (const s of invalid) t.notOk(parseImageRef(s).ok, `${s.slice(0, 40)} is invalid`)
})

t.test('a first component taken for a host only because of capitals is not host-like', async (t) => {
  t.notOk(isHostLike(ok(t, 'MyOrg/app:1').domain))
  t.ok(isHostLike(ok(t, 'Registry.Example.com/app:1').domain))
  t.ok(isHostLike(ok(t, 'localhost/app').domain))
  t.ok(isHostLike(ok(t, 'registry:5000/app').domain))
  t.ok(isHostLike(ok(t, 'nginx').domain), 'docker.io')
  const r = parseImageRef('My_Org/app:1')
  t.ok(!r.ok && r.error.message.includes("'My_Org' is read as a registry host because it has capitals"))
})

t.test('effective tag: latest when neither tag nor digest', async (t) => {
  t.equal(effectiveTag(ok(t, 'nginx')), 'latest')
  t.equal(effectiveTag(ok(t, 'registry:5000/app')), 'latest')
  t.equal(effectiveTag(ok(t, 'nginx:1.27')), '1.27')
  t.equal(effectiveTag(ok(t, `nginx@sha256:${hex64}`)), undefined)
  t.equal(effectiveTag(ok(t, `nginx:latest@sha256:${hex64}`)), 'latest')
})

t.test('registries are compared in lower case with Docker Hub aliases folded', async (t) => {
  t.same(registryOf('docker.io'), { host: 'docker.io' })
  t.same(registryOf('registry-1.docker.io'), { host: 'docker.io' })
  t.same(registryOf('Registry.Example.COM:5000'), { host: 'registry.example.com', port: '5000' })
  t.same(registryOf('[fc00::1]:5000'), { host: '[fc00::1]', port: '5000' })
  t.same(registryOf('[fc00::1]'), { host: '[fc00::1]' })
})

t.test('registry patterns: hosts, ports, wildcards and path prefixes', async (t) => {
  const m = (image: string, entries: string[]): string | undefined => matchRegistry(ok(t, image), entries)?.entry
  t.equal(m('nginx', ['docker.io']), 'docker.io', 'a familiar name is from docker.io')
  t.equal(m('registry-1.docker.io/library/nginx', ['docker.io']), 'docker.io')
  t.equal(m('nginx', ['index.docker.io']), 'index.docker.io', 'aliases fold in entries too')
  t.equal(m('nginx', ['docker.io/library/']), 'docker.io/library/', 'official images by prefix')
  t.equal(m('bitnami/redis', ['docker.io/library/']), undefined)
  t.equal(m('registry.example.com/team/app:1', ['registry.example.com/team/']), 'registry.example.com/team/')
  t.equal(m('registry.example.com/team/app:1', ['registry.example.com/team']), 'registry.example.com/team')
  t.equal(m('registry.example.com/team-b/app:1', ['registry.example.com/team/']), undefined, 'prefixes match whole components')
  t.equal(m('registry.example.com/team', ['registry.example.com/team/']), 'registry.example.com/team/')
  t.equal(m('registry.example.com:5000/app', ['registry.example.com']), 'registry.example.com', 'no port in the entry: any port')
  t.equal(m('registry.example.com:5000/app', ['registry.example.com:5001']), undefined, 'a port in the entry must match')
  t.equal(m('registry.example.com/app', ['registry.example.com:5000']), undefined)
  t.equal(m('REGISTRY.example.com/app', ['registry.EXAMPLE.com']), 'registry.EXAMPLE.com', 'hosts are case-insensitive')
  t.equal(m('a.b.example.com/app', ['*.example.com']), '*.example.com')
  t.equal(m('example.com/app', ['*.example.com']), undefined, 'the wildcard needs at least one character')
  t.equal(m('evilexample.com/app', ['*.example.com']), undefined)
  t.equal(m('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app', ['*.dkr.ecr.*.amazonaws.com']), '*.dkr.ecr.*.amazonaws.com')
  t.equal(m('europe-west1-docker.pkg.dev/p/r/app', ['*-docker.pkg.dev']), '*-docker.pkg.dev')
  t.equal(m('localhost:5000/app', ['localhost']), 'localhost')
  t.equal(m('[fc00::1]:5000/app', ['[fc00::1]']), '[fc00::1]')
  const entries = ['a.example.com']
  t.equal(matchRegistry(ok(t, 'a.example.com/x'), entries), matchRegistry(ok(t, 'a.example.com/y'), entries), 'compiled once per list')
})

t.test('the entry pattern refuses URLs and spaces, accepts the documented forms', async (t) => {
  const re = new RegExp(REGISTRY_ENTRY_PATTERN)
  for (const s of ['docker.io', 'registry.example.com:5000', '*.example.com', 'registry.example.com/team/', '[fc00::1]:5000', 'docker.io/library/', '*.dkr.ecr.*.amazonaws.com']) t.ok(re.test(s), s)
  for (const s of ['https://registry.example.com', 'registry.example.com /team', '', '/team', 'registry.example.com/Team']) t.notOk(re.test(s), s)
})

t.test('linear time and a shared memo', async (t) => {
  const long = `registry.example.com/${'a'.repeat(1 << 20)}`
  const start = performance.now()
  t.notOk(parseImageRef(long).ok)
  t.notOk(parseImageRef(`${'a-'.repeat(1 << 19)}!`).ok)
  t.notOk(parseImageRef(`${'a.'.repeat(1 << 19)}/x`).ok)
  t.ok(performance.now() - start < 1000, 'a megabyte of input parses in well under a second')
  t.equal(imageRef('nginx:1.27'), imageRef('nginx:1.27'), 'the same result object')
})
