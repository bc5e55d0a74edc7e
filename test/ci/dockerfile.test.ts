/**
 * The image's build stage (Dockerfile) runs `npm run build` with only what it copies in: no
 * container engine runs here, so what can be checked without one is checked. Every file the build
 * script runs must be copied before it, and the build's inputs (sources, policies) too.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }

// The build stage: from its FROM to the next FROM.
const stages = dockerfile.split(/^FROM /m)
const build = stages.find((s) => /\bAS build\b/.test(s.split('\n')[0] ?? ''))

t.test('the build stage copies every script npm run build runs, before it runs it', async (t) => {
  t.ok(build !== undefined, 'a stage named build')
  const lines = (build ?? '').split('\n')
  const runAt = lines.findIndex((l) => /^RUN npm run build\b/.test(l))
  t.ok(runAt > 0, 'the stage runs npm run build')
  const copied = lines
    .slice(0, runAt)
    .filter((l) => l.startsWith('COPY '))
    .flatMap((l) => l.slice(5).trim().split(/\s+/).slice(0, -1))
  const scripts = [...pkg.scripts['build']!.matchAll(/\bnode (scripts\/[\w.-]+\.m?js)\b/g)].map((m) => m[1]!)
  t.ok(scripts.length >= 4, `the build runs ${scripts.join(', ')}`)
  for (const s of scripts) t.ok(copied.includes(s), `${s} is copied before the build`)
  for (const input of ['src', 'policies', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json']) {
    t.ok(copied.includes(input), `${input} is copied before the build`)
  }
})

t.test('the image runs the built CLI from dist/', async (t) => {
  t.match(dockerfile, /COPY --from=build \/src\/dist \.\/dist/, 'dist/ (the bundle with it) comes from the build stage')
  t.match(dockerfile, /ENTRYPOINT \[[^\]]*"\/app\/dist\/cli\/bin\.js"\]/)
})
