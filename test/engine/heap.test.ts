import t from 'tap'
import type { Container } from '../../src/engine/k8s.js'
import { Quantity, formatBytes } from '../../src/engine/quantity.js'
import {
  analyzeContainer,
  containerMemoryLimit,
  jvmHeapFix,
  parseResource,
  isJvmImage,
  jvmConfigured,
  jvmEvidence,
  jvmMaxHeap,
  jvmSize,
  parseDotnetHex,
  parseGoMemLimit,
  parseJvmPercent,
  parseJvmSize,
  showBytes,
  suggestLimit,
  type HeapResult,
} from '../../src/engine/heap.js'

const P = 'spec.containers[0]'
const q = (text: string | number): Quantity => {
  const v = Quantity.parse(text)
  if (v === undefined) throw new Error(`bad quantity ${text}`)
  return v
}
const bytes = (v: Quantity | undefined): string | undefined => (v === undefined ? undefined : formatBytes(v))
const env = (pairs: Record<string, string>): Container['env'] => Object.entries(pairs).map(([name, value]) => ({ name, value }))

/** The max heap as `2Gi`, or why it is unknown. */
function heapOf(c: Container, limit?: string): string {
  const r: HeapResult = jvmMaxHeap(analyzeContainer(c, P).jvm, limit === undefined ? undefined : q(limit))
  return r.known ? `${formatBytes(r.heap.bytes)} ${r.heap.basis}` : r.reason
}
function heapRef(c: Container, limit?: string): string | undefined {
  const r = jvmMaxHeap(analyzeContainer(c, P).jvm, limit === undefined ? undefined : q(limit))
  return r.known ? r.heap.ref?.path : r.ref?.path
}

t.test('JVM sizes are binary; no suffix means bytes', async (t) => {
  t.equal(bytes(parseJvmSize('2g')), '2Gi')
  t.equal(bytes(parseJvmSize('2G')), '2Gi')
  t.equal(bytes(parseJvmSize('1536m')), '1.5Gi')
  t.equal(bytes(parseJvmSize('2048M')), '2Gi')
  t.equal(bytes(parseJvmSize('512k')), '512Ki')
  t.equal(bytes(parseJvmSize('1t')), '1Ti')
  t.equal(bytes(parseJvmSize('1073741824')), '1Gi')
  t.equal(parseJvmSize('1.5g'), undefined)
  t.equal(parseJvmSize(''), undefined)
  t.equal(parseJvmSize('2gb'), undefined)
})

t.test('JVM percentages are doubles', async (t) => {
  t.equal(parseJvmPercent('75')?.toNumber(), 75)
  t.equal(parseJvmPercent('75.0')?.toNumber(), 75)
  t.equal(parseJvmPercent('62.5')?.toNumber(), 62.5)
  t.equal(parseJvmPercent('.5')?.toNumber(), 0.5)
  t.equal(parseJvmPercent('75%'), undefined)
})

t.test('GOMEMLIMIT follows ^[0-9]+(([KMGT]i)?B)?$ or off', async (t) => {
  t.equal(bytes(parseGoMemLimit('2GiB') as Quantity), '2Gi')
  t.equal(bytes(parseGoMemLimit('1800MiB') as Quantity), '1.76Gi')
  t.equal(bytes(parseGoMemLimit('100B') as Quantity), '100')
  t.equal(bytes(parseGoMemLimit('1048576') as Quantity), '1Mi')
  t.equal(parseGoMemLimit('off'), 'off')
  t.equal(parseGoMemLimit('2Gi'), undefined, 'the runtime rejects 2Gi')
  t.equal(parseGoMemLimit('2GB'), undefined, 'and 2GB')
})

t.test('.NET GC settings from the environment are hexadecimal, 0x optional', async (t) => {
  t.equal(parseDotnetHex('0xC800000'), 209715200n)
  t.equal(parseDotnetHex('C800000'), 209715200n)
  t.equal(parseDotnetHex('0X10'), 16n)
  t.equal(parseDotnetHex('2147483648'), 0x2147483648n)
  t.equal(parseDotnetHex('200MB'), undefined)
})

