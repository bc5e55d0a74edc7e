/**
 * Generates the Kubernetes schemas the `schema-invalid` rule validates with (npm run schemas):
 * src/schema/data/kubernetes-<version>.json, one compact JSON Schema document per Kubernetes
 * version, holding only the definitions reachable from the kinds listed in KINDS.
 *
 * The source is the Kubernetes OpenAPI definitions as @kubernetes/client-node ships them (its
 * models are generated from the API server's OpenAPI spec: each class lists its properties with
 * their JSON name, type and format, and its declaration file marks the required ones). One
 * release of client-node per Kubernetes version is installed under an alias (k8s-openapi-1.36...).
 * Where client-node's generator folds `resource.Quantity` into a plain string, kubernetes-types
 * (generated from the same spec, 1.30) says which fields are Quantities (a YAML number is a
 * valid Quantity); a string field that kubernetes-types does not know (newer than 1.30) accepts
 * a number too rather than guess. Nothing here is written by hand but the list of kinds.
 *
 * A test regenerates every version and compares it with the committed file.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import ts from 'typescript'

const root = fileURLToPath(new URL('../', import.meta.url))
const require = createRequire(import.meta.url)

/** The Kubernetes versions shipped, and the client-node release (alias) each comes from. */
export const VERSIONS: Record<string, string> = {
  '1.33': 'k8s-openapi-1.33',
  '1.34': 'k8s-openapi-1.34',
  '1.36': 'k8s-openapi-1.36',
}
const QUANTITY_SOURCE = 'kubernetes-types'

/** The kinds whose schemas are shipped: the pod-bearing ones and those that sit next to them in a deploy. */
export const KINDS: readonly string[] = [
  'v1/Pod',
  'v1/PodTemplate',
  'v1/ReplicationController',
  'apps/v1/Deployment',
  'apps/v1/StatefulSet',
  'apps/v1/DaemonSet',
  'apps/v1/ReplicaSet',
  'batch/v1/Job',
  'batch/v1/CronJob',
  'v1/Service',
  'v1/ConfigMap',
  'v1/Secret',
  'v1/ServiceAccount',
  'v1/PersistentVolumeClaim',
  'v1/Namespace',
  'v1/LimitRange',
  'v1/ResourceQuota',
  'networking.k8s.io/v1/Ingress',
  'networking.k8s.io/v1/IngressClass',
  'networking.k8s.io/v1/NetworkPolicy',
  'autoscaling/v1/HorizontalPodAutoscaler',
  'autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  'scheduling.k8s.io/v1/PriorityClass',
]

type Schema = Record<string, unknown>

interface Attribute {
  name: string
  baseName: string
  type: string
  format: string
}

function packageDir(name: string): string {
  return join(require.resolve(`${name}/package.json`), '..')
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version: string }).version
}

/** `V1ResourceRequirements`, `CoreV1ResourceClaim` → `V1ResourceRequirements`, `V1ResourceClaim`. */
function versionedName(className: string): string {
  const m = /(V\d+(?:(?:alpha|beta)\d+)?[A-Z].*)$/.exec(className)
  return m?.[1] ?? className
}