t.test('formatting helpers', async (t) => {
  t.equal(jvmSize(q('1.5Gi')), '1536m')
  t.equal(jvmSize(q('3Gi')), '3g')
  t.equal(jvmSize(q('1.5e9')), '1430m', 'rounded down to whole MiB')
  t.equal(showBytes(q('2Gi')), '2Gi')
  t.equal(showBytes(q('2G')), '2G (1.86Gi)')
  t.equal(showBytes(q('2147483648')), '2147483648 (2Gi)')
  t.equal(formatBytes(suggestLimit(q('2Gi'))), '2.75Gi', '2Gi / 0.75 = 2.67Gi, up to a 256Mi step')
  t.equal(formatBytes(suggestLimit(q('512Mi'))), '704Mi', 'below 1Gi, 64Mi steps')
  t.equal(formatBytes(suggestLimit(q('1.5Gi'))), '2Gi', 'exactly 75% needs no rounding')
})

t.test('JVM images', async (t) => {
  for (const image of [
    'openjdk:17', 'eclipse-temurin:21-jre', 'docker.io/library/eclipse-temurin:21@sha256:abc', 'amazoncorretto:17', 'ibmjava:8-jre',
    'icr.io/appcafe/ibm-semeru-runtimes:open-17-jre', 'tomcat:10.1', 'jetty:12', 'maven:3.9-eclipse-temurin-21', 'gradle:8', 'docker.elastic.co/elasticsearch/elasticsearch:8.13.0',
    'confluentinc/cp-kafka:7.6.0', 'bitnami/kafka:3.7', 'zookeeper:3.9', 'cassandra:5', 'sonarqube:community', 'jenkins/jenkins:lts', 'quay.io/keycloak/keycloak:24.0',
    'quay.io/wildfly/wildfly:31.0.0.Final-jdk17', 'payara/server-full:6.2024.4', 'payara/micro:6', 'gcr.io/distroless/java17-debian12', 'registry.access.redhat.com/ubi9/openjdk-17',
    'localhost:5000/openjdk:21',
  ]) t.ok(isJvmImage(image), image)
  for (const image of [
    'nginx:1.25', 'node:20', 'busybox', 'danielqsj/kafka-exporter:v1.7.0', 'jenkins-operator:1.0', 'registry.example.com/javascript-runner:1', 'golang:1.22',
    'registry.example.com/micro:1', 'postgres:16', '', undefined,
  ]) t.notOk(isJvmImage(image), String(image))
})

t.test('the order the JVM reads its options in: the last -Xmx wins', async (t) => {
  const c: Container = {
    name: 'a',
    image: 'eclipse-temurin:21',
    command: ['/opt/start.sh', '-Xmx4g'],
    env: env({ _JAVA_OPTIONS: '-Xmx5g', CATALINA_OPTS: '-Xmx3g', JAVA_OPTS: '-Xmx2g', JDK_JAVA_OPTIONS: '-Xmx1g', JAVA_TOOL_OPTIONS: '-Xmx512m' }),
  }
  const items = analyzeContainer(c, P).jvm.items.map((i) => i.ref.text)
  t.same(items, ['-Xmx512m', '-Xmx1g', '-Xmx2g', '-Xmx3g', '-Xmx4g', '-Xmx5g'])
  t.equal(heapOf(c, '8Gi'), '5Gi explicit')
  t.equal(heapRef(c, '8Gi'), `${P}.env[0].value`, 'the path of _JAVA_OPTIONS')
})

t.test('JAVA_OPTS is for start scripts: java run directly ignores it unless the command passes it', async (t) => {
  const direct: Container = { name: 'a', command: ['java', '-jar', 'app.jar'], env: env({ JAVA_OPTS: '-Xmx4g' }) }
  t.equal(heapOf(direct, '2Gi'), '512Mi default')
  const passed: Container = { name: 'a', command: ['java', '$(JAVA_OPTS)', '-Xmx1g', '-jar', 'app.jar'], env: env({ JAVA_OPTS: '-Xmx4g' }) }
  t.equal(heapOf(passed, '2Gi'), '1Gi explicit', 'at its place on the command line')
  const passedLast: Container = { name: 'a', command: ['java', '-Xmx1g', '$(JAVA_OPTS)', '-jar', 'app.jar'], env: env({ JAVA_OPTS: '-Xmx4g' }) }
  t.equal(heapOf(passedLast, '2Gi'), '4Gi explicit')
  t.equal(heapRef(passedLast, '2Gi'), `${P}.env[0].value`)
  const script: Container = { name: 'a', image: 'tomcat:10', env: env({ JAVA_OPTS: '-Xmx4g' }) }
  t.equal(heapOf(script, '2Gi'), '4Gi explicit', 'the image entrypoint may be catalina.sh: judged')
})