/** What kubernetes-types says of each `<Version><Type>.<field>`: 'quantity', or 'string' for a plain string field. */
function quantityOracle(): Map<string, 'quantity' | 'string'> {
  const dir = packageDir(QUANTITY_SOURCE)
  const out = new Map<string, 'quantity' | 'string'>()
  const files: string[] = []
  for (const group of readdirSync(dir, { withFileTypes: true })) {
    if (!group.isDirectory()) continue
    for (const f of readdirSync(join(dir, group.name))) if (/^v\d+((alpha|beta)\d+)?\.d\.ts$/.test(f)) files.push(join(dir, group.name, f))
  }
  for (const file of files.sort()) {
    const version = /\/(v[^/]+)\.d\.ts$/.exec(file)?.[1] ?? ''
    const ver = version.charAt(0).toUpperCase() + version.slice(1)
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true)
    for (const st of sf.statements) {
      if (!ts.isInterfaceDeclaration(st)) continue
      for (const m of st.members) {
        if (!ts.isPropertySignature(m) || m.type === undefined) continue
        const name = m.name.getText(sf).replace(/^['"]|['"]$/g, '')
        const text = m.type.getText(sf).replace(/\s+/g, ' ')
        const key = `${ver}${st.name.text}.${name}`
        let what: 'quantity' | 'string' | undefined
        if (text === 'Quantity' || /^\{ \[\w+: string\]: Quantity;? \}$/.test(text)) what = 'quantity'
        else if (/^(string|"[^"]*"|Array<string>|string\[\]|\{ \[\w+: string\]: string;? \})$/.test(text)) what = 'string'
        if (what === undefined) continue
        // One name in several groups: a Quantity in any of them wins (accepting more, never less).
        if (out.get(key) !== 'quantity') out.set(key, what)
      }
    }
  }
  return out
}

interface ClientModels {
  classes: Map<string, { attributes: Attribute[]; required: Set<string> }>
  apis: Map<string, string>
  openapi: string
}

async function loadModels(pkg: string): Promise<ClientModels> {
  const dir = join(packageDir(pkg), 'dist/gen')
  const modelsDir = join(dir, 'models')
  const classes = new Map<string, { attributes: Attribute[]; required: Set<string> }>()
  let openapi = ''
  for (const f of readdirSync(modelsDir).sort()) {
    if (!f.endsWith('.js') || f === 'all.js' || f === 'ObjectSerializer.js' || f === 'models.js') continue
    const mod = (await import(pathToFileURL(join(modelsDir, f)).href)) as Record<string, unknown>
    const name = f.slice(0, -3)
    const cls = mod[name] as { attributeTypeMap?: Attribute[] } | undefined
    if (cls?.attributeTypeMap === undefined) continue
    const dts = readFileSync(join(modelsDir, `${name}.d.ts`), 'utf8')
    const required = new Set<string>()
    for (const m of dts.matchAll(/^ {4}'([^']+)'(\?)?:/gm)) if (m[2] === undefined && m[1] !== undefined) required.add(m[1])
    classes.set(name, { attributes: cls.attributeTypeMap, required })
    if (openapi === '') openapi = /OpenAPI spec version: (\S+)/.exec(readFileSync(join(modelsDir, f), 'utf8'))?.[1] ?? ''
  }
  const apis = new Map<string, string>()
  for (const f of readdirSync(join(dir, 'apis'))) if (f.endsWith('Api.d.ts')) apis.set(f.slice(0, -'.d.ts'.length), readFileSync(join(dir, 'apis', f), 'utf8'))
  return { classes, apis, openapi }
}

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/** The model class of `group/version/Kind`, checked against the API class of its group. */
function classOf(models: ClientModels, gvk: string): string | undefined {
  const parts = gvk.split('/')
  const kind = parts.pop() ?? ''
  const version = parts.pop() ?? ''
  const group = parts.join('/')
  const groupName = group === '' ? 'Core' : group.replace(/\.k8s\.io$/, '').split('.').map(pascal).join('')
  const api = models.apis.get(`${groupName}${pascal(version)}Api`)
  if (api === undefined) return undefined
  for (const candidate of [`${pascal(version)}${kind}`, `${groupName}${pascal(version)}${kind}`]) {
    if (models.classes.has(candidate) && new RegExp(`\\b${candidate}\\b`).test(api)) return candidate
  }
  return undefined
}

export interface SchemaDocument {
  $comment: string
  kubernetes: string
  source: { openapi: string; models: string; quantities: string }
  /** `apiVersion/Kind` (`apps/v1/Deployment`, `v1/Pod`) → definition name. */
  kinds: Record<string, string>
  definitions: Record<string, Schema>
}

/** A version's document for KINDS, or for the kinds given (a test validates other kinds with the same models). */
export async function generate(version: string, kindList: readonly string[] = KINDS): Promise<SchemaDocument> {
  const pkg = VERSIONS[version]
  if (pkg === undefined) throw new Error(`no source for Kubernetes ${version}`)
  const models = await loadModels(pkg)
  const oracle = quantityOracle()
  const definitions: Record<string, Schema> = {}
  const queue: string[] = []
  const want = (name: string): void => {
    if (definitions[name] === undefined && !queue.includes(name)) queue.push(name)
  }

  const typeSchema = (type: string, format: string, oracleKey: string): Schema => {
    const arr = /^Array<(.*)>$/.exec(type)
    if (arr?.[1] !== undefined) return { type: 'array', items: typeSchema(arr[1], format, oracleKey) }
    const map = /^\{ \[key: string\]: (.*); \}$/.exec(type)
    if (map?.[1] !== undefined) return { type: 'object', additionalProperties: typeSchema(map[1], format, oracleKey) }
    switch (type) {
      case 'string': {
        if (format === 'byte') return { type: 'string' }
        const known = oracle.get(oracleKey)
        // A Quantity is a string or a number; a field kubernetes-types does not know is not guessed at.
        if (known === 'string') return { type: 'string' }
        return { type: ['string', 'number'] }
      }
      case 'number':
        return format === 'int32' || format === 'int64' ? { type: 'integer' } : { type: 'number' }
      case 'boolean':
        return { type: 'boolean' }
      case 'Date':
      case 'V1MicroTime':
        return { type: 'string' }
      case 'IntOrString':
        return { type: ['integer', 'string'] }
      case 'any':
      case 'object':
        return {}
      default:
        if (models.classes.has(type)) {
          want(type)
          return { $ref: `#/definitions/${type}` }
        }
        throw new Error(`Kubernetes ${version}: type '${type}' is not known`)
    }
  }

  const kinds: Record<string, string> = {}
  for (const gvk of kindList) {
    const cls = classOf(models, gvk)
    if (cls === undefined) continue
    kinds[gvk] = cls
    want(cls)
  }
  while (queue.length > 0) {
    const name = queue.shift() as string
    const cls = models.classes.get(name)
    if (cls === undefined) throw new Error(`Kubernetes ${version}: ${name} is not a model`)
    const properties: Record<string, Schema> = {}
    const vname = versionedName(name)
    for (const a of cls.attributes) properties[a.baseName] = typeSchema(a.type, a.format, `${vname}.${a.baseName}`)
    const required = cls.attributes.filter((a) => cls.required.has(a.name)).map((a) => a.baseName)
    const def: Schema = { type: 'object', properties, additionalProperties: false }
    if (required.length > 0) def['required'] = required
    definitions[name] = def
  }
  const sorted: Record<string, Schema> = {}
  for (const k of Object.keys(definitions).sort()) sorted[k] = definitions[k] as Schema
  const models_ = `@kubernetes/client-node@${packageVersion(pkg)}`
  const quantities = `${QUANTITY_SOURCE}@${packageVersion(QUANTITY_SOURCE)}`
  return {
    $comment: `Generated by scripts/k8s-schemas.ts (npm run schemas) from the Kubernetes OpenAPI definitions (${models.openapi}) as ${models_} ships them, Quantity fields from ${quantities}. Do not edit.`,
    kubernetes: version,
    source: { openapi: models.openapi, models: models_, quantities },
    kinds,
    definitions: sorted,
  }
}

export const DATA_DIR = join(root, 'src/schema/data')

export function serialise(doc: SchemaDocument): string {
  return `${JSON.stringify(doc)}\n`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  mkdirSync(DATA_DIR, { recursive: true })
  for (const version of Object.keys(VERSIONS)) {
    const doc = await generate(version)
    const text = serialise(doc)
    writeFileSync(join(DATA_DIR, `kubernetes-${version}.json`), text)
    process.stdout.write(`Kubernetes ${version}: ${Object.keys(doc.kinds).length} kinds, ${Object.keys(doc.definitions).length} definitions, ${Math.round(text.length / 1024)} KiB\n`)
  }
}