t.test('only JVM options count: -Xms, other options, arguments after the main class', async (t) => {
  t.equal(heapOf({ name: 'a', command: ['java', '-Xms4g', '-jar', 'a.jar'] }, '2Gi'), '512Mi default')
  t.equal(heapOf({ name: 'a', args: ['--label=-Xmx4g', 'x-Xmx4g'] }, '2Gi'), '512Mi default')
  t.equal(heapOf({ name: 'a', command: ['java', '-Xmx1g', '-jar', 'a.jar', '-Xmx8g'] }, '2Gi'), '1Gi explicit')
  t.equal(heapOf({ name: 'a', command: ['java', '-cp', '-Xmx8g', 'Main', '-Xmx9g'] }, '2Gi'), '512Mi default', 'a -cp value is not an option')
  t.equal(heapOf({ name: 'a', command: ['java', '-Xmx1g', 'com.example.Main', '-Xmx8g'] }, '2Gi'), '1Gi explicit')
  t.equal(heapOf({ name: 'a', command: ['/start.sh', '-Xmx3g'] }, '2Gi'), '3Gi explicit', 'a start script may pass it on')
  t.equal(heapOf({ name: 'a', command: ['java', '-Dgreeting=hello world', '-Xmx3g', '-jar', 'a.jar'] }, '4Gi'), '3Gi explicit', 'an argv element is one argument')
  t.equal(heapOf({ name: 'a', command: ['java', '-Xmx3g -Xms1g', '-jar', 'a.jar'] }, '4Gi'), '1Gi default', 'two flags in one element: the JVM rejects it, no heap is read')
})

t.test('sh -c scripts: $VAR, ${VAR:-default}, quotes, assignments, "$@", comments, redirections', async (t) => {
  const s = (script: string, vars: Record<string, string> = {}, extra: string[] = []): Container => ({ name: 'a', command: ['/bin/sh', '-c', script, ...extra], env: env(vars) })
  t.equal(heapOf(s('exec java $JAVA_OPTS -jar app.jar', { JAVA_OPTS: '-Xms1g -Xmx3g' }), '4Gi'), '3Gi explicit')
  t.equal(heapRef(s('exec java $JAVA_OPTS -jar app.jar', { JAVA_OPTS: '-Xmx3g' }), '4Gi'), `${P}.env[0].value`)
  t.equal(heapOf(s('java "${HEAP_OPTS:--Xmx2g}" -jar app.jar'), '4Gi'), '2Gi explicit', 'a default value')
  t.equal(heapOf(s('java ${HEAP_OPTS:--Xmx2g} -jar app.jar', { HEAP_OPTS: '-Xmx1g' }), '4Gi'), '1Gi explicit')
  t.equal(heapOf(s("OPTS='-Xmx3g -Xss1m'\nexport OPTS\nexec java $OPTS -jar app.jar"), '4Gi'), '3Gi explicit', 'an assignment in the script')
  t.equal(heapRef(s('export OPTS=-Xmx3g; exec java $OPTS -jar app.jar'), '4Gi'), `${P}.command[2]`)
  t.equal(heapOf(s('export JAVA_TOOL_OPTIONS="-Xmx3g"; exec java -jar app.jar', { JAVA_TOOL_OPTIONS: '-Xmx1g' }), '4Gi'), '3Gi explicit', 'the script overrides the env value')
  t.equal(heapOf(s('# java -Xmx9g in a comment\nexec java -Xmx1g -jar app.jar > /var/log/app.log 2>&1'), '4Gi'), '1Gi explicit')
  t.equal(heapOf(s('exec java "$@" -jar app.jar', {}, ['sh', '-Xmx3g']), '4Gi'), '3Gi explicit', '"$@" are the words after $0')
  t.equal(heapOf(s('echo "$(date)"; exec java -Xmx3g -jar app.jar'), '4Gi'), '3Gi explicit', 'a command substitution in another command does not matter')
  t.equal(heapOf(s('exec $JAVA_HOME/bin/java -Xmx3g -jar app.jar', { JAVA_OPTS: '-Xmx8g' }), '4Gi'), '3Gi explicit', '$JAVA_HOME/bin/java is java')
  t.equal(heapOf({ name: 'a', command: ['bash', '-ec'], args: ['java -Xmx3g -jar app.jar'] }, '4Gi'), '3Gi explicit', 'the script in args')
  t.equal(heapOf({ name: 'a', command: ['tini', '--', 'sh', '-c', 'java -Xmx3g -jar app.jar'] }, '4Gi'), '3Gi explicit', 'behind an init wrapper')
})

t.test('values that cannot be known are never guessed', async (t) => {
  const fromConfigMap = { name: 'OPTS', valueFrom: { configMapKeyRef: { name: 'jvm', key: 'opts' } } }
  const after: Container = { name: 'a', command: ['java', '-Xmx4g', '$(OPTS)', '-jar', 'a.jar'], env: [fromConfigMap] }
  t.equal(heapOf(after, '2Gi'), 'unknown-value', 'an unknown value after the -Xmx could override it')
  t.equal(heapRef(after, '2Gi'), `${P}.env[0]`)
  const before: Container = { name: 'a', command: ['java', '$(OPTS)', '-Xmx4g', '-jar', 'a.jar'], env: [fromConfigMap] }
  t.equal(heapOf(before, '2Gi'), '4Gi explicit', 'one before it cannot')
  const pct: Container = { name: 'a', command: ['java', '$(OPTS)', '-XX:MaxRAMPercentage=90', '-jar', 'a.jar'], env: [fromConfigMap] }
  t.equal(heapOf(pct, '2Gi'), 'unknown-value', 'an -Xmx anywhere beats a percentage')
  const underscore: Container = { name: 'a', command: ['java', '-Xmx4g', '-jar', 'a.jar'], env: [{ name: '_JAVA_OPTIONS', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }
  t.equal(heapOf(underscore, '2Gi'), 'unknown-value')
  const envFrom: Container = { name: 'a', command: ['sh', '-c', 'java -Xmx4g $EXTRA -jar a.jar'], envFrom: [{ configMapRef: { name: 'jvm' } }] }
  t.equal(heapOf(envFrom, '2Gi'), 'unknown-value', 'envFrom may define EXTRA')
  const noEnvFrom: Container = { name: 'a', command: ['sh', '-c', 'java -Xmx4g $EXTRA -jar a.jar'] }
  t.equal(heapOf(noEnvFrom, '2Gi'), '4Gi explicit', 'without envFrom an undefined variable is empty')
  t.equal(heapOf({ name: 'a', command: ['java', '-Xmx4g', '@/etc/jvm.args', '-jar', 'a.jar'] }, '2Gi'), 'unknown-value', 'an @argfile')
  t.equal(heapOf({ name: 'a', command: ['java', '-Xmx4g', '-XX:VMOptionsFile=/etc/jvm.opts', '-jar', 'a.jar'] }, '2Gi'), 'unknown-value')
  const downward: Container = {
    name: 'a',
    command: ['java', '-Xmx4g', '-Dpod=$(POD)', '-jar', 'a.jar'],
    env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
  }
  t.equal(heapOf(downward, '2Gi'), '4Gi explicit', 'a pod name is never a heap flag')
  const resource: Container = {
    name: 'a',
    command: ['java', '-Xmx1g', '-Xmx$(MEM)m', '-jar', 'a.jar'],
    env: [{ name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } }],
  }
  t.equal(heapOf(resource, '2Gi'), 'unknown-value', 'but a heap flag built from one is unknown')
})

t.test('HotSpot ergonomics: MaxRAMPercentage, MaxRAM, MinRAMPercentage, container support', async (t) => {
  const flags = (...f: string[]): Container => ({ name: 'a', command: ['java', ...f, '-jar', 'a.jar'] })
  t.equal(heapOf(flags('-XX:MaxRAMPercentage=75'), '2Gi'), '1.5Gi ergonomic')
  t.equal(heapOf(flags('-XX:MaxRAMPercentage=100'), '2Gi'), '2Gi ergonomic')
  t.equal(heapOf(flags('-XX:MaxRAMFraction=1'), '2Gi'), '2Gi ergonomic', 'the old fraction form')
  t.equal(heapOf(flags('-XX:MaxRAMFraction=2'), '2Gi'), '1Gi ergonomic')
  t.equal(heapOf(flags('-XX:MaxRAMFraction=1', '-XX:MaxRAMPercentage=50'), '2Gi'), '1Gi ergonomic', 'a percentage beats the fraction')
  t.equal(heapOf(flags('-XX:MaxRAM=4g'), '2Gi'), '1Gi ergonomic', '25% of MaxRAM, whatever the limit')
  t.equal(heapOf(flags('-XX:MaxRAM=4g', '-XX:MaxRAMPercentage=75'), '2Gi'), '3Gi ergonomic')
  t.equal(heapOf(flags('-XX:MaxRAMPercentage=75', '-Xmx1g'), '2Gi'), '1Gi explicit', '-Xmx beats the percentage wherever it is')
  t.equal(heapOf(flags('-Xmx1g', '-XX:MaxRAMPercentage=100'), '2Gi'), '1Gi explicit')
  t.equal(heapOf(flags('-XX:MaxRAMPercentage=100'), '128Mi'), '64Mi ergonomic', 'small memory: MinRAMPercentage (50) decides')
  t.equal(heapOf(flags('-XX:MinRAMPercentage=90'), '128Mi'), '115.2Mi ergonomic')
  t.equal(heapOf(flags('-XX:MaxRAMPercentage=10'), '512Mi'), '124.8Mi ergonomic', 'the 124.8Mi floor above small memory')
  t.equal(heapOf(flags(), '2Gi'), '512Mi default')
  t.equal(heapOf(flags('-XX:MaxRAMPercentage=75')), 'no-limit')
  t.equal(heapOf(flags('-XX:-UseContainerSupport'), '2Gi'), 'node-memory')
  t.equal(heapOf(flags('-XX:-UseContainerSupport', '-XX:+UseContainerSupport'), '2Gi'), '512Mi default')
  t.equal(heapOf(flags('-XX:-UseContainerSupport', '-Xmx1g'), '2Gi'), '1Gi explicit')
  const r = jvmMaxHeap(analyzeContainer(flags('-XX:MaxRAMPercentage=90'), P).jvm, q('2Gi'))
  t.equal(r.known && r.heap.percentOfLimit?.toNumber(), 90)
  t.equal(r.known && r.heap.how, '-XX:MaxRAMPercentage=90 of the 2Gi limit = 1.8Gi')
})

t.test('Node.js --max-old-space-size: NODE_OPTIONS first, then node\'s own options', async (t) => {
  const node = (c: Container): string | undefined => {
    const n = analyzeContainer(c, P).runtimes.node
    return n === undefined ? undefined : `${formatBytes(n.bytes)} ${n.ref.path}`
  }
  t.equal(node({ name: 'a', env: env({ NODE_OPTIONS: '--max-old-space-size=4096' }) }), `4Gi ${P}.env[0].value`)
  t.equal(node({ name: 'a', command: ['node', '--max-old-space-size=2048', 'app.js'], env: env({ NODE_OPTIONS: '--max-old-space-size=4096' }) }), `2Gi ${P}.command[1]`)
  t.equal(node({ name: 'a', command: ['node', '--max_old_space_size', '3072', 'app.js'] }), `3Gi ${P}.command[2]`)
  t.equal(node({ name: 'a', command: ['node', 'app.js', '--max-old-space-size=4096'] }), undefined, 'after the script it is the script\'s argument')
  t.equal(node({ name: 'a', command: ['sh', '-c', 'exec node --max-old-space-size=1024 server.js'] }), `1Gi ${P}.command[2]`)
  t.equal(
    node({ name: 'a', command: ['node', '--max-old-space-size=4096', 'app.js'], env: [{ name: 'NODE_OPTIONS', valueFrom: { configMapKeyRef: { name: 'n', key: 'k' } } }] }),
    `4Gi ${P}.command[1]`,
    'NODE_OPTIONS comes first: an unknown one cannot override the command line',
  )
})

t.test('Go and .NET', async (t) => {
  const rt = (vars: Record<string, string>) => analyzeContainer({ name: 'a', env: env(vars) }, P).runtimes
  t.equal(bytes(rt({ GOMEMLIMIT: '2GiB' }).go?.bytes), '2Gi')
  t.ok(rt({ GOMEMLIMIT: 'off' }).goOff)
  t.ok(rt({ GOMEMLIMIT: '2Gi' }).goMalformed)
  t.equal(bytes(rt({ DOTNET_GCHeapHardLimit: '0xC800000' }).dotnet?.bytes), '200Mi')
  t.equal(bytes(rt({ COMPlus_GCHeapHardLimit: '0x10000000', DOTNET_GCHeapHardLimit: '0x20000000' }).dotnet?.bytes), '512Mi', 'DOTNET_ wins')
  t.equal(rt({ DOTNET_GCHeapHardLimitPercent: '0x4B' }).dotnetPercent?.percent, 75n)
  t.equal(rt({ DOTNET_GCHeapHardLimitPercent: '0x64' }).dotnetPercent, undefined, '100 is ignored by the runtime')
  t.equal(rt({ DOTNET_GCHeapHardLimitPercent: '50', DOTNET_GCHeapHardLimit: '0x1000' }).dotnetPercent, undefined, 'the hard limit wins')
})

t.test('jvmConfigured', async (t) => {
  t.ok(jvmConfigured({ name: 'a', image: 'eclipse-temurin:21' }))
  t.ok(jvmConfigured({ name: 'a', image: 'registry.example.com/app:1', command: ['java', '-jar', 'a.jar'] }))
  t.ok(jvmConfigured({ name: 'a', image: 'registry.example.com/app:1', env: env({ JAVA_TOOL_OPTIONS: '-XX:+UseG1GC' }) }))
  t.ok(jvmConfigured({ name: 'a', image: 'registry.example.com/app:1', env: env({ JAVA_OPTS: '-Dfoo=bar' }) }))
  t.notOk(jvmConfigured({ name: 'a', image: 'registry.example.com/app:1', env: env({ JAVA_OPTS: '' }) }))
  t.notOk(jvmConfigured({ name: 'a', image: 'nginx:1.25', args: ['-g', 'daemon off;'] }))
  t.equal(jvmEvidence({ name: 'a', image: 'registry.example.com/app:1', args: ['-Xmx1g'] }), 'JVM option -Xmx1g in args[0]')
  const view = { name: 'a', kind: 'container' as const, index: 0, path: P, longRunning: true, spec: { name: 'a', image: 'tomcat:10' } }
  t.equal(jvmEvidence(view), 'image tomcat:10')
})

t.test('memory limits', async (t) => {
  const view = (resources: Container['resources']) => ({ name: 'a', kind: 'container' as const, index: 0, path: P, longRunning: true, spec: { name: 'a', resources } })
  t.equal(containerMemoryLimit(view({ limits: { memory: '2G' } }))?.text, `2G (1.86Gi) at ${P}.resources.limits.memory`)
  t.equal(containerMemoryLimit(view({ limits: { memory: 0 } })), undefined, '0 sets no limit')
  t.equal(containerMemoryLimit(view({ limits: { memory: 'lots' } })), undefined)
  t.equal(containerMemoryLimit(view({ requests: { memory: '1Gi' } })), undefined)
  t.equal(parseResource('512Mi'), parseResource('512Mi'), 'parsed once')
  t.equal(parseResource({}), undefined)
})

t.test('fix texts give concrete numbers', async (t) => {
  const fix = (c: Container, limit: string): string => {
    const r = jvmMaxHeap(analyzeContainer(c, P).jvm, q(limit))
    return r.known ? jvmHeapFix(r.heap, q(limit)) : r.reason
  }
  t.equal(fix({ name: 'a', command: ['java', '-Xmx2g', '-jar', 'a.jar'] }, '2Gi'), 'lower the heap to -Xmx1536m (75% of the 2Gi limit) or replace it with -XX:MaxRAMPercentage=75, or raise limits.memory to at least 2.75Gi')
  t.match(fix({ name: 'a', command: ['java', '-XX:MaxRAMPercentage=100', '-jar', 'a.jar'] }, '2Gi'), /^set -XX:MaxRAMPercentage=75 \(a 1.5Gi heap with the 2Gi limit\) or -Xmx1536m/)
  t.match(fix({ name: 'a', command: ['java', '-XX:MaxRAM=4g', '-jar', 'a.jar'] }, '1Gi'), /^remove -XX:MaxRAM=4g/)
})

t.test('the analysis of a container is computed once', async (t) => {
  const c: Container = { name: 'a', command: ['java', '-Xmx1g', '-jar', 'a.jar'] }
  t.equal(analyzeContainer(c, P), analyzeContainer(c, P))
  t.not(analyzeContainer(c, P), analyzeContainer(c, 'spec.containers[1]'), 'another path, another analysis')
})
